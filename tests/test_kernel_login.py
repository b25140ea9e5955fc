"""In-kernel identity: device (RFC 8628) and out-of-band flows against the loopback issuer."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from kernel_harness import NotebookDriver

from jupyter_sigstore import api
from jupyter_sigstore.errors import IdentityError, SigningError
from jupyter_sigstore.instance import Instance
from jupyter_sigstore.kernel.login import KernelIdentity, Login, LoginPrompt
from jupyter_sigstore.oidc.tokens import token_claims
from jupyter_sigstore.testing import LocalSigstore


def test_device_flow_approved(sigstore_instance: LocalSigstore, trust_config: Path) -> None:
    shown: list[LoginPrompt] = []

    def show(prompt: LoginPrompt) -> None:
        shown.append(prompt)
        assert prompt.user_code
        sigstore_instance.approve_device_code(prompt.user_code, identity="bob@example.com")

    session = KernelIdentity()
    login = session.login(Instance.select(trust_config=trust_config), method="device", timeout=30, show=show)
    assert login.identity == "bob@example.com"
    assert login.source == "device login"
    assert shown[0].flow == "device" and shown[0].url.startswith(sigstore_instance.issuer_url)
    assert session.require() is login
    assert "eyJ" not in repr(login) and "eyJ" not in login.describe()
    assert session.logout() and session.current() is None


def test_device_flow_denied(sigstore_instance: LocalSigstore, trust_config: Path) -> None:
    def show(prompt: LoginPrompt) -> None:
        sigstore_instance.deny_device_code(prompt.user_code or "")

    session = KernelIdentity()
    with pytest.raises(IdentityError, match="login denied"):
        session.login(Instance.select(trust_config=trust_config), method="device", timeout=30, show=show)
    assert session.current() is None


def test_oob_flow_in_process(sigstore_instance: LocalSigstore, trust_config: Path) -> None:
    urls: list[str] = []
    session = KernelIdentity()
    login = session.login(
        Instance.select(trust_config=trust_config),
        method="oob",
        timeout=30,
        show=lambda p: urls.append(p.url),
        ask_code=lambda prompt: sigstore_instance.oob_code(urls[-1]),
    )
    assert login.identity == "alice@example.com" and login.source == "out-of-band login"
    with pytest.raises(IdentityError, match="no code was entered"):
        session.login(
            Instance.select(trust_config=trust_config),
            method="oob",
            timeout=30,
            show=lambda p: None,
            ask_code=lambda prompt: "  ",
        )


def test_ambient_token_from_environment(
    sigstore_instance: LocalSigstore, trust_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", sigstore_instance.mint_token("ci@example.com"))
    session = KernelIdentity()
    login = session.login(Instance.select(trust_config=trust_config), show=lambda p: None)
    assert login.identity == "ci@example.com" and login.source == "$SIGSTORE_ID_TOKEN"
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", sigstore_instance.mint_token("ci@example.com", expires_in=-10))
    with pytest.raises(IdentityError, match="expired"):
        KernelIdentity().require()


@pytest.fixture
def kernel(trust_config: Path, tmp_path: Path) -> Iterator[NotebookDriver]:
    env = {**os.environ, "JUPYTER_SIGSTORE_TRUST_CONFIG": str(trust_config)}
    d = NotebookDriver(tmp_path / "login.ipynb", env=env, extension=False)
    yield d
    d.close()


@pytest.mark.kernel
def test_oob_login_in_kernel_keeps_token_out_of_everything(
    kernel: NotebookDriver, sigstore_instance: LocalSigstore, monkeypatch: pytest.MonkeyPatch
) -> None:
    minted: list[str] = []
    original = sigstore_instance.oidc.mint_token

    def recording(*args: Any, **kwargs: Any) -> str:
        minted.append(original(*args, **kwargs))
        return minted[-1]

    monkeypatch.setattr(sigstore_instance.oidc, "mint_token", recording)
    d = kernel
    d.run("%load_ext jupyter_sigstore")
    urls: list[str] = []

    def on_output(out: dict[str, Any]) -> None:
        match = re.search(r"open (\S+)", str(out.get("data", {}).get("text/plain", "")))
        if match:
            urls.append(match.group(1))

    cell = d.run(
        "%sigstore login --oob",
        on_output=on_output,
        stdin=lambda prompt: sigstore_instance.oob_code(urls[-1]),
    )
    assert "logged in as alice@example.com" in d.text(cell), d.text(cell)
    cell = d.run("%sigstore whoami")
    assert "alice@example.com" in d.text(cell) and "out-of-band login" in d.text(cell)
    d.save()
    assert minted
    for hay in (d.path.read_text(), json.dumps(d.messages, default=str), d.log.read_text(errors="replace")):
        for token in minted:
            assert token not in hay
    cell = d.run("%sigstore logout")
    assert "logged out" in d.text(cell)
    cell = d.run("%sigstore whoami")
    assert "not logged in" in d.text(cell)


# -- the login display (issues 11.17 and 15.7) --------------------------------------------------------


def _user_code(out: dict[str, Any]) -> str | None:
    match = re.search(r"enter the code (\S+)", str(out.get("data", {}).get("text/plain", "")))
    return match.group(1) if match else None


@pytest.mark.kernel
def test_device_login_code_never_stays_in_the_saved_notebook(
    kernel: NotebookDriver, sigstore_instance: LocalSigstore
) -> None:
    """Each way a device login ends (timeout, denial, interrupt, approval) replaces the display that
    showed the code, so the notebook the front end saves holds no code."""
    d = kernel
    d.run("%load_ext jupyter_sigstore")
    codes: list[str] = []
    prompts: list[str] = []

    def seen(out: dict[str, Any]) -> str | None:
        code = _user_code(out)
        if code:
            codes.append(code)
            prompts.append(str(out["data"]["text/plain"]))
        return code

    timed_out = d.run("%sigstore login --device --timeout 2", on_output=seen)
    assert "Waiting up to 2 s" in prompts[-1] and "min" not in prompts[-1]
    assert "timed out after 2 s" in d.text(timed_out)

    def deny(out: dict[str, Any]) -> None:
        if code := seen(out):
            sigstore_instance.deny_device_code(code)

    denied = d.run("%sigstore login --device", on_output=deny)
    assert "Waiting up to 5 min" in prompts[-1]
    assert "login denied" in d.text(denied)

    def interrupt(out: dict[str, Any]) -> None:
        if seen(out):
            d.km.interrupt_kernel()

    cancelled = d.run("%sigstore login --device", on_output=interrupt)
    assert "login cancelled" in d.text(cancelled) and "Sign-in cancelled" in d.text(cancelled)

    def approve(out: dict[str, Any]) -> None:
        if code := seen(out):
            sigstore_instance.approve_device_code(code, identity="bob@example.com")

    approved = d.run("%sigstore login", on_output=approve)  # auto: the issuer offers a device login
    assert "logged in as bob@example.com" in d.text(approved)

    assert len(codes) == 4
    for cell in (timed_out, denied, cancelled, approved):
        [display] = [o for o in cell["outputs"] if o["output_type"] == "display_data"]
        assert "enter the code" not in json.dumps(display)
    d.save()
    saved = d.path.read_text()
    assert not [code for code in codes if code in saved]
    assert "Sign-in ended without an identity" in saved


# -- the client id, end to end ------------------------------------------------------------------------

PRIVATE_CLIENT = "jupyter-private"


@pytest.fixture(scope="module")
def private_instance() -> Iterator[LocalSigstore]:
    """An instance whose Fulcio accepts tokens for the client id ``jupyter-private`` only."""
    with LocalSigstore() as inst:
        inst.oidc.client_id = PRIVATE_CLIENT
        yield inst


@pytest.fixture(scope="module")
def private_trust_config(private_instance: LocalSigstore, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return private_instance.write_trust_config(tmp_path_factory.mktemp("private") / "trust_config.json")


def _device_login(inst: LocalSigstore, session: KernelIdentity, trust_config: Path) -> Login:
    def show(prompt: LoginPrompt) -> None:
        inst.approve_device_code(prompt.user_code or "", identity="erin@example.com")

    return session.login(Instance.select(trust_config=trust_config), method="device", timeout=30, show=show)


def _sign(tmp_path: Path, login: Login, trust_config: Path) -> api.SignResult:
    notebook = tmp_path / "nb.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")]), str(notebook))
    return api.sign(notebook, api.keyless_signer(login.token, Instance.select(trust_config=trust_config)))


def test_client_id_is_sent_and_expected_as_audience(
    private_instance: LocalSigstore,
    private_trust_config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JUPYTER_SIGSTORE_OIDC_CLIENT_ID", PRIVATE_CLIENT)
    session = KernelIdentity()
    login = _device_login(private_instance, session, private_trust_config)
    assert token_claims(str(login.token))["aud"] == PRIVATE_CLIENT  # the issuer was asked for this client
    assert _sign(tmp_path, login, private_trust_config).signatures == 1  # and Fulcio accepts it

    # a token for the default client: refused before anything reaches Fulcio
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", private_instance.mint_token(audience="sigstore"))
    with pytest.raises(IdentityError, match=f"audience 'sigstore', not '{PRIVATE_CLIENT}'"):
        KernelIdentity().require()


def test_without_the_client_id_fulcio_refuses(
    private_instance: LocalSigstore, private_trust_config: Path, tmp_path: Path
) -> None:
    """Why the setting exists: the issuer hands a token to any client, Fulcio takes only its own."""
    login = _device_login(private_instance, KernelIdentity(), private_trust_config)
    assert token_claims(str(login.token))["aud"] == "sigstore"
    with pytest.raises(Exception) as refused:  # noqa: PT011 - sigstore's FulcioClientError, for now
        _sign(tmp_path, login, private_trust_config)
    assert isinstance(refused.value, SigningError) or "Fulcio" in type(refused.value).__name__
    assert not (tmp_path / "nb.ipynb").read_text().count('"signatures"')


@pytest.mark.parametrize(
    ("setting", "value", "words"),
    [
        ("token_audience", "someone-else", "audience 'someone-else', not 'sigstore'"),
        ("token_lifetime", -30, "expired at"),
    ],
)
def test_unusable_token_from_the_issuer_is_not_kept(
    sigstore_instance: LocalSigstore,
    trust_config: Path,
    monkeypatch: pytest.MonkeyPatch,
    setting: str,
    value: object,
    words: str,
) -> None:
    monkeypatch.setattr(sigstore_instance.oidc, setting, value)
    session = KernelIdentity()
    urls: list[str] = []

    def show(prompt: LoginPrompt) -> None:
        urls.append(prompt.url)
        if prompt.user_code:
            sigstore_instance.approve_device_code(prompt.user_code)

    for method in ("device", "oob"):
        with pytest.raises(IdentityError, match=words):
            session.login(
                Instance.select(trust_config=trust_config),
                method=method,  # type: ignore[arg-type]
                timeout=30,
                show=show,
                ask_code=lambda _: sigstore_instance.oob_code(urls[-1]),
            )
        assert session.current() is None
