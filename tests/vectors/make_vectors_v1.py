"""Regenerate the canonical profile v1 test vectors (run deliberately, then review the diff).

    .venv/bin/python tests/vectors/make_vectors.py

Writes ``tests/vectors/canonical/*.ipynb`` (small hand-made notebooks, one rule each) and
``tests/vectors/canonical/expected.json``: for every vector its digests, the RFC 8785 canonical forms
of its metadata and cells, and how it relates to ``base.ipynb`` (``equals``: same notebook digest;
``differs``: another notebook digest, with exactly ``changed_cells`` and ``metadata_changed``).
Invalid notebooks record the error message fragment instead. The digests are the profile: if this
script changes one, the profile changed, which needs a new profile version once released.
"""

from __future__ import annotations

import base64
import copy
import json
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent / "canonical-v1"
sys.path.insert(0, str(HERE.parents[2]))

import rfc8785  # noqa: E402

from jupyter_sigstore.canonical import PROFILE_V1  # noqa: E402
from jupyter_sigstore.canonical import notebook_digest as _notebook_digest  # noqa: E402
from jupyter_sigstore.canonical_v1 import canonical_cell, canonical_metadata  # noqa: E402
from jupyter_sigstore.errors import NotebookError  # noqa: E402
from jupyter_sigstore.nbfile import parse_notebook  # noqa: E402

Notebook = dict[str, Any]


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


def base() -> Notebook:
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python", "version": "3.11.2"},
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
                "source": "import json\nprint('rows: 3')\nvalue = {'a': 1}\nvalue",
                "outputs": [
                    {"output_type": "stream", "name": "stdout", "text": "rows: 3\n"},
                    {
                        "output_type": "execute_result",
                        "execution_count": 1,
                        "metadata": {},
                        "data": {
                            "text/plain": "{'a': 1}",
                            "application/json": {"a": 1},
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
                    }
                ],
            },
            {"cell_type": "raw", "id": "notes", "metadata": {"format": "text/plain"}, "source": "raw notes"},
        ],
    }


def _split(text: str) -> list[str]:
    return text.splitlines(True)


def split_lines(nb: Notebook) -> None:
    for cell in nb["cells"]:
        cell["source"] = _split(cell["source"])
        for out in cell.get("outputs", []):
            if out["output_type"] == "stream":
                out["text"] = _split(out["text"])
            for mime, value in out.get("data", {}).items():
                if isinstance(value, str):
                    out["data"][mime] = _split(value)


def ui_metadata(nb: Notebook) -> None:
    md, code, plot = nb["cells"][0], nb["cells"][1], nb["cells"][2]
    md["metadata"].update({"trusted": True, "jp-MarkdownHeadingCollapsed": True, "tags": []})
    code["metadata"].update(
        {
            "collapsed": False,
            "scrolled": "auto",
            "jupyter": {"source_hidden": True, "outputs_hidden": False},
            "ExecuteTime": {"start_time": "2024-01-01T00:00:00.000Z", "end_time": "2024-01-01T00:00:01.000Z"},
            "execution": {
                "iopub.execute_input": "2024-01-01T00:00:00.1Z",
                "shell.execute_reply": "2024-01-01T00:00:00.2Z",
            },
            "papermill": {"duration": 0.5, "status": "completed", "exception": False},
            "editable": True,
            "deletable": False,
        }
    )
    plot["metadata"].update({"vscode": {"languageId": "python"}, "colab": {"height": 300}, "id": "xyz"})
    nb["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb["metadata"]["toc"] = {"collapse_to_match_collapsible_headings": True}
    nb["metadata"]["kernelspec"]["display_name"] = "Python 3 (ipykernel)"
    nb["metadata"]["language_info"] = {
        "name": "python",
        "version": "3.12.0",
        "codemirror_mode": {"name": "ipython"},
    }
    nb["metadata"]["papermill"] = {"duration": 3.2, "start_time": "2024-01-01"}
    nb["metadata"]["sigstore"] = {"version": 1, "signatures": [{"bundle": {"mediaType": "x"}}]}
    nb["metadata"]["orig_nbformat"] = 3


def strip_ids(nb: Notebook) -> None:
    nb["nbformat_minor"] = 4
    for cell in nb["cells"]:
        del cell["id"]


def split_stream(nb: Notebook) -> None:
    outputs = nb["cells"][1]["outputs"]
    outputs[0:1] = [
        {"output_type": "stream", "name": "stdout", "text": "rows"},
        {"output_type": "stream", "name": "stdout", "text": ": 3\n"},
    ]


def wrap_base64(nb: Notebook) -> None:
    wrapped = "\n".join(RED[i : i + 20] for i in range(0, len(RED), 20)) + "\n"
    nb["cells"][2]["outputs"][0]["data"]["image/png"] = _split(wrapped)
    nb["cells"][0]["attachments"]["dot.png"]["image/png"] = wrapped


def crlf_source(nb: Notebook) -> None:
    nb["cells"][1]["source"] = nb["cells"][1]["source"].replace("\n", "\r\n")


def language_from_info(nb: Notebook) -> None:
    del nb["metadata"]["kernelspec"]["language"]


def progress_raw(nb: Notebook) -> None:
    nb["cells"][1]["outputs"][0]["text"] = "rows: 1\rrows: 2\rrows: 3\n"


def progress_backspace(nb: Notebook) -> None:
    nb["cells"][1]["outputs"][0:1] = [
        {"output_type": "stream", "name": "stdout", "text": "rows: 9"},
        {"output_type": "stream", "name": "stdout", "text": "\b3\n"},
    ]


def set_in(path: tuple[Any, ...], value: Any) -> Callable[[Notebook], None]:
    def mutate(nb: Notebook) -> None:
        target: Any = nb
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def swap_cells(nb: Notebook) -> None:
    cells = nb["cells"]
    cells[1], cells[2] = cells[2], cells[1]


def to_raw(nb: Notebook) -> None:
    nb["cells"][0]["cell_type"] = "raw"


def interleaved_streams(nb: Notebook) -> None:
    nb["cells"][1]["outputs"][0:1] = [
        {"output_type": "stream", "name": "stdout", "text": "rows"},
        {"output_type": "stream", "name": "stderr", "text": "warn\n"},
        {"output_type": "stream", "name": "stdout", "text": ": 3\n"},
    ]


# name -> (mutation of base(), relation to base, changed cells, metadata changed)
VARIANTS: dict[str, tuple[Callable[[Notebook], None], str, list[int], bool]] = {
    "inv-split-lines": (split_lines, "equals", [], False),
    "inv-ui-metadata": (ui_metadata, "equals", [], False),
    "inv-no-cell-ids-minor-4": (strip_ids, "equals", [], False),
    "inv-stream-split": (split_stream, "equals", [], False),
    "inv-stream-carriage-return": (progress_raw, "equals", [], False),
    "inv-stream-backspace": (progress_backspace, "equals", [], False),
    "inv-base64-wrapped": (wrap_base64, "equals", [], False),
    "inv-crlf-source": (crlf_source, "equals", [], False),
    "inv-language-from-language-info": (language_from_info, "equals", [], False),
    "sens-source": (set_in(("cells", 1, "source"), "import json\nprint('rows: 4')"), "differs", [1], False),
    "sens-source-trailing-newline": (set_in(("cells", 3, "source"), "raw notes\n"), "differs", [3], False),
    "sens-cell-type": (to_raw, "differs", [0], False),
    "sens-cell-order": (swap_cells, "differs", [1, 2], False),
    "sens-stream-text": (set_in(("cells", 1, "outputs", 0, "text"), "rows: 4\n"), "differs", [1], False),
    "sens-stream-name": (set_in(("cells", 1, "outputs", 0, "name"), "stderr"), "differs", [1], False),
    "sens-stream-interleaved": (interleaved_streams, "differs", [1], False),
    "sens-text-plain": (
        set_in(("cells", 1, "outputs", 1, "data", "text/plain"), "{'a': 2}"),
        "differs",
        [1],
        False,
    ),
    "sens-json-value": (
        set_in(("cells", 1, "outputs", 1, "data", "application/json"), {"a": 2}),
        "differs",
        [1],
        False,
    ),
    "sens-image": (set_in(("cells", 2, "outputs", 0, "data", "image/png"), BLUE), "differs", [2], False),
    "sens-output-metadata": (
        set_in(("cells", 2, "outputs", 0, "metadata"), {"image/png": {"width": 20}}),
        "differs",
        [2],
        False,
    ),
    "sens-attachment": (
        set_in(("cells", 0, "attachments", "dot.png", "image/png"), BLUE),
        "differs",
        [0],
        False,
    ),
    "sens-execution-count": (set_in(("cells", 2, "execution_count"), 3), "differs", [2], False),
    "sens-result-execution-count": (
        set_in(("cells", 1, "outputs", 1, "execution_count"), 7),
        "differs",
        [1],
        False,
    ),
    "sens-tags": (set_in(("cells", 1, "metadata", "tags"), ["analysis", "slow"]), "differs", [1], False),
    "sens-raw-format": (set_in(("cells", 3, "metadata", "format"), "text/html"), "differs", [3], False),
    "sens-kernel-name": (set_in(("metadata", "kernelspec", "name"), "python2"), "differs", [], True),
    "sens-kernel-language": (set_in(("metadata", "kernelspec", "language"), "R"), "differs", [], True),
    "sens-title": (set_in(("metadata", "title"), "Weather"), "differs", [], True),
}

#: Notebooks written as raw text (JSON style matters, or they are invalid on purpose).
RAW: dict[str, tuple[str, str | None]] = {
    "inv-json-style": (json.dumps(base(), indent=4, sort_keys=True, ensure_ascii=True) + "\n", "equals"),
    "invalid-nbformat-3": ('{"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": []}', None),
    "invalid-truncated": (json.dumps(base(), indent=1)[:200], None),
}


def _mime_cases() -> Notebook:
    """One notebook showing each mime classification and number rule on its own."""
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            {
                "cell_type": "code",
                "id": "mimes",
                "metadata": {},
                "execution_count": None,
                "source": "",
                "outputs": [
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {
                            "text/html": ["<b>\n", "x</b>"],
                            "image/svg+xml": "<svg/>",
                            "application/javascript": "alert(1)",
                            "application/vnd.custom+json": ["not", "joined"],
                            "image/png": RED,
                            "application/pdf": "JVBERi0=",
                            "application/x-unknown": "not base64!",
                            "text/x-empty": "",
                            "image/gif": "",
                        },
                    },
                    {
                        "output_type": "execute_result",
                        "execution_count": None,
                        "metadata": {"n": 1.0},
                        "data": {"application/json": {"big": 9007199254740993, "f": 1e21, "z": -0.0}},
                    },
                    {
                        "output_type": "error",
                        "ename": "ValueError",
                        "evalue": "bad",
                        "traceback": ["line 1\n", "line 2"],
                    },
                ],
            }
        ],
    }


def _minimal() -> Notebook:
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": [
            {"cell_type": "markdown", "id": "a", "metadata": {}, "source": ["# Hi\n", "there"]},
            {
                "cell_type": "code",
                "id": "b",
                "metadata": {"collapsed": True},
                "execution_count": 1,
                "source": "print(1)",
                "outputs": [{"output_type": "stream", "name": "stdout", "text": ["1\n"]}],
            },
        ],
    }


def record(name: str, text: str) -> dict[str, Any]:
    try:
        nb = parse_notebook(text, name)
        result = _notebook_digest(nb, PROFILE_V1)
    except NotebookError as exc:
        return {"error": str(exc).split(";")[0].split(" (")[0]}
    return {
        "digest": result.digest,
        "metadata_digest": result.metadata_digest,
        "cells": [c.digest for c in result.cells],
        "canonical_metadata": rfc8785.dumps(canonical_metadata(nb.get("metadata", {}))).decode(),
        "canonical_cells": [rfc8785.dumps(canonical_cell(c, i)).decode() for i, c in enumerate(nb["cells"])],
    }


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    files: dict[str, tuple[str, dict[str, Any]]] = {
        "base": (json.dumps(base(), indent=1) + "\n", {}),
        "minimal": (json.dumps(_minimal(), indent=1) + "\n", {}),
        "mime-classes": (json.dumps(_mime_cases(), indent=1) + "\n", {}),
    }
    for name, (mutate, relation, changed, meta) in VARIANTS.items():
        nb = copy.deepcopy(base())
        mutate(nb)
        rel = {"relation": relation, "changed_cells": changed, "metadata_changed": meta}
        files[name] = (json.dumps(nb, indent=1, ensure_ascii=False) + "\n", rel)
    for name, (text, relation) in RAW.items():
        rel = {"relation": relation, "changed_cells": [], "metadata_changed": False} if relation else {}
        files[name] = (text, rel)

    expected: dict[str, Any] = {}
    for old in HERE.glob("*.ipynb"):
        old.unlink()
    for name, (text, rel) in sorted(files.items()):
        (HERE / f"{name}.ipynb").write_text(text, encoding="utf-8")
        expected[name] = {**rel, **record(name, text)}
    (HERE / "expected.json").write_text(
        json.dumps(expected, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(f"wrote {len(files)} vectors to {HERE}")


if __name__ == "__main__":
    main()
