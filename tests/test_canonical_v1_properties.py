"""Property-based tests of canonical profile v1 (hypothesis), in both directions.

Invariance: what a front end or nbformat does to a notebook without changing its meaning keeps every
digest. Sensitivity: any single meaningful change alters the notebook digest and the digest of exactly
the affected cell (or, for notebook metadata, of no cell).
"""

from __future__ import annotations

import base64
import copy
import json
import warnings
from typing import Any

import nbformat
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from jupyter_sigstore.canonical import PROFILE_V1
from jupyter_sigstore.canonical import notebook_digest as _notebook_digest
from jupyter_sigstore.canonical_v1 import VOLATILE_CELL_METADATA, is_json_mime, is_text_mime

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

Notebook = dict[str, Any]

# ---------------------------------------------------------------------------- generators

_ALPHABET = st.characters(
    codec="utf-8", exclude_categories=("Cs", "Cc"), include_characters="\n\t"
)  # no lone surrogates; no control characters but newline and tab (\r and \b have rules of their own)
texts = st.text(_ALPHABET, max_size=30)
keys = st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=8)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=8,
)

TEXT_MIMES = [
    "text/plain",
    "text/html",
    "text/markdown",
    "text/latex",
    "image/svg+xml",
    "application/javascript",
]
BINARY_MIMES = ["image/png", "image/jpeg", "image/gif", "application/pdf"]
JSON_MIMES = ["application/json", "application/vnd.plotly.v1+json", "application/vnd.vega.v5+json"]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@st.composite
def mime_bundles(draw: st.DrawFn, min_size: int = 0) -> dict[str, Any]:
    mimes = draw(
        st.lists(st.sampled_from(TEXT_MIMES + BINARY_MIMES + JSON_MIMES), unique=True, min_size=min_size)
    )
    bundle: dict[str, Any] = {}
    for mime in mimes:
        if mime in JSON_MIMES:
            bundle[mime] = draw(json_values)
        elif mime in BINARY_MIMES:
            bundle[mime] = b64(draw(st.binary(max_size=40)))
        else:
            bundle[mime] = draw(texts)
    return bundle


@st.composite
def outputs(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["stream", "display_data", "execute_result", "error"]))
    if kind == "stream":
        return {
            "output_type": "stream",
            "name": draw(st.sampled_from(["stdout", "stderr"])),
            "text": draw(texts),
        }
    if kind == "error":
        return {
            "output_type": "error",
            "ename": draw(texts),
            "evalue": draw(texts),
            "traceback": draw(st.lists(texts, max_size=3)),
        }
    out: dict[str, Any] = {
        "output_type": kind,
        "metadata": draw(st.dictionaries(keys, json_values, max_size=2)),
        "data": draw(mime_bundles(min_size=1)),
    }
    if kind == "execute_result":
        out["execution_count"] = draw(st.none() | st.integers(0, 1000))
    return out


meaningful_metadata = st.dictionaries(
    keys.filter(lambda k: k not in VOLATILE_CELL_METADATA),
    json_values.filter(lambda v: v not in (None, {}, [])),
    max_size=2,
)


@st.composite
def cells(draw: st.DrawFn) -> dict[str, Any]:
    cell_type = draw(st.sampled_from(["code", "markdown", "raw"]))
    cell: dict[str, Any] = {
        "cell_type": cell_type,
        "metadata": draw(meaningful_metadata),
        "source": draw(texts),
    }
    if cell_type == "code":
        cell["execution_count"] = draw(st.none() | st.integers(0, 1000))
        cell["outputs"] = draw(st.lists(outputs(), max_size=4))
    elif draw(st.booleans()):
        names = st.text(st.characters(codec="ascii", categories=("L",)), min_size=1, max_size=5).map(
            lambda s: s + ".png"
        )
        cell["attachments"] = draw(st.dictionaries(names, mime_bundles(min_size=1), min_size=1, max_size=2))
    return cell


@st.composite
def notebooks(draw: st.DrawFn) -> Notebook:
    metadata: dict[str, Any] = {}
    if draw(st.booleans()):
        metadata["kernelspec"] = {"name": draw(keys), "display_name": draw(texts), "language": draw(keys)}
    return {
        "nbformat": 4,
        "nbformat_minor": 4,
        "metadata": metadata,
        "cells": draw(st.lists(cells(), max_size=5)),
    }


def digests(nb: Notebook) -> tuple[str, str, list[str]]:
    result = _notebook_digest(nb, PROFILE_V1)
    return result.digest, result.metadata_digest, [c.digest for c in result.cells]


# ---------------------------------------------------------------------------- invariance


@st.composite
def multiline(draw: st.DrawFn, text: str) -> str | list[str]:
    """The same text as nbformat may store it: a string or a list of pieces split anywhere."""
    if not draw(st.booleans()):
        return text
    cuts = sorted(draw(st.sets(st.integers(0, len(text)), max_size=4)))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def _respell_bundle(draw: st.DrawFn, bundle: dict[str, Any]) -> None:
    for mime, value in bundle.items():
        if is_json_mime(mime):
            continue
        if not is_text_mime(mime) and draw(st.booleans()):  # base64 wrapped at any width, trailing newline
            width = draw(st.integers(1, 80))
            value = "\n".join(value[i : i + width] for i in range(0, len(value), width)) + "\n"
        bundle[mime] = draw(multiline(value))


@st.composite
def respelled(draw: st.DrawFn, nb: Notebook) -> Notebook:
    """A cosmetic variant of ``nb``: what re-saving in another front end may produce."""
    nb = copy.deepcopy(nb)
    nb["nbformat_minor"] = draw(st.integers(0, 5))
    for cell in nb["cells"]:
        if draw(st.booleans()):
            cell["id"] = draw(keys)
        if draw(st.booleans()):
            cell["source"] = cell["source"].replace("\n", "\r\n")
        cell["source"] = draw(multiline(cell["source"]))
        volatile = draw(
            st.dictionaries(st.sampled_from(sorted(VOLATILE_CELL_METADATA)), json_values, max_size=3)
        )
        cell["metadata"].update(volatile)
        if "tags" not in cell["metadata"] and draw(st.booleans()):
            cell["metadata"]["tags"] = []
        for bundle in cell.get("attachments", {}).values():
            _respell_bundle(draw, bundle)
        new_outputs: list[dict[str, Any]] = []
        for output in cell.get("outputs", []):
            if output["output_type"] == "stream":
                text = output["text"]
                if draw(st.booleans()):  # one stream output in two consecutive chunks
                    cut = draw(st.integers(0, len(text)))
                    new_outputs.append({**output, "text": draw(multiline(text[:cut]))})
                    text = text[cut:]
                elif draw(st.booleans()):  # progress text that the next text overwrites
                    merges = bool(new_outputs) and new_outputs[-1].get("name") == output["name"]
                    width = len(text.split("\n", 1)[0])
                    if width and not merges:
                        text = "x" * draw(st.integers(1, width)) + "\r" + text
                new_outputs.append({**output, "text": draw(multiline(text))})
                continue
            if "data" in output:
                _respell_bundle(draw, output["data"])
                if output["output_type"] == "display_data" and draw(st.booleans()):
                    output["transient"] = {"display_id": draw(keys)}
            new_outputs.append(output)
        if "outputs" in cell:
            cell["outputs"] = new_outputs
    metadata = nb["metadata"]
    metadata["sigstore"] = {"version": 1, "signatures": [{"bundle": draw(json_values)}]}
    metadata.update(
        draw(st.dictionaries(st.sampled_from(["widgets", "toc", "papermill", "celltoolbar"]), json_values))
    )
    if "kernelspec" in metadata:
        metadata["kernelspec"]["display_name"] = draw(texts)
        metadata["language_info"] = {"name": metadata["kernelspec"]["language"], "version": draw(texts)}
    return nb


@SETTINGS
@given(st.data(), notebooks())
def test_cosmetic_variants_keep_every_digest(data: st.DataObject, nb: Notebook) -> None:
    variant = data.draw(respelled(nb))
    text = json.dumps(
        variant,
        indent=data.draw(st.sampled_from([None, 0, 1, 2, 4, "\t"])),
        sort_keys=data.draw(st.booleans()),
        ensure_ascii=data.draw(st.booleans()),
    )
    reordered = json.loads(text, object_pairs_hook=lambda pairs: dict(reversed(pairs)))
    assert digests(reordered) == digests(nb)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(notebooks())
def test_nbformat_read_write_keeps_every_digest(nb: Notebook) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        node = nbformat.reads(json.dumps(nb), as_version=4)
        upgraded = nbformat.v4.upgrade(node, from_version=4, from_minor=nb["nbformat_minor"])
        written = json.loads(nbformat.writes(upgraded))
    assert written["nbformat_minor"] == 5
    assert digests(written) == digests(nb)


# ---------------------------------------------------------------------------- sensitivity


def _mutate_bundle(draw: st.DrawFn, bundle: dict[str, Any]) -> None:
    mime = draw(st.sampled_from(sorted(bundle)))
    how = draw(st.sampled_from(["value", "drop", "add"]))
    if how == "drop" and len(bundle) > 1:
        del bundle[mime]
    elif how == "add" and len(bundle) < len(TEXT_MIMES + BINARY_MIMES + JSON_MIMES):
        new = draw(st.sampled_from(sorted(set(TEXT_MIMES + BINARY_MIMES + JSON_MIMES) - set(bundle))))
        bundle[new] = {"added": 1} if new in JSON_MIMES else b64(b"added") if new in BINARY_MIMES else "added"
    elif mime in JSON_MIMES:
        bundle[mime] = [bundle[mime]]
    elif mime in BINARY_MIMES:
        raw = bytearray(base64.b64decode(bundle[mime]))
        if raw and draw(st.booleans()):
            raw[draw(st.integers(0, len(raw) - 1))] ^= 1 << draw(st.integers(0, 7))
        else:
            raw.append(draw(st.integers(0, 255)))
        bundle[mime] = b64(bytes(raw))
    else:
        bundle[mime] += draw(st.sampled_from(["x", " ", "\n", "é"]))


def _mutate_output(draw: st.DrawFn, cell: dict[str, Any]) -> None:
    outputs = cell["outputs"]
    n = draw(st.integers(0, len(outputs) - 1))
    output = outputs[n]
    kind = output["output_type"]
    if kind != "stream" and draw(st.booleans()):  # (an empty stream may vanish into its neighbour)
        del outputs[n]
        return
    if kind == "stream":
        output["text"] += draw(st.sampled_from(["x", "\n", " "]))
    elif kind == "error":
        field = draw(st.sampled_from(["ename", "evalue", "traceback"]))
        if field == "traceback":
            output["traceback"] = [*output["traceback"], "x"]
        else:
            output[field] += "x"
    else:
        target = draw(st.sampled_from(["data", "metadata", "execution_count"]))
        if target == "data":
            _mutate_bundle(draw, output["data"])
        elif target == "metadata":
            output["metadata"]["changed"] = output["metadata"].get("changed", 0) + 1
        elif kind == "execute_result":
            output["execution_count"] = (output["execution_count"] or 0) + 1
        else:
            output["data"]["text/x-changed"] = "x"


MUTATIONS = [
    "kernel-name",
    "kernel-language",
    "insert-cell",
    "remove-cell",
    "swap",
    "source",
    "cell-type",
    "execution-count",
    "output",
    "attachment",
    "metadata",
]


def _eligible(cell: dict[str, Any], what: str) -> bool:
    if what == "output":
        return bool(cell.get("outputs")) and cell["cell_type"] == "code"
    if what == "execution-count":
        return cell["cell_type"] == "code"
    return True


@st.composite
def applicable(draw: st.DrawFn, what: str) -> Notebook:
    """A random notebook with what mutation ``what`` needs (cells, a code cell with outputs)."""
    nb = draw(notebooks())
    cells_ = nb["cells"]
    needed = 2 if what == "swap" else 0 if what in ("kernel-name", "kernel-language", "insert-cell") else 1
    while len(cells_) < needed:
        cells_.append(draw(cells()))
    if what in ("output", "execution-count") and not any(_eligible(c, what) for c in cells_):
        code = {"cell_type": "code", "metadata": {}, "source": draw(texts), "execution_count": None}
        code["outputs"] = draw(st.lists(outputs(), min_size=1, max_size=3))
        cells_.insert(draw(st.integers(0, len(cells_))), code)
    return nb


@st.composite
def mutated(draw: st.DrawFn, nb: Notebook, what: str) -> tuple[Notebook, list[int], bool]:
    """``nb`` with one meaningful change of kind ``what``; the cells whose digest must change (for an
    inserted or removed cell: its index) and whether the metadata digest must change."""
    nb = copy.deepcopy(nb)
    cells_ = nb["cells"]
    if what in ("kernel-name", "kernel-language"):
        spec = nb["metadata"].setdefault("kernelspec", {})
        key = "name" if what == "kernel-name" else "language"
        spec[key] = spec.get(key, "") + "x"
        return nb, [], True
    if what == "insert-cell":
        at = draw(st.integers(0, len(cells_)))
        cells_.insert(at, draw(cells()))
        return nb, [at], False
    if what == "swap":
        i, j = sorted(draw(st.lists(st.integers(0, len(cells_) - 1), min_size=2, max_size=2, unique=True)))
        cells_[i], cells_[j] = cells_[j], cells_[i]
        return nb, [i, j], False
    if what == "remove-cell":
        at = draw(st.integers(0, len(cells_) - 1))
        del cells_[at]
        return nb, [at], False
    i = draw(st.sampled_from([k for k, c in enumerate(cells_) if _eligible(c, what)]))
    cell = cells_[i]
    if what == "source":
        cell["source"] += draw(st.sampled_from(["x", "\n", " ", "\t", "😀"]))
    elif what == "cell-type":
        new = draw(st.sampled_from(sorted({"code", "markdown", "raw"} - {cell["cell_type"]})))
        cell["cell_type"] = new
        if new == "code":
            cell.setdefault("outputs", [])
            cell.setdefault("execution_count", None)
    elif what == "execution-count":
        cell["execution_count"] = (cell["execution_count"] or 0) + 1
    elif what == "output":
        _mutate_output(draw, cell)
    elif what == "attachment" and cell.get("attachments"):
        _mutate_bundle(draw, cell["attachments"][draw(st.sampled_from(sorted(cell["attachments"])))])
    elif what == "attachment":
        cell["attachments"] = {"new.png": {"image/png": b64(b"new")}}
    else:
        cell["metadata"]["tags"] = (
            [*cell["metadata"].get("tags", []), "changed"]
            if isinstance(cell["metadata"].get("tags", []), list)
            else ["changed"]
        )
    return nb, [i], False


@pytest.mark.parametrize("what", MUTATIONS)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_meaningful_change_changes_the_digest_of_exactly_that_cell(
    what: str, data: st.DataObject
) -> None:
    nb = data.draw(applicable(what))
    changed, affected, metadata_changed = data.draw(mutated(nb, what))
    before_digest, before_meta, before = digests(nb)
    if what == "swap":
        assume(before[affected[0]] != before[affected[1]])  # swapping identical cells changes nothing
    after_digest, after_meta, after = digests(changed)
    assert after_digest != before_digest
    assert (after_meta != before_meta) == metadata_changed
    if what == "insert-cell":
        at = affected[0]
        assert after[:at] + after[at + 1 :] == before
    elif what == "remove-cell":
        at = affected[0]
        assert before[:at] + before[at + 1 :] == after
    else:
        assert [k for k, (a, b) in enumerate(zip(after, before, strict=True)) if a != b] == affected
