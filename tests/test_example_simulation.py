"""The example notebook with a nondeterministic cell: it fails to reproduce as it is, and reproduces
(WARNED, normalised) with the example rules file."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from reproducibility_helpers import Cli

from jupyter_sigstore.testing import LocalSigstore

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    trust_config: Path,
    sigstore_instance: LocalSigstore,
    monkeypatch: pytest.MonkeyPatch,
) -> Cli:
    for name in ("simulation.ipynb", "reproduce-rules.toml"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return Cli(capsys, tmp_path, trust_config, sigstore_instance.issuer_url)


def test_simulation_reproduces_only_with_its_rules(cli: Cli, token: Callable[..., str]) -> None:
    rc, out, err = cli.run("simulation.ipynb", token(), "-p", "walkers", "50")
    assert rc == 0, err
    assert "with outputs: simulation.csv" in out
    rc, report, _ = cli.reproduce("simulation.ipynb")
    assert rc == 1 and report["result"] == "FAILED"
    (differs,) = [c for c in report["cells"] if c["status"] != "reproduced"]
    assert differs["status"] == "differs" and any(line.startswith("-run ") for line in differs["diff"])
    assert report["files"][0]["status"] == "reproduced"  # the seeded simulation itself is exact

    rc, report, _ = cli.reproduce("simulation.ipynb", "--rules", "reproduce-rules.toml")
    assert rc == 0 and report["result"] == "WARNED"
    assert [c["status"] for c in report["cells"] if c["status"] != "reproduced"] == ["reproduced-normalised"]
    assert any("run id" in rule for rule in report["rules"])
