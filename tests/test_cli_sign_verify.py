"""End to end: the CLI signs the example notebook and its outputs against the loopback instance
(real sigstore-python signing and verification), and verification names every change."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from helpers import CliResult, CliRunner

from jupyter_sigstore.testing import LocalSigstore

ALICE = "alice@example.com"


class Cli:
    """The CLI runner inside the example folder, with sign and verify bound to one test instance."""

    def __init__(self, run: CliRunner, cwd: Path, trust_config: Path, issuer: str):
        self.run, self.cwd, self.trust_config, self.issuer = run, cwd, trust_config, issuer

    def __call__(self, *args: str) -> CliResult:
        return self.run(*args)

    def sign(self, token: str, *extra: str, notebook: str = "analysis.ipynb") -> tuple[int, str, str]:
        return self(
            "sign", notebook, "--trust-config", str(self.trust_config), "--identity-token", token, *extra
        )

    def verify(self, *extra: str, identity: str = ALICE, notebook: str = "analysis.ipynb") -> dict[str, Any]:
        rc, out, err = self(
            "verify",
            notebook,
            "--trust-config",
            str(self.trust_config),
            "--cert-identity",
            identity,
            "--cert-oidc-issuer",
            self.issuer,
            "--json",
            *extra,
        )
        report: dict[str, Any] = json.loads(out)
        assert rc == (0 if report["status"] == "verified" else 1), (rc, report["status"], err)
        return report


@pytest.fixture
def cli(
    cli: CliRunner,
    example: Path,
    trust_config: Path,
    sigstore_instance: LocalSigstore,
    monkeypatch: pytest.MonkeyPatch,
) -> Cli:
    """conftest's ``cli`` runner, working in a private copy of examples/ against the test instance."""
    monkeypatch.chdir(example)
    return Cli(cli, example, trust_config, sigstore_instance.issuer_url)


OUTPUTS = ("--output", "results.csv", "--output", "figures/summary.png")


@pytest.fixture
def signed(cli: Cli, token: Callable[..., str]) -> Cli:
    rc, out, err = cli.sign(token(), *OUTPUTS)
    assert rc == 0, err
    assert "signed analysis.ipynb as alice@example.com" in out
    return cli


def test_signed_notebook_verifies_with_outputs(signed: Cli) -> None:
    report = signed.verify()
    assert report["status"] == "verified"
    [sig] = report["signatures"]
    assert sig["identity"] == ALICE and sig["issuer"] == signed.issuer
    assert sig["valid"] and sig["log_index"] is not None and sig["signed_at"].endswith("Z")
    assert [c["status"] for c in report["cells"]] == ["ok"] * 5
    assert [c["index"] for c in report["cells"]] == [0, 1, 2, 3, 4]
    assert {o["path"]: o["status"] for o in report["outputs"]} == {
        "results.csv": "ok",
        "figures/summary.png": "ok",
    }
    for out in report["outputs"]:
        assert out["expected_sha256"] == out["actual_sha256"]


def test_signature_is_embedded_bundle_v03_with_intoto_statement(signed: Cli) -> None:
    nb = json.loads((signed.cwd / "analysis.ipynb").read_text())
    [entry] = nb["metadata"]["sigstore"]["signatures"]
    bundle = entry["bundle"]
    assert bundle["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    assert bundle["dsseEnvelope"]["payloadType"] == "application/vnd.in-toto+json"
    import base64

    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    names = [s["name"] for s in statement["subject"]]
    assert names[0] == "analysis.ipynb"
    assert sorted(names[1:]) == ["figures/summary.png", "results.csv"]
    assert len(statement["predicate"]["cells"]) == 5


def test_signing_changes_nothing_but_the_signature_metadata(cli: Cli, token: Callable[..., str]) -> None:
    path = cli.cwd / "analysis.ipynb"
    before = path.read_bytes()
    assert cli.sign(token(), *OUTPUTS)[0] == 0
    after = json.loads(path.read_text())
    del after["metadata"]["sigstore"]
    # The example is written by nbformat (indent 1, sorted keys): the rest of the file is byte-identical.
    assert json.dumps(after, indent=1, sort_keys=True, ensure_ascii=False) + "\n" == before.decode()


def _edit(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    nb = json.loads(path.read_text())
    change(nb)
    path.write_text(json.dumps(nb, indent=1))


@pytest.mark.parametrize(
    ("change", "cell"),
    [
        (lambda nb: nb["cells"][1]["source"].append("\nprint('extra')"), 1),
        (lambda nb: nb["cells"][2]["outputs"][0]["data"].update({"text/plain": ["edited"]}), 2),
        (lambda nb: nb["cells"][4].update(cell_type="raw"), 4),
        (lambda nb: nb["cells"][3]["outputs"][0]["data"].update({"image/png": "iVBORw0KGgo="}), 3),
        (lambda nb: nb["cells"][0]["source"].__setitem__(0, "# Lake temperature analysis\n"), 0),
    ],
    ids=["source", "text-output", "cell-type", "image-output", "markdown"],
)
def test_any_single_cell_change_is_named(
    signed: Cli, change: Callable[[dict[str, Any]], None], cell: int
) -> None:
    _edit(signed.cwd / "analysis.ipynb", change)
    report = signed.verify()
    assert report["status"] == "modified"
    changed = [(c["index"], c["status"]) for c in report["cells"] if c["status"] != "ok"]
    assert changed == [(cell, "modified")]
    assert "1 cell changed since signing" in report["summary"]


def test_added_removed_and_reordered_cells(signed: Cli) -> None:
    path = signed.cwd / "analysis.ipynb"
    _edit(path, lambda nb: nb["cells"].insert(2, nbformat.v4.new_markdown_cell("A note.")))
    report = signed.verify()
    assert [(c["index"], c["status"]) for c in report["cells"] if c["status"] != "ok"] == [(2, "added")]
    _edit(path, lambda nb: nb["cells"].pop(2) and nb["cells"].pop(0))
    report = signed.verify()
    removed = [c for c in report["cells"] if c["status"] != "ok"]
    assert [(c["signed_index"], c["status"]) for c in removed] == [(0, "removed")]
    _edit(path, lambda nb: nb["cells"].reverse())
    assert signed.verify()["status"] == "modified"


@pytest.mark.parametrize("name", ["results.csv", "figures/summary.png"])
def test_changed_output_is_named_with_both_digests(signed: Cli, name: str) -> None:
    target = signed.cwd / name
    target.write_bytes(target.read_bytes() + b"\n")
    report = signed.verify()
    assert report["status"] == "modified"
    [changed] = [o for o in report["outputs"] if o["status"] != "ok"]
    assert changed["path"] == name and changed["status"] == "modified"
    assert changed["expected_sha256"] != changed["actual_sha256"]
    assert name in report["summary"]


def test_missing_output(signed: Cli) -> None:
    (signed.cwd / "results.csv").unlink()
    report = signed.verify()
    assert report["status"] == "modified"
    assert {o["path"]: o["status"] for o in report["outputs"]}["results.csv"] == "missing"


def test_widget_state_change_is_reported_as_such(signed: Cli) -> None:
    """Widget state is restored by JupyterLab on open, so it is covered (profile v2), and reported on a
    line of its own rather than as a changed cell."""
    state = {"application/vnd.jupyter.widget-state+json": {"state": {"m": {"state": {"value": "<b>hi</b>"}}}}}
    _edit(signed.cwd / "analysis.ipynb", lambda nb: nb["metadata"].update(widgets=state))
    report = signed.verify()
    assert report["status"] == "modified"
    assert report["notebook_changes"] == ["widget state changed since signing"]
    assert all(c["status"] == "ok" for c in report["cells"])


def test_kernelspec_change_is_reported(signed: Cli) -> None:
    _edit(signed.cwd / "analysis.ipynb", lambda nb: nb["metadata"]["kernelspec"].update(name="julia-1.10"))
    report = signed.verify()
    assert report["status"] == "modified"
    assert report["notebook_changes"]


def test_cosmetic_resaves_still_verify(signed: Cli) -> None:
    path = signed.cwd / "analysis.ipynb"
    nb = nbformat.read(path, as_version=4)  # what Jupyter does on open ...
    nb.cells[1].metadata["collapsed"] = True
    nb.cells[1].metadata["scrolled"] = "auto"
    nb.cells[2].metadata["jupyter"] = {"source_hidden": True}
    nb.cells[2].metadata["execution"] = {"iopub.status.busy": "2026-11-25T10:00:00Z"}
    nb.cells[3].metadata["ExecuteTime"] = {"end_time": "2026-11-25T10:00:01Z"}
    nb.cells[0].metadata["trusted"] = True
    nb.metadata["kernelspec"]["display_name"] = "Python 3 (ipykernel)"
    nb.metadata["language_info"] = {"name": "python", "version": "3.13.1"}
    nbformat.write(nb, path)  # ... and on save
    assert signed.verify()["status"] == "verified"
    # other JSON formatting and key order
    raw = json.loads(path.read_text())
    path.write_text(json.dumps(raw, indent=4, sort_keys=False))
    assert signed.verify()["status"] == "verified"
    path.write_text(json.dumps(raw, separators=(",", ":"), sort_keys=True))
    assert signed.verify()["status"] == "verified"


def test_untrusted_signer_and_issuer(signed: Cli) -> None:
    report = signed.verify(identity="bob@example.com")
    assert report["status"] == "untrusted-signer"
    assert report["signatures"][0]["identity"] == ALICE  # the real signer is shown
    rc, out, _ = signed(
        "verify",
        "analysis.ipynb",
        "--trust-config",
        str(signed.trust_config),
        "--cert-identity",
        ALICE,
        "--cert-oidc-issuer",
        "https://accounts.google.com",
    )
    assert rc == 1 and "UNTRUSTED-SIGNER" in out
    # lookalike identities never match an exact identity
    assert signed.verify(identity="alice@example.com.evil.org")["status"] == "untrusted-signer"


def test_no_policy_means_untrusted_signer_with_identity_shown(signed: Cli) -> None:
    rc, out, err = signed("verify", "analysis.ipynb", "--trust-config", str(signed.trust_config))
    assert rc == 1
    assert "UNTRUSTED-SIGNER" in out and ALICE in out
    assert "--cert-identity" in err


def test_metadata_claims_are_never_trusted(signed: Cli) -> None:
    path = signed.cwd / "analysis.ipynb"
    _edit(path, lambda nb: nb["metadata"]["sigstore"].update(status="verified", trusted=True))
    _edit(path, lambda nb: nb["cells"][1]["source"].append("# sneaky"))
    assert signed.verify()["status"] == "modified"


def test_unsigned_notebook(cli: Cli) -> None:
    report = cli.verify()
    assert report["status"] == "unsigned"
    assert len(report["cells"]) == 5


def test_sidecar_verifies_each_output_with_the_stock_sigstore_cli(
    cli: Cli, token: Callable[..., str]
) -> None:
    rc, out, err = cli.sign(token(), *OUTPUTS, "--sidecar")
    assert rc == 0, err
    sidecar = cli.cwd / "analysis.ipynb.sigstore.json"
    assert json.loads(sidecar.read_text())["dsseEnvelope"]
    sigstore_cli = Path(sys.executable).with_name("sigstore")
    for name in ("results.csv", "figures/summary.png"):
        done = subprocess.run(
            [str(sigstore_cli), "--trust-config", str(cli.trust_config), "verify", "identity",
             "--bundle", str(sidecar), "--cert-identity", ALICE, "--cert-oidc-issuer", cli.issuer, name],
            cwd=cli.cwd, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    (cli.cwd / "results.csv").write_text("tampered\n")
    done = subprocess.run(
        [str(sigstore_cli), "--trust-config", str(cli.trust_config), "verify", "identity",
         "--bundle", str(sidecar), "--cert-identity", ALICE, "--cert-oidc-issuer", cli.issuer, "results.csv"],
        cwd=cli.cwd, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode != 0


def test_detached_signature_follows_the_reference(cli: Cli, token: Callable[..., str]) -> None:
    rc, _, err = cli.sign(token(), *OUTPUTS, "--detached")
    assert rc == 0, err
    nb = json.loads((cli.cwd / "analysis.ipynb").read_text())
    [entry] = nb["metadata"]["sigstore"]["signatures"]
    assert set(entry) == {"bundleRef"}
    assert entry["bundleRef"]["path"] == "analysis.ipynb.sigstore.json"
    assert cli.verify()["status"] == "verified"
    sidecar = cli.cwd / "analysis.ipynb.sigstore.json"
    bundle = json.loads(sidecar.read_text())
    sidecar.write_text(json.dumps(bundle, indent=4))  # same bundle, other bytes: the reference pins bytes
    report = cli.verify()
    assert report["status"] == "invalid"
    assert "changed" in report["signatures"][0]["error"]
    sidecar.unlink()
    assert cli.verify()["status"] == "invalid"


def test_resigning_replaces_the_signature(cli: Cli, token: Callable[..., str]) -> None:
    assert cli.sign(token())[0] == 0
    _edit(cli.cwd / "analysis.ipynb", lambda nb: nb["cells"][4]["source"].append(" Updated."))
    rc, out, _ = cli.sign(token(), *OUTPUTS)
    assert rc == 0 and "replaced earlier signature(s) by alice@example.com" in out
    nb = json.loads((cli.cwd / "analysis.ipynb").read_text())
    assert len(nb["metadata"]["sigstore"]["signatures"]) == 1
    assert cli.verify()["status"] == "verified"


def test_trust_config_from_the_environment(
    cli: Cli, token: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """$JUPYTER_SIGSTORE_TRUST_CONFIG is the default --trust-config; --staging still picks staging."""
    monkeypatch.setenv("JUPYTER_SIGSTORE_TRUST_CONFIG", str(cli.trust_config))
    rc, out, err = cli("sign", "analysis.ipynb", "--identity-token", token())
    assert rc == 0, err
    identity = ("--cert-identity", ALICE, "--cert-oidc-issuer", cli.issuer, "--json")
    rc, out, err = cli("verify", "analysis.ipynb", *identity)
    assert rc == 0 and json.loads(out)["status"] == "verified", err
    rc, out, _ = cli("verify", "analysis.ipynb", "--staging", *identity)
    assert rc == 1 and json.loads(out)["status"] == "invalid"


def test_rekor_v2_with_timestamp_authority(
    cli: Cli, example: Path, sigstore_instance_v2: LocalSigstore, tmp_path: Path
) -> None:
    tc = sigstore_instance_v2.write_trust_config(tmp_path / "tc-v2.json")
    cli = Cli(cli.run, example, tc, sigstore_instance_v2.issuer_url)
    assert cli.sign(sigstore_instance_v2.mint_token(ALICE), *OUTPUTS)[0] == 0
    report = cli.verify()
    assert report["status"] == "verified"
    assert report["signatures"][0]["signed_at"]  # from the RFC 3161 timestamp
    (example / "results.csv").write_text("x\n")
    assert cli.verify()["status"] == "modified"


def test_verify_folder_for_ci(signed: Cli, token: Callable[..., str]) -> None:
    second = signed.cwd / "sub" / "second.ipynb"
    second.parent.mkdir()
    shutil.copy(signed.cwd / "analysis.ipynb", second)
    rc, out, _ = signed(
        "verify", ".", "--trust-config", str(signed.trust_config),
        "--cert-identity", ALICE, "--cert-oidc-issuer", signed.issuer, "--json",
    )  # fmt: skip
    result = json.loads(out)
    # the copy's signature names outputs relative to the original folder: they are missing there
    assert rc == 1 and result["status"] == "failed"
    statuses = {Path(r["notebook"]).name: r["status"] for r in result["notebooks"]}
    assert statuses == {"analysis.ipynb": "verified", "second.ipynb": "modified"}


def test_inspect_shows_claims_without_verifying(signed: Cli) -> None:
    rc, out, _ = signed("inspect", "analysis.ipynb", "--json")
    info = json.loads(out)
    assert rc == 0 and info["verified"] is False
    assert info["signatures"][0]["identity"] == ALICE
    assert len(info["cell_digests"]) == 5
    rc, out, _ = signed("inspect", "analysis.ipynb")
    assert "NOT verified" in out


def test_console_script_and_jupyter_subcommand(example: Path) -> None:
    bindir = Path(sys.executable).parent
    for cmd in (
        [str(bindir / "jupyter-sigstore"), "--version"],
        [str(bindir / "jupyter"), "sigstore", "--version"],
    ):
        done = subprocess.run(cmd, capture_output=True, text=True, check=False,
                              env={"PATH": f"{bindir}:/usr/bin:/bin"})  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "jupyter-sigstore" in done.stdout


def _subjects(entry: dict[str, Any]) -> list[dict[str, Any]]:
    import base64

    statement = json.loads(base64.b64decode(entry["bundle"]["dsseEnvelope"]["payload"]))
    subjects: list[dict[str, Any]] = statement["subject"]
    return subjects


def test_countersignature_covers_the_same_subjects(signed: Cli, token: Callable[..., str]) -> None:
    rc, _, err = signed.sign(token("bob@example.com"), "--countersign", "--output", "results.csv")
    assert rc == 2 and "drop --output" in err
    rc, out, err = signed.sign(token("bob@example.com"), "--countersign")
    assert rc == 0, err
    assert "output results.csv" in out and "output figures/summary.png" in out
    nb = json.loads((signed.cwd / "analysis.ipynb").read_text())
    first, second = nb["metadata"]["sigstore"]["signatures"]
    assert _subjects(first) == _subjects(second)
    report = signed.verify(identity="bob@example.com")
    assert report["status"] == "verified"
    assert [s["identity"] for s in report["signatures"]] == [ALICE, "bob@example.com"]
    (signed.cwd / "figures" / "summary.png").write_bytes(b"not a png")
    report = signed.verify(identity="bob@example.com")
    assert report["status"] == "modified"
    assert not any(s["covers_current"] for s in report["signatures"])


def test_sign_without_output_uses_tracked_outputs(cli: Cli, token: Callable[..., str]) -> None:
    """Outputs declared with `%sigstore track` (metadata.sigstore.tracked, notebook-relative) are
    signed when no --output is given, even from another working directory."""
    _edit(cli.cwd / "analysis.ipynb", lambda nb: nb["metadata"].update(sigstore={"tracked": ["results.csv"]}))
    elsewhere = cli.cwd / "figures"
    import os

    os.chdir(elsewhere)
    rc, out, err = cli.sign(token(), notebook="../analysis.ipynb")
    os.chdir(cli.cwd)
    assert rc == 0, err
    assert "output results.csv" in out
    report = cli.verify()
    assert report["status"] == "verified"
    assert [o["path"] for o in report["outputs"]] == ["results.csv"]
    nb = json.loads((cli.cwd / "analysis.ipynb").read_text())
    assert nb["metadata"]["sigstore"]["tracked"] == ["results.csv"]  # kept by signing


def test_tracked_folder_covers_files_added_later(cli: Cli, token: Callable[..., str]) -> None:
    """`%sigstore track figures` keeps the folder (not today's files), so signing covers the folder
    with its rules and a file added to it afterwards is reported."""
    from jupyter_sigstore.tracking import normalise, write_tracked

    notebook = cli.cwd / "analysis.ipynb"
    names = normalise(notebook, ["results.csv", "figures"], base=cli.cwd)
    assert names == ["results.csv", "figures"]
    write_tracked(notebook, names)
    rc, _, err = cli.sign(token())
    assert rc == 0, err
    assert cli.verify()["status"] == "verified"
    (cli.cwd / "figures" / "extra.png").write_bytes(b"\x89PNG new figure")
    report = cli.verify()
    assert report["status"] == "modified"
    assert {o["path"]: o["status"] for o in report["outputs"]}["figures/extra.png"] == "added"


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_verify_jobs(signed: Cli, jobs: str) -> None:
    assert signed.verify("--jobs", jobs)["status"] == "verified"
    (signed.cwd / "results.csv").write_text("changed\n")
    report = signed.verify("--jobs", jobs)
    assert {o["path"]: o["status"] for o in report["outputs"]}["results.csv"] == "modified"


def test_console_entry_point_skips_the_last_garbage_collection(tmp_path: Path) -> None:
    import importlib.metadata

    scripts = importlib.metadata.entry_points(group="console_scripts")
    assert [e.value for e in scripts if e.name == "jupyter-sigstore"] == ["jupyter_sigstore.cli:run"]
    (tmp_path / "f").write_text("x")
    code = (
        "import gc, sys; from jupyter_sigstore.cli import run; "
        "sys.argv = ['jupyter-sigstore', 'digest', 'f']; rc = run(); print(rc, gc.get_freeze_count() > 0)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert proc.stdout.splitlines()[-1] == "0 True" and "f\n" in proc.stdout
