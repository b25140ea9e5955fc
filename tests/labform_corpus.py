"""Crafted notebooks for lab_form: each holds one instance of everything JupyterLab changes (or might
change) when it opens and saves a notebook. ``tests/browser/test_lab_roundtrip.py`` opens them in a
real JupyterLab and Notebook 7; ``tests/test_labform.py`` checks lab_form's answers for them."""

from __future__ import annotations

from typing import Any

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
# a base64 PNG wrapped at 20 characters, as a list of lines ending in newlines (as some tools write it)
PNG_WRAPPED = [PNG[i : i + 20] + "\n" for i in range(0, len(PNG), 20)]

NUMBERS: dict[str, Any] = {
    "max_safe": 2**53 - 1,
    "two_53": 2**53,
    "two_53_plus_1": 2**53 + 1,
    "minus_two_53_minus_1": -(2**53) - 1,
    "account_id": 1234567890123456789,
    "negative_zero": -0.0,
    "zero_float": 0.0,
    "one_float": 1.0,
    "hundred_float": 100.0,
    "big_float_below_1e21": 1e20,
    "float_1e21": 1e21,
    "int_1e21": 10**21,
    "int_1e21_plus_1": 10**21 + 1,
    "int_just_below_1e21": 999_999_999_999_999_999_999,
    "int_1e25": 10**25,
    "float_integral_2e23": 123456789012345678901234.0,
    "small": 1e-7,
    "tenth": 0.1,
    "denormal": 5e-324,
    "max_double": 1.7976931348623157e308,
    "int_rounds_to_max_double": 2**1024 - 2**970 - 1,
    "int_rounds_to_infinity": 2**1024 - 2**970,
    "int_beyond_double": 2**1024,
    "negative_fraction": -2.5e-10,
    "list": [1.0, -0.0, 2**60, 2**53 + 3, 3.25, True, None, False, 0],
}

# (stored stream outputs of one cell, as (name, text) pairs)
STREAM_CELLS: list[list[tuple[str, Any]]] = [
    # \r and \b across merged outputs; \n appends at the end; a different name breaks the run
    [
        ("stdout", "ab\rc\n"),
        ("stdout", "xy\bz"),
        ("stdout", "\r\r12\b\b34\n"),
        ("stderr", "E1\n"),
        ("stderr", "\rE2"),
        ("stdout", "after\n"),
        ("stdout", ["li", "st\n"]),
    ],
    # the cursor is carried into the next output: "Y" overwrites "b", then "\n" goes to the end
    [("stdout", "abc\rX"), ("stdout", "Y\nZ")],
    # \b deletes the unit before the cursor and the one under it
    [("stdout", "ab😀\ra\b\n")],
    # UTF-16 units: an emoji is two; \b twice removes one emoji; \r then two units overwrite one emoji
    [("stdout", "a😀\b\bb\n"), ("stdout", "😀😀\rZZ\n"), ("stdout", "abc\r😀\n")],
    # \n only (the fast path), merged, with a trailing newline and a line separator U+2028
    [("stdout", "one\ntwo\n"), ("stdout", "three\u2028four\n")],
    # runs are not merged across another output
    [("stdout", "1\r"), ("stderr", "e"), ("stdout", "2")],
    # a progress bar
    [("stdout", "".join(f"\r{p:3d}%" for p in range(0, 101, 5)) + "\n")],
]


def stream(name: str, text: Any) -> dict[str, Any]:
    return {"output_type": "stream", "name": name, "text": text}


def _code(source: Any, outputs: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    cell = {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": outputs, "source": source}
    cell.update(extra)
    return cell


def corpus() -> dict[str, Any]:
    """An nbformat 4.5 notebook covering streams, numbers, sources, images, metadata and ids."""
    cells: list[dict[str, Any]] = [
        _code(f"# streams {n}\n", [stream(name, text) for name, text in outputs], id=f"stream-{n}")
        for n, outputs in enumerate(STREAM_CELLS, 1)
    ]
    cells += [
        _code(
            "numbers = ...\n",
            [
                {
                    "output_type": "execute_result",
                    "execution_count": 2.0,
                    "metadata": {"application/json": {"expanded": False}},
                    "data": {"application/json": NUMBERS, "text/plain": ["{'numbers': ...}"]},
                }
            ],
            execution_count=2.0,
            metadata={"weight": 1.0, "threshold": -0.0, "id": 2**63},
            id="numbers",
        ),
        _code(
            "a = 1\r\nb = 2\rc = 3\n",
            [
                {
                    "output_type": "display_data",
                    "metadata": {"image/png": {"width": 10.0, "height": 10}},
                    "data": {
                        "image/png": PNG_WRAPPED,
                        "image/svg+xml": '<svg xmlns="http://www.w3.org/2000/svg">\r\n<rect/>\n</svg>\n',
                        "text/html": ["<b>bold</b>\r\n", "<i>it</i>"],
                        "text/plain": "<Figure>",
                        "application/vnd.jupyter.stdout": ["out\n", "put"],
                        "application/vnd.custom+json": ["kept\n", "as a list"],
                    },
                    "transient": {"display_id": "figure-1"},
                },
                {"output_type": "display_data", "data": {"text/plain": "no metadata"}},
                {
                    "output_type": "stream",
                    "name": "stdout",
                    "text": "stream with metadata\n",
                    "metadata": {"a": 1},
                    "transient": {"b": 2},
                },
                {
                    "output_type": "error",
                    "ename": "ValueError",
                    "evalue": "bad",
                    "traceback": ["Traceback\n", "\x1b[31mValueError\x1b[0m: bad"],
                },
                {"output_type": "weird_output", "data": {"text/plain": "?"}, "extra": [1.0]},
            ],
            id="crlf-and-displays",
        ),
        {
            "cell_type": "markdown",
            "metadata": {"collapsed": True, "tags": ["md"]},
            "source": ["# Title\r\n", "![pic](attachment:pic.png)\r", "end"],
            "attachments": {"pic.png": {"image/png": PNG_WRAPPED, "text/plain": ["a\n", "b"]}},
            "id": "markdown",
        },
        {
            "cell_type": "raw",
            "metadata": {"format": "text/restructuredtext", "raw_mimetype": "text/x-rst"},
            "source": "raw\n",
            "attachments": {},
            "id": "raw",
        },
        {"cell_type": "heading", "level": 2, "metadata": {}, "source": "Old heading", "id": "heading"},
        {
            "cell_type": "markdown",
            "metadata": {},
            "source": "markdown with outputs",
            "outputs": [],
            "execution_count": 3,
        },  # no id: the server adds one
        _code(
            "zero\n",
            [],
            execution_count=0,
            attachments={"x.png": {"image/png": PNG}},
            unknown_cell_key={"a": 1},
            id="markdown",  # repeated: the server replaces it
        ),
        {"cell_type": "code", "metadata": {}, "source": "no outputs key\n", "id": None},
    ]
    for n, metadata in enumerate(
        [
            {"collapsed": False},
            {"jupyter": {"outputs_hidden": True}},
            {"jupyter": {"source_hidden": True}, "collapsed": True},
            {"jupyter": "", "collapsed": "yes"},
            {"jupyter": {"outputs_hidden": 0}},
            {"collapsed": None, "jupyter": {"outputs_hidden": None}},
            {"scrolled": "auto", "tags": ["a", "b"], "deletable": False, "editable": False, "name": "n"},
            {"ExecuteTime": {"start_time": "2024-01-01T00:00:00.000Z", "end_time": "2024-01-01T00:00:01.0Z"}},
            {"execution": {"iopub.execute_input": "2024-01-01T00:00:00.5Z", "shell.execute_reply": "x"}},
            {"papermill": {"duration": 1.0, "exception": False, "status": "completed"}},
            {"run_control": {"frozen": True}, "trusted": True, "slideshow": {"slide_type": "slide"}},
            {"widgets": {"nested": {"deep": [1, 2.0, {"x": -0.0}]}}},
        ],
        1,
    ):
        cells.append(
            _code(f"# metadata {n}\n", [stream("stdout", f"m{n}\n")], metadata=metadata, id=f"meta-{n}")
        )
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {
                "name": "python3",
                "display_name": "Custom Python",
                "language": "python",
                "env": {},
            },
            "language_info": {"name": "python", "version": "3.0"},
            "widgets": {
                "application/vnd.jupyter.widget-state+json": {
                    "state": {"m1": {"model_name": "IntSliderModel", "state": {"value": 7.0, "max": 1e21}}},
                    "version_major": 2,
                    "version_minor": 0,
                }
            },
            "orig_nbformat": 4,
            "signature": "sha256:0000",
            "trusted": True,
            "sigstore": {"version": 1, "signatures": []},
            "authors": [{"name": "A"}],
            "title": "Corpus",
            "custom": {"big": 2**60, "one": 1.0},
            "toc": {"number_sections": True},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
        "top_level_extra": {"dropped": True},
    }


def old_corpus() -> dict[str, Any]:
    """An nbformat 4.2 notebook with cell ids, no kernelspec or language_info, and transient metadata."""
    return {
        "cells": [
            _code("old\n", [stream("stdout", "x\r"), stream("stdout", "y\n")], id="dropped-id"),
            {"cell_type": "markdown", "metadata": {"trusted": False}, "source": "", "id": "also-dropped"},
        ],
        "metadata": {"orig_nbformat": 3, "orig_nbformat_minor": 0, "language_info": None},
        "nbformat": 4,
        "nbformat_minor": 2,
    }
