"""The OIDC package: the flows as pure functions, token checks, token sources, and both transports
against the loopback issuer (device approval, slow_down, denial, expiry, timeout, discovery checks)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import os
import threading
import urllib.parse
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from jupyter_sigstore.cli import main
from jupyter_sigstore.errors import IdentityError
from jupyter_sigstore.instance import Instance
from jupyter_sigstore.oidc import async_transport, sync_transport
from jupyter_sigstore.oidc.discovery import Discovery, discovery_url, issuer_url, parse_discovery
from jupyter_sigstore.oidc.grants import (
    OOB_REDIRECT_URI,
    DeviceGrant,
    DevicePolling,
    TokenAnswer,
    authorization_request,
    code_exchange_form,
    describe_duration,
    device_token_form,
    new_pkce,
    parse_device_authorization,
    parse_token_answer,
    state_matches,
    token_headers,
)
from jupyter_sigstore.oidc.sources import (
    ENV_CLIENT_ID,
    ambient_available,
    configured_client_id,
    read_token_argument,
    read_token_file,
    unattended_token,
)
from jupyter_sigstore.oidc.terminal import obtain_token
from jupyter_sigstore.oidc.tokens import parse_token, read_login, token_claims
from jupyter_sigstore.testing import LocalSigstore

# -- grants: authorization code + PKCE ----------------------------------------------------------------


def test_pkce_pair_is_s256_of_a_fresh_verifier() -> None:
    pair, other = new_pkce(), new_pkce()
    assert 43 <= len(pair.verifier) <= 128 and pair.verifier != other.verifier
    digest = hashlib.sha256(pair.verifier.encode()).digest()
    assert pair.challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert pair.method == "S256" and pair.verifier not in repr(pair)


def test_authorization_request_carries_pkce_state_and_nonce() -> None:
    request = authorization_request(
        "https://issuer.example/auth", client_id="c1", redirect_uri=OOB_REDIRECT_URI
    )
    url = urllib.parse.urlsplit(request.url)
    query = dict(urllib.parse.parse_qsl(url.query))
    assert query == {
        "response_type": "code",
        "client_id": "c1",
        "redirect_uri": OOB_REDIRECT_URI,
        "scope": "openid email",
        "state": request.state,
        "nonce": request.nonce,
        "code_challenge": request.pkce.challenge,
        "code_challenge_method": "S256",
    }
    again = authorization_request("https://issuer.example/auth?tenant=x", client_id="c1", redirect_uri="r")
    assert again.url.startswith("https://issuer.example/auth?tenant=x&")
    assert again.state != request.state and again.nonce != request.nonce
    assert request.pkce.verifier not in repr(request)  # state and nonce are in the URL the user sees


def test_state_must_match_exactly() -> None:
    request = authorization_request("https://i.example/auth", client_id="c", redirect_uri="r")
    assert state_matches(request, request.state)
    assert not state_matches(request, "")
    assert not state_matches(request, request.state[:-1])
    assert not state_matches(request, "forged")


def test_token_forms_and_headers() -> None:
    request = authorization_request("https://i.example/auth", client_id="c", redirect_uri="https://back/")
    form = code_exchange_form(request, "the-code", client_id="c")
    assert form == {
        "grant_type": "authorization_code",
        "code": "the-code",
        "redirect_uri": "https://back/",
        "code_verifier": request.pkce.verifier,
        "client_id": "c",
    }
    headers = token_headers("odd:client id")
    user, _, secret = (
        base64.b64decode(headers["Authorization"].removeprefix("Basic ")).decode().partition(":")
    )
    assert urllib.parse.unquote(user) == "odd:client id" and secret == ""
    grant = DeviceGrant("dev-code", "ABCD-EFGH", "https://i/device", None, 600, 5)
    assert device_token_form(grant, client_id="c") == {
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "device_code": "dev-code",
        "client_id": "c",
    }
    assert "dev-code" not in repr(grant)


# -- grants: device authorization and token answers ---------------------------------------------------


def test_device_authorization_answer() -> None:
    body = {
        "device_code": "d",
        "user_code": "WXYZ-BCDF",
        "verification_uri": "https://i/device",
        "verification_uri_complete": "https://i/device?user_code=WXYZ-BCDF",
        "expires_in": 900,
        "interval": 2,
    }
    grant = parse_device_authorization(200, json.dumps(body), fallback_lifetime=300)
    assert (grant.user_code, grant.expires_in, grant.interval) == ("WXYZ-BCDF", 900, 2)
    assert grant.verification_uri_complete == body["verification_uri_complete"]
    # Google's endpoint says verification_url; missing or absurd numbers take safe defaults
    google = {"device_code": "d", "user_code": "u", "verification_url": "https://g/device", "interval": "nan"}
    grant = parse_device_authorization(200, json.dumps({**google, "expires_in": -5}), fallback_lifetime=300)
    assert (grant.verification_uri, grant.expires_in, grant.interval) == ("https://g/device", 300, 5)
    tiny = parse_device_authorization(200, json.dumps({**google, "interval": 0.001}), fallback_lifetime=1)
    assert tiny.interval == 0.2


@pytest.mark.parametrize(
    ("status", "body", "words"),
    [
        (
            400,
            {"error": "invalid_client", "error_description": "unknown client"},
            "invalid_client: unknown client",
        ),
        (500, "<html>oops</html>", "HTTP 500"),
        (200, "not json", "not a JSON object"),
        (200, {"device_code": "d", "verification_uri": "https://i"}, "lacks a code"),
    ],
)
def test_device_authorization_refusals(status: int, body: Any, words: str) -> None:
    text = body if isinstance(body, str) else json.dumps(body)
    with pytest.raises(IdentityError, match=words):
        parse_device_authorization(status, text, fallback_lifetime=300)


@pytest.mark.parametrize(
    ("status", "body", "outcome"),
    [
        (200, {"id_token": "eyJhbGciOi.x.y", "access_token": "a"}, "ok"),
        (200, {"access_token": "only"}, "error"),
        (400, {"error": "authorization_pending"}, "pending"),
        (400, {"error": "slow_down"}, "slow_down"),
        (400, {"error": "access_denied"}, "denied"),
        (400, {"error": "expired_token"}, "expired"),
        (400, {"error": "invalid_grant", "error_description": "bad code"}, "error"),
        (502, "<html>bad gateway</html>", "error"),
    ],
)
def test_token_answers_are_values(status: int, body: Any, outcome: str) -> None:
    answer = parse_token_answer(status, body if isinstance(body, str) else json.dumps(body))
    assert answer.outcome == outcome
    assert (answer.id_token is not None) == (outcome == "ok")
    assert "eyJ" not in repr(answer)


def test_issuer_text_in_errors_is_printable_and_short() -> None:
    answer = parse_token_answer(400, json.dumps({"error": "bad\x1b[2J", "error_description": "x" * 500}))
    assert "\x1b" not in answer.detail and len(answer.detail) < 260


# -- grants: the device polling decisions -------------------------------------------------------------

GRANT = DeviceGrant("d", "ABCD-EFGH", "https://i/device", None, expires_in=600, interval=1)


def test_polling_waits_the_interval_and_returns_the_token() -> None:
    polling = DevicePolling.start(GRANT, timeout=300, now=0)
    assert polling.wait(0) == 1
    assert polling.after(TokenAnswer("pending"), 1) is None
    assert polling.after(TokenAnswer("ok", "tok"), 2) == "tok"
    assert polling.polls == 2


def test_slow_down_adds_five_seconds_for_good() -> None:
    polling = DevicePolling.start(GRANT, timeout=300, now=0)
    assert polling.after(TokenAnswer("slow_down"), 1) is None
    assert polling.wait(1) == 6
    assert polling.after(TokenAnswer("pending"), 7) is None
    assert polling.wait(7) == 6  # the interval stays raised
    assert polling.after(TokenAnswer("slow_down"), 13) is None
    assert polling.wait(13) == 11


@pytest.mark.parametrize(
    ("outcome", "words"),
    [("denied", "login denied"), ("expired", "expired before it was approved"), ("error", "refused")],
)
def test_polling_ends_on_a_refusal(outcome: str, words: str) -> None:
    polling = DevicePolling.start(GRANT, timeout=300, now=0)
    with pytest.raises(IdentityError, match=words):
        polling.after(TokenAnswer(outcome, detail="x"), 1)  # type: ignore[arg-type]


def test_polling_never_waits_past_its_bound_and_names_it() -> None:
    polling = DevicePolling.start(GRANT, timeout=3, now=0)
    assert polling.wait(2.5) == 0.5 and polling.wait(4) == 0
    assert polling.after(TokenAnswer("pending"), 2) is None
    with pytest.raises(IdentityError, match=r"timed out after 3 s"):
        polling.after(TokenAnswer("pending"), 3)
    short_code = DeviceGrant("d", "u", "https://i", None, expires_in=90, interval=5)
    assert DevicePolling.start(short_code, timeout=300, now=0).bound == 90


def test_unreachable_token_endpoint_keeps_polling_until_the_deadline() -> None:
    polling = DevicePolling.start(GRANT, timeout=10, now=0)
    down = TokenAnswer("unreachable", detail="cannot reach the identity provider (ConnectionError)")
    assert polling.after(down, 1) is None
    with pytest.raises(IdentityError, match="timed out after 10 s.*ConnectionError"):
        polling.after(down, 10)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(3, "3 s"), (0.4, "1 s"), (59.5, "1 min"), (60, "1 min"), (150, "2 min 30 s"), (300, "5 min")],
)
def test_durations_read_as_a_person_would(seconds: float, text: str) -> None:
    assert describe_duration(seconds) == text


# -- discovery ----------------------------------------------------------------------------------------

ISSUER = "https://issuer.example/auth"


def _doc(**changes: Any) -> str:
    doc = {
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/authorize",
        "token_endpoint": f"{ISSUER}/token",
        "device_authorization_endpoint": f"{ISSUER}/device/code",
    }
    doc.update(changes)
    return json.dumps({k: v for k, v in doc.items() if v is not None})


def test_discovery_document_is_checked() -> None:
    assert discovery_url(ISSUER + "/") == f"{ISSUER}/.well-known/openid-configuration"
    found = parse_discovery(ISSUER + "/", 200, _doc())
    assert found == Discovery(ISSUER + "/", f"{ISSUER}/authorize", f"{ISSUER}/token", f"{ISSUER}/device/code")
    assert (
        parse_discovery(ISSUER, 200, _doc(device_authorization_endpoint=None)).device_authorization_endpoint
        is None
    )
    loopback = "http://127.0.0.1:8080/oidc"
    local = _doc(issuer=loopback, token_endpoint=f"{loopback}/token", authorization_endpoint=f"{loopback}/a")
    assert parse_discovery(loopback, 200, local).token_endpoint == f"{loopback}/token"


@pytest.mark.parametrize(
    ("status", "body", "words"),
    [
        (404, _doc(), "HTTP 404"),
        (200, "[]", "not a JSON object"),
        (200, _doc(issuer="https://attacker.example"), "for another issuer"),
        (200, _doc(token_endpoint=None), "no token_endpoint"),
        # the code and PKCE verifier must not travel in clear text to another host
        (200, _doc(token_endpoint="http://issuer.example/token"), "not an https URL"),
        (200, _doc(device_authorization_endpoint="javascript:alert(1)"), "not an https URL"),
    ],
)
def test_discovery_refusals(status: int, body: str, words: str) -> None:
    with pytest.raises(IdentityError, match=words):
        parse_discovery(ISSUER, status, body)


def test_issuer_comes_from_the_trust_config(sigstore_instance: LocalSigstore, trust_config: Path) -> None:
    assert issuer_url(Instance.select(trust_config=trust_config)) == sigstore_instance.issuer_url


# -- tokens -------------------------------------------------------------------------------------------


def test_token_checks_name_the_problem_never_the_token(sigstore_instance: LocalSigstore) -> None:
    cases = [
        ("not-a-jwt", {}, "not a valid JWT"),
        (sigstore_instance.mint_token(expires_in=-60), {}, "expired at"),
        (sigstore_instance.mint_token(audience="other"), {}, "audience 'other', not 'sigstore'"),
        (sigstore_instance.mint_token(), {"client_id": "jupyter-private"}, "not 'jupyter-private'"),
        (
            sigstore_instance.mint_token(issuer="https://elsewhere.example"),
            {"issuer": "https://i"},
            "issued by",
        ),
        (sigstore_instance.oidc.mint_token("a@example.com", nonce="n1"), {"nonce": "n2"}, "nonce differs"),
    ]
    for raw, options, words in cases:
        with pytest.raises(IdentityError, match=words) as info:
            parse_token(raw, "the test", **options)
        assert raw not in str(info.value)


def test_token_not_yet_valid_says_check_the_clock(sigstore_instance: LocalSigstore) -> None:
    raw = sigstore_instance.mint_token()
    an_hour_ago = datetime.now(timezone.utc) - timedelta(hours=1)
    with pytest.raises(IdentityError, match="check this computer's clock"):
        parse_token(raw, "the test", now=an_hour_ago)


def test_a_token_for_the_configured_client_reads_into_a_login(sigstore_instance: LocalSigstore) -> None:
    raw = sigstore_instance.oidc.mint_token("bob@example.com", audience="jupyter-private", nonce="n1")
    login = read_login(
        raw, "the test", client_id="jupyter-private", issuer=sigstore_instance.issuer_url + "/", nonce="n1"
    )
    assert login.identity == "bob@example.com" and login.issuer == sigstore_instance.issuer_url
    assert 250 < login.seconds_left() <= 300 and not login.expired()
    assert login.expires_at == datetime.fromtimestamp(token_claims(raw)["exp"], timezone.utc)
    assert raw not in repr(login) and raw not in login.describe() and "eyJ" not in repr(login)
    # a token naming several audiences is fine when one of them is the client id
    several = sigstore_instance.oidc.mint_token("bob@example.com", audience=["x", "sigstore"])  # type: ignore[arg-type]
    assert parse_token(several, "the test").identity == "bob@example.com"


# -- sources ------------------------------------------------------------------------------------------


def test_client_id_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_CLIENT_ID, raising=False)
    assert configured_client_id() == "sigstore"
    monkeypatch.setenv(ENV_CLIENT_ID, " jupyter-private ")
    assert configured_client_id() == "jupyter-private"


def test_unattended_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not ambient_available() and unattended_token() is None
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", "raw")
    assert ambient_available() and unattended_token() == ("raw", "$SIGSTORE_ID_TOKEN")
    monkeypatch.delenv("SIGSTORE_ID_TOKEN")
    monkeypatch.setenv("GITLAB_CI", "true")
    assert ambient_available()


def test_token_from_a_file_or_stdin(tmp_path: Path) -> None:
    path = tmp_path / "token.txt"
    path.write_text("  eyJ.token.text\n")
    assert read_token_file(str(path)) == "eyJ.token.text"
    assert read_token_file("-", stdin=io.StringIO("eyJ.from.stdin\n")) == "eyJ.from.stdin"
    assert read_token_argument(f"@{path}") == ("eyJ.token.text", f"the file {path}")
    assert read_token_argument("@-", stdin=io.StringIO("eyJ.s")) == ("eyJ.s", "stdin")
    assert read_token_argument("-", stdin=io.StringIO("eyJ.s")) == ("eyJ.s", "stdin")
    assert read_token_argument(" eyJ.literal ") == ("eyJ.literal", "--identity-token")


def test_token_file_refusals_name_the_file_never_its_content(tmp_path: Path) -> None:
    huge, empty, binary = tmp_path / "huge", tmp_path / "empty", tmp_path / "binary"
    huge.write_text("eyJ" + "A" * 70_000)
    empty.write_text(" \n")
    binary.write_bytes(b"eyJ\xff\xfe")
    cases = [
        (str(huge), "longer than"),
        (str(empty), "is empty"),
        (str(binary), "is not text"),
        (str(tmp_path / "missing"), "cannot read the identity token file"),
        (str(tmp_path), "not a regular file"),
        ("/dev/zero", "not a regular file"),  # would never end
    ]
    for path, words in cases:
        with pytest.raises(IdentityError, match=words) as info:
            read_token_file(path)
        assert "eyJ" not in str(info.value)
    with pytest.raises(IdentityError, match="after @"):
        read_token_argument("@")
    with pytest.raises(IdentityError, match="is empty"):
        read_token_file("-", stdin=io.StringIO(""))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_named_as_token_file_is_refused_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "token.fifo"
    os.mkfifo(fifo)  # no writer: a plain open() would block forever
    result: list[BaseException | str] = []

    def read() -> None:
        try:
            result.append(read_token_file(str(fifo)))
        except IdentityError as exc:
            result.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=60)
    if reader.is_alive():  # unblock the reader before failing
        with open(fifo, "w"):
            pass
        pytest.fail("reading a FIFO as the token file blocked")
    assert isinstance(result[0], IdentityError) and "not a regular file" in str(result[0])


def test_terminal_sources_use_the_configured_client_id(
    sigstore_instance: LocalSigstore, trust_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = Instance.select(trust_config=trust_config)
    private = sigstore_instance.mint_token("ci@example.com", audience="jupyter-private")
    with pytest.raises(IdentityError, match="JUPYTER_SIGSTORE_OIDC_CLIENT_ID"):
        obtain_token(instance, explicit=private)
    monkeypatch.setenv(ENV_CLIENT_ID, "jupyter-private")
    assert obtain_token(instance, explicit=private).identity == "ci@example.com"
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", private)
    assert obtain_token(instance).identity == "ci@example.com"
    monkeypatch.delenv("SIGSTORE_ID_TOKEN")
    with pytest.raises(IdentityError, match=r"set \$SIGSTORE_ID_TOKEN"):
        obtain_token(instance, interactive=False)


# -- the transports against the loopback issuer -------------------------------------------------------


class FakeClock:
    """Time that moves only when someone sleeps: shared by the client and the test issuer."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.sleeps: list[float] = []
        self.on_sleep: list[Any] = []  # callables run after the n-th sleep (by position)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if len(self.sleeps) <= len(self.on_sleep) and self.on_sleep[len(self.sleeps) - 1]:
            self.on_sleep[len(self.sleeps) - 1]()

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


@pytest.fixture
def clock(sigstore_instance: LocalSigstore, monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(sigstore_instance.oidc, "clock", fake)
    return fake


class Transport:
    """The sync and the async transport behind one blocking interface, so each test runs on both."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def discover(self, issuer: str) -> Discovery:
        if self.kind == "sync":
            return sync_transport.discover(issuer)
        return asyncio.run(async_transport.discover(issuer))

    def device_grant(self, discovery: Discovery, client_id: str = "sigstore") -> DeviceGrant:
        if self.kind == "sync":
            return sync_transport.request_device_grant(discovery, client_id=client_id, fallback_lifetime=300)
        return asyncio.run(
            async_transport.request_device_grant(discovery, client_id=client_id, fallback_lifetime=300)
        )

    def poll(self, discovery: Discovery, grant: DeviceGrant, clock: FakeClock, timeout: float = 300) -> str:
        if self.kind == "sync":
            return sync_transport.poll_device(
                discovery, grant, client_id="sigstore", timeout=timeout, sleep=clock.sleep, clock=clock
            )
        return asyncio.run(
            async_transport.poll_device(
                discovery, grant, client_id="sigstore", timeout=timeout, sleep=clock.async_sleep, clock=clock
            )
        )

    def redeem(self, discovery: Discovery, form: dict[str, str], client_id: str) -> TokenAnswer:
        if self.kind == "sync":
            return sync_transport.redeem(discovery, form, client_id=client_id)
        return asyncio.run(async_transport.redeem(discovery, form, client_id=client_id))


@pytest.fixture(params=["sync", "async"])
def transport(request: pytest.FixtureRequest) -> Transport:
    return Transport(request.param)


def test_device_flow_approved(
    transport: Transport, sigstore_instance: LocalSigstore, clock: FakeClock
) -> None:
    discovery = transport.discover(sigstore_instance.issuer_url)
    grant = transport.device_grant(discovery)
    clock.on_sleep = [None, lambda: sigstore_instance.approve_device_code(grant.user_code, "dan@example.com")]
    raw = transport.poll(discovery, grant, clock)
    assert read_login(raw, "t", issuer=sigstore_instance.issuer_url).identity == "dan@example.com"
    assert clock.sleeps == [1, 1]


def test_slow_down_is_honoured(
    transport: Transport, sigstore_instance: LocalSigstore, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issuer enforces its interval; a client that polls early is told to slow down and must wait
    5 s more from then on, or the issuer keeps refusing."""
    monkeypatch.setattr(sigstore_instance.oidc, "enforce_poll_interval", True)
    discovery = transport.discover(sigstore_instance.issuer_url)
    grant = transport.device_grant(discovery)
    early = lambda: setattr(clock, "now", clock.now - 0.5)  # noqa: E731 - the first poll comes early
    approve = lambda: sigstore_instance.approve_device_code(grant.user_code)  # noqa: E731
    clock.on_sleep = [early, None, approve]
    raw = transport.poll(discovery, grant, clock)
    assert token_claims(raw)["sub"] == "alice@example.com"
    assert clock.sleeps == [1, 6, 6]


def test_device_flow_denied(transport: Transport, sigstore_instance: LocalSigstore, clock: FakeClock) -> None:
    discovery = transport.discover(sigstore_instance.issuer_url)
    grant = transport.device_grant(discovery)
    clock.on_sleep = [lambda: sigstore_instance.deny_device_code(grant.user_code)]
    with pytest.raises(IdentityError, match="login denied.*access_denied"):
        transport.poll(discovery, grant, clock)


def test_device_code_expired_at_the_issuer(
    transport: Transport, sigstore_instance: LocalSigstore, clock: FakeClock
) -> None:
    discovery = transport.discover(sigstore_instance.issuer_url)
    grant = transport.device_grant(discovery)
    clock.on_sleep = [lambda: setattr(clock, "now", clock.now + 3600)]  # the laptop slept for an hour
    with pytest.raises(IdentityError, match="expired before it was approved"):
        transport.poll(discovery, grant, clock)


def test_device_flow_times_out_at_the_callers_bound(
    transport: Transport, sigstore_instance: LocalSigstore, clock: FakeClock
) -> None:
    discovery = transport.discover(sigstore_instance.issuer_url)
    grant = transport.device_grant(discovery)
    with pytest.raises(IdentityError, match="timed out after 3 s"):
        transport.poll(discovery, grant, clock, timeout=3)
    assert sum(clock.sleeps) == 3 and len(clock.sleeps) == 3


def test_code_exchange(transport: Transport, sigstore_instance: LocalSigstore) -> None:
    """The out-of-band flow: the user opens the URL, copies the code; a wrong code is an answer."""
    discovery = transport.discover(sigstore_instance.issuer_url)
    request = authorization_request(
        discovery.authorization_endpoint, client_id="jupyter-private", redirect_uri=OOB_REDIRECT_URI
    )
    wrong = transport.redeem(
        discovery, code_exchange_form(request, "wrong", client_id="jupyter-private"), "x"
    )
    assert wrong.outcome == "error" and "invalid_grant" in wrong.detail
    code = sigstore_instance.oob_code(request.url)
    form = code_exchange_form(request, code, client_id="jupyter-private")
    answer = transport.redeem(discovery, form, "jupyter-private")
    assert answer.outcome == "ok" and answer.id_token
    login = read_login(answer.id_token, "t", client_id="jupyter-private", nonce=request.nonce)
    assert login.identity == "alice@example.com"


@pytest.fixture
def hostile_issuer() -> Iterator[str]:
    """An issuer whose discovery document sends the token exchange to a plain-HTTP host elsewhere."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
            body = json.dumps(
                {
                    "issuer": issuer,
                    "authorization_endpoint": f"{issuer}/auth",
                    "token_endpoint": "http://collector.example/token",
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_discovery_refusals_are_the_same_in_both_transports(
    transport: Transport, hostile_issuer: str
) -> None:
    with pytest.raises(IdentityError, match="token_endpoint is not an https URL"):
        transport.discover(hostile_issuer)
    with pytest.raises(IdentityError, match="cannot reach the identity provider"):
        transport.discover("http://127.0.0.1:9")  # discard port: nothing listens


def test_cli_signs_for_the_configured_client_id(
    example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A private instance whose Fulcio takes tokens for ``jupyter-private`` only: the CLI refuses a token
    for another audience before contacting Fulcio, and signs once the client id is configured."""
    with LocalSigstore() as private:
        private.oidc.client_id = "jupyter-private"
        trust = private.write_trust_config(tmp_path / "trust_config.json")
        monkeypatch.setenv(
            "SIGSTORE_ID_TOKEN", private.mint_token("ci@example.com", audience="jupyter-private")
        )
        sign = ["sign", str(example / "analysis.ipynb"), "--trust-config", str(trust), "--json"]
        before = (example / "analysis.ipynb").read_bytes()
        assert main(sign) == 1
        assert "not 'sigstore'" in capsys.readouterr().err
        assert (example / "analysis.ipynb").read_bytes() == before
        monkeypatch.setenv(ENV_CLIENT_ID, "jupyter-private")
        assert main(sign) == 0
        assert json.loads(capsys.readouterr().out)["identity"] == "ci@example.com"
