"""Reports as people and machines read them: cells numbered from 1 in text and HTML (as JupyterLab
shows them), 0-based ``index`` in JSON, and untrusted strings escaped (a file name must not drive a
terminal; HTML is escaped). The reports come from real signing and verification."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers import keyless_signer

from jupyter_sigstore import api
from jupyter_sigstore.policy import TrustPolicy
from jupyter_sigstore.render import escape_terminal
from jupyter_sigstore.testing import LocalSigstore

CLEAR_SCREEN = "\x1b[2J"


def _signed_then_changed(
    folder: Path, name: str, sigstore_instance: LocalSigstore, trust_config: Path
) -> tuple[api.VerificationReport, int]:
    """Sign ``folder/name`` (a copy of the example), change its second code cell; verify it."""
    notebook = folder / name
    (folder / "analysis.ipynb").rename(notebook)
    instance = api.Instance.select(trust_config=trust_config)
    signer = keyless_signer(sigstore_instance, trust_config)
    api.sign(notebook, signer, api.SignOptions(base=folder, instance=instance, outputs=("results.csv",)))
    nb = json.loads(notebook.read_text())
    index = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"][1]
    nb["cells"][index]["source"] = "print('changed')\n"
    notebook.write_text(json.dumps(nb))
    policy = TrustPolicy.exact("alice@example.com", sigstore_instance.issuer_url)
    return api.verify(notebook, api.VerifyOptions(policy=policy, instance=instance)), index


@pytest.fixture
def changed(
    example: Path, sigstore_instance: LocalSigstore, trust_config: Path
) -> tuple[api.VerificationReport, int]:
    return _signed_then_changed(example, f"{CLEAR_SCREEN}report.ipynb", sigstore_instance, trust_config)


def test_cells_are_numbered_from_one_for_people_and_from_zero_in_json(
    changed: tuple[api.VerificationReport, int],
) -> None:
    report, index = changed
    assert report.status == "modified"
    line = f"cell {index + 1} (code): modified"
    assert line in api.render_text(report)
    assert f"<li>{line}</li>" in api.render_html(report)
    as_json = json.loads(json.dumps(report.to_dict()))
    assert [(c["index"], c["status"]) for c in as_json["cells"] if c["status"] != "ok"] == [
        (index, "modified")
    ]


def test_a_removed_cell_is_numbered_where_it_was_signed(
    example: Path, sigstore_instance: LocalSigstore, trust_config: Path
) -> None:
    instance = api.Instance.select(trust_config=trust_config)
    notebook = example / "analysis.ipynb"
    api.sign(notebook, keyless_signer(sigstore_instance, trust_config), api.SignOptions(instance=instance))
    nb = json.loads(notebook.read_text())
    del nb["cells"][2]
    notebook.write_text(json.dumps(nb))
    report = api.verify(notebook, api.VerifyOptions(instance=instance))
    assert "cell 3 (code): removed since signing" in api.render_text(report)
    [removed] = [c for c in report.to_dict()["cells"] if c["status"] == "removed"]
    assert (removed["index"], removed["signed_index"]) == (2, 2)


def test_a_file_name_cannot_clear_the_terminal(changed: tuple[api.VerificationReport, int]) -> None:
    report, _ = changed
    text = api.render_text(report)
    assert CLEAR_SCREEN not in text and "\x1b" not in text
    assert "\\x1b[2Jreport.ipynb: MODIFIED" in text
    assert report.notebook.endswith(f"{CLEAR_SCREEN}report.ipynb")  # JSON keeps the real name


def test_html_is_escaped(example: Path, sigstore_instance: LocalSigstore, trust_config: Path) -> None:
    report, _ = _signed_then_changed(
        example, "<img src=x onerror=alert(1)>.ipynb", sigstore_instance, trust_config
    )
    html = api.render_html(report)
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;.ipynb" in html


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[2J", "\\x1b[2J"),
        ("a\rb", "a\\x0db"),
        ("tab\there", "tab\\x09here"),
        ("\x9b31m", "\\x9b31m"),  # the one-byte C1 CSI
        ("evil\u202etxt.exe", "evil\\u202etxt.exe"),  # right-to-left override
        ("\u2066isolate\u2069", "\\u2066isolate\\u2069"),
        ("café ✓ 数据", "café ✓ 数据"),  # printable text is left alone
    ],
)
def test_terminal_escaping(raw: str, shown: str) -> None:
    assert escape_terminal(raw) == shown


def test_every_control_character_is_escaped() -> None:
    controls = "".join(chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)])
    escaped = escape_terminal(controls)
    assert re.fullmatch(r"(\\x[0-9a-f]{2})+", escaped), escaped


def test_many_ok_outputs_are_counted_and_every_problem_is_named(
    example: Path, sigstore_instance: LocalSigstore, trust_config: Path
) -> None:
    """100,000 signed outputs must not print 100,000 lines: text and HTML name every output that is
    not ok and the first few that are, then count the rest; JSON lists each one."""
    from jupyter_sigstore.render import OK_OUTPUTS_SHOWN

    many = example / "many"
    many.mkdir()
    total = OK_OUTPUTS_SHOWN + 10
    for i in range(total):
        (many / f"part-{i:03d}.csv").write_text(f"part,{i}\n")
    instance = api.Instance.select(trust_config=trust_config)
    signer = keyless_signer(sigstore_instance, trust_config)
    notebook = example / "analysis.ipynb"
    api.sign(notebook, signer, api.SignOptions(instance=instance, outputs=(str(many),)))
    (many / f"part-{total - 1:03d}.csv").write_text("tampered\n")  # the last one: past the shown ok lines
    policy = TrustPolicy.exact("alice@example.com", sigstore_instance.issuer_url)
    report = api.verify(notebook, api.VerifyOptions(policy=policy, instance=instance))
    assert report.status == "modified"
    assert len(report.to_dict()["outputs"]) == total
    text = api.render_text(report)
    assert f"output many/part-{total - 1:03d}.csv: modified" in text
    assert len(re.findall(r"^  output .*: ok$", text, flags=re.M)) == OK_OUTPUTS_SHOWN
    assert "  ... and 9 more outputs ok (--json lists them all)" in text
    html = api.render_html(report)
    assert html.count("<li>output ") == OK_OUTPUTS_SHOWN + 1 and "... and 9 more outputs ok</li>" in html
