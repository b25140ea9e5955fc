"""In-kernel identity: device (RFC 8628) and out-of-band flows against the loopback issuer."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kernel_harness import NotebookDriver

from jupyter_sigstore.errors import IdentityError
from jupyter_sigstore.instance import Instance
from jupyter_sigstore.kernel.login import KernelIdentity, LoginPrompt
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
