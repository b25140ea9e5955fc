"""``jupyter-sigstore run``: real kernels (nbclient) and the loopback Sigstore instance."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from reproducibility_helpers import ALICE, Cli, entries, make_notebook, statement_of

from jupyter_sigstore.instance import Instance
from jupyter_sigstore.provenance import SLSA_PREDICATE_TYPE
from jupyter_sigstore.testing import LocalSigstore

SIGSTORE = Path(sys.executable).with_name("sigstore")


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    trust_config: Path,
    sigstore_instance: LocalSigstore,
    monkeypatch: pytest.MonkeyPatch,
) -> Cli:
    monkeypatch.chdir(tmp_path)
    return Cli(capsys, tmp_path, trust_config, sigstore_instance.issuer_url)


ANALYSIS = [
    ("alpha = 1\n", ["parameters"]),
    "%load_ext jupyter_sigstore\n%sigstore track --input data.csv",
    "rows = open('data.csv').read().split()\n"
    "open('results.csv', 'w').write(f'{len(rows)},{alpha}\\n')\nprint(alpha)",
    "%sigstore track results.csv\n%sigstore sign",
]


def _verifier_check(trust_config: Path, bundle: str, issuer: str) -> dict[str, object]:
    """Verify a bundle with sigstore-python's own Verifier and identity policy; return its statement."""
    from sigstore.models import Bundle
    from sigstore.verify import Verifier
    from sigstore.verify.policy import Identity

    verifier = Verifier(trusted_root=Instance.select(trust_config=str(trust_config)).trusted_root())
    _, payload = verifier.verify_dsse(Bundle.from_json(bundle), Identity(identity=ALICE, issuer=issuer))
    statement: dict[str, object] = json.loads(payload)
    return statement


def test_run_signs_notebook_outputs_and_slsa_provenance(
    cli: Cli, token: Callable[..., str], trust_config: Path
) -> None:
    (cli.cwd / "data.csv").write_text("a\nb\nc\n")
    make_notebook(cli.cwd / "analysis.ipynb", ANALYSIS)
    rc, out, err = cli.run("analysis.ipynb", token(), "-p", "alpha", "0.5")
    assert rc == 0, err
    assert "signing analysis.ipynb with outputs: results.csv" in out
    assert (cli.cwd / "results.csv").read_text() == "3,0.5\n"
    report = cli.verify("analysis.ipynb")
    assert report["status"] == "verified", report["summary"]
    assert [o["path"] for o in report["outputs"]] == ["results.csv"]

    nb = json.loads((cli.cwd / "analysis.ipynb").read_text())
    injected = [c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert len(injected) == 1 and "alpha = 0.5" in "".join(injected[0]["source"])
    assert nb["cells"].index(injected[0]) == 1  # right after the cell tagged 'parameters'

    # the notebook signature carries the execution record
    (signature,) = entries(cli.cwd / "analysis.ipynb")
    record = statement_of(signature)["predicate"]["execution"]
    assert record["parameters"] == [{"name": "alpha", "value": 0.5}]
    data_sha = hashlib.sha256(b"a\nb\nc\n").hexdigest()
    assert record["inputs"] == [{"path": "data.csv", "digest": {"sha256": data_sha}, "size": 6}]
    assert record["kernel"]["name"] == "python3" and record["kernel"]["language"] == "python"
    assert any(p["name"] == "ipykernel" for p in record["packages"])
    assert len(record["source"]["cells"]) == len(ANALYSIS)

    # the SLSA provenance: over the notebook's final bytes, verified by sigstore-python itself
    sidecar = cli.cwd / "analysis.ipynb.provenance.sigstore.json"
    bundle_text = sidecar.read_text()
    statement = _verifier_check(trust_config, bundle_text, cli.issuer)
    assert statement["predicateType"] == SLSA_PREDICATE_TYPE
    subjects = {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}  # type: ignore[attr-defined]
    assert subjects["analysis.ipynb"] == hashlib.sha256((cli.cwd / "analysis.ipynb").read_bytes()).hexdigest()
    assert subjects["results.csv"] == hashlib.sha256(b"3,0.5\n").hexdigest()
    predicate = statement["predicate"]
    assert isinstance(predicate, dict)
    build = predicate["buildDefinition"]
    assert build["externalParameters"]["parameters"] == {"alpha": 0.5}
    names = [d.get("name") for d in build["resolvedDependencies"]]
    assert "data.csv" in names and "ipykernel" in names

    # one certificate for both entries, two log entries
    slsa = json.loads(bundle_text)
    cert = signature["verificationMaterial"]["certificate"]["rawBytes"]
    assert slsa["verificationMaterial"]["certificate"]["rawBytes"] == cert
    indexes = {int(b["verificationMaterial"]["tlogEntries"][0]["logIndex"]) for b in (signature, slsa)}
    assert len(indexes) == 2

    # verify reports the run and the provenance, about this version
    assert "python3" in (report["signatures"][0]["execution"] or "")
    (attestation,) = report["attestations"]
    assert attestation["predicate_type"] == SLSA_PREDICATE_TYPE and attestation["covers_current"]


def test_stock_sigstore_cli_checks_the_executed_notebook_bytes(
    cli: Cli, token: Callable[..., str], trust_config: Path
) -> None:
    make_notebook(cli.cwd / "nb.ipynb", ["open('out.txt', 'w').write('x')"])
    assert cli.run("nb.ipynb", token(), "--output", "out.txt")[0] == 0

    def stock(artifact: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SIGSTORE), "--trust-config", str(trust_config), "verify", "identity", "--bundle"]
            + [
                "nb.ipynb.provenance.sigstore.json",
                "--cert-identity",
                ALICE,
                "--cert-oidc-issuer",
                cli.issuer,
            ]
            + [artifact],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=cli.cwd,
        )

    for artifact in ("nb.ipynb", "out.txt"):
        result = stock(artifact)
        assert result.returncode == 0, result.stderr
    (cli.cwd / "out.txt").write_text("y")
    assert stock("out.txt").returncode != 0


def test_secret_parameters_are_recorded_as_digests_only(cli: Cli, token: Callable[..., str]) -> None:
    make_notebook(cli.cwd / "nb.ipynb", [("api_key = ''", ["parameters"]), "print(len(api_key))"])
    rc, _, err = cli.run("nb.ipynb", token(), "--secret-param", "api_key", "hunter2-secret")
    assert rc == 0, err
    text = (cli.cwd / "nb.ipynb").read_text()
    sidecar = (cli.cwd / "nb.ipynb.provenance.sigstore.json").read_text()
    assert "hunter2-secret" not in text and "hunter2-secret" not in sidecar
    assert "14" in text  # the kernel got the value
    record = statement_of(entries(cli.cwd / "nb.ipynb")[0])["predicate"]["execution"]
    digest = hashlib.sha256(b"hunter2-secret").hexdigest()
    assert record["parameters"] == [{"name": "api_key", "secret": True, "digest": {"sha256": digest}}]


def test_attack_notebook_code_cannot_read_the_identity_token_or_credentials(
    cli: Cli, token: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A notebook run in CI tries to sign as the CI identity with the ambient token: it gets nothing."""
    secret_token = token()
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", secret_token)
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "actions-request-secret")
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_URL", "https://actions.example/token")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret-value")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/secrets/gcp.json")
    monkeypatch.setenv("MY_SERVICE_TOKEN", "service-secret")
    monkeypatch.setenv("HARMLESS_SETTING", "passed-on-purpose")
    make_notebook(
        cli.cwd / "nb.ipynb",
        [
            "import os, json\nopen('env.json', 'w').write(json.dumps(dict(os.environ)))\n"
            "print(sorted(k for k in os.environ if 'TOKEN' in k or 'AWS' in k or 'GOOGLE' in k))",
        ],
    )
    rc, _, err = cli("run", "nb.ipynb", "--trust-config", str(cli.trust_config), "--env", "HARMLESS_SETTING")
    assert rc == 0, err  # signed with $SIGSTORE_ID_TOKEN, which only this process saw
    seen = json.loads((cli.cwd / "env.json").read_text())
    leaked = [
        secret_token,
        "actions-request-secret",
        "aws-secret-value",
        "/secrets/gcp.json",
        "service-secret",
    ]
    for value in leaked:
        assert value not in seen.values()
        assert value not in (cli.cwd / "nb.ipynb").read_text()
    assert "SIGSTORE_ID_TOKEN" not in seen and "ACTIONS_ID_TOKEN_REQUEST_URL" not in seen
    assert seen["HARMLESS_SETTING"] == "passed-on-purpose"  # --env passes it on explicitly
    record = statement_of(entries(cli.cwd / "nb.ipynb")[0])["predicate"]["execution"]
    assert record["environmentVariables"] == [
        {"name": "HARMLESS_SETTING", "digest": {"sha256": hashlib.sha256(b"passed-on-purpose").hexdigest()}}
    ]


def test_cell_that_raises_is_named_and_nothing_is_signed(cli: Cli, token: Callable[..., str]) -> None:
    path = make_notebook(cli.cwd / "nb.ipynb", ["x = 1", "1 / 0", "open('never.txt', 'w')"])
    before = path.read_bytes()
    rc, _, err = cli.run("nb.ipynb", token())
    assert rc == 1
    assert "cell 2 raised ZeroDivisionError: division by zero; nothing was signed" in err
    assert path.read_bytes() == before
    assert not (cli.cwd / "never.txt").exists()  # execution stopped at the error
    assert not (cli.cwd / "nb.ipynb.provenance.sigstore.json").exists()

    rc, _, err = cli.run("nb.ipynb", token(), "--allow-errors")
    assert rc == 0, err
    record = statement_of(entries(path)[0])["predicate"]["execution"]
    assert {"index": 1, "status": "error", "error": "ZeroDivisionError: division by zero"} in record["cells"]


def test_hanging_cell_times_out_naming_the_cell(cli: Cli, token: Callable[..., str]) -> None:
    path = make_notebook(cli.cwd / "nb.ipynb", ["x = 1", "import time\ntime.sleep(120)"])
    before = path.read_bytes()
    rc, _, err = cli.run("nb.ipynb", token(), "--timeout", "2")
    assert rc == 1
    assert "cell 2 did not finish within 2 s (--timeout)" in err
    assert path.read_bytes() == before


def test_kernel_that_dies_is_reported_with_its_cell(cli: Cli, token: Callable[..., str]) -> None:
    make_notebook(cli.cwd / "nb.ipynb", ["x = 1", "import os\nos._exit(3)"])
    rc, _, err = cli.run("nb.ipynb", token())
    assert rc == 1
    assert "the kernel died while running cell 2" in err


def test_missing_input_is_named_before_anything_runs(cli: Cli, token: Callable[..., str]) -> None:
    marker = cli.cwd / "ran.txt"
    make_notebook(cli.cwd / "nb.ipynb", [f"open({str(marker)!r}, 'w')"])
    rc, _, err = cli.run("nb.ipynb", token(), "--input", "raw.csv")
    assert rc == 1
    assert "input raw.csv does not exist; nothing was executed" in err
    assert not marker.exists()


def test_input_changed_while_running_is_named(cli: Cli, token: Callable[..., str]) -> None:
    (cli.cwd / "data.csv").write_text("1\n")
    make_notebook(
        cli.cwd / "nb.ipynb",
        [
            "%load_ext jupyter_sigstore\n%sigstore track --input data.csv",
            "open('data.csv', 'a').write('2\\n')",
        ],
    )
    rc, _, err = cli.run("nb.ipynb", token())
    assert rc == 1
    assert "input data.csv changed while the notebook ran" in err


def test_kernel_not_installed_is_one_line(cli: Cli, token: Callable[..., str]) -> None:
    make_notebook(cli.cwd / "nb.ipynb", ["x = 1"], kernel="no-such-kernel")
    rc, _, err = cli.run("nb.ipynb", token())
    assert rc == 1
    assert err.count("\n") == 1
    assert "kernel 'no-such-kernel' (from the notebook's kernelspec) is not installed here" in err


def test_executed_copy_leaves_the_source_alone(cli: Cli, token: Callable[..., str]) -> None:
    path = make_notebook(cli.cwd / "nb.ipynb", ["print('hi')"])
    before = path.read_bytes()
    rc, out, err = cli.run("nb.ipynb", token(), "--executed", "out.ipynb", "--json")
    assert rc == 0, err
    assert path.read_bytes() == before
    result = json.loads(out)
    assert result["notebook"].endswith("out.ipynb") and result["provenance_log_index"] is not None
    assert cli.verify("out.ipynb")["status"] == "verified"
    assert (cli.cwd / "out.ipynb.provenance.sigstore.json").is_file()


def test_run_above_the_manifest_threshold_shares_the_signatures_manifest(
    cli: Cli, token: Callable[..., str], trust_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The notebook signature and the SLSA provenance name one manifest file, so both still verify."""
    from jupyter_sigstore import signing

    monkeypatch.setattr(signing, "MANIFEST_THRESHOLD", 3)
    make_notebook(
        cli.cwd / "analysis.ipynb",
        [
            "import os\nos.makedirs('parts', exist_ok=True)\n"
            "for i in range(5):\n    open(f'parts/p{i}.csv', 'w').write(str(i))",
            "%load_ext jupyter_sigstore\n%sigstore track parts",
        ],
    )
    rc, _, err = cli.run("analysis.ipynb", token())
    assert rc == 0, err
    manifest = cli.cwd / "analysis.ipynb.outputs.sha256"
    assert len(manifest.read_text().splitlines()) == 5
    report = cli.verify("analysis.ipynb")
    assert report["status"] == "verified", report["summary"]
    bundle_text = (cli.cwd / "analysis.ipynb.provenance.sigstore.json").read_text()
    statement = _verifier_check(trust_config, bundle_text, cli.issuer)
    subjects = {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}  # type: ignore[attr-defined]
    assert subjects[manifest.name] == hashlib.sha256(manifest.read_bytes()).hexdigest()
    assert not any(name.startswith("parts/") for name in subjects)
