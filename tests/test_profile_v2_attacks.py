"""Profile v2 against the attacks that kept a notebook "verified" under v1 (issues 11 A and 16.1): each
test signs a notebook, makes the attacker's change to the stored bytes, and expects the change to be
caught. Where the attack was a v1 collision, the test also shows v1 missing it, so the test proves
something. v1 signatures still verify, with a warning, and `upgrade` re-signs them as v2."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_sigstore import api
from jupyter_sigstore.canonical import PROFILE_V1, PROFILE_V2, notebook_digest
from jupyter_sigstore.cli import main
from jupyter_sigstore.signing import KeylessSigner
from jupyter_sigstore.statement import build_statement
from jupyter_sigstore.storage import plan_signature, with_block

ALICE = "alice@example.com"


def _code(source: str, outputs: list[dict[str, Any]] | None = None, **metadata: Any) -> dict[str, Any]:
    return {
        "id": f"c{abs(hash(source)) % 10**8}",
        "cell_type": "code",
        "execution_count": 1,
        "metadata": metadata,
        "outputs": outputs or [],
        "source": source,
    }


def _nb(*cells: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    meta = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    return {"cells": list(cells), "metadata": {**meta, **metadata}, "nbformat": 4, "nbformat_minor": 5}


def _write(path: Path, nb: dict[str, Any]) -> Path:
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return path


def _signed(tmp_path: Path, nb: dict[str, Any], signer: KeylessSigner) -> Path:
    path = _write(tmp_path / "nb.ipynb", nb)
    api.sign(path, signer)
    return path


def _tamper(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    change(nb)
    _write(path, nb)


def _v1_collides(before: dict[str, Any], after: dict[str, Any]) -> bool:
    return notebook_digest(before, PROFILE_V1).digest == notebook_digest(after, PROFILE_V1).digest


ATTACKS: dict[str, tuple[dict[str, Any], Callable[[dict[str, Any]], None]]] = {
    # A.1: bash ends lines only at LF: a CR joins `cd /data` onto the comment line, and the
    # notebook kept verifying under v1 (every \r became \n before hashing).
    "source CR joins a line": (
        _nb(_code("%%bash\n# clean up\ncd /tmp/scratch\nrm -rf build\n")),
        lambda nb: nb["cells"][0].update(source="%%bash\n# clean up\rcd /tmp/scratch\nrm -rf build\n"),
    ),
    # A.2: stream text was replayed (\r, \b) before hashing: stored text that replays to the same
    # visible line but differs as written (nbconvert exports show the written text).
    "stream text replayed": (
        _nb(_code("print(x)", [{"output_type": "stream", "name": "stdout", "text": "total: 10\n"}])),
        lambda nb: nb["cells"][0]["outputs"][0].update(text="total: 99\rtotal: 10\n"),
    ),
    # A.2: stdout as a mime bundle was hashed as base64 bytes (whitespace changed freely)
    "vnd.jupyter.stdout whitespace": (
        _nb(
            _code(
                "x",
                [
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {"application/vnd.jupyter.stdout": "aGk="},
                    }
                ],
            )
        ),
        lambda nb: nb["cells"][0]["outputs"][0]["data"].update({"application/vnd.jupyter.stdout": "aG k="}),
    ),
    # A.3: JupyterLab's widget manager restores metadata.widgets on open
    "widget state rewritten": (
        _nb(
            _code("w"),
            widgets={
                "application/vnd.jupyter.widget-state+json": {"state": {"m": {"state": {"value": "ok"}}}}
            },
        ),
        lambda nb: nb["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]["m"][
            "state"
        ].update(value="<img src=x onerror=alert(1)>"),
    ),
    # A.3: the classic notebook skips frozen cells
    "cell frozen": (
        _nb(_code("check_inputs()")),
        lambda nb: nb["cells"][0]["metadata"].update(run_control={"frozen": True}),
    ),
    # 16.1: Python reads integers exactly; v1 hashed them as doubles
    "big integer forged": (
        _nb(
            _code(
                "acct",
                [
                    {
                        "output_type": "execute_result",
                        "execution_count": 1,
                        "metadata": {},
                        "data": {"application/json": {"account": 1234567890123456800}},
                    }
                ],
            )
        ),
        # the same double, another integer for every Python reader
        lambda nb: nb["cells"][0]["outputs"][0]["data"]["application/json"].update(
            account=1234567890123456801
        ),
    ),
    "integer becomes float": (
        _nb(
            _code(
                "r",
                [
                    {
                        "output_type": "execute_result",
                        "execution_count": 1,
                        "metadata": {},
                        "data": {"application/json": {"ratio": 0.5, "n": 3}},
                    }
                ],
            )
        ),
        lambda nb: nb["cells"][0]["outputs"][0]["data"]["application/json"].update(n=3.0),
    ),
    "image base64 rewrapped": (
        _nb(
            _code(
                "plot()",
                [{"output_type": "display_data", "metadata": {}, "data": {"image/png": "iVBORw0KGgo=\n"}}],
            )
        ),
        lambda nb: nb["cells"][0]["outputs"][0]["data"].update({"image/png": "iVBORw0K\nGgo=\n"}),
    ),
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_is_caught(
    name: str, tmp_path: Path, signer: KeylessSigner, options: api.VerifyOptions
) -> None:
    original, change = ATTACKS[name]
    path = _signed(tmp_path, copy.deepcopy(original), signer)
    assert api.verify(path, options).status == "verified"
    _tamper(path, change)
    report = api.verify(path, options)
    assert report.status == "modified", (name, api.render_text(report))


def test_the_listed_attacks_were_v1_collisions() -> None:
    """Most of these changes kept the v1 digest: the reason v2 exists (the widget and frozen cases were
    v1 exclusions, the base64 rewrap a v1 invariance)."""
    collisions = set()
    for name, (original, change) in ATTACKS.items():
        after = copy.deepcopy(original)
        change(after)
        if _v1_collides(original, after):
            collisions.add(name)
    assert collisions >= {
        "source CR joins a line",
        "stream text replayed",
        "vnd.jupyter.stdout whitespace",
        "widget state rewritten",
        "cell frozen",
        "big integer forged",
        "image base64 rewrapped",
        "integer becomes float",
    }


def test_numbers_are_hashed_as_python_reads_them() -> None:
    def digest(value: Any) -> str:
        nb = _nb(
            _code(
                "v",
                [
                    {
                        "output_type": "execute_result",
                        "execution_count": 1,
                        "metadata": {},
                        "data": {"application/json": value},
                    }
                ],
            )
        )
        return notebook_digest(nb, PROFILE_V2).digest

    distinct = [1, 1.0, -0.0, 0, 2**53, 2**53 + 1, 2**53 - 1, 1e21, 10**21, 1.5, 1e-7, 10**400]
    assert len({digest(v) for v in distinct}) == len(distinct)
    assert digest(json.loads("1.50")) == digest(1.5)  # the same Python value, however it is written
    assert digest(json.loads("1e2")) == digest(100.0)


def test_v1_signature_verifies_with_a_warning_and_upgrade_resigns_it_as_v2(
    tmp_path: Path,
    signer: KeylessSigner,
    options: api.VerifyOptions,
    trust_config: Path,
    token: Callable[..., str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nb = _nb(_code("print(1)", [{"output_type": "stream", "name": "stdout", "text": "1\n"}]))
    path = _write(tmp_path / "nb.ipynb", nb)
    statement = build_statement(path.name, notebook_digest(nb, PROFILE_V1), [])
    bundle = signer.sign_statement(statement)
    _write(path, with_block(nb, plan_signature(nb, path, bundle, "embedded", []).block))

    report = api.verify(path, options)
    assert report.status == "verified"
    assert report.warnings and "profile v1" in report.warnings[0] and "upgrade" in report.warnings[0]
    assert report.signatures[0].profile == PROFILE_V1
    assert "warning:" in api.render_text(report)

    monkeypatch.setenv("SIGSTORE_ID_TOKEN", token(ALICE))
    capsys.readouterr()
    assert main(["upgrade", str(path), "--trust-config", str(trust_config)]) == 0
    assert "re-signed" in capsys.readouterr().out
    report = api.verify(path, options)
    assert report.status == "verified" and not report.warnings
    assert [s.profile for s in report.signatures] == [PROFILE_V2]  # her own v1 signature was replaced


def test_upgrade_refuses_a_modified_notebook(
    tmp_path: Path, signer: KeylessSigner, trust_config: Path, token: Callable[..., str]
) -> None:
    path = _signed(tmp_path, _nb(_code("a = 1")), signer)
    _tamper(path, lambda nb: nb["cells"][0].update(source="a = 2"))
    before = path.read_bytes()
    assert main(["upgrade", str(path), "--trust-config", str(trust_config), "--identity-token", token()]) == 2
    assert path.read_bytes() == before


def test_nbformat_roundtrip_keeps_a_v2_signature(
    tmp_path: Path, signer: KeylessSigner, options: api.VerifyOptions
) -> None:
    """Reading and writing with nbformat (what Jupyter's server does on save) changes only formatting."""
    nb = _nb(
        _code(
            "import sys\nprint('a\\r\\nb')",
            [
                {"output_type": "stream", "name": "stdout", "text": ["a\n", "b\n"]},
                {"output_type": "display_data", "metadata": {}, "data": {"text/plain": ["x\n", "y"]}},
            ],
        )
    )
    path = _signed(tmp_path, nb, signer)
    nbformat.write(nbformat.read(path, as_version=4), path)
    assert api.verify(path, options).status == "verified"


def test_signed_anywhere_still_verifies_after_jupyterlab_saves_it(
    tmp_path: Path, signer: KeylessSigner, options: api.VerifyOptions
) -> None:
    """Constraint (b): signing writes the notebook in the form JupyterLab saves it, so opening and
    saving it there (modelled by labform, which tests/browser/test_lab_roundtrip.py checks against a
    real JupyterLab) and "Trust Notebook" (which re-serialises outputs) keep it verified."""
    from jupyter_sigstore.labform import lab_form

    nb = _nb(
        _code(
            "print(x)",
            [
                {"output_type": "stream", "name": "stdout", "text": "10%\r50%\r100%\n"},
                {"output_type": "stream", "name": "stdout", "text": "done\n"},
                {
                    "output_type": "execute_result",
                    "execution_count": 1,
                    "metadata": {},
                    "data": {"application/json": {"id": 1234567890123456789, "ratio": 2.0}},
                },
            ],
        )
    )
    path = _write(tmp_path / "nb.ipynb", nb)
    result = api.sign(path, signer)
    assert result.notes and "form JupyterLab saves" in result.notes[0]
    assert "1234567890123456800" in result.notes[0]  # the signer is told what JupyterLab does to it
    assert api.verify(path, options).status == "verified"
    for render_streams in (False, True):  # open and save; Trust Notebook
        saved, _ = lab_form(json.loads(path.read_text()), render_streams=render_streams)
        _write(path, saved)
        assert api.verify(path, options).status == "verified", render_streams
