"""``jupyter-sigstore reproduce``: verify first, re-execute in a scratch copy, compare, sign the result."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from reproducibility_helpers import Cli, entries, make_notebook, statement_of

from jupyter_sigstore.execution import CellRun, Execution, KernelInfo
from jupyter_sigstore.instance import Instance
from jupyter_sigstore.provenance import TEST_RESULT_PREDICATE_TYPE, ExecutionFacts
from jupyter_sigstore.reproduction import _environment_changes, _related_changes, short_diff
from jupyter_sigstore.testing import LocalSigstore


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    trust_config: Path,
    sigstore_instance: LocalSigstore,
    monkeypatch: pytest.MonkeyPatch,
) -> Cli:
    work = tmp_path / "project"
    work.mkdir()
    monkeypatch.chdir(work)
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return Cli(capsys, work, trust_config, sigstore_instance.issuer_url)


PNG_CELL = """import struct, time, zlib
def chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
rows = b''.join(b'\\x00' + bytes([255, 0, 0] * 2) for _ in range(2))
png = (b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 2, 2, 8, 2, 0, 0, 0))
       + chunk(b'tEXt', b'Creation Time\\x00' + str(time.time_ns()).encode())
       + chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b''))
open('figure.png', 'wb').write(png)"""


def _signed(
    cli: Cli, token: Callable[..., str], cells: list[str | tuple[str, list[str]]], *extra: str
) -> Path:
    path = make_notebook(cli.cwd / "nb.ipynb", cells)
    rc, _, err = cli.run("nb.ipynb", token(), *extra)
    assert rc == 0, err
    return path


def test_deterministic_notebook_passes_and_the_result_is_signed(
    cli: Cli, token: Callable[..., str], trust_config: Path
) -> None:
    path = _signed(
        cli, token, ["x = 6 * 7\nprint(x)", "open('results.csv', 'w').write(f'{x}\\n')"], "-o", "results.csv"
    )
    author = entries(path)[0]
    results_before = (cli.cwd / "results.csv").stat()
    rc, report, err = cli.reproduce("nb.ipynb", "--sign", "--identity-token", token("ci@example.com"))
    assert rc == 0, err
    assert report["result"] == "PASSED", report
    assert {c["status"] for c in report["cells"]} == {"reproduced"}
    assert report["files"] == [
        {
            "path": "results.csv",
            "status": "reproduced",
            "expected_sha256": report["files"][0]["expected_sha256"],
            "actual_sha256": report["files"][0]["expected_sha256"],
            "detail": None,
        }
    ]
    # the originals were never written: the re-execution ran in a scratch copy
    assert (cli.cwd / "results.csv").stat().st_mtime_ns == results_before.st_mtime_ns

    stored = entries(path)
    assert stored[0] == author  # the author's signature is untouched
    statement = statement_of(stored[1])
    assert statement["predicateType"] == TEST_RESULT_PREDICATE_TYPE
    assert statement["predicate"]["result"] == "PASSED"
    assert "cell 1" in statement["predicate"]["passedTests"] and not statement["predicate"]["failedTests"]

    # sigstore-python's own verifier accepts the test-result bundle for the CI identity
    from sigstore.models import Bundle
    from sigstore.verify import Verifier
    from sigstore.verify.policy import Identity

    verifier = Verifier(trusted_root=Instance.select(trust_config=str(trust_config)).trusted_root())
    verifier.verify_dsse(
        Bundle.from_json(json.dumps(stored[1])), Identity(identity="ci@example.com", issuer=cli.issuer)
    )

    report = cli.verify("nb.ipynb")
    assert report["status"] == "verified"
    # the widget and %sigstore verify render the same report as HTML
    from jupyter_sigstore import api

    html = api.render_html(
        api.verify(
            "nb.ipynb",
            api.VerifyOptions(
                policy=api.TrustPolicy.exact("alice@example.com", cli.issuer),
                instance=Instance.select(trust_config=str(trust_config)),
            ),
        )
    )
    assert "reproduction PASSED by ci@example.com" in html and "Executed by" in html
    kinds = {a["predicate_type"]: a for a in report["attestations"]}
    assert kinds[TEST_RESULT_PREDICATE_TYPE]["identity"] == "ci@example.com"
    assert kinds[TEST_RESULT_PREDICATE_TYPE]["covers_current"]


NONDETERMINISTIC = "import random\nprint(random.random())"


def test_nondeterministic_cell_fails_with_a_short_diff(cli: Cli, token: Callable[..., str]) -> None:
    _signed(cli, token, ["x = 1", NONDETERMINISTIC])
    rc, report, _ = cli.reproduce("nb.ipynb")
    assert rc == 1 and report["result"] == "FAILED"
    cell = report["cells"][1]
    assert cell["status"] == "differs" and cell["index"] == 1
    assert cell["diff"][0].startswith("-0.") and cell["diff"][1].startswith("+0.")
    rc, out, _ = cli("reproduce", "nb.ipynb", *cli.trust())
    assert "cell 2 (code): DIFFERS" in out


def test_notebook_declared_exemption_warns_and_a_policy_can_refuse_it(
    cli: Cli, token: Callable[..., str]
) -> None:
    _signed(cli, token, ["x = 1", (NONDETERMINISTIC, ["sigstore-nondeterministic"])])
    rc, report, _ = cli.reproduce("nb.ipynb")
    assert rc == 0 and report["result"] == "WARNED"
    assert report["cells"][1]["status"] == "exempted"
    assert "exempted by the notebook itself" in report["cells"][1]["detail"]
    assert cli.reproduce("nb.ipynb", "--strict")[0] == 1

    rules = cli.cwd.parent / "strict.toml"
    rules.write_text("[reproduce]\nallow_exemptions = false\n")
    rc, report, _ = cli.reproduce("nb.ipynb", "--rules", str(rules))
    assert rc == 1 and report["cells"][1]["status"] == "differs"


def test_rules_file_ignores_a_cell_by_id(cli: Cli, token: Callable[..., str]) -> None:
    path = _signed(cli, token, ["x = 1", NONDETERMINISTIC])
    cell_id = json.loads(path.read_text())["cells"][1]["id"]
    rules = cli.cwd.parent / "rules.toml"
    rules.write_text(f'[reproduce]\nignore_cells = ["{cell_id}"]\n')
    rc, report, _ = cli.reproduce("nb.ipynb", "--rules", str(rules))
    assert rc == 0 and report["result"] == "WARNED"
    assert report["cells"][1]["status"] == "exempted"


def test_default_normalisation_is_applied_and_shown(cli: Cli, token: Callable[..., str]) -> None:
    _signed(cli, token, ["import datetime\nprint(object())\nprint(datetime.datetime.now())"])
    rc, report, _ = cli.reproduce("nb.ipynb")
    assert rc == 0, report
    assert report["result"] == "WARNED"
    assert report["cells"][0]["status"] == "reproduced-normalised"
    assert any("memory address" in r for r in report["rules"])
    assert any("timestamp" in r for r in report["rules"])


def test_png_outputs_compare_on_pixels_not_text_chunks(cli: Cli, token: Callable[..., str]) -> None:
    _signed(cli, token, [PNG_CELL], "-o", "figure.png")
    rc, report, _ = cli.reproduce("nb.ipynb")
    assert rc == 0, report
    (figure,) = report["files"]
    assert figure["status"] == "reproduced-normalised" and "png-pixels" in figure["detail"]


def test_output_file_that_differs_or_is_not_written(cli: Cli, token: Callable[..., str]) -> None:
    cells = [
        "import random\nopen('noise.txt', 'w').write(str(random.random()))",
        "import os\nif not os.path.exists('once.txt'): open('once.txt', 'w').write('1')",
    ]
    _signed(cli, token, cells, "-o", "noise.txt", "-o", "once.txt")
    rc, report, _ = cli.reproduce("nb.ipynb")
    assert rc == 1
    statuses = {f["path"]: f["status"] for f in report["files"]}
    assert statuses == {"noise.txt": "differs", "once.txt": "reproduced"}
    # a signed output the notebook no longer writes is missing, even though the copy started with it
    rc, report, _ = cli.reproduce("nb.ipynb", "--allow-untrusted")
    cells[1] = "pass"
    _signed(cli, token, cells, "-o", "noise.txt", "-o", "once.txt")
    rc, report, _ = cli.reproduce("nb.ipynb")
    assert {f["path"]: f["status"] for f in report["files"]}["once.txt"] == "missing"


def test_attack_unverified_notebook_is_refused_and_nothing_runs(
    cli: Cli, token: Callable[..., str], tmp_path: Path
) -> None:
    path = _signed(cli, token, ["x = 1"])
    marker = tmp_path / "executed.txt"
    nb = json.loads(path.read_text())
    nb["cells"].insert(0, {**nb["cells"][0], "id": "evil0001", "source": f"open({str(marker)!r}, 'w')"})
    path.write_text(json.dumps(nb))
    rc, report, err = cli.reproduce("nb.ipynb")
    assert rc == 1 and report == {}
    assert "refusing to execute" in err and "it is modified" in err and "nothing was executed" in err
    assert not marker.exists()

    # a valid signature by someone the policy does not trust is refused too
    clean = _signed(cli, token, ["x = 1"])
    assert clean == path
    rc, _, err = cli.reproduce("nb.ipynb", identity="bob@example.com")
    assert rc == 1 and "it is untrusted-signer" in err

    # and an unsigned notebook
    make_notebook(cli.cwd / "plain.ipynb", [f"_ = open({str(marker)!r}, 'w')"])
    rc, _, err = cli.reproduce("plain.ipynb")
    assert rc == 1 and "it is unsigned" in err
    assert not marker.exists()

    # --allow-untrusted runs it, loudly, and the result is WARNED at best
    rc, report, err = cli.reproduce("plain.ipynb", "--allow-untrusted")
    assert "WARNING: --allow-untrusted" in err
    assert report["result"] == "WARNED" and report["verification"] == "unsigned"
    assert marker.exists()


def test_relative_writes_and_home_stay_in_the_scratch_copy(
    cli: Cli, token: Callable[..., str], tmp_path: Path
) -> None:
    make = (
        "import os\nopen(os.path.expanduser('~/home-marker'), 'w').write('x')\n"
        "open('results.csv', 'w').write('1')"
    )
    path = _signed(cli, token, [make], "-o", "results.csv")
    (tmp_path / "home" / "home-marker").unlink()  # run kept the user's HOME
    before = (cli.cwd / "results.csv").stat().st_mtime_ns
    rc, report, _ = cli.reproduce(path.name)
    assert rc == 0, report
    assert not (tmp_path / "home" / "home-marker").exists()
    assert (cli.cwd / "results.csv").stat().st_mtime_ns == before


def test_changed_input_is_named_before_executing(cli: Cli, token: Callable[..., str], tmp_path: Path) -> None:
    (cli.cwd / "data.csv").write_text("1\n")
    marker = tmp_path / "executed.txt"
    _signed(cli, token, [f"open({str(marker)!r}, 'a')"], "--input", "data.csv")
    marker.unlink()
    (cli.cwd / "data.csv").write_text("2\n")
    rc, _, err = cli.reproduce("nb.ipynb")
    assert rc == 1
    assert "input data.csv changed since it was recorded" in err and "nothing was executed" in err
    assert not marker.exists()
    (cli.cwd / "data.csv").unlink()
    rc, _, err = cli.reproduce("nb.ipynb")
    assert rc == 1 and "input data.csv (recorded when the notebook was run) is missing" in err


def test_secret_parameter_must_be_given_again(cli: Cli, token: Callable[..., str]) -> None:
    _signed(cli, token, [("key = ''", ["parameters"]), "print(len(key))"], "--secret-param", "key", "abc")
    rc, _, err = cli.reproduce("nb.ipynb")
    assert rc == 1 and "--secret-param key VALUE" in err
    rc, report, _ = cli.reproduce("nb.ipynb", "--secret-param", "key", "abc")
    assert rc == 0 and report["result"] == "PASSED"


def test_environment_changes_are_listed_next_to_the_cells_that_use_them() -> None:
    facts = ExecutionFacts(
        parameters=(),
        inputs=(),
        kernel={"name": "python3", "language": "python", "languageVersion": "3.11.7"},
        platform={"system": "Linux", "machine": "x86_64"},
        packages={"numpy": "2.1.0", "pandas": "2.2.0", "gone-pkg": "1.0"},
        started=None,
        finished=None,
    )
    kernel = KernelInfo(
        "python3",
        "python",
        "3.12.1",
        None,
        {"system": "Linux", "machine": "x86_64"},
        (("numpy", "2.3.0"), ("pandas", "2.2.0")),
    )
    execution = Execution({"cells": []}, (CellRun(0, "ok"),), kernel, "", "")
    changes = _environment_changes(facts, execution)
    assert changes == ["python 3.11.7 -> 3.12.1", "gone-pkg 1.0 (gone)", "numpy 2.1.0 -> 2.3.0"]
    assert _related_changes("import numpy as np\nnp.mean([1])", changes) == ("numpy 2.1.0 -> 2.3.0",)
    assert short_diff(["a", "b"], ["a", "c"]) == ("-b", "+c")


def _policy(path: Path, issuer: str, *, exemptions: bool, results: str) -> Path:
    path.write_text(
        f"""[[trusted]]
name = "author"
identity = "alice@example.com"
issuer = "{issuer}"

[[trusted]]
name = "ci"
identity = "ci@example.com"
issuer = "{issuer}"

[[attested]]
name = "reproduced"
kind = "reproduction"
by = "ci"
result = {results}

[policy]
require = ["author", "reproduced"]

[reproduce]
allow_exemptions = {str(exemptions).lower()}
"""
    )
    return path


def test_policy_can_require_a_reproduction_by_ci(cli: Cli, token: Callable[..., str], tmp_path: Path) -> None:
    _signed(cli, token, ["x = 1", (NONDETERMINISTIC, ["sigstore-nondeterministic"])])
    policy = _policy(tmp_path / "policy.toml", cli.issuer, exemptions=False, results='["PASSED"]')
    tc = ["--trust-config", str(cli.trust_config)]

    def verify() -> dict[str, object]:
        rc, out, _ = cli("verify", "nb.ipynb", "--policy", str(policy), "--json", *tc)
        report: dict[str, object] = json.loads(out)
        assert rc == (0 if report["status"] == "verified" else 1)
        return report

    report = verify()
    assert report["status"] == "untrusted-signer"
    assert report["missing_roles"] == ["reproduced (no reproduction by ci about this version)"]

    # the policy's [reproduce] table refuses the notebook's own exemption: FAILED, signed by ci
    rc, out, _ = cli(
        "reproduce",
        "nb.ipynb",
        "--policy",
        str(policy),
        *tc,
        "--sign",
        "--identity-token",
        token("ci@example.com"),
    )
    assert rc == 1 and "FAILED" in out
    assert verify()["missing_roles"] == ["reproduced (reproduction by ci is FAILED; accepted: PASSED)"]

    # a reproduction by someone who is not ci does not count
    _policy(policy, cli.issuer, exemptions=True, results='["PASSED", "WARNED"]')
    rc, out, _ = cli(
        "reproduce",
        "nb.ipynb",
        "--policy",
        str(policy),
        *tc,
        "--sign",
        "--identity-token",
        token("bob@example.com"),
    )
    assert rc == 0 and "WARNED" in out
    assert verify()["status"] == "untrusted-signer"

    rc, out, _ = cli(
        "reproduce",
        "nb.ipynb",
        "--policy",
        str(policy),
        *tc,
        "--sign",
        "--identity-token",
        token("ci@example.com"),
    )
    assert rc == 0 and "WARNED" in out
    report = verify()
    assert report["status"] == "verified", report["summary"]
    rc, out, _ = cli("verify", "nb.ipynb", "--policy", str(policy), *tc)
    assert "reproduction WARNED by ci@example.com" in out and "trusted as ci" in out


def test_a_notebook_written_in_jupyterlabs_form_reproduces_exactly(
    cli: Cli, token: Callable[..., str]
) -> None:
    """`run` writes the notebook as JupyterLab saves it (progress lines rendered, streams merged);
    the re-execution is compared in that form too, so nothing differs."""
    path = _signed(
        cli, token, ["import sys\nprint('50%', end='\\r')\nprint('100%')\nprint('x', file=sys.stderr)"]
    )
    outputs = json.loads(path.read_text())["cells"][0]["outputs"]
    assert "\r" not in json.dumps(outputs)  # rendered as JupyterLab shows it
    assert cli.verify("nb.ipynb")["status"] == "verified"
    rc, report, _ = cli.reproduce("nb.ipynb")
    assert rc == 0 and report["result"] == "PASSED", report
