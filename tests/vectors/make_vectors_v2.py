"""Regenerate the canonical profile v2 test vectors (run deliberately, then review the diff).

    PYTHONPATH=. .venv/bin/python tests/vectors/make_vectors_v2.py

Writes ``tests/vectors/canonical-v2/*.ipynb`` (small notebooks, one rule each) and
``tests/vectors/canonical-v2/expected.json``. For every valid vector: its notebook digest, metadata
digest, widgets digest, cell digests and the canonical bytes (as text) of its metadata, widget state and
cells. A vector made from another one (``base``) also states how it relates to it: ``invariant`` (every
digest equal) or ``sensitive`` (the notebook digest differs, in exactly ``changed_cells`` and, when
``metadata_changed`` / ``widgets_changed``, in the metadata / widgets digest). An error vector records a
fragment of the reference implementation's message instead: every implementation MUST reject it.

The script checks each stated relation before writing, so a rule that does not hold stops it. The
digests are the profile: if this script changes one, the profile changed, which needs a new profile
name once released.
"""

from __future__ import annotations

import base64
import copy
import json
import random
import struct
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent / "canonical-v2"
sys.path.insert(0, str(HERE.parents[2]))

from jupyter_sigstore.canonical import (  # noqa: E402
    EXCLUDED_CELL_METADATA,
    EXCLUDED_NESTED_METADATA,
    PROFILE_V2,
    canonical_cell,
    canonical_metadata,
    encode,
    notebook_digest,
)
from jupyter_sigstore.errors import NotebookError  # noqa: E402
from jupyter_sigstore.nbfile import parse_notebook  # noqa: E402

Notebook = dict[str, Any]
Mutation = Callable[[Notebook], None]


@dataclass(frozen=True)
class Relation:
    """How a vector relates to the vector ``base``."""

    relation: str  # "invariant" or "sensitive"
    changed_cells: tuple[int, ...] = ()
    metadata_changed: bool = False
    widgets_changed: bool = False
    base: str = "base"

    def to_json(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "relation": self.relation,
            "changed_cells": list(self.changed_cells),
            "metadata_changed": self.metadata_changed,
            "widgets_changed": self.widgets_changed,
        }


SAME = Relation("invariant")


def cells(*indices: int) -> Relation:
    return Relation("sensitive", changed_cells=indices)


METADATA = Relation("sensitive", metadata_changed=True)
WIDGETS = Relation("sensitive", widgets_changed=True)


@dataclass
class Vector:
    rule: str
    data: bytes
    relation: Relation | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------------- material


def png(rgb: tuple[int, int, int]) -> bytes:
    """A valid 1x1 RGB PNG of one colour (deterministic bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    ihdr = (1).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    raw = zlib.compress(b"\x00" + bytes(rgb), 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


RED = base64.b64encode(png((255, 0, 0))).decode()
BLUE = base64.b64encode(png((0, 0, 255))).decode()
WIDGET_MIME = "application/vnd.jupyter.widget-state+json"


def base() -> Notebook:
    """The notebook most vectors are variants of: four cells, covered metadata, widget state."""
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
            "language_info": {"name": "python", "version": "3.11.7", "mimetype": "text/x-python"},
            "title": "Weather",
            "widgets": {
                WIDGET_MIME: {
                    "version_major": 2,
                    "version_minor": 0,
                    "state": {
                        "m1": {
                            "model_module": "@jupyter-widgets/controls",
                            "model_module_version": "2.0.0",
                            "model_name": "HTMLModel",
                            "state": {"value": "<b>ok</b>"},
                        }
                    },
                }
            },
        },
        "cells": [
            {
                "cell_type": "markdown",
                "id": "intro",
                "metadata": {},
                "source": "# Results\n\n![dot](attachment:dot.png)",
                "attachments": {"dot.png": {"image/png": RED}},
            },
            {
                "cell_type": "code",
                "id": "compute",
                "metadata": {"tags": ["analysis"]},
                "execution_count": 1,
                "source": "%%bash\n# clean up\ncd /tmp/scratch\nrm -rf build\n",
                "outputs": [
                    {"output_type": "stream", "name": "stdout", "text": "total: 10\n"},
                    {
                        "output_type": "execute_result",
                        "execution_count": 1,
                        "metadata": {},
                        "data": {
                            "text/plain": "{'account': 1234567890123456789, ...}",
                            "application/json": {
                                "account": 1234567890123456789,
                                "big": 9007199254740993,
                                "e21": 1e21,
                                "n": 3,
                                "ratio": 1.5,
                                "zero": 0.0,
                            },
                        },
                    },
                ],
            },
            {
                "cell_type": "code",
                "id": "plot",
                "metadata": {},
                "execution_count": 2,
                "source": "show_dot()",
                "outputs": [
                    {
                        "output_type": "display_data",
                        "metadata": {"image/png": {"width": 10}},
                        "data": {"image/png": RED, "text/plain": "<Figure size 1x1>"},
                    },
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {"application/vnd.jupyter.stdout": "aGk="},
                    },
                ],
            },
            {"cell_type": "raw", "id": "notes", "metadata": {"format": "text/plain"}, "source": "raw notes"},
        ],
    }


def dumps(nb: Any) -> bytes:
    """nbformat's own style."""
    return (json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


# ------------------------------------------------------------------------------------- mutations


def set_in(path: tuple[Any, ...], value: Any) -> Mutation:
    def mutate(nb: Notebook) -> None:
        target: Any = nb
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def delete(path: tuple[Any, ...]) -> Mutation:
    def mutate(nb: Notebook) -> None:
        target: Any = nb
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


def split_lines(nb: Notebook) -> None:
    """Multiline strings as nbformat writes them: lists of lines (str.splitlines(True))."""
    for cell in nb["cells"]:
        cell["source"] = cell["source"].splitlines(True)
        for bundle in cell.get("attachments", {}).values():
            for mime, value in bundle.items():
                bundle[mime] = [value[:20], value[20:]]
        for out in cell.get("outputs", []):
            if out["output_type"] == "stream":
                out["text"] = out["text"].splitlines(True)
            for mime, value in out.get("data", {}).items():
                if isinstance(value, str):
                    out["data"][mime] = value.splitlines(True)


def split_anywhere(nb: Notebook) -> None:
    """A multiline string may be split anywhere, not only after line ends (even into empty items)."""
    compute = nb["cells"][1]
    source = compute["source"]
    compute["source"] = ["", source[:3], source[3:11], "", source[11:]]
    compute["outputs"][0]["text"] = ["to", "tal: 1", "0\n"]
    red = nb["cells"][2]["outputs"][0]["data"]["image/png"]
    nb["cells"][2]["outputs"][0]["data"]["image/png"] = [red[:7], red[7:]]


def strip_ids(nb: Notebook) -> None:
    nb["nbformat_minor"] = 4
    for cell in nb["cells"]:
        del cell["id"]


def change_ids(nb: Notebook) -> None:
    for n, cell in enumerate(nb["cells"]):
        cell["id"] = f"{n:08x}"


def add_cell_metadata(index: int, key: str, value: Any) -> Mutation:
    def mutate(nb: Notebook) -> None:
        nb["cells"][index]["metadata"][key] = value

    return mutate


def merge_cell_metadata(index: int, key: str, value: dict[str, Any]) -> Mutation:
    def mutate(nb: Notebook) -> None:
        nb["cells"][index]["metadata"].setdefault(key, {}).update(value)

    return mutate


def swap_cells(nb: Notebook) -> None:
    nb["cells"][1], nb["cells"][2] = nb["cells"][2], nb["cells"][1]


def split_stream(nb: Notebook) -> None:
    nb["cells"][1]["outputs"][0:1] = [
        {"output_type": "stream", "name": "stdout", "text": "total"},
        {"output_type": "stream", "name": "stdout", "text": ": 10\n"},
    ]


def widget_value(value: str) -> Mutation:
    def mutate(nb: Notebook) -> None:
        nb["metadata"]["widgets"][WIDGET_MIME]["state"]["m1"]["state"]["value"] = value

    return mutate


def json_value(key: str, value: Any) -> Mutation:
    return set_in(("cells", 1, "outputs", 1, "data", "application/json", key), value)


SENSIBLE_EXCLUDED_VALUES: dict[str, Any] = {
    "collapsed": True,
    "scrolled": True,
    "execution": {
        "iopub.execute_input": "2024-01-01T00:00:00.100Z",
        "shell.execute_reply": "2024-01-01T00:00:00.200Z",
    },
    "ExecuteTime": {"start_time": "2024-01-01T00:00:00.000Z", "end_time": "2024-01-01T00:00:01.000Z"},
    "heading_collapsed": True,
    "jp-MarkdownHeadingCollapsed": True,
    "hidden": True,
    "hide_input": True,
    "code_folding": [3],
    "editable": False,
    "deletable": False,
    "trusted": True,
    "executionInfo": {"elapsed": 12, "status": "ok", "timestamp": 1700000000000},
    "outputId": "0f3c2d1e-aaaa-bbbb-cccc-0123456789ab",
    "colab": {"base_uri": "https://localhost:8080/", "height": 300},
}
NESTED_VALUES: dict[str, Any] = {
    "source_hidden": True,
    "outputs_hidden": True,
    "start_time": "2024-01-01T00:00:00.000000",
    "end_time": "2024-01-01T00:00:01.000000",
    "duration": 1.0,
    "status": "completed",
}


def variants() -> dict[str, tuple[str, Mutation, Relation]]:
    """name -> (rule, mutation of base(), relation to base)."""
    out: dict[str, tuple[str, Mutation, Relation]] = {
        # formatting that every reader undoes
        "inv-split-lines": ("multiline strings stored as lists of lines are joined", split_lines, SAME),
        "inv-split-anywhere": ("a multiline string may be split anywhere", split_anywhere, SAME),
        "inv-no-cell-ids-minor-4": ("cell ids and nbformat_minor are not hashed", strip_ids, SAME),
        "inv-cell-ids-changed": ("cell ids are not hashed", change_ids, SAME),
        "inv-nbformat-minor": ("nbformat_minor is not hashed", set_in(("nbformat_minor",), 9), SAME),
        "inv-top-level-key": (
            "notebook keys other than cells and metadata are not hashed (nbformat 4 has none)",
            set_in(("extra",), {"any": "value"}),
            SAME,
        ),
        # excluded notebook metadata
        "inv-notebook-sigstore": (
            "notebook metadata.sigstore (the signatures) is excluded",
            set_in(("metadata", "sigstore"), {"version": 1, "signatures": [{"bundle": {}}]}),
            SAME,
        ),
        "inv-notebook-language-info": (
            "notebook metadata.language_info is excluded",
            set_in(("metadata", "language_info"), {"name": "python", "version": "3.13.0"}),
            SAME,
        ),
        "inv-notebook-language-info-removed": (
            "notebook metadata.language_info is excluded",
            delete(("metadata", "language_info")),
            SAME,
        ),
        "inv-notebook-orig-nbformat": (
            "notebook metadata.orig_nbformat is excluded",
            set_in(("metadata", "orig_nbformat"), 3),
            SAME,
        ),
        "inv-kernelspec-display-name": (
            "kernelspec.display_name is excluded",
            set_in(("metadata", "kernelspec", "display_name"), "Custom Python"),
            SAME,
        ),
        "inv-kernelspec-display-name-removed": (
            "kernelspec.display_name is excluded",
            delete(("metadata", "kernelspec", "display_name")),
            SAME,
        ),
        # covered notebook metadata
        "sens-kernelspec-name": (
            "kernelspec.name is covered",
            set_in(("metadata", "kernelspec", "name"), "python2"),
            METADATA,
        ),
        "sens-kernelspec-language": (
            "kernelspec.language is covered",
            set_in(("metadata", "kernelspec", "language"), "R"),
            METADATA,
        ),
        "inv-kernelspec-other-key": (
            "of kernelspec only name and language are covered",
            set_in(("metadata", "kernelspec", "env"), {"X": "1"}),
            SAME,
        ),
        "sens-kernelspec-language-removed": (
            "kernelspec.language is covered: removing it is a change",
            delete(("metadata", "kernelspec", "language")),
            METADATA,
        ),
        "sens-kernelspec-not-object": (
            "a kernelspec that is not an object is covered as stored",
            set_in(("metadata", "kernelspec"), "python3"),
            METADATA,
        ),
        "sens-title": ("notebook metadata is covered", set_in(("metadata", "title"), "Rain"), METADATA),
        "inv-notebook-orig-nbformat-minor": (
            "notebook metadata.orig_nbformat_minor is excluded",
            set_in(("metadata", "orig_nbformat_minor"), 4),
            SAME,
        ),
        "sens-notebook-signature": (
            "notebook metadata.signature (classic notebook trust) is covered",
            set_in(("metadata", "signature"), "sha256:00"),
            METADATA,
        ),
        "sens-notebook-papermill": (
            "notebook-level papermill metadata is covered whole (nested exclusions are for cells)",
            set_in(("metadata", "papermill"), {"duration": 1.5}),
            METADATA,
        ),
        "sens-notebook-trusted": (
            "notebook-level trusted is covered (only the cell key is excluded)",
            set_in(("metadata", "trusted"), True),
            METADATA,
        ),
        # widget state: a digest of its own
        "sens-widget-value": (
            "widget state is covered by the widgets digest",
            widget_value("<img src=x onerror=alert(1)>"),
            WIDGETS,
        ),
        "sens-widgets-removed": (
            "removing the widget state changes the widgets digest",
            delete(("metadata", "widgets")),
            WIDGETS,
        ),
        # sources byte for byte
        "sens-source-crlf": (
            "sources are hashed byte for byte: CRLF differs from LF",
            set_in(("cells", 1, "source"), "%%bash\r\n# clean up\r\ncd /tmp/scratch\r\nrm -rf build\r\n"),
            cells(1),
        ),
        "sens-source-cr": (
            "a lone CR is not a line end (bash): it differs from LF",
            set_in(("cells", 1, "source"), "%%bash\n# clean up\rcd /tmp/scratch\nrm -rf build\n"),
            cells(1),
        ),
        "sens-source-trailing-newline": (
            "a trailing newline is part of the source",
            set_in(("cells", 3, "source"), "raw notes\n"),
            cells(3),
        ),
        "sens-cell-type": ("the cell type is covered", set_in(("cells", 0, "cell_type"), "raw"), cells(0)),
        "sens-cell-order": ("cell order is covered", swap_cells, cells(1, 2)),
        "sens-unknown-cell-key": (
            "every cell key but id is covered, also keys nbformat does not define",
            set_in(("cells", 3, "note"), "x"),
            cells(3),
        ),
        # streams as stored
        "sens-stream-carriage-return": (
            "stream text is hashed as written: \\r is not applied",
            set_in(("cells", 1, "outputs", 0, "text"), "total: 99\rtotal: 10\n"),
            cells(1),
        ),
        "sens-stream-backspace": (
            "stream text is hashed as written: \\b is not applied",
            set_in(("cells", 1, "outputs", 0, "text"), "total: 19\b0\n"),
            cells(1),
        ),
        "sens-stream-split": (
            "consecutive streams are not merged: outputs are hashed as stored",
            split_stream,
            cells(1),
        ),
        "sens-stream-name": (
            "the stream name is covered",
            set_in(("cells", 1, "outputs", 0, "name"), "stderr"),
            cells(1),
        ),
        # mime values as stored
        "sens-base64-wrapped": (
            "base64 is hashed as text: wrapping it changes the digest",
            set_in(
                ("cells", 2, "outputs", 0, "data", "image/png"),
                "\n".join(RED[i : i + 20] for i in range(0, len(RED), 20)),
            ),
            cells(2),
        ),
        "sens-base64-trailing-newline": (
            "base64 is hashed as text: a trailing newline changes the digest",
            set_in(("cells", 2, "outputs", 0, "data", "image/png"), RED + "\n"),
            cells(2),
        ),
        "sens-attachment-base64-wrapped": (
            "attachments are hashed as stored",
            set_in(("cells", 0, "attachments", "dot.png", "image/png"), RED[:30] + "\n" + RED[30:]),
            cells(0),
        ),
        "sens-vnd-jupyter-stdout-whitespace": (
            "application/vnd.jupyter.stdout is hashed as text, whitespace included",
            set_in(("cells", 2, "outputs", 1, "data", "application/vnd.jupyter.stdout"), "aG k="),
            cells(2),
        ),
        "sens-image": (
            "an image is covered",
            set_in(("cells", 2, "outputs", 0, "data", "image/png"), BLUE),
            cells(2),
        ),
        "sens-output-metadata": (
            "output metadata is covered",
            set_in(("cells", 2, "outputs", 0, "metadata"), {"image/png": {"width": 2000}}),
            cells(2),
        ),
        "sens-output-transient": (
            "every output key is covered (transient too)",
            set_in(("cells", 2, "outputs", 1, "transient"), {"display_id": "d1"}),
            cells(2),
        ),
        "sens-json-mime-list-not-joined": (
            "JSON mime values are JSON: a list of strings is not joined",
            set_in(("cells", 1, "outputs", 1, "data", "application/json"), ["total", ": 10"]),
            cells(1),
        ),
        "sens-execution-count": (
            "execution_count is covered",
            set_in(("cells", 2, "execution_count"), 3),
            cells(2),
        ),
        "sens-result-execution-count": (
            "an execute_result's execution_count is covered",
            set_in(("cells", 1, "outputs", 1, "execution_count"), 7),
            cells(1),
        ),
        # numbers exactly as Python reads them
        "sens-int-becomes-float": ("1 and 1.0 differ", json_value("n", 3.0), cells(1)),
        "sens-big-int-rounded": (
            "integers are exact: 1234567890123456789 differs from 1234567890123456800",
            json_value("account", 1234567890123456800),
            cells(1),
        ),
        "sens-2p53-plus-1": ("2^53 + 1 differs from 2^53", json_value("big", 9007199254740992), cells(1)),
        "sens-negative-zero": ("-0.0 differs from 0.0", json_value("zero", -0.0), cells(1)),
        "sens-zero-float-becomes-int": ("0.0 differs from 0", json_value("zero", 0), cells(1)),
        "sens-1e21-int": (
            "the float 1e21 differs from the integer 10**21",
            json_value("e21", 10**21),
            cells(1),
        ),
        "sens-float-last-bit": (
            "floats are exact: the next double differs",
            json_value("ratio", 1.5000000000000002),
            cells(1),
        ),
        "sens-bool-vs-int": ("true differs from 1", json_value("n", True), cells(1)),
        "sens-null-vs-missing-attachments": (
            "attachments: null is covered as null (not as missing)",
            set_in(("cells", 3, "attachments"), None),
            cells(3),
        ),
        "sens-metadata-empty-tags": (
            "cell metadata is covered as stored: tags [] differs from no tags",
            set_in(("cells", 2, "metadata", "tags"), []),
            cells(2),
        ),
    }
    # every excluded key has its invariance vector
    assert set(SENSIBLE_EXCLUDED_VALUES) == EXCLUDED_CELL_METADATA
    assert all(keys <= set(NESTED_VALUES) for keys in EXCLUDED_NESTED_METADATA.values())
    for key, value in SENSIBLE_EXCLUDED_VALUES.items():
        out[f"inv-cell-{key}"] = (f"cell metadata {key} is excluded", add_cell_metadata(1, key, value), SAME)
    for namespace, keys in EXCLUDED_NESTED_METADATA.items():
        for key in sorted(keys):
            out[f"inv-cell-{namespace}-{key}"] = (
                f"cell metadata {namespace}.{key} is excluded",
                merge_cell_metadata(1, namespace, {key: NESTED_VALUES[key]}),
                SAME,
            )
    for namespace in EXCLUDED_NESTED_METADATA:
        out[f"inv-cell-{namespace}-empty"] = (
            f"an empty {namespace} object equals none (JupyterLab deletes jupyter once a cell is unfolded)",
            add_cell_metadata(1, namespace, {}),
            SAME,
        )
    out["inv-cell-jupyter-all-excluded"] = (
        "a jupyter object holding only excluded keys is dropped whole",
        add_cell_metadata(2, "jupyter", {"source_hidden": True, "outputs_hidden": False}),
        SAME,
    )
    sensitive_neighbours: dict[str, tuple[str, Any]] = {
        "run-control-frozen": ("run_control", {"frozen": True}),
        "tags": ("tags", ["analysis", "slow"]),
        "slideshow": ("slideshow", {"slide_type": "skip"}),
        "name": ("name", "setup"),
        "jupyter-other-key": ("jupyter", {"other_key": 1}),
        "papermill-exception": ("papermill", {"exception": True}),
        "papermill-parameters": ("papermill", {"parameters": True}),
        "vscode": ("vscode", {"languageId": "shellscript"}),
        "nbgrader": ("nbgrader", {"grade": True, "points": 2}),
    }
    for name, (key, value) in sensitive_neighbours.items():
        out[f"sens-cell-{name}"] = (
            f"cell metadata {key} is covered",
            add_cell_metadata(1, key, value),
            cells(1),
        )
    out["sens-cell-jupyter-partly-excluded"] = (
        "excluded keys inside jupyter are dropped, the others kept",
        add_cell_metadata(1, "jupyter", {"source_hidden": True, "other_key": 1}),
        cells(1),
    )
    out["sens-cell-papermill-partly-excluded"] = (
        "excluded keys inside papermill are dropped, the others kept",
        add_cell_metadata(1, "papermill", {"duration": 2.5, "status": "failed", "exception": True}),
        cells(1),
    )
    return out


# ------------------------------------------------------------------------------------- raw-text variants

BASE_TEXT = dumps(base()).decode("utf-8")


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, (old, text.count(old))
    return text.replace(old, new)


def key_order_reversed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: key_order_reversed(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [key_order_reversed(v) for v in value]
    return value


def raw_variants() -> dict[str, tuple[str, str, Relation]]:
    """name -> (rule, file text, relation to base): spellings json.dumps would never write."""
    nb = base()
    return {
        "inv-json-style": (
            "JSON whitespace, key order and \\u escapes are not hashed",
            json.dumps(key_order_reversed(nb), indent=4, ensure_ascii=True),
            SAME,
        ),
        "inv-json-compact": ("JSON whitespace is not hashed", json.dumps(nb, separators=(",", ":")), SAME),
        "inv-json-escapes": (
            "any character may be written as a \\u escape (and / as \\/)",
            replace_once(
                replace_once(BASE_TEXT, '"title": "Weather"', '"title": "\\u0057eath\\u0065r"'),
                "cd /tmp/scratch",
                "cd \\/tmp\\/scratch",
            ),
            SAME,
        ),
        "inv-unhashed-nan": (
            "NaN, Infinity and overflowing floats are errors only where they are hashed",
            replace_once(
                replace_once(BASE_TEXT, '"mimetype": "text/x-python"', '"mimetype": NaN'),
                '"version": "3.11.7"',
                '"version": [Infinity, -Infinity, 1e999]',
            ),
            SAME,
        ),
        "inv-unhashed-lone-surrogate": (
            "a lone surrogate is an error only where it is hashed (here: a cell id)",
            replace_once(BASE_TEXT, '"id": "intro"', '"id": "\\ud800"'),
            SAME,
        ),
        "inv-float-spelling": (
            "a float's spelling is not hashed: 1.50, 15e-1 and 0.15E+1 are the same double",
            replace_once(BASE_TEXT, '"ratio": 1.5,', '"ratio": 0.150E+1,'),
            SAME,
        ),
        "inv-float-exponent-spelling": (
            "1E21 and 1000000000000000000000.0 are the same double",
            replace_once(BASE_TEXT, '"e21": 1e+21,', '"e21": 1000000000000000000000.0,'),
            SAME,
        ),
        "inv-zero-spelling": (
            "0.0, 0e0 and 0.000 are the same double",
            replace_once(BASE_TEXT, '"zero": 0.0', '"zero": 0e0'),
            SAME,
        ),
        "inv-float-underflow": (
            "1e-400 is read as 0.0",
            replace_once(BASE_TEXT, '"zero": 0.0', '"zero": 1e-400'),
            SAME,
        ),
        "inv-duplicate-key": (
            "of duplicate object keys the last one wins",
            replace_once(BASE_TEXT, '"n": 3,', '"n": 999,\n       "n": 3,'),
            SAME,
        ),
        "inv-nbformat-float": (
            "nbformat is a number equal to 4 (4.0 is accepted) and not hashed",
            replace_once(BASE_TEXT, '"nbformat": 4,', '"nbformat": 4.0,'),
            SAME,
        ),
        "sens-integer-minus-zero-vs-float": (
            "-0 is the integer 0, which differs from the float 0.0",
            replace_once(BASE_TEXT, '"zero": 0.0', '"zero": -0'),
            cells(1),
        ),
    }


# ------------------------------------------------------------------------------------- standalone vectors


def one_output_notebook(value_text: str, mime: str = "application/json") -> str:
    """A notebook whose one cell's execute_result holds ``value_text`` (raw JSON) under ``mime``."""
    return (
        '{"cells": [{"cell_type": "code", "execution_count": 1, "id": "v", "metadata": {},\n'
        f' "outputs": [{{"data": {{"{mime}": {value_text}}}, "execution_count": 1, "metadata": {{}},\n'
        ' "output_type": "execute_result"}], "source": "value"}],\n'
        ' "metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n'
    )


NUMBER_LITERALS = [
    # integers: exact, whatever their size
    "0",
    "-0",
    "1",
    "-1",
    "9007199254740991",
    "9007199254740992",
    "9007199254740993",
    "-9007199254740993",
    "18446744073709551616",
    "1234567890123456789",
    "1000000000000000000000",
    "-123456789012345678901234567890",
    # floats: Python's repr
    "0.0",
    "-0.0",
    "1.0",
    "-1.0",
    "1.5",
    "0.1",
    "0.30000000000000004",
    "100.0",
    "1e2",
    "1.0E+2",
    "123456789.123",
    "1e15",
    "1e16",
    "9999999999999998.0",
    "12345678901234567.0",
    "2e16",
    "9007199254740992.0",
    "9007199254740993.0",
    "9007199254740993.00000000000000000001",
    "0.001",
    "0.0001",
    "0.00001",
    "0.000123",
    "0.0000123",
    "1e-7",
    "2.5e-05",
    "-1.25e-10",
    "1e21",
    "1e22",
    "7e22",
    "1e100",
    "1.5e300",
    "1.7976931348623157e308",
    "2.2250738585072014e-308",
    "2.225073858507201e-308",
    "5e-324",
    "4.9406564584124654e-324",
    "1e-400",
    "-1e-400",
    "0.1e1",
    "1234567.0",
]


def numbers_notebook() -> str:
    return one_output_notebook("[" + ", ".join(NUMBER_LITERALS) + "]")


def random_numbers_notebook() -> str:
    """Doubles from random bit patterns (all magnitudes, subnormals included) and random integers."""
    rng = random.Random(20240601)
    floats: list[float] = []
    while len(floats) < 400:
        (value,) = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))
        if value == value and abs(value) != float("inf"):
            floats.append(value)
    for exponent in range(-30, 31):  # decimal magnitudes around every format switch
        floats.append(rng.uniform(1, 10) * 10.0**exponent)
    floats += [rng.random() for _ in range(50)]
    ints = [rng.randrange(-(10**30), 10**30) for _ in range(50)]
    ints += [rng.randrange(-(2**64), 2**64) for _ in range(50)]
    return one_output_notebook(json.dumps({"floats": floats, "ints": ints}))


CONTROL = "".join(chr(c) for c in range(0x20)) + "\x7f"


def strings_notebook() -> Notebook:
    """Every character class of the string escaping rule, and keys that sort differently by code
    point and by UTF-16 code unit."""
    text = CONTROL + '"\\/ é\u2028\u2029\ufeff\ue000\uffff😀𝄞'
    keys = {"": 0, "B": 1, "a": 2, "aa": 3, "é": 4, "\ue000": 5, "\uffff": 6, "😀": 7, "\x7f": 8, "\t": 9}
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"title": text, "keys": keys},
        "cells": [
            {
                "cell_type": "code",
                "id": "s",
                "metadata": {"keys": keys},
                "execution_count": None,
                "source": text,
                "outputs": [
                    {"output_type": "stream", "name": "stdout", "text": text},
                    {"output_type": "display_data", "metadata": {}, "data": {"text/plain": text}},
                ],
            }
        ],
    }


def strings_escaped_text() -> str:
    """strings_notebook() written with every non-ASCII character escaped (surrogate pairs for
    characters outside the BMP)."""
    return json.dumps(strings_notebook(), indent=2, ensure_ascii=True)


def mime_rules() -> Notebook:
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            {
                "cell_type": "code",
                "id": "mimes",
                "metadata": {},
                "execution_count": 4,
                "source": ["x = 1\n", "x"],
                "outputs": [
                    {
                        "output_type": "display_data",
                        "metadata": {"isolated": True},
                        "transient": {"display_id": "abc"},
                        "data": {
                            "text/html": ["<b>\n", "x</b>"],
                            "image/svg+xml": ["<svg>\n", "</svg>"],
                            "application/x-custom": ["any non-JSON mime ", "is joined"],
                            "application/JSON": "case-sensitive: not a JSON mime",
                            "text/json": "not a JSON mime",
                            "application/json": ["a", "list", "is", "kept"],
                            "application/vnd.custom+json": {"nested": ["not", "joined"], "n": 1.0},
                            "image/png": "iVBORw0KGgo=\n",
                        },
                    },
                    {
                        "output_type": "error",
                        "ename": "ValueError",
                        "evalue": "bad",
                        "traceback": ["line 1\n", "line 2"],
                    },
                    {"output_type": "stream", "name": "stderr", "text": ["a\r", "b\b", "\n"], "extra": 1},
                ],
            },
            {
                "cell_type": "markdown",
                "id": "md",
                "metadata": {},
                "source": "![a](attachment:a.gif)",
                "attachments": {"a.gif": {"image/gif": ["R0lGOD", "lhAQABAAAAACw="], "text/plain": "gif"}},
            },
        ],
    }


def defaults_notebook(explicit: bool) -> Notebook:
    """Missing source, cell metadata, stream text and notebook metadata count as "", {}, "" and {}."""
    empty: dict[str, Any] = {"metadata": {}, "source": ""} if explicit else {}
    nb: Notebook = {
        "nbformat": 4,
        "nbformat_minor": 4,
        "cells": [
            {"cell_type": "markdown", **empty},
            {
                "cell_type": "code",
                **empty,
                "outputs": [
                    {"output_type": "stream", "name": "stdout", **({"text": ""} if explicit else {})}
                ],
            },
            {"cell_type": "raw", "metadata": {"jupyter": {"source_hidden": True}}, "source": "r"},
        ],
    }
    if explicit:
        nb["metadata"] = {}
        nb["cells"][2]["metadata"] = {}
    return nb


def minimal() -> Notebook:
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "cells": [
            {"cell_type": "markdown", "id": "a", "metadata": {}, "source": ["# Hi\n", "there"]},
            {
                "cell_type": "code",
                "id": "b",
                "metadata": {"collapsed": True},
                "execution_count": 1,
                "source": "print(1.0)",
                "outputs": [{"output_type": "stream", "name": "stdout", "text": ["1.0\n"]}],
            },
        ],
    }


# ------------------------------------------------------------------------------------- error vectors


def errors() -> dict[str, tuple[str, bytes]]:
    """name -> (rule, file bytes): notebooks every implementation MUST reject."""
    text = BASE_TEXT
    nb_with = one_output_notebook
    return {
        "error-nan": ("NaN is not JSON", nb_with('{"x": NaN}').encode()),
        "error-infinity": ("Infinity is not JSON", nb_with("[Infinity]").encode()),
        "error-negative-infinity": ("-Infinity is not JSON", nb_with("[-Infinity]").encode()),
        "error-float-overflow": ("a float beyond the double range", nb_with("[1e400]").encode()),
        "error-integer-4301-digits": (
            "an integer of more than 4300 digits (Python cannot read it)",
            nb_with("[" + "9" * 4301 + "]").encode(),
        ),
        "error-negative-integer-4301-digits": (
            "an integer of more than 4300 digits, sign not counted",
            nb_with("[-" + "1" * 4301 + "]").encode(),
        ),
        "error-lone-surrogate": (
            "a string holding a lone surrogate",
            replace_once(text, '"Weather"', '"Wea\\ud800ther"').encode(),
        ),
        "error-lone-low-surrogate-key": (
            "an object key holding a lone surrogate",
            replace_once(text, '"title"', '"ti\\udc00tle"').encode(),
        ),
        "error-reversed-surrogate-pair": (
            "a low surrogate before a high one is two lone surrogates",
            replace_once(text, '"Weather"', '"\\udc00\\ud83d"').encode(),
        ),
        "error-invalid-utf8": (
            "bytes that are not UTF-8",
            replace_once(text, '"Weather"', '"W\xe9ather"').encode("latin-1"),
        ),
        "error-utf8-encoded-surrogate": (
            "UTF-8 bytes encoding a surrogate (CESU-8) are not UTF-8",
            text.encode().replace(b'"Weather"', b'"W\xed\xa0\x80ather"'),
        ),
        "error-utf8-bom": ("a byte order mark is not JSON", b"\xef\xbb\xbf" + text.encode()),
        "error-utf16": ("notebooks are UTF-8, not UTF-16", text.encode("utf-16")),
        "error-raw-control-character": (
            "a raw control character inside a string",
            replace_once(text, '"Weather"', '"Wea\tther"').encode(),
        ),
        "error-trailing-data": ("data after the JSON value", (text + "{}").encode()),
        "error-truncated": ("truncated JSON", text[:200].encode()),
        "error-top-level-array": ("the notebook is an object", b"[]"),
        "error-nbformat-3": (
            "nbformat 3 and older are not profile v2 input",
            b'{"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": []}',
        ),
    }


def structural_errors() -> dict[str, tuple[str, Mutation]]:
    """name -> (rule, mutation of base()): well-formed JSON that is not a profile v2 notebook."""
    return {
        "error-cell-type": (
            "cell_type must be code, markdown or raw",
            set_in(("cells", 3, "cell_type"), "heading"),
        ),
        "error-cell-not-object": ("a cell must be an object", set_in(("cells", 3), ["raw"])),
        "error-cell-metadata-not-object": (
            "cell metadata must be an object",
            set_in(("cells", 3, "metadata"), []),
        ),
        "error-cell-metadata-null": (
            "cell metadata must be an object",
            set_in(("cells", 3, "metadata"), None),
        ),
        "error-source-not-text": (
            "a source must be a string or a list of strings",
            set_in(("cells", 3, "source"), ["raw", 1]),
        ),
        "error-source-null": ("a null source is not a missing one", set_in(("cells", 3, "source"), None)),
        "error-outputs-not-list": ("outputs must be a list", set_in(("cells", 2, "outputs"), None)),
        "error-output-not-object": ("an output must be an object", set_in(("cells", 2, "outputs", 1), "x")),
        "error-output-type": (
            "output_type must be one of the four stored types",
            set_in(("cells", 1, "outputs", 1, "output_type"), "update_display_data"),
        ),
        "error-stream-text-null": (
            "stream text must be a string or a list of strings",
            set_in(("cells", 1, "outputs", 0, "text"), None),
        ),
        "error-mime-value-not-text": (
            "a non-JSON mime value must be a string or a list of strings",
            set_in(("cells", 2, "outputs", 0, "data", "text/plain"), 5),
        ),
        "error-data-not-object": (
            "output data must be an object",
            set_in(("cells", 2, "outputs", 0, "data"), []),
        ),
        "error-attachments-not-object": (
            "attachments must be an object",
            set_in(("cells", 3, "attachments"), []),
        ),
        "error-attachment-not-object": (
            "an attachment must be a mime bundle",
            set_in(("cells", 0, "attachments", "dot.png"), "x"),
        ),
        "error-nbformat-true": ("nbformat must be 4", set_in(("nbformat",), True)),
        "error-nbformat-5": ("nbformat must be 4", set_in(("nbformat",), 5)),
        "error-nbformat-missing": ("nbformat must be 4", delete(("nbformat",))),
        "error-cells-missing": ("a notebook has cells", delete(("cells",))),
        "error-cells-not-list": ("cells must be a list", set_in(("cells",), {})),
        "error-notebook-metadata-not-object": (
            "notebook metadata must be an object",
            set_in(("metadata",), []),
        ),
    }


# ------------------------------------------------------------------------------------- recording


def record(name: str, data: bytes) -> dict[str, Any]:
    """Digests and canonical bytes of a vector, or the reference implementation's error."""
    try:
        nb = parse_notebook(data, name)
        result = notebook_digest(nb, PROFILE_V2)
    except NotebookError as exc:
        return {"error": str(exc).removeprefix(f"{name}: ").removeprefix(f"{name} ").split(" (")[0]}
    metadata = nb.get("metadata", {})
    return {
        "digest": result.digest,
        "metadata_digest": result.metadata_digest,
        "widgets_digest": result.widgets_digest,
        "cells": [c.digest for c in result.cells],
        "canonical_metadata": encode(canonical_metadata(metadata), "metadata").decode("utf-8"),
        "canonical_widgets": encode(metadata.get("widgets"), "widgets").decode("utf-8"),
        "canonical_cells": [
            encode(canonical_cell(cell, i), f"cell {i}").decode("utf-8") for i, cell in enumerate(nb["cells"])
        ],
    }


def check_relation(name: str, entry: dict[str, Any], base: dict[str, Any], relation: Relation) -> None:
    """Stop when a vector does not relate to its base as stated (the rule would be wrong)."""
    changed = [i for i, (a, b) in enumerate(zip(entry["cells"], base["cells"], strict=True)) if a != b]
    actual = Relation(
        "invariant" if entry["digest"] == base["digest"] else "sensitive",
        tuple(changed),
        entry["metadata_digest"] != base["metadata_digest"],
        entry["widgets_digest"] != base["widgets_digest"],
        relation.base,
    )
    if actual != relation:
        raise SystemExit(f"{name}: stated {relation}, but it is {actual}")


def build() -> dict[str, Vector]:
    vectors: dict[str, Vector] = {
        "base": Vector("the notebook most vectors vary", dumps(base())),
        "minimal": Vector("the worked example of the spec", dumps(minimal())),
        "numbers": Vector("integers exact, floats as Python's repr", numbers_notebook().encode()),
        "numbers-random": Vector(
            "floats from random bit patterns and large random integers", random_numbers_notebook().encode()
        ),
        "number-integer-4300-digits": Vector(
            "an integer of 4300 digits is read exactly", one_output_notebook("9" * 4300).encode()
        ),
        "nesting-500": Vector(
            "values nested 500 levels deep (the notebook object counted) are accepted",
            one_output_notebook("[" * 494 + "]" * 494).encode(),
        ),
        "strings": Vector(
            "string escaping and key order by code point",
            json.dumps(strings_notebook(), ensure_ascii=False).encode(),
        ),
        "inv-strings-escaped": Vector(
            "\\u escapes (surrogate pairs too) are read as the characters they stand for",
            strings_escaped_text().encode(),
            Relation("invariant", base="strings"),
        ),
        "mime-rules": Vector("which mime values are joined, and what is kept", dumps(mime_rules())),
        "defaults": Vector("missing source, metadata and stream text", dumps(defaults_notebook(False))),
        "inv-defaults-explicit": Vector(
            'missing source/metadata/text equal "", {} and ""',
            dumps(defaults_notebook(True)),
            Relation("invariant", base="defaults"),
        ),
    }
    for name, (rule, mutate, relation) in variants().items():
        nb = copy.deepcopy(base())
        mutate(nb)
        vectors[name] = Vector(rule, dumps(nb), relation)
    for name, (rule, text, relation) in raw_variants().items():
        vectors[name] = Vector(rule, text.encode("utf-8"), relation)
    for name, (rule, data) in errors().items():
        vectors[name] = Vector(rule, data, error="expected")
    for name, (rule, mutate) in structural_errors().items():
        nb = copy.deepcopy(base())
        mutate(nb)
        vectors[name] = Vector(rule, dumps(nb), error="expected")
    return vectors


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    vectors = build()
    expected: dict[str, Any] = {}
    for name in sorted(vectors):
        vector = vectors[name]
        entry = {"rule": vector.rule, **record(name, vector.data)}
        if vector.error is not None and "error" not in entry:
            raise SystemExit(f"{name}: expected an error, got a digest")
        if vector.error is None and "error" in entry:
            raise SystemExit(f"{name}: unexpected error {entry['error']}")
        if vector.relation is not None:
            entry.update(vector.relation.to_json())
        expected[name] = entry
    for name, vector in vectors.items():
        if vector.relation is not None:
            check_relation(name, expected[name], expected[vector.relation.base], vector.relation)
    for old in HERE.glob("*.ipynb"):
        old.unlink()
    for name, vector in vectors.items():
        (HERE / f"{name}.ipynb").write_bytes(vector.data)
    (HERE / "expected.json").write_text(
        json.dumps(expected, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(f"wrote {len(vectors)} vectors to {HERE}")


if __name__ == "__main__":
    main()
