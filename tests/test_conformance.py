"""``verify-bundle``: the sigstore-conformance client protocol (docs/cli_protocol.md).

Real public-good bundles from ../shared/interop are checked offline; the sigstore-conformance
``test/assets/bundle-verify`` cases run too when ``SIGSTORE_CONFORMANCE_ASSETS`` points at that folder
(they are not copied into this project).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from helpers import INTEROP, CliRunner

from jupyter_sigstore.keys import KeySigner, generate_keypair

WHL = INTEROP / "bundle_v3_github.whl"
WHL_ID = "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2"
WHL_ISSUER = "https://token.actions.githubusercontent.com"
STAGING_TXT = INTEROP / "staging-rekor-v2.txt"
needs_interop = pytest.mark.skipif(not WHL.is_file(), reason=f"interop bundles not present at {INTEROP}")


def verdict(err: str) -> str:
    """The protocol's result line (a staleness warning about the shipped root may come before it)."""
    return err.strip().splitlines()[-1]


def sha(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


# ------------------------------------------------------------------------- real public-good bundles


@needs_interop
@pytest.mark.parametrize("as_digest", [False, True], ids=["file", "digest"])
def test_public_production_bundle(cli: CliRunner, as_digest: bool) -> None:
    artifact = sha(WHL.read_bytes()) if as_digest else str(WHL)
    rc, out, err = cli(
        "verify-bundle",
        "--bundle",
        f"{WHL}.sigstore",
        "--certificate-identity",
        WHL_ID,
        "--certificate-oidc-issuer",
        WHL_ISSUER,
        artifact,
    )
    assert rc == 0, err
    assert out.startswith("OK:") and WHL_ID in out


@needs_interop
def test_public_staging_rekor_v2_bundle(cli: CliRunner) -> None:
    bundle = f"{STAGING_TXT}.sigstore.json"
    args = ["--staging", "--bundle", bundle, "--certificate-identity", "jku@goto.fi"]
    rc, _, err = cli(
        "verify-bundle",
        *args,
        "--certificate-oidc-issuer",
        "https://github.com/login/oauth",
        str(STAGING_TXT),
    )
    assert rc == 0, err
    # the same bundle is not valid for production (other trusted root)
    rc, _, err = cli(
        "verify-bundle",
        *args[1:],
        "--certificate-oidc-issuer",
        "https://github.com/login/oauth",
        str(STAGING_TXT),
    )
    assert rc == 1 and verdict(err).startswith("FAILED:")


@needs_interop
@pytest.mark.parametrize(
    "identity, issuer, artifact",
    [
        (WHL_ID + "x", WHL_ISSUER, None),
        (
            "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.1",
            WHL_ISSUER,
            None,
        ),
        (WHL_ID, "https://accounts.google.com", None),
        (WHL_ID, WHL_ISSUER, sha(b"other bytes")),
    ],
    ids=["identity-suffix", "other-tag", "other-issuer", "other-artifact"],
)
def test_public_bundle_refuses(cli: CliRunner, identity: str, issuer: str, artifact: str | None) -> None:
    rc, out, err = cli(
        "verify-bundle",
        "--bundle",
        f"{WHL}.sigstore",
        "--certificate-identity",
        identity,
        "--certificate-oidc-issuer",
        issuer,
        artifact or str(WHL),
    )
    assert rc == 1 and out == "" and verdict(err).startswith("FAILED:")


@needs_interop
def test_modified_artifact_file(cli: CliRunner, tmp_path: Path) -> None:
    copy = tmp_path / WHL.name
    copy.write_bytes(WHL.read_bytes() + b"\0")
    rc, _, err = cli(
        "verify-bundle",
        "--bundle",
        f"{WHL}.sigstore",
        "--certificate-identity",
        WHL_ID,
        "--certificate-oidc-issuer",
        WHL_ISSUER,
        str(copy),
    )
    assert rc == 1 and "FAILED" in err


# ------------------------------------------------------------------------------- protocol details


@pytest.fixture
def keyed(tmp_path: Path) -> tuple[Path, Path, bytes]:
    """A keyed in-toto bundle whose statement names two subjects; returns (bundle, pub, subject bytes)."""
    private, public = generate_keypair(tmp_path / "k", None)
    from jupyter_sigstore.keys import load_private_key

    data = b"subject two\n"
    statement: dict[str, Any] = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [
            {"name": "one.txt", "digest": {"sha256": hashlib.sha256(b"one").hexdigest()}},
            {"name": "two.txt", "digest": {"sha256": hashlib.sha256(data).hexdigest()}},
        ],
        "predicateType": "https://example.com/p/v1",
        "predicate": {},
    }
    bundle = tmp_path / "b.sigstore.json"
    bundle.write_text(KeySigner(load_private_key(private)).sign_statement(statement))
    return bundle, public, data


def test_intoto_bundle_matches_any_subject(
    cli: CliRunner, tmp_path: Path, keyed: tuple[Path, Path, bytes]
) -> None:
    bundle, public, data = keyed
    (tmp_path / "two.txt").write_bytes(data)
    for artifact in (str(tmp_path / "two.txt"), sha(data), sha(b"one")):
        rc, out, err = cli("verify-bundle", "--bundle", str(bundle), "--key", str(public), artifact)
        assert rc == 0, err
        assert "in-toto subject" in out


def test_intoto_bundle_whose_subjects_do_not_include_the_artifact(
    cli: CliRunner, tmp_path: Path, keyed: tuple[Path, Path, bytes]
) -> None:
    bundle, public, _ = keyed
    (tmp_path / "other.txt").write_bytes(b"not a subject")
    rc, out, err = cli(
        "verify-bundle", "--bundle", str(bundle), "--key", str(public), str(tmp_path / "other.txt")
    )
    assert rc == 1 and out == ""
    assert (
        f"no subject of the in-toto statement has sha256 {hashlib.sha256(b'not a subject').hexdigest()}"
        in err
    )


def test_keyed_bundle_needs_key_and_certificate_bundle_refuses_key(
    cli: CliRunner, keyed: tuple[Path, Path, bytes]
) -> None:
    bundle, public, data = keyed
    rc, _, err = cli(
        "verify-bundle",
        "--bundle",
        str(bundle),
        "--certificate-identity",
        "a@x",
        "--certificate-oidc-issuer",
        "i",
        sha(data),
    )
    assert rc == 1 and "signed with a public key" in err and "--key" in err
    if WHL.is_file():
        rc, _, err = cli("verify-bundle", "--bundle", f"{WHL}.sigstore", "--key", str(public), str(WHL))
        assert rc == 1 and "carries a signing certificate" in err


def test_digest_or_path(
    cli: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    keyed: tuple[Path, Path, bytes],
) -> None:
    bundle, public, data = keyed
    monkeypatch.chdir(tmp_path)
    # a file literally named like a digest is read as a file
    name = sha(b"one")
    Path(name).write_bytes(data)
    rc, out, err = cli("verify-bundle", "--bundle", str(bundle), "--key", str(public), name)
    assert rc == 0, err
    assert "two.txt" in out  # matched by the file's content, not by its name
    # wrong length, or not hex: a path, which does not exist
    for bad in ("sha256:" + "ab" * 31, "sha256:" + "zz" * 32, "sha512:" + "ab" * 64):
        rc, _, err = cli("verify-bundle", "--bundle", str(bundle), "--key", str(public), bad)
        assert rc == 2 and f"artifact {bad} is not a file" in err


def test_usage_errors(cli: CliRunner, keyed: tuple[Path, Path, bytes]) -> None:
    bundle, public, data = keyed
    rc, _, err = cli("verify-bundle", "--bundle", str(bundle), sha(data))
    assert rc == 2 and "--key" in err
    rc, _, err = cli(
        "verify-bundle",
        "--bundle",
        str(bundle),
        "--key",
        str(public),
        "--certificate-identity",
        "a@x",
        sha(data),
    )
    assert rc == 2 and "cannot be combined" in err
    rc, _, err = cli("verify-bundle", "--bundle", str(bundle), "--certificate-identity", "a@x", sha(data))
    assert rc == 2


def test_trusted_root_that_is_not_json(
    cli: CliRunner, tmp_path: Path, keyed: tuple[Path, Path, bytes]
) -> None:
    bundle, public, data = keyed
    root = tmp_path / "trusted_root.json"
    root.write_text("-----BEGIN CERTIFICATE-----\n")
    rc, out, err = cli(
        "verify-bundle", "--bundle", str(bundle), "--key", str(public), "--trusted-root", str(root), sha(data)
    )
    assert rc == 2 and out == ""
    assert err.startswith(f"error: trusted root {root} is not JSON")
    root.write_text('{"mediaType": "something else"}')
    rc, _, err = cli(
        "verify-bundle", "--bundle", str(bundle), "--key", str(public), "--trusted-root", str(root), sha(data)
    )
    assert rc == 2 and "is not a Sigstore trusted root" in err


def test_bundle_that_is_not_json(cli: CliRunner, tmp_path: Path, keyed: tuple[Path, Path, bytes]) -> None:
    _, public, data = keyed
    bad = tmp_path / "bad.json"
    bad.write_text('{"mediaType": ')
    rc, _, err = cli("verify-bundle", "--bundle", str(bad), "--key", str(public), sha(data))
    assert rc == 1 and "is not JSON" in err


def test_keyless_bundle_from_the_loopback_instance(
    cli: CliRunner,
    tmp_path: Path,
    sigstore_instance: Any,
    trust_config: Path,
    token: Callable[..., str],
    example: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Our notebook sidecar verifies with verify-bundle for each output (an in-toto subject)."""
    monkeypatch.chdir(example)
    rc, _, err = cli(
        "sign",
        "analysis.ipynb",
        "-o",
        "results.csv",
        "--sidecar",
        "--trust-config",
        trust_config,
        "--identity-token",
        token(),
    )
    assert rc == 0, err
    root = tmp_path / "trusted_root.json"
    root.write_text(json.dumps(sigstore_instance.trusted_root()))
    args = [
        "--bundle",
        "analysis.ipynb.sigstore.json",
        "--certificate-identity",
        "alice@example.com",
        "--certificate-oidc-issuer",
        sigstore_instance.issuer_url,
        "--trusted-root",
        str(root),
    ]
    rc, out, err = cli("verify-bundle", *args, "results.csv")
    assert rc == 0, err
    assert "'results.csv'" in out
    rc, _, err = cli("verify-bundle", *args[:3], "bob@example.com", *args[4:], "results.csv")
    assert rc == 1 and "FAILED" in err
    Path("results.csv").write_text("edited\n")
    rc, _, err = cli("verify-bundle", *args, "results.csv")
    assert rc == 1 and "no subject" in err


# ------------------------------------------------------------ the conformance suite's own test cases

_ASSETS = os.environ.get("SIGSTORE_CONFORMANCE_ASSETS")
_DEFAULT_ID = (
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/"
    "extremely-dangerous-oidc-beacon.yml@refs/heads/main"
)
#: Cases sigstore-python 4.5.1 (which verifies certificate bundles for us) does not pass.
KNOWN_LIMITATIONS = {
    "intoto-with-custom-trust-root": "sigstore-python does not support intoto/0.0.2 log entries",
    "trust-root-tsa-validity-end-inclusive": "sigstore-python treats a TSA's validity end as exclusive",
}


def _cases() -> list[Any]:
    if not _ASSETS or not Path(_ASSETS, "a.txt").is_file():
        return [
            pytest.param(
                None,
                id="assets-absent",
                marks=pytest.mark.skip(
                    reason="set SIGSTORE_CONFORMANCE_ASSETS "
                    "to sigstore-conformance's test/assets/bundle-verify to run its cases"
                ),
            )
        ]
    cases = []
    for case in sorted(p for p in Path(_ASSETS).iterdir() if (p / "bundle.sigstore.json").is_file()):
        marks = (
            [pytest.mark.xfail(reason=KNOWN_LIMITATIONS[case.name], strict=True)]
            if case.name in KNOWN_LIMITATIONS
            else []
        )
        cases.append(pytest.param(case, id=case.name, marks=marks))
    return cases


@pytest.mark.parametrize("case", _cases())
@pytest.mark.parametrize("as_digest", [False, True], ids=["file", "digest"])
def test_conformance_case(cli: CliRunner, case: Path, as_digest: bool) -> None:
    artifact = case / "artifact" if (case / "artifact").is_file() else case.parent / "a.txt"
    args = ["--bundle", str(case / "bundle.sigstore.json")]
    if (case / "key.pub").is_file():
        args += ["--key", str(case / "key.pub")]
    else:
        identity = (case / "identity").read_text().strip() if (case / "identity").is_file() else _DEFAULT_ID
        issuer = (case / "issuer").read_text().strip() if (case / "issuer").is_file() else WHL_ISSUER
        args += ["--certificate-identity", identity, "--certificate-oidc-issuer", issuer]
    if (case / "trusted_root.json").is_file():
        args += ["--trusted-root", str(case / "trusted_root.json")]
    args.append(sha(artifact.read_bytes()) if as_digest else str(artifact))
    rc, _, err = cli("verify-bundle", *args)
    if case.name.endswith("_fail"):
        assert rc != 0
        assert "Traceback" not in err
    else:
        assert rc == 0, err


def test_p256_only_for_verification_keys(
    cli: CliRunner, tmp_path: Path, keyed: tuple[Path, Path, bytes]
) -> None:
    from cryptography.hazmat.primitives import serialization

    bundle, _, data = keyed
    other = tmp_path / "p384.pub"
    other.write_bytes(
        ec.generate_private_key(ec.SECP384R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    rc, _, err = cli("verify-bundle", "--bundle", str(bundle), "--key", str(other), sha(data))
    assert rc == 2 and "secp384r1" in err


# ------------------------------------------------------------------------------------ trust roots


def _tuf_data_dir(url: str) -> Path:
    from urllib.parse import quote

    return Path(os.environ["XDG_DATA_HOME"]) / "sigstore-python" / "tuf" / quote(url, safe="")


@pytest.mark.parametrize("days, warned", [(45, True), (3, False)])
def test_stale_root_warning(cli: CliRunner, keyed: tuple[Path, Path, bytes], days: int, warned: bool) -> None:
    import time

    stamp = _tuf_data_dir("https://tuf-repo-cdn.sigstore.dev") / "timestamp.json"
    stamp.parent.mkdir(parents=True)
    stamp.write_text("{}")
    then = time.time() - days * 86400
    os.utime(stamp, (then, then))
    bundle, public, data = keyed
    rc, _, err = cli("verify-bundle", "--bundle", str(bundle), "--key", str(public), sha(data))
    assert rc == 0
    if warned:
        assert f"production trusted root was last refreshed {days} days ago" in err
        assert "jupyter-sigstore trust update" in err
    else:
        assert "warning" not in err
    # the staging root is judged separately (never refreshed here: dated by its newest key)
    from jupyter_sigstore.trustroot import root_state

    staging = root_state("staging")
    assert staging.refreshed_at is None and staging.dated is not None


def test_trust_update_offline_is_one_clear_line(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def no_network(*args: Any, **kwargs: Any) -> None:
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    rc, _, err = cli("trust", "update", "--staging")
    assert rc == 1  # a failure, not a usage error (issue 15.5)
    assert err.startswith("error: cannot refresh the staging trusted root: https://tuf-repo-cdn.sigstage.dev")
    assert "unreachable (offline?)" in err and "keeps using the cached root" in err
    assert err.count("\n") == 1
    rc, out, _ = cli("trust", "status")
    assert rc == 0
    assert "production: https://tuf-repo-cdn.sigstore.dev" in out and "staging:" in out
