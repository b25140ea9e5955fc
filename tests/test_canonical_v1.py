"""Canonical profile v1: the test vectors in tests/vectors/canonical and the rules they stand for."""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path
from typing import Any

import nbformat
import pytest
import rfc8785
from nbformat.v4.convert import upgrade

from jupyter_sigstore.canonical import PROFILE_V1 as PROFILE
from jupyter_sigstore.canonical import notebook_digest as _notebook_digest
from jupyter_sigstore.canonical_v1 import (
    canonical_cell,
    canonical_metadata,
    combine_digests,
    render_stream,
)
from jupyter_sigstore.errors import NotebookError
from jupyter_sigstore.nbfile import parse_notebook


def notebook_digest(nb: Any) -> Any:
    return _notebook_digest(nb, PROFILE)


VECTORS = Path(__file__).resolve().parent / "vectors" / "canonical-v1"
EXPECTED: dict[str, dict[str, Any]] = json.loads((VECTORS / "expected.json").read_text(encoding="utf-8"))
VALID = sorted(name for name, v in EXPECTED.items() if "error" not in v)
INVALID = sorted(name for name, v in EXPECTED.items() if "error" in v)
RELATED = sorted(name for name, v in EXPECTED.items() if "relation" in v and "error" not in v)


def load(name: str) -> dict[str, Any]:
    return parse_notebook((VECTORS / f"{name}.ipynb").read_bytes(), name)


def test_every_vector_file_is_expected() -> None:
    assert {p.stem for p in VECTORS.glob("*.ipynb")} == set(EXPECTED)


@pytest.mark.parametrize("name", VALID)
def test_vector_digests(name: str) -> None:
    expected = EXPECTED[name]
    nb = load(name)
    result = notebook_digest(nb)
    assert result.profile == PROFILE
    assert rfc8785.dumps(canonical_metadata(nb["metadata"])).decode() == expected["canonical_metadata"]
    canonical = [rfc8785.dumps(canonical_cell(c, i)).decode() for i, c in enumerate(nb["cells"])]
    assert canonical == expected["canonical_cells"]
    assert [c.digest for c in result.cells] == expected["cells"]
    assert result.metadata_digest == expected["metadata_digest"]
    assert result.digest == expected["digest"]
    assert result.digest == combine_digests(result.metadata_digest, expected["cells"])


@pytest.mark.parametrize("name", RELATED)
def test_vector_relation_to_base(name: str) -> None:
    """Each invariance vector digests like base.ipynb; each sensitivity vector changes exactly the
    cells (or the metadata) it says."""
    vector, base = EXPECTED[name], EXPECTED["base"]
    assert (vector["digest"] == base["digest"]) == (vector["relation"] == "equals")
    changed = [i for i, (a, b) in enumerate(zip(vector["cells"], base["cells"], strict=True)) if a != b]
    assert changed == vector["changed_cells"]
    assert (vector["metadata_digest"] != base["metadata_digest"]) == vector["metadata_changed"]


@pytest.mark.parametrize("name", INVALID)
def test_invalid_vectors(name: str) -> None:
    with pytest.raises(NotebookError, match=EXPECTED[name]["error"]):
        load(name)


@pytest.mark.parametrize("name", ["base", "mime-classes", "minimal", "inv-ui-metadata"])
@pytest.mark.parametrize("minor", range(6))
def test_nbformat_round_trip_and_minor_upgrade(name: str, minor: int) -> None:
    """nbformat.read/write and the 4.x -> 4.5 upgrade (which adds cell ids) keep every digest."""
    nb = load(name)
    nb["nbformat_minor"] = minor
    if minor < 5:
        for cell in nb["cells"]:
            cell.pop("id", None)
    before = notebook_digest(nb)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        node = nbformat.reads(json.dumps(nb), as_version=4)
        written = nbformat.writes(node)
        upgraded = upgrade(nbformat.reads(written, as_version=4), from_version=4, from_minor=minor)
        upgraded_text = nbformat.writes(upgraded)
    assert json.loads(upgraded_text)["nbformat_minor"] == 5
    for variant in (node, json.loads(written), upgraded, json.loads(upgraded_text)):
        after = notebook_digest(variant)
        assert after.digest == before.digest
        assert [c.digest for c in after.cells] == [c.digest for c in before.cells]


def test_cell_ids_are_reported_not_hashed() -> None:
    result = notebook_digest(load("base"))
    assert [c.cell_id for c in result.cells] == ["intro", "compute", "plot", "notes"]
    assert [c.cell_type for c in result.cells] == ["markdown", "code", "code", "raw"]
    assert notebook_digest(load("inv-no-cell-ids-minor-4")).cells[0].cell_id is None


@pytest.mark.parametrize(
    ("text", "rendered"),
    [
        ("plain\n", "plain\n"),
        ("10%\r100%\n", "100%\n"),
        ("abc\rX\n", "Xbc\n"),  # a carriage return overwrites in place, like a terminal
        ("abc\r\n", "abc\n"),
        ("one\ntwo\rTWO", "one\nTWO"),
        ("ab\b", "a"),
        ("ab\bc", "ac"),
        ("abcd\r\bX", "Xbcd"),  # at the start of a line a backspace does nothing
        ("abcd\rx\by", "yd"),  # JupyterLab 4 also drops the character under the cursor
        ("a\n\bb", "a\nb"),
        ("\r\r\b", ""),
    ],
)
def test_render_stream_like_jupyterlab(text: str, rendered: str) -> None:
    assert render_stream(text) == rendered
    assert render_stream(rendered) == rendered  # idempotent: a re-saved stream renders to itself


def _code(outputs: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"cell_type": "code", "metadata": {}, "source": "", "outputs": outputs, **extra}


def _display(data: dict[str, Any]) -> dict[str, Any]:
    return {"output_type": "display_data", "metadata": {}, "data": data}


def test_stream_chunks_render_as_one() -> None:
    split = _code(
        [
            {"output_type": "stream", "name": "stderr", "text": "10%\r"},
            {"output_type": "stream", "name": "stderr", "text": ["50%\r", "100%\n"]},
        ]
    )
    whole = _code([{"output_type": "stream", "name": "stderr", "text": "100%\n"}])
    assert canonical_cell(split, 0) == canonical_cell(whole, 0)


def test_base64_is_decoded_and_invalid_base64_kept_as_text() -> None:
    def data(mime: str, value: Any) -> Any:
        return canonical_cell(_code([_display({mime: value})]), 0)["outputs"][0]["data"][mime]

    assert data("image/png", "QUJD\n") == data("image/png", ["QU", "JD"]) == data("image/png", " Q U J D ")
    assert data("image/png", "QUJD")[0] == "binary"
    assert data("image/png", "QUJE") != data("image/png", "QUJD")
    assert data("image/png", "QUJ") == ["text", "QUJ"]  # bad padding: not base64, compared as text
    assert data("application/x-thing", "a b!") == ["text", "a b!"]
    assert data("text/plain", "QUJD") == ["text", "QUJD"]  # text types are never decoded
    assert data("application/vnd.a+json", ["x", "y"]) == ["json", ["x", "y"]]
    assert data("text/x+json", ["x", "y"]) == ["text", "xy"]  # nbformat's JSON rule: application/ only


def test_numbers_are_ieee_doubles() -> None:
    def value(v: Any) -> Any:
        return canonical_cell(_code([_display({"application/json": v})]), 0)["outputs"][0]["data"][
            "application/json"
        ][1]

    assert rfc8785.dumps(value(2**53 + 1)) == rfc8785.dumps(value(2**53)) == b"9007199254740992"
    assert rfc8785.dumps(value(1.0)) == rfc8785.dumps(value(1)) == b"1"


def test_empty_metadata_values_and_attachments_count_as_absent() -> None:
    plain = {"cell_type": "markdown", "metadata": {}, "source": "x"}
    noisy = {**plain, "metadata": {"tags": [], "slideshow": {}, "name": None}, "attachments": {}}
    assert canonical_cell(plain, 0) == canonical_cell(noisy, 0)
    assert canonical_cell(plain, 0) != canonical_cell({**plain, "metadata": {"tags": ["x"]}}, 0)


def test_language_comes_from_kernelspec_first() -> None:
    both = {"kernelspec": {"name": "ir", "language": "R"}, "language_info": {"name": "r"}}
    assert canonical_metadata(both) == {"kernel": "ir", "language": "R"}
    assert canonical_metadata({"language_info": {"name": "julia"}}) == {"language": "julia"}
    assert canonical_metadata({}) == {}


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda nb: nb.update(nbformat=5), "not an nbformat 4 notebook"),
        (lambda nb: nb.update(cells={}), "'cells' must be a list"),
        (lambda nb: nb["cells"][1].update(cell_type="heading"), "cell 1 has cell_type 'heading'"),
        (lambda nb: nb["cells"][0].update(source=3), "cell 0.source must be a string or a list of strings"),
        (lambda nb: nb["cells"][1].update(execution_count=True), "execution_count must be"),
        (lambda nb: nb["cells"][1]["outputs"][0].update(output_type="pyout"), "not an nbformat 4 output"),
        (lambda nb: nb["cells"][1]["outputs"][0].update(name=None), r"outputs\[0\].name must be a string"),
        (lambda nb: nb["cells"][1]["outputs"][1].update(data=[]), "must be an object of mime types"),
        (lambda nb: nb["cells"][1]["outputs"][1]["data"].update({"text/plain": 1}), "text/plain"),
        (lambda nb: nb["cells"][1]["outputs"][1]["data"].update({"application/json": float("nan")}), "nan"),
        (lambda nb: nb["cells"][0].update(source="\ud800"), "lone surrogate"),
        (lambda nb: nb["cells"][0].update(attachments=[]), "attachments must be an object"),
        (lambda nb: nb["metadata"].update(kernelspec="python3"), "kernelspec must be an object"),
    ],
)
def test_bad_input_is_one_actionable_error(mutate: Any, message: str) -> None:
    nb = copy.deepcopy(load("base"))
    mutate(nb)
    with pytest.raises(NotebookError, match=message) as info:
        notebook_digest(nb)
    assert "\n" not in str(info.value)


def test_parse_notebook_errors() -> None:
    with pytest.raises(NotebookError, match="UTF-16"):
        parse_notebook(b"\xff\xfe")
    with pytest.raises(NotebookError, match="not valid JSON"):
        parse_notebook(b'{"cells": [')
    with pytest.raises(NotebookError, match="top-level JSON value must be an object"):
        parse_notebook(b"[]")
    with pytest.raises(NotebookError, match="nested too deeply"):
        parse_notebook(b"[" * 100_000)
