"""lab_form: the notebook as JupyterLab 4.6 / Notebook 7 save it (rules established in a real
JupyterLab by tests/browser/test_lab_roundtrip.py; stream rendering cross-checked against JupyterLab's
OutputAreaModel by labextension/src/__tests__/streams.spec.ts)."""

from __future__ import annotations

import copy
import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from labform_corpus import corpus, old_corpus

from jupyter_sigstore.errors import NotebookError
from jupyter_sigstore.labform import js_number, lab_form, stream_text

VECTORS = Path(__file__).resolve().parent / "vectors" / "labform"


def notebook(cells: list[dict[str, Any]], minor: int = 4, **metadata: Any) -> dict[str, Any]:
    meta = {
        "kernelspec": {"name": "python3", "display_name": "Python 3"},
        "language_info": {"name": "python"},
    }
    meta.update(metadata)
    return {"cells": cells, "metadata": meta, "nbformat": 4, "nbformat_minor": minor}


def code(outputs: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    cell = {
        "cell_type": "code",
        "execution_count": 1,
        "metadata": {},
        "outputs": outputs or [],
        "source": "x\n",
    }
    cell.update(extra)
    return cell


def stream(text: Any, name: str = "stdout") -> dict[str, Any]:
    return {"output_type": "stream", "name": name, "text": text}


def shown(outputs: list[dict[str, Any]]) -> list[Any]:
    form, _ = lab_form(notebook([code(outputs)]))
    return [("".join(o["text"]) if o["output_type"] == "stream" else o) for o in form["cells"][0]["outputs"]]


# --- a literal port of JupyterLab's Private.processText over UTF-16 code units ----------------------


def _units(text: str) -> list[int]:
    data = text.encode("utf-16-le", "surrogatepass")
    return [int.from_bytes(data[i : i + 2], "little") for i in range(0, len(data), 2)]


def _process_text(index: int, new: list[int], text: list[int]) -> tuple[list[int], int]:
    controls = (10, 13, 8)
    if not any(unit in controls for unit in new):
        return text[:index] + new + text[index + len(new) :], index + len(new)
    idx0, last_end = index, 0
    while True:
        idx1 = next((i for i in range(last_end, len(new)) if new[i] in controls), -1)
        prefix = new[last_end : len(new) if idx1 == -1 else idx1]
        text = text[:idx0] + prefix + text[idx0 + len(prefix) :]
        last_end = idx1 + 1
        idx0 += len(prefix)
        if idx1 == -1:
            return text, idx0
        if new[idx1] == 8:
            if idx0 > 0 and text[idx0 - 1] != 10:
                text = text[: idx0 - 1] + text[idx0 + 1 :]
                idx0 -= 1
        elif new[idx1] == 13:
            while idx0 > 0 and text[idx0 - 1] != 10:
                idx0 -= 1
        else:
            text = [*text, 10]
            idx0 = len(text)


def reference_stream_text(texts: list[str]) -> str:
    text: list[int] = []
    index = 0
    for part in texts:
        text, index = _process_text(index, _units(part), text)
    data = b"".join(unit.to_bytes(2, "little") for unit in text)
    return data.decode("utf-16-le")  # strict, like stream_text


# --- streams -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["ab\rc\n"], "cb\n"),
        (["abcd\rX\nY"], "Xbcd\nY"),  # \n appends at the end of the text, not at the cursor
        (["abc\r\bx\bq"], "q"),  # \b deletes the unit before the cursor and the one under it
        (["ab\n\b\bc"], "ab\nc"),  # nothing to delete at a line start
        (["abc\rX", "Y\nZ"], "XYc\nZ"),  # the cursor is carried into the next output
        (["😀😀\rZZ\n"], "ZZ😀\n"),  # over UTF-16 units: an emoji is two
        (["abc\r😀\n"], "😀c\n"),
        (["a😀\b\bb\n"], "ab\n"),
        (["ab😀\ra\b\n"], "😀\n"),
        (["one\n", "two"], "one\ntwo"),
        (["", "", "\r"], ""),
    ],
)
def test_stream_text_is_jupyterlabs(texts: list[str], expected: str) -> None:
    assert stream_text(texts) == expected
    assert reference_stream_text(texts) == expected


def test_a_split_surrogate_pair_is_an_error_naming_the_cell() -> None:
    nb = notebook([code(), code([stream("ok\n"), stream("😀\rZ")])])
    with pytest.raises(NotebookError, match=r"cell 2 outputs 1-2: .*surrogate pair.*not valid Unicode"):
        lab_form(nb)
    form, _ = lab_form(nb, render_streams=False)  # stored as is, no rendering
    assert form["cells"][1]["outputs"][1]["text"] == ["😀\r", "Z"]


def test_consecutive_streams_of_one_name_merge_and_others_do_not() -> None:
    display = {"output_type": "display_data", "data": {"text/plain": "d"}, "metadata": {}}
    outputs = [stream("1\r"), stream("2\n"), stream("e", "stderr"), stream("3"), display, stream("4")]
    assert shown(outputs) == ["2\n", "e", "3", display | {"data": {"text/plain": ["d"]}}, "4"]


def test_notes_name_cells_and_outputs_from_one() -> None:
    nb = notebook([code(), code([stream("a"), stream("b\rc"), stream("e", "stderr")])])
    form, notes = lab_form(nb)
    assert "cell 2 outputs 1-2: 2 stdout stream outputs merged into one, as JupyterLab shows them" in notes
    assert "cell 2 outputs 1-2: stream text as JupyterLab shows it (\\r and \\b applied)" in notes
    assert form["cells"][1]["outputs"] == [stream(["cb"]), stream(["e"], "stderr")]


def test_streams_without_carriage_returns_are_only_merged() -> None:
    form, notes = lab_form(notebook([code([stream("a\n"), stream(["b\n", "c"])])]))
    assert form["cells"][0]["outputs"] == [stream(["a\n", "b\n", "c"])]
    assert notes == ["cell 1 outputs 1-2: 2 stdout stream outputs merged into one, as JupyterLab shows them"]


def test_output_model_keys() -> None:
    outputs = [
        {"output_type": "stream", "name": "stdout", "text": "s", "metadata": {}, "transient": {}},
        {"output_type": "display_data", "data": {"text/plain": "d"}, "transient": {"display_id": "x"}},
        {"output_type": "error", "ename": "E", "evalue": "v", "traceback": [], "metadata": {}},
    ]
    form, notes = lab_form(notebook([code(outputs)]))
    assert form["cells"][0]["outputs"] == [
        stream(["s"]),
        {"output_type": "display_data", "data": {"text/plain": ["d"]}, "metadata": {}},
        {"output_type": "error", "ename": "E", "evalue": "v", "traceback": []},
    ]
    assert (
        "cell 1 output 2: 'transient' left out and empty 'metadata' added,"
        " as JupyterLab holds display_data outputs" in notes
    )
    stored, _ = lab_form(notebook([code(outputs)]), render_streams=False)
    assert stored["cells"][0]["outputs"][1]["transient"] == {"display_id": "x"}


# --- numbers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (2**53 - 1, 2**53 - 1),
        (2**53, 2**53),
        (2**53 + 1, 2**53),
        (-(2**53) - 1, -(2**53)),
        (1234567890123456789, 1234567890123456800),  # JavaScript's digits, padded with zeros
        (-0.0, 0),
        (1.0, 1),
        (1e20, 10**20),
        (999_999_999_999_999_999_999, 1e21),  # rounds to 1e21, which JavaScript writes as 1e+21
        (10**21, 1e21),
        (1e21, 1e21),
        (1e-7, 1e-7),
        (0.1, 0.1),
        (2**1024 - 2**970 - 1, 1.7976931348623157e308),
        (2**1024 - 2**970, None),  # JSON.parse gives Infinity, JSON.stringify writes null
        (True, True),
    ],
)
def test_numbers_pass_through_javascript_doubles(value: Any, expected: Any) -> None:
    result = js_number(value) if not isinstance(value, bool) else value
    assert type(result) is type(expected) and result == expected
    form, _ = lab_form(notebook([code()], custom={"n": value}))
    assert (
        type(form["metadata"]["custom"]["n"]) is type(expected)
        and form["metadata"]["custom"]["n"] == expected
    )


def test_a_changed_number_is_noted_where_it_is() -> None:
    data = {"application/json": {"id": 1234567890123456789, "x": [1.0, -0.0]}}
    output = {"output_type": "execute_result", "execution_count": 1, "data": data, "metadata": {}}
    form, notes = lab_form(notebook([code(), code(), code(), code(), code([output])]))
    assert form["cells"][4]["outputs"][0]["data"]["application/json"] == {
        "id": 1234567890123456800,
        "x": [1, 0],
    }
    assert notes == [
        "cell 5 output 1: 1234567890123456789 stored as 1234567890123456800 (and 2 more numbers),"
        " as JupyterLab's JavaScript numbers hold it"
    ]


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_numbers_json_cannot_hold_are_errors(value: float) -> None:
    with pytest.raises(NotebookError, match="cell 1 metadata holds"):
        lab_form(notebook([code(metadata={"v": value})]))


def test_vectors_are_what_make_vectors_writes() -> None:
    sys.path.insert(0, str(VECTORS))
    try:
        import make_vectors  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(VECTORS))
    assert (VECTORS / "outputs.json").read_text(encoding="utf-8") == make_vectors.render()


# --- notebook structure ---------------------------------------------------------------------------


def test_corpus_notes_and_forms() -> None:
    original = corpus()
    before = copy.deepcopy(original)
    form, notes = lab_form(original)
    assert original == before  # the input is untouched
    assert form["nbformat_minor"] == 5 and set(form) == {"cells", "metadata", "nbformat", "nbformat_minor"}
    assert "notebook: 'top_level_extra' dropped (JupyterLab keeps only the nbformat keys)" in notes
    cells = {cell.get("id"): cell for cell in form["cells"]}
    assert cells["heading"]["cell_type"] == "raw" and "level" not in cells["heading"]
    assert "cell 12: cell type 'heading' stored as raw" in notes
    zero = form["cells"][13]
    assert zero["execution_count"] is None and "attachments" not in zero and "unknown_cell_key" not in zero
    assert zero["id"] != "markdown" and len(zero["id"]) == 8  # a repeated id is replaced, as the server does
    assert form["cells"][14]["outputs"] == [] and len(form["cells"][14]["id"]) == 36  # null id: a UUID
    assert form["metadata"]["kernelspec"]["env"] == {}  # no kernel started: kept as is
    assert "orig_nbformat" not in form["metadata"] and "signature" not in form["metadata"]
    meta = [cell["metadata"] for cell in form["cells"][15:]]
    assert meta[0] == {"collapsed": False, "jupyter": {"outputs_hidden": False}}
    assert meta[1] == {"collapsed": True, "jupyter": {"outputs_hidden": True}}
    assert meta[3] == {"collapsed": "yes", "jupyter": {"outputs_hidden": "yes"}}
    assert "scrolled" not in meta[6]  # "auto" is not written back
    assert "trusted" not in meta[10]
    markdown = form["cells"][9]
    assert markdown["source"] == ["# Title\r\n", "![pic](attachment:pic.png)\r", "end"]  # CR and CRLF kept
    assert markdown["attachments"]["pic.png"]["image/png"] == "".join(
        corpus()["cells"][9]["attachments"]["pic.png"]["image/png"]
    )


def test_old_notebooks() -> None:
    form, notes = lab_form(old_corpus())
    assert form["nbformat_minor"] == 4
    assert all("id" not in cell for cell in form["cells"])
    assert form["metadata"] == {"language_info": {"name": ""}, "kernelspec": {"name": "", "display_name": ""}}
    assert "cells 1, 2: id dropped (JupyterLab writes no ids below nbformat 4.5)" in notes
    assert "notebook: nbformat_minor 2 stored as 4" in notes


def test_an_empty_notebook_gets_one_code_cell() -> None:
    form, notes = lab_form(notebook([]))
    assert form["cells"] == [
        {"cell_type": "code", "source": [], "metadata": {}, "outputs": [], "execution_count": None}
    ]
    assert notes == ["notebook: one empty code cell added (JupyterLab never holds zero cells)"]
    assert lab_form(form) == (form, [])


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({"scrolled": True}, {"scrolled": True}),
        ({"scrolled": "auto"}, {}),
        ({"scrolled": False}, {}),
        ({"scrolled": 1}, {"scrolled": True}),
        (
            {"collapsed": None, "jupyter": {"outputs_hidden": 0}},
            {"collapsed": 0, "jupyter": {"outputs_hidden": 0}},
        ),
        ({"jupyter": [], "collapsed": True}, {"jupyter": [], "collapsed": True}),
        ({"editable": 0, "deletable": "no"}, {"editable": 0, "deletable": "no"}),
    ],
)
def test_code_cell_view_metadata(metadata: dict[str, Any], expected: dict[str, Any]) -> None:
    form, _ = lab_form(notebook([code(metadata=metadata)]))
    assert form["cells"][0]["metadata"] == expected


def test_markdown_heading_collapsed_is_written_as_true() -> None:
    cell = {
        "cell_type": "markdown",
        "metadata": {"jp-MarkdownHeadingCollapsed": "yes", "scrolled": 1},
        "source": "# H",
    }
    form, _ = lab_form(notebook([cell]))
    assert form["cells"][0]["metadata"] == {"jp-MarkdownHeadingCollapsed": True, "scrolled": 1}


@pytest.mark.parametrize(
    ("nb", "message"),
    [
        (notebook([code(metadata={"__proto__": {"x": 1}})]), '"__proto__"'),
        (notebook([code(metadata={"v": "\ud83d"})]), "lone UTF-16 surrogate"),
        (notebook([code(metadata={"collapsed": True, "jupyter": "x"})]), "is not an object"),
        (
            notebook([{"cell_type": "markdown", "metadata": {}, "source": "", "attachments": None}]),
            "attachments",
        ),
        (notebook([{"cell_type": "code", "source": ""}]), "metadata object"),
        ({"cells": [], "metadata": {}, "nbformat": 3, "nbformat_minor": 0}, "nbformat 4"),
        (notebook([code([stream("x", name="")])]), "needs a name"),
    ],
)
def test_what_jupyterlab_cannot_open_is_an_error(nb: dict[str, Any], message: str) -> None:
    with pytest.raises(NotebookError, match=message):
        lab_form(nb)


def test_the_form_is_what_nbformat_reads_and_writes() -> None:
    """The server reads and writes notebooks with nbformat's v4 JSON reader and writer (plus validation,
    which only repairs cell ids): the form, written as nbformat writes, goes through them unchanged."""
    nbjson = pytest.importorskip("nbformat.v4.nbjson")
    for make in (corpus, old_corpus):
        form, _ = lab_form(make())
        text = json.dumps(form, indent=1, sort_keys=True, separators=(",", ": "), ensure_ascii=False)
        assert nbjson.writes(nbjson.reads(text)) == text


# --- idempotence -----------------------------------------------------------------------------------


@pytest.mark.parametrize("render_streams", [True, False])
@pytest.mark.parametrize("make", [corpus, old_corpus])
def test_lab_form_is_idempotent(make: Any, render_streams: bool) -> None:
    form, notes = lab_form(make(), render_streams=render_streams)
    assert notes
    assert lab_form(form, render_streams=render_streams) == (form, [])
    if not render_streams:  # rendering streams is one more step, after which nothing changes
        rendered, _ = lab_form(form)
        assert lab_form(rendered, render_streams=False) == (rendered, [])


STREAM_TEXT = st.text(
    alphabet=st.sampled_from(["a", "b", "é", "\n", "\r", "\b", "😀", "\u2028", " "]), max_size=12
)
NUMBER = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([-0.0, 1.0, 1e21, 2**53 + 1, 1e-7]),
)
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | NUMBER | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)
VIEW_VALUE = st.sampled_from([True, False, None, 0, 1, "auto", "", "yes", {}, []])
OUTPUT = st.one_of(
    st.builds(stream, STREAM_TEXT | st.lists(STREAM_TEXT, max_size=3), st.sampled_from(["stdout", "stderr"])),
    st.builds(
        lambda value, transient: {
            "output_type": "display_data",
            "data": {"application/json": value, "text/plain": "v\nw"},
            "metadata": {"n": value},
            **({"transient": {"display_id": "d"}} if transient else {}),
        },
        JSON_VALUE,
        st.booleans(),
    ),
)
CELL_METADATA = st.fixed_dictionaries(
    {},
    optional={
        "collapsed": VIEW_VALUE,
        "scrolled": VIEW_VALUE,
        "jupyter": st.fixed_dictionaries(
            {}, optional={"outputs_hidden": VIEW_VALUE, "source_hidden": VIEW_VALUE}
        ),
        "trusted": st.booleans(),
        "jp-MarkdownHeadingCollapsed": VIEW_VALUE,
        "tags": st.lists(st.text(max_size=3), max_size=2),
    },
)
CELL = st.one_of(
    st.builds(
        lambda outputs, metadata, count, source: code(
            outputs, metadata=metadata, execution_count=count, source=source
        ),
        st.lists(OUTPUT, max_size=5),
        CELL_METADATA,
        st.one_of(st.none(), st.integers(min_value=0, max_value=3), st.just(2.0)),
        st.text(max_size=8) | st.lists(st.text(max_size=4), max_size=3),
    ),
    st.builds(
        lambda metadata, source: {"cell_type": "markdown", "metadata": metadata, "source": source},
        CELL_METADATA,
        st.text(max_size=8),
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    cells=st.lists(CELL, max_size=4),
    minor=st.sampled_from([0, 4, 5]),
    metadata=st.dictionaries(st.sampled_from(["kernelspec", "language_info", "x", "signature"]), JSON_VALUE),
    render_streams=st.booleans(),
)
def test_lab_form_is_idempotent_property(
    cells: list[dict[str, Any]], minor: int, metadata: dict[str, Any], render_streams: bool
) -> None:
    nb = {"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": minor}
    before = copy.deepcopy(nb)
    try:
        form, _ = lab_form(nb, render_streams=render_streams)
    except NotebookError as exc:
        assert "not valid Unicode" in str(exc)
        return
    assert nb == before
    assert lab_form(form, render_streams=render_streams) == (form, [])


@settings(max_examples=500, deadline=None)
@given(st.lists(STREAM_TEXT, min_size=1, max_size=5))
def test_stream_text_matches_a_literal_port_of_processtext(texts: list[str]) -> None:
    try:
        expected = reference_stream_text(texts)
    except UnicodeDecodeError:
        with pytest.raises(UnicodeDecodeError):
            stream_text(texts)
        return
    assert stream_text(texts) == expected
