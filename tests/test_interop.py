"""Interoperability: our bundles verify with the stock ``sigstore`` CLI and with sigstore-js; bundles
made by the stock ``sigstore sign`` and by the real public-good instances verify with ours.

sigstore-js is installed into tests/js by ``npm ci --prefix tests/js`` (package-lock.json is committed);
without it, and without node, the sigstore-js test is skipped with that reason.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import INTEROP, CliRunner

from jupyter_sigstore.testing import LocalSigstore

HERE = Path(__file__).resolve().parent
JS = HERE / "js"
SIGSTORE = Path(sys.executable).with_name("sigstore")
ALICE = "alice@example.com"
OUTPUTS = ["results.csv", "figures/summary.png"]


def _sign_example(cli: CliRunner, example: Path, instance: LocalSigstore, trust_config: Path) -> Path:
    """Sign the example notebook and both outputs with our CLI, writing the sidecar bundle."""
    args = ["sign", str(example / "analysis.ipynb"), "--sidecar", "--trust-config", str(trust_config)]
    for out in OUTPUTS:
        args += ["-o", str(example / out)]
    rc, _, err = cli(*args, "--identity-token", instance.mint_token(ALICE))
    assert rc == 0, err
    return example / "analysis.ipynb.sigstore.json"


@pytest.fixture(params=[1, 2], ids=["rekor-v1", "rekor-v2"])
def instance(request: pytest.FixtureRequest) -> LocalSigstore:
    fixture = "sigstore_instance" if request.param == 1 else "sigstore_instance_v2"
    inst: LocalSigstore = request.getfixturevalue(fixture)
    return inst


@pytest.fixture
def config(instance: LocalSigstore, tmp_path: Path) -> Path:
    return instance.write_trust_config(tmp_path / "trust_config.json")


def _stock_verify(
    config: Path, bundle: Path, artifact: Path, identity: str, issuer: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SIGSTORE), "--trust-config", str(config), "verify", "identity", "--bundle", str(bundle)]
        + ["--cert-identity", identity, "--cert-oidc-issuer", issuer, str(artifact)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_stock_sigstore_cli_verifies_each_output(
    example: Path, instance: LocalSigstore, config: Path, cli: CliRunner
) -> None:
    sidecar = _sign_example(cli, example, instance, config)
    for out in OUTPUTS:
        result = _stock_verify(config, sidecar, example / out, ALICE, instance.issuer_url)
        assert result.returncode == 0, result.stderr
        assert "OK" in result.stderr + result.stdout
    (example / "results.csv").write_text("edited by hand\n")
    result = _stock_verify(config, sidecar, example / "results.csv", ALICE, instance.issuer_url)
    assert result.returncode != 0
    assert "no subject" in result.stderr
    result = _stock_verify(config, sidecar, example / OUTPUTS[1], "bob@example.com", instance.issuer_url)
    assert result.returncode != 0


def _node_ready() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not (JS / "node_modules" / "@sigstore" / "verify").is_dir():
        return "sigstore-js is not installed: run `npm ci --prefix tests/js`"
    return None


@pytest.mark.skipif(_node_ready() is not None, reason=_node_ready() or "")
def test_sigstore_js_verifies_each_output(
    cli: CliRunner, example: Path, instance: LocalSigstore, config: Path, tmp_path: Path
) -> None:
    sidecar = _sign_example(cli, example, instance, config)
    root = tmp_path / "trusted_root.json"
    root.write_text(json.dumps(instance.trusted_root()))

    def node(artifact: Path, identity: str = ALICE) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["node", str(JS / "verify.js"), "--bundle", str(sidecar), "--trusted-root", str(root)]
            + ["--identity", identity, "--issuer", instance.issuer_url, str(artifact)],
            capture_output=True,
            text=True,
            timeout=120,
        )

    for out in OUTPUTS:
        result = node(example / out)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("OK:") and f"in-toto subject {out}" in result.stdout
    result = node(example / OUTPUTS[0], identity="bob@example.com")
    assert result.returncode == 1 and result.stderr.startswith("FAILED:")
    (example / "results.csv").write_text("edited by hand\n")
    result = node(example / "results.csv")
    assert result.returncode == 1 and "no in-toto subject" in result.stderr


def test_stock_sigstore_sign_verifies_with_ours(
    instance: LocalSigstore, config: Path, tmp_path: Path, cli: CliRunner
) -> None:
    artifact = tmp_path / "data.bin"
    artifact.write_bytes(b"\x00measurements\n" * 100)
    bundle = tmp_path / "data.bin.sigstore.json"
    signed = subprocess.run(
        [str(SIGSTORE), "--trust-config", str(config), "sign", "--identity-token", instance.mint_token(ALICE)]
        + ["--bundle", str(bundle), str(artifact)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert signed.returncode == 0, signed.stderr
    root = tmp_path / "trusted_root.json"
    root.write_text(json.dumps(instance.trusted_root()))
    args = ["verify-bundle", "--bundle", str(bundle), "--certificate-identity", ALICE]
    args += ["--certificate-oidc-issuer", instance.issuer_url, "--trusted-root", str(root)]
    rc, _, err = cli(*args, artifact)
    assert rc == 0, err
    import hashlib

    assert cli(*args, "sha256:" + hashlib.sha256(artifact.read_bytes()).hexdigest())[0] == 0
    artifact.write_bytes(b"changed")
    assert cli(*args, artifact)[0] == 1
    # a root from another instance does not vouch for it
    other = tmp_path / "other_root.json"
    with LocalSigstore(rekor_version=1) as stranger:
        other.write_text(json.dumps(stranger.trusted_root()))
    artifact.write_bytes(b"\x00measurements\n" * 100)
    args[args.index(str(root))] = str(other)
    assert cli(*args, artifact)[0] == 1


@pytest.mark.skipif(
    not (INTEROP / "bundle_v3_github.whl").is_file(), reason=f"no interop bundles at {INTEROP}"
)
def test_public_bundles_verify_offline(monkeypatch: pytest.MonkeyPatch, cli: CliRunner) -> None:
    """The real production and staging bundles verify with no network at all."""

    def no_network(*args: Any, **kwargs: Any) -> None:
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    whl = INTEROP / "bundle_v3_github.whl"
    rc, _, err = cli(
        "verify-bundle",
        "--bundle",
        f"{whl}.sigstore",
        "--certificate-identity",
        "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2",
        "--certificate-oidc-issuer",
        "https://token.actions.githubusercontent.com",
        whl,
    )
    assert rc == 0, err
    txt = INTEROP / "staging-rekor-v2.txt"
    rc, _, err = cli(
        "verify-bundle",
        "--staging",
        "--bundle",
        f"{txt}.sigstore.json",
        "--certificate-identity",
        "jku@goto.fi",
        "--certificate-oidc-issuer",
        "https://github.com/login/oauth",
        txt,
    )
    assert rc == 0, err


def test_our_keyed_bundle_is_readable_by_sigstore_python_models(
    example: Path, tmp_path: Path, cli: CliRunner
) -> None:
    """A keyed bundle parses with the protobuf-specs models every client shares (sigstore-python's)."""
    from sigstore_models.bundle.v1 import Bundle

    from jupyter_sigstore.keys import generate_keypair

    private, public = generate_keypair(tmp_path / "k", None)
    assert cli("sign", example / "analysis.ipynb", "--key", private, "--sidecar")[0] == 0
    model = Bundle.from_json((example / "analysis.ipynb.sigstore.json").read_text())
    assert model.verification_material.public_key is not None
    assert model.dsse_envelope is not None and len(model.dsse_envelope.signatures) == 1
