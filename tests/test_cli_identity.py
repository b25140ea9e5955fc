"""Where `sign` gets its identity: explicit token > $SIGSTORE_ID_TOKEN > ambient CI credentials >
interactive OAuth (browser or out-of-band), each exercised against the loopback OIDC issuer."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from helpers import CliResult, CliRunner

from jupyter_sigstore.testing import LocalSigstore

GITHUB_CLAIMS = {
    "repository": "acme/analysis",
    "ref": "refs/heads/main",
    "sha": "0123456789abcdef0123456789abcdef01234567",
    "workflow_ref": "acme/analysis/.github/workflows/sign.yml@refs/heads/main",
    "event_name": "push",
}
WORKFLOW = "https://github.com/acme/analysis/.github/workflows/sign.yml@refs/heads/main"


@pytest.fixture
def fake_actions_token_service(sigstore_instance: LocalSigstore) -> Iterator[tuple[str, list[str]]]:
    """A loopback stand-in for GitHub Actions' OIDC token request endpoint (ACTIONS_ID_TOKEN_REQUEST_URL).

    It hands out a workflow identity token from the loopback issuer, with GitHub workflow claims.
    """
    audiences: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            if self.headers.get("Authorization") != "bearer request-secret":
                self.send_response(401)
                self.end_headers()
                return
            audience = parse_qs(urlsplit(self.path).query).get("audience", [""])[0]
            audiences.append(audience)
            token = sigstore_instance.mint_token(WORKFLOW, audience=audience, github=GITHUB_CLAIMS)
            body = json.dumps({"value": token}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/token?api-version=2.0", audiences
    server.shutdown()
    server.server_close()


@pytest.fixture
def in_github_actions(
    example: Path, fake_actions_token_service: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """Inside the example folder, in a GitHub Actions job allowed to request OIDC tokens;
    returns the list of audiences the token endpoint was asked for."""
    url, audiences = fake_actions_token_service
    monkeypatch.chdir(example)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_URL", url)
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-secret")
    return audiences


def _sign(cli: CliRunner, trust_config: Path, *extra: str) -> CliResult:
    return cli("sign", "analysis.ipynb", "--trust-config", trust_config, "--json", *extra)


def test_ambient_github_actions_credentials(
    example: Path,
    trust_config: Path,
    sigstore_instance: LocalSigstore,
    in_github_actions: list[str],
    monkeypatch: pytest.MonkeyPatch,
    cli: CliRunner,
) -> None:
    audiences = in_github_actions
    rc, out, err = _sign(cli, trust_config)
    assert rc == 0, err
    assert audiences == ["sigstore"]
    assert json.loads(out)["identity"] == WORKFLOW
    rc, out, _ = cli("verify", "analysis.ipynb", "--trust-config", trust_config, "--json")
    [sig] = json.loads(out)["signatures"]
    assert sig["identity"] == WORKFLOW
    assert sig["github"]["repository"] == "acme/analysis"
    assert sig["github"]["ref"] == "refs/heads/main"


def test_explicit_token_wins_over_environment_and_ambient(
    example: Path,
    trust_config: Path,
    sigstore_instance: LocalSigstore,
    in_github_actions: list[str],
    monkeypatch: pytest.MonkeyPatch,
    cli: CliRunner,
) -> None:
    audiences = in_github_actions
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", sigstore_instance.mint_token("env@example.com"))
    rc, out, _ = _sign(cli, trust_config)
    assert rc == 0 and json.loads(out)["identity"] == "env@example.com"
    explicit = sigstore_instance.mint_token("explicit@example.com")
    rc, out, _ = _sign(cli, trust_config, "--identity-token", explicit)
    assert rc == 0 and json.loads(out)["identity"] == "explicit@example.com"
    assert audiences == []  # ambient credentials were never requested


def test_ambient_credentials_without_permission(
    example: Path, trust_config: Path, monkeypatch: pytest.MonkeyPatch, cli: CliRunner
) -> None:
    monkeypatch.chdir(example)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    before = (example / "analysis.ipynb").read_bytes()
    rc, _, err = _sign(cli, trust_config)
    assert rc == 1
    assert err.startswith("error: ambient CI credentials") and "ACTIONS_ID_TOKEN_REQUEST_TOKEN" in err
    assert len(err.strip().splitlines()) == 1
    assert (example / "analysis.ipynb").read_bytes() == before


def test_interactive_out_of_band_login(
    example: Path,
    trust_config: Path,
    sigstore_instance: LocalSigstore,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    cli: CliRunner,
) -> None:
    """`--oauth-force-oob` on a terminal: the URL is printed, the user pastes the code back."""
    monkeypatch.chdir(example)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)

    def user_pastes_code(prompt: str = "") -> str:  # the person at the terminal, with a browser
        link = re.search(r"(http://\S+)", capsys.readouterr().err)
        assert link is not None
        return sigstore_instance.oob_code(link.group(1))

    monkeypatch.setattr("builtins.input", user_pastes_code)
    with sigstore_instance.login_as("oob@example.com"):
        rc, out, _ = cli("sign", "analysis.ipynb", "--trust-config", trust_config, "--oauth-force-oob")
    assert rc == 0
    assert "signed analysis.ipynb as oob@example.com" in out


def test_interactive_browser_login_refused(
    example: Path,
    trust_config: Path,
    sigstore_instance: LocalSigstore,
    monkeypatch: pytest.MonkeyPatch,
    cli: CliRunner,
) -> None:
    """The user refuses consent in the browser: one clear line, nothing written."""
    monkeypatch.chdir(example)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)

    def browser(url: str) -> bool:
        requests.get(url, timeout=30)
        return True

    monkeypatch.setattr("webbrowser.open", browser)
    before = (example / "analysis.ipynb").read_bytes()
    with sigstore_instance.login_as(None):  # the issuer answers access_denied
        rc, _, err = cli("sign", "analysis.ipynb", "--trust-config", trust_config)
    assert rc == 1
    # sigstore's own "Waiting for browser interaction..." precedes our one error line
    assert err.strip().splitlines()[-1] == (
        "error: interactive login failed: Error response from auth endpoint: access_denied"
    )
    assert "Traceback" not in err
    assert (example / "analysis.ipynb").read_bytes() == before
