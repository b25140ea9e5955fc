"""Regenerate the lab_form cross-check vectors (run deliberately, then review the diff).

    .venv/bin/python tests/vectors/labform/make_vectors.py

Writes ``tests/vectors/labform/outputs.json``: ``{"outputs": [...], "numbers": [...]}``.

- ``outputs``: ``{"name", "in", "out"}`` or ``{"name", "in", "error"}``. ``in`` is a code cell's
  outputs as the Jupyter server hands them to JupyterLab (multi-line strings joined); ``out`` is what
  ``lab_form`` makes of them (in JupyterLab's output model: streams merged and rendered), also joined.
  ``error: "not valid Unicode"`` marks inputs whose rendered stream text splits a surrogate pair.
  ``labextension/src/__tests__/streams.spec.ts`` feeds ``in`` through JupyterLab's real
  ``OutputAreaModel`` (fromJSON, toJSON) and expects ``out``.
- ``numbers``: ``[literal, expected]`` pairs of JSON number texts: ``expected`` is what Python's
  ``json`` writes for ``js_number(json.loads(literal))``. The jest test expects
  ``JSON.stringify(JSON.parse(literal))`` to read back (in Python) as the same value.

``tests/test_labform.py`` checks that this file is what the script writes today.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from jupyter_sigstore.errors import NotebookError  # noqa: E402
from jupyter_sigstore.labform import js_number, lab_form  # noqa: E402

VECTORS = HERE / "outputs.json"
ALPHABET = [
    "a",
    "b",
    "c",
    "d",
    "é",
    "\n",
    "\n",
    "\r",
    "\r",
    "\b",
    "\b",
    "😀",
    "𝄞",
    "\u2028",
    "x",
    "y",
    "z",
    " ",
]


def stream(name: str, text: str) -> dict[str, Any]:
    return {"output_type": "stream", "name": name, "text": text}


def display(text: str) -> dict[str, Any]:
    return {"output_type": "display_data", "data": {"text/plain": text}, "metadata": {}}


HANDMADE: list[tuple[str, list[dict[str, Any]]]] = [
    ("carriage return overwrites", [stream("stdout", "ab\rc\n")]),
    ("backspace deletes two units", [stream("stdout", "abc\r\bx\bq")]),
    ("newline appends at the end", [stream("stdout", "abcd\rX\nY")]),
    ("cursor carried across outputs", [stream("stdout", "abc\rX"), stream("stdout", "Y\nZ")]),
    ("backspace at a line start", [stream("stdout", "ab\n\b\bc")]),
    ("names break runs", [stream("stdout", "1\r"), stream("stderr", "e"), stream("stdout", "2")]),
    ("a display breaks runs", [stream("stdout", "1\r"), display("d"), stream("stdout", "2")]),
    ("emoji is two units", [stream("stdout", "😀😀\rZZ\n")]),
    ("emoji overwrites two units", [stream("stdout", "abc\r😀\n")]),
    ("backspaces remove an emoji", [stream("stdout", "a😀\b\bb\n")]),
    ("backspace removes the unit under the cursor", [stream("stdout", "ab😀\ra\b\n")]),
    ("split surrogate pair", [stream("stdout", "😀\rZ")]),
    ("empty texts", [stream("stdout", ""), stream("stdout", ""), stream("stdout", "\r")]),
    ("progress bar", [stream("stdout", "".join(f"\r{p:3d}%" for p in range(0, 101, 10)) + "\n")]),
    (
        "output model keys",
        [
            {"output_type": "stream", "name": "stdout", "text": "s", "metadata": {"a": 1}, "transient": {}},
            {"output_type": "display_data", "data": {"text/plain": "no metadata"}},
            {"output_type": "display_data", "metadata": {"m": [1, 2]}},
            {
                "output_type": "execute_result",
                "execution_count": 3,
                "data": {"text/plain": "r", "application/json": {"a": [1, 2.5, None]}},
                "metadata": {},
                "transient": {"display_id": "x"},
            },
            {"output_type": "update_display_data", "data": {"text/plain": "u"}, "metadata": {"x": 1}},
            {"output_type": "error", "ename": "E", "evalue": "v", "traceback": ["t1", "t2"], "metadata": {}},
            {"output_type": "unknown", "data": {"text/plain": "?"}, "extra": True},
        ],
    ),
]

NUMBERS = [
    "0",
    "-0",
    "-0.0",
    "1.0",
    "1e0",
    "100.000",
    "9007199254740991",
    "9007199254740992",
    "9007199254740993",
    "-9007199254740993",
    "1234567890123456789",
    "99999999999999999999",
    "100000000000000000000",
    "999999999999999999999",
    "1000000000000000000000",
    "1e21",
    "1e20",
    "123456789012345678901234.0",
    "1e-7",
    "0.1",
    "5e-324",
    "1.7976931348623157e308",
    str(2**1024 - 2**970 - 1),
    str(2**1024 - 2**970),
    str(2**1024),
    "-1e400",
]


def random_outputs(rng: random.Random) -> list[dict[str, Any]]:
    outputs: list[dict[str, Any]] = []
    for _ in range(rng.randint(1, 5)):
        if rng.random() < 0.1:
            outputs.append(display("x"))
        else:
            text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 12)))
            outputs.append(stream(rng.choice(["stdout", "stdout", "stderr"]), text))
    return outputs


def rendered(outputs: list[dict[str, Any]]) -> list[dict[str, Any]] | str:
    nb = {
        "cells": [
            {"cell_type": "code", "metadata": {}, "source": "", "outputs": outputs, "execution_count": 1}
        ],
        "metadata": {"kernelspec": {"name": "k", "display_name": "K"}, "language_info": {"name": "l"}},
        "nbformat": 4,
        "nbformat_minor": 4,
    }
    try:
        form, _ = lab_form(nb)
    except NotebookError as exc:
        assert "not valid Unicode" in str(exc), exc
        return "not valid Unicode"
    result: list[dict[str, Any]] = form["cells"][0]["outputs"]
    for output in result:  # back to the joined strings JupyterLab's model holds
        if isinstance(output.get("text"), list):
            output["text"] = "".join(output["text"])
        for mime, value in output.get("data", {}).items():
            if mime.startswith("text/") and isinstance(value, list):
                output["data"][mime] = "".join(value)
    return result


def number_text(literal: str) -> str:
    try:
        value = js_number(json.loads(literal))
    except NotebookError:
        return "error"
    return json.dumps(value)


def vectors() -> dict[str, Any]:
    rng = random.Random(20240611)
    cases = list(HANDMADE) + [(f"random {n}", random_outputs(rng)) for n in range(400)]
    outputs = []
    for name, given in cases:
        result = rendered(given)
        key = "error" if isinstance(result, str) else "out"
        outputs.append({"name": name, "in": given, key: result})
    numbers = [[literal, number_text(literal)] for literal in NUMBERS]
    for _ in range(200):
        value = rng.choice(
            [rng.getrandbits(rng.randint(54, 80)), rng.uniform(-1e22, 1e22), rng.random() * 10]
        )
        literal = json.dumps(value)
        numbers.append([literal, number_text(literal)])
    return {"outputs": outputs, "numbers": numbers}


def render() -> str:
    return json.dumps(vectors(), indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    VECTORS.write_text(render(), encoding="utf-8")
    print(f"wrote {VECTORS}")
