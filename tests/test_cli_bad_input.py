"""Bad input: each case gives one actionable line, the right exit code, and leaves every file as it was."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import CliRunner

from jupyter_sigstore.testing import LocalSigstore

ALICE = "alice@example.com"
OUTPUTS = ["--output", "results.csv", "--output", "figures/summary.png"]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def run(cli: CliRunner, example: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The CLI runner, working in a private copy of examples/."""
    monkeypatch.chdir(example)
    return cli


def sign_args(trust_config: Path, token: str, notebook: str = "analysis.ipynb") -> list[str]:
    return ["sign", notebook, "--trust-config", str(trust_config), "--identity-token", token]


def assert_one_line_error(err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], err


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b'{"cells": [', "not valid JSON"),
        (b"", "not a notebook"),
        (b"\xff\xfe garbage", "UTF-16"),
        (b'["a list"]', "not a notebook"),
        (b'{"nbformat": 3, "nbformat_minor": 0, "worksheets": []}', "nbformat 3"),
        (b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}}', "'cells' must be a list"),
        (
            b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "magic"}]}',
            "cell_type 'magic'",
        ),
    ],
    ids=["truncated", "empty", "binary", "list", "nbformat3", "no-cells", "bad-cell-type"],
)
def test_malformed_notebook(
    run, example: Path, trust_config: Path, token, content: bytes, needle: str
) -> None:  # type: ignore[no-untyped-def]
    (example / "bad.ipynb").write_bytes(content)
    before = snapshot(example)
    rc, out, err = run(*sign_args(trust_config, token(), "bad.ipynb"))
    assert rc == 2 and out == ""
    assert_one_line_error(err, "bad.ipynb", needle)
    rc, _, err = run("verify", "bad.ipynb", "--trust-config", str(trust_config))
    assert rc == 2
    assert_one_line_error(err, needle)
    assert snapshot(example) == before


def test_truncated_real_notebook(run, example: Path, trust_config: Path, token) -> None:  # type: ignore[no-untyped-def]
    path = example / "analysis.ipynb"
    path.write_bytes(path.read_bytes()[:-200])
    before = snapshot(example)
    rc, _, err = run(*sign_args(trust_config, token()))
    assert rc == 2
    assert_one_line_error(err, "not valid JSON", "truncated")
    assert snapshot(example) == before


def test_missing_notebook(run, trust_config: Path, token) -> None:  # type: ignore[no-untyped-def]
    rc, _, err = run(*sign_args(trust_config, token(), "nope.ipynb"))
    assert rc == 2
    assert_one_line_error(err, "nope.ipynb", "no such notebook")


def test_bundle_not_json_and_not_a_bundle(run, example: Path, trust_config: Path) -> None:  # type: ignore[no-untyped-def]
    (example / "b1.json").write_text("this is not json")
    (example / "b2.json").write_text(json.dumps({"mediaType": "application/json", "hello": 1}))
    for bundle, needle in (("b1.json", "not JSON"), ("b2.json", "not a Sigstore bundle")):
        rc, out, _ = run(
            "verify", "analysis.ipynb", "--bundle", bundle, "--trust-config", str(trust_config), "--json"
        )
        report = json.loads(out)
        assert rc == 1 and report["status"] == "invalid"
        assert needle in report["summary"]


def test_missing_bundle_file(run, trust_config: Path) -> None:  # type: ignore[no-untyped-def]
    rc, _, err = run("verify", "analysis.ipynb", "--bundle", "gone.json", "--trust-config", str(trust_config))
    assert rc == 2
    assert_one_line_error(err, "gone.json")


def test_garbage_signature_block_is_invalid(run, example: Path, trust_config: Path) -> None:  # type: ignore[no-untyped-def]
    path = example / "analysis.ipynb"
    for block in (
        "garbage",
        {"signatures": "x"},
        {"signatures": [{"bundle": {"x": 1}}]},
        {"signatures": [42]},
    ):
        nb = json.loads(path.read_text())
        nb["metadata"]["sigstore"] = block
        path.write_text(json.dumps(nb))
        rc, out, _ = run("verify", "analysis.ipynb", "--trust-config", str(trust_config), "--json")
        assert rc == 1 and json.loads(out)["status"] == "invalid", block


def test_bundle_for_another_notebook(
    run, example: Path, trust_config: Path, token, sigstore_instance
) -> None:  # type: ignore[no-untyped-def]
    other = example / "other.ipynb"
    nb = json.loads((example / "analysis.ipynb").read_text())
    nb["cells"] = [{"cell_type": "markdown", "metadata": {}, "source": "Something else entirely."}]
    other.write_text(json.dumps(nb))
    assert run(*sign_args(trust_config, token(), "other.ipynb"), "--sidecar")[0] == 0
    rc, out, _ = run(
        "verify", "analysis.ipynb", "--bundle", "other.ipynb.sigstore.json",
        "--trust-config", str(trust_config), "--cert-identity", ALICE,
        "--cert-oidc-issuer", sigstore_instance.issuer_url, "--json",
    )  # fmt: skip
    report = json.loads(out)
    assert rc == 1 and report["status"] == "modified"
    assert "another notebook" in report["summary"]


def test_bundle_from_another_instance_is_invalid(run, example: Path, token, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with LocalSigstore() as rogue:
        rogue_tc = rogue.write_trust_config(tmp_path / "rogue.json")
        assert run(*sign_args(rogue_tc, rogue.mint_token(ALICE)))[0] == 0
    honest = tmp_path / "honest.json"
    with LocalSigstore() as inst:
        inst.write_trust_config(honest)
        rc, out, _ = run("verify", "analysis.ipynb", "--trust-config", str(honest), "--json")
    report = json.loads(out)
    assert rc == 1 and report["status"] == "invalid"
    assert "does not verify" in report["summary"]


def test_expired_token(run, example: Path, trust_config: Path, token, sigstore_instance) -> None:  # type: ignore[no-untyped-def]
    log_size = len(sigstore_instance.rekor_v1_log.bodies)
    before = snapshot(example)
    expired = token(expires_in=-120)
    rc, out, err = run(*sign_args(trust_config, expired), *OUTPUTS)
    assert rc == 1
    assert_one_line_error(err, "expired at", "fresh")
    assert expired not in err + out
    assert snapshot(example) == before
    assert len(sigstore_instance.rekor_v1_log.bodies) == log_size


def test_token_for_wrong_audience_and_garbage_token(run, example: Path, trust_config: Path, token) -> None:  # type: ignore[no-untyped-def]
    before = snapshot(example)
    rc, _, err = run(*sign_args(trust_config, token(audience="someone-else")))
    assert rc == 1
    assert_one_line_error(err, "audience")
    rc, _, err = run(*sign_args(trust_config, "not-a-jwt"))
    assert rc == 1
    assert_one_line_error(err, "not a valid JWT")
    assert "not-a-jwt" not in err
    assert snapshot(example) == before


def test_no_token_without_a_terminal(run, example: Path, trust_config: Path) -> None:  # type: ignore[no-untyped-def]
    rc, _, err = run("sign", "analysis.ipynb", "--trust-config", str(trust_config))
    assert rc == 1
    assert_one_line_error(err, "--identity-token", "SIGSTORE_ID_TOKEN")


def test_token_from_environment(run, example: Path, trust_config: Path, token, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", token("carol@example.com"))
    rc, out, _ = run("sign", "analysis.ipynb", "--trust-config", str(trust_config))
    assert rc == 0 and "carol@example.com" in out


def test_missing_output(run, example: Path, trust_config: Path, token) -> None:  # type: ignore[no-untyped-def]
    before = snapshot(example)
    rc, _, err = run(*sign_args(trust_config, token()), "--output", "nope.csv")
    assert rc == 2
    assert_one_line_error(err, "nope.csv", "does not exist")
    assert snapshot(example) == before


def test_output_outside_the_notebook_folder(
    run, example: Path, trust_config: Path, token, sigstore_instance
) -> None:  # type: ignore[no-untyped-def]
    outside = example.parent / "outside.csv"
    outside.write_text("a,b\n1,2\n")
    before = snapshot(example)
    rc, _, err = run(*sign_args(trust_config, token()), "--output", "../outside.csv")
    assert rc == 2
    assert_one_line_error(err, "outside the notebook's folder", "--allow-outside")
    assert snapshot(example) == before
    # a symlink inside the folder that leads outside is outside too
    (example / "link.csv").symlink_to(outside)
    rc, _, err = run(*sign_args(trust_config, token()), "--output", "link.csv")
    assert rc == 2
    assert_one_line_error(err, "outside the notebook's folder")
    (example / "link.csv").unlink()
    # explicitly allowed: signed as ../outside.csv, and verification must allow it explicitly too
    assert run(*sign_args(trust_config, token()), "--output", "../outside.csv", "--allow-outside")[0] == 0
    base = ["verify", "analysis.ipynb", "--trust-config", str(trust_config), "--cert-identity", ALICE,
            "--cert-oidc-issuer", sigstore_instance.issuer_url, "--json"]  # fmt: skip
    report = json.loads(run(*base)[1])
    assert report["status"] == "invalid" and "--allow-outside" in report["summary"]
    report = json.loads(run(*base, "--allow-outside")[1])
    assert report["status"] == "verified"
    assert report["outputs"][0]["path"] == "../outside.csv"


@pytest.fixture
def immutable() -> Iterator[Callable[[Path], None]]:
    """Make a path unwritable even for root (chattr +i), undone afterwards."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not available")
    done: list[Path] = []

    def make(path: Path) -> None:
        if os.geteuid() != 0:
            path.chmod(0o555 if path.is_dir() else 0o444)
        elif subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
            pytest.skip("this file system does not support chattr +i")
        done.append(path)

    yield make
    for path in done:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], check=False)
        path.chmod(0o755 if path.is_dir() else 0o644)


def test_unwritable_notebook(
    run, example: Path, trust_config: Path, token, immutable, sigstore_instance
) -> None:  # type: ignore[no-untyped-def]
    log_size = len(sigstore_instance.rekor_v1_log.bodies)
    before = snapshot(example)
    immutable(example / "analysis.ipynb")
    rc, _, err = run(*sign_args(trust_config, token()), *OUTPUTS)
    assert rc == 2
    assert_one_line_error(err, "not writable", "nothing was signed")
    assert snapshot(example) == before
    assert len(sigstore_instance.rekor_v1_log.bodies) == log_size  # refused before signing


def test_unwritable_folder(run, example: Path, trust_config: Path, token, immutable) -> None:  # type: ignore[no-untyped-def]
    before = snapshot(example)
    immutable(example)
    rc, _, err = run(*sign_args(trust_config, token()))
    assert rc == 2
    assert_one_line_error(err, "not writable")
    assert snapshot(example) == before


def test_usage_errors(run, trust_config: Path) -> None:  # type: ignore[no-untyped-def]
    rc, _, err = run("verify", "analysis.ipynb", "--cert-identity", ALICE)
    assert rc == 2
    assert_one_line_error(err, "--cert-oidc-issuer")
    rc, _, err = run("verify", "analysis.ipynb", "--staging", "--trust-config", str(trust_config))
    assert rc == 2
    assert_one_line_error(err, "cannot be combined")
    with pytest.raises(SystemExit) as exc:
        run("sign")
    assert exc.value.code == 2


def test_bad_trust_config(run, example: Path) -> None:  # type: ignore[no-untyped-def]
    (example / "tc.json").write_text("{not json")
    rc, _, err = run("verify", "analysis.ipynb", "--trust-config", "tc.json")
    assert rc == 2
    assert_one_line_error(err, "tc.json", "not JSON")
    (example / "tc.json").write_text('{"mediaType": "nope"}')
    rc, _, err = run("verify", "analysis.ipynb", "--trust-config", "tc.json")
    assert rc == 2
    assert_one_line_error(err, "not a Sigstore ClientTrustConfig")
