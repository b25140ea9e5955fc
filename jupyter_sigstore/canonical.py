"""Canonical notebook digests, profile ``jupyter-sigstore/canonical/v2`` (and dispatch to the legacy v1).

The profile is specified in ``docs/canonical-profile-v2.md``; this module is its reference
implementation. Its rule: **hash exactly what is stored**. Every cell is hashed as it is in the file
(sources byte for byte, stream text as written, every output and mime value, numbers exactly as
Python reads them: ``1`` and ``1.0`` differ, integers are never rounded), leaving out only the cell
``id`` and a short list of view-state keys, each excluded for a reason written in the spec. Signing
first rewrites the notebook in the form JupyterLab saves it (:mod:`labform`), so a notebook signed
anywhere still verifies after JupyterLab saves it.

Values are serialised as compact JSON with keys sorted by code point (what
``json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))`` writes) and hashed
with SHA-256. The notebook digest hashes the profile name, the metadata digest, the widget-state
digest and the ordered cell digests.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import canonical_v1
from .errors import NotebookError

PROFILE_V1 = canonical_v1.PROFILE
PROFILE_V2 = "jupyter-sigstore/canonical/v2"
PROFILE = PROFILE_V2
"""The profile new signatures use."""
PROFILES = (PROFILE_V1, PROFILE_V2)

#: Cell metadata that only records view state or execution timing: never shown as content, never
#: run (spec section 5). Everything else in a cell is covered.
EXCLUDED_CELL_METADATA = frozenset(
    {
        "collapsed",  # outputs shown collapsed
        "scrolled",  # outputs shown in a scroll box
        "execution",  # JupyterLab's execution timings
        "ExecuteTime",  # the classic notebook's execution timings
        "heading_collapsed",  # a markdown heading shown folded (classic)
        "jp-MarkdownHeadingCollapsed",  # a markdown heading shown folded (JupyterLab)
        "hidden",  # shown folded under a collapsed heading (classic)
        "hide_input",  # source shown folded (classic)
        "code_folding",  # source shown folded (classic)
        "editable",  # whether the editor lets the cell be edited
        "deletable",  # whether the editor lets the cell be deleted
        "trusted",  # the front end's own trust decision, never read from the file
        "executionInfo",  # Colab's execution timings
        "outputId",  # Colab's output element ids
        "colab",  # Colab's view state (height, base URI)
    }
)
#: Keys excluded inside a covered metadata namespace.
EXCLUDED_NESTED_METADATA = {
    "jupyter": frozenset({"source_hidden", "outputs_hidden"}),
    "papermill": frozenset({"start_time", "end_time", "duration", "status"}),
}
#: Notebook metadata outside the metadata digest: our own signatures (they cannot cover themselves),
#: the kernel's self-description written when a kernel starts, and nbformat's conversion markers
#: (its upgrade on load adds them, its reader and writer drop them). ``widgets`` has a digest of its
#: own (reported as widget state, not as metadata).
EXCLUDED_NOTEBOOK_METADATA = frozenset(
    {"sigstore", "language_info", "orig_nbformat", "orig_nbformat_minor", "widgets"}
)

#: The kernelspec keys covered (the rest is rewritten from the installed kernel spec when it starts).
KERNELSPEC_COVERED = frozenset({"name", "language"})

_CELL_TYPES = ("code", "markdown", "raw")
_OUTPUT_TYPES = ("stream", "display_data", "execute_result", "error")


@dataclass(frozen=True)
class CellDigest:
    """The digest of one cell, with what identifies it to a person (``index`` is 0-based)."""

    index: int
    cell_type: str
    digest: str
    cell_id: str | None


@dataclass(frozen=True)
class NotebookDigest:
    """The canonical digests of a notebook: one per cell, one for notebook metadata, one for widget
    state (v2 only), one overall."""

    profile: str
    digest: str
    metadata_digest: str
    cells: tuple[CellDigest, ...]
    widgets_digest: str | None = None


_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def encode(value: Any, where: str) -> bytes:
    """The canonical bytes of a JSON value: compact JSON, keys sorted by code point, UTF-8, integers
    exact and floats as Python's shortest round-trip ``repr``. Refuses NaN, infinities and invalid
    Unicode with an error naming ``where``."""
    try:
        text = _ENCODER.encode(value)
    except ValueError as exc:
        raise NotebookError(f"{where} holds a value JSON cannot represent ({exc})") from None
    except TypeError as exc:
        raise NotebookError(f"{where} holds a value that is not JSON ({exc})") from None
    except RecursionError:
        raise NotebookError(f"{where} is nested too deeply") from None
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise NotebookError(f"{where} holds a lone surrogate (invalid Unicode)") from None


def _sha256(value: Any, where: str) -> str:
    return hashlib.sha256(encode(value, where)).hexdigest()


#: Texts at least this long (images, mostly) are hashed by :func:`_feed`, not through json.dumps.
_LONG_TEXT = 4096
#: The bytes JSON escapes in a string (non-ASCII text is written as is by this profile).
_ESCAPED = bytes(range(0x20)) + b'"\\'


def _cell_sha256(value: dict[str, Any], where: str) -> str:
    """``sha256(encode(value))`` of a canonical cell. A cell with long texts in its outputs (images,
    mostly) or attachments is fed to the hash piece by piece (:func:`_feed`): json.dumps escapes text
    four times slower than SHA-256 hashes it, and the digest of image notebooks runs 1.7x faster."""
    bundles = [output.get("data") for output in value.get("outputs", ())]
    attachments = value.get("attachments")  # may be null: covered as stored
    if isinstance(attachments, dict):
        bundles += attachments.values()
    if not any(isinstance(b, dict) and any(_is_long(text) for text in b.values()) for b in bundles):
        return _sha256(value, where)
    digest = hashlib.sha256()
    _feed(digest, value, where)
    return digest.hexdigest()


def _is_long(value: Any) -> bool:
    return isinstance(value, str) and len(value) >= _LONG_TEXT


def _feed(digest: Any, value: Any, where: str) -> None:
    """Feed ``encode(value)`` to ``digest``, writing a long ASCII text that JSON escapes nothing in
    but newlines straight from its bytes."""
    if _is_long(value) and value.isascii():
        data = value.encode("ascii")
        if len(data.translate(None, _ESCAPED)) == len(data) - data.count(b"\n"):
            digest.update(b'"')
            digest.update(data.replace(b"\n", b"\\n"))
            digest.update(b'"')
            return
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        digest.update(b"{")
        for n, key in enumerate(sorted(value)):
            digest.update(b"," + encode(key, where) + b":" if n else encode(key, where) + b":")
            _feed(digest, value[key], where)
        digest.update(b"}")
    elif isinstance(value, list):
        digest.update(b"[")
        for n, item in enumerate(value):
            if n:
                digest.update(b",")
            _feed(digest, item, where)
        digest.update(b"]")
    else:
        digest.update(encode(value, where))


def is_json_mime(mime: str) -> bool:
    """nbformat's rule: ``application/json`` and ``application/*+json`` hold JSON values."""
    return mime == "application/json" or (mime.startswith("application/") and mime.endswith("+json"))


def _text(value: Any, where: str) -> str:
    """An nbformat multiline string: a string, or a list of strings that every reader joins."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return "".join(value)
    raise NotebookError(f"{where} must be a string or a list of strings")


def _bundle(bundle: Any, where: str) -> dict[str, Any]:
    """A mime bundle: JSON mime types keep their value, the others are (multiline) text."""
    if not isinstance(bundle, dict):
        raise NotebookError(f"{where} must be an object of mime types")
    return {
        mime: value if is_json_mime(mime) else _text(value, f"{where}[{mime!r}]")
        for mime, value in bundle.items()
    }


def _output(output: Any, where: str) -> dict[str, Any]:
    if not isinstance(output, dict):
        raise NotebookError(f"{where} must be an object")
    kind = output.get("output_type")
    if kind not in _OUTPUT_TYPES:
        raise NotebookError(f"{where}.output_type {kind!r} is not an nbformat 4 output type")
    value = dict(output)
    if kind == "stream":
        value["text"] = _text(output.get("text", ""), f"{where}.text")
    elif "data" in output:
        value["data"] = _bundle(output["data"], f"{where}.data")
    return value


def _without(metadata: dict[str, Any], excluded: frozenset[str]) -> dict[str, Any]:
    """Cell metadata without the excluded keys; a namespace object left empty is dropped too, so
    ``"jupyter": {}`` equals no ``jupyter`` key (JupyterLab deletes it once a cell is unfolded)."""
    kept = {k: v for k, v in metadata.items() if k not in excluded}
    for namespace, keys in EXCLUDED_NESTED_METADATA.items():
        inner = kept.get(namespace)
        if isinstance(inner, dict):
            rest = {k: v for k, v in inner.items() if k not in keys}
            if rest:
                kept[namespace] = rest
            else:
                del kept[namespace]
    return kept


def canonical_cell(cell: Any, index: int) -> dict[str, Any]:
    """The JSON value whose canonical bytes are a cell's v2 digest (``index`` names it in errors)."""
    where = f"cell {index + 1}"
    if not isinstance(cell, dict):
        raise NotebookError(f"{where} must be an object")
    cell_type = cell.get("cell_type")
    if cell_type not in _CELL_TYPES:
        raise NotebookError(f"{where} has cell_type {cell_type!r}; expected code, markdown or raw")
    value = {k: v for k, v in cell.items() if k != "id"}
    value["source"] = _text(cell.get("source", ""), f"{where}.source")
    metadata = cell.get("metadata", {})
    if not isinstance(metadata, dict):
        raise NotebookError(f"{where}.metadata must be an object")
    value["metadata"] = _without(metadata, EXCLUDED_CELL_METADATA)
    attachments = cell.get("attachments")
    if attachments is not None:
        if not isinstance(attachments, dict):
            raise NotebookError(f"{where}.attachments must be an object")
        value["attachments"] = {
            name: _bundle(bundle, f"{where}.attachments[{name!r}]") for name, bundle in attachments.items()
        }
    if "outputs" in cell:
        outputs = cell["outputs"]
        if not isinstance(outputs, list):
            raise NotebookError(f"{where}.outputs must be a list")
        value["outputs"] = [_output(o, f"{where}.outputs[{n}]") for n, o in enumerate(outputs)]
    return value


def canonical_metadata(metadata: Any) -> dict[str, Any]:
    """The notebook metadata the v2 metadata digest covers: all of it but the excluded keys, and of
    ``kernelspec`` only ``name`` and ``language``: the kernel that runs is chosen by name, and a
    front end that starts it rewrites the rest (``display_name`` and any other key) from the kernel
    spec installed where the notebook is opened."""
    if not isinstance(metadata, dict):
        raise NotebookError("notebook metadata must be an object")
    value = {k: v for k, v in metadata.items() if k not in EXCLUDED_NOTEBOOK_METADATA}
    kernelspec = value.get("kernelspec")
    if isinstance(kernelspec, dict):
        value["kernelspec"] = {k: v for k, v in kernelspec.items() if k in KERNELSPEC_COVERED}
    return value


def check_nbformat(nb: Any) -> dict[str, Any]:
    """Return ``nb`` if it is an nbformat 4 notebook object, else raise an actionable error."""
    if not isinstance(nb, dict):
        raise NotebookError("not a notebook: the top-level JSON value must be an object")
    major = nb.get("nbformat")
    if major != 4 or isinstance(major, bool):
        if isinstance(major, int) and not isinstance(major, bool) and major < 4:
            raise NotebookError(
                f"nbformat {major} notebooks are not supported; convert it first with "
                "`jupyter nbconvert --to notebook --nbformat 4 --inplace NOTEBOOK`"
            )
        raise NotebookError(f"not an nbformat 4 notebook (nbformat is {major!r})")
    if not isinstance(nb.get("cells"), list):
        raise NotebookError("not a notebook: 'cells' must be a list")
    if not isinstance(nb.get("metadata", {}), dict):
        raise NotebookError("notebook metadata must be an object")
    return nb


def combine_digests(
    profile: str, metadata_digest: str, cell_digests: Sequence[str], widgets_digest: str | None = None
) -> str:
    """The notebook digest from its parts (spec section 6; v1: its own rule)."""
    if profile == PROFILE_V1:
        return canonical_v1.combine_digests(metadata_digest, cell_digests)
    if profile != PROFILE_V2:
        raise NotebookError(f"unknown canonical profile {profile!r}")
    parts = {
        "profile": profile,
        "metadata": metadata_digest,
        "widgets": widgets_digest,
        "cells": list(cell_digests),
    }
    return _sha256(parts, "digest")


def notebook_digest(nb: Any, profile: str = PROFILE) -> NotebookDigest:
    """Compute the canonical digests of a parsed nbformat 4 notebook (a plain JSON dict)."""
    check_nbformat(nb)
    metadata = nb.get("metadata", {})
    cells = []
    for index, cell in enumerate(nb["cells"]):
        if profile == PROFILE_V1:
            digest = canonical_v1.cell_digest(cell, index)
        else:
            digest = _cell_sha256(canonical_cell(cell, index), f"cell {index + 1}")
        cell_id = cell.get("id") if isinstance(cell.get("id"), str) else None
        cells.append(CellDigest(index, cell["cell_type"], digest, cell_id))
    if profile == PROFILE_V1:
        meta = canonical_v1.metadata_digest(metadata)
        widgets = None
    elif profile == PROFILE_V2:
        meta = _sha256(canonical_metadata(metadata), "notebook metadata")
        widgets = _sha256(metadata.get("widgets"), "notebook metadata.widgets")
    else:
        raise NotebookError(f"unknown canonical profile {profile!r}")
    digest = combine_digests(profile, meta, [c.digest for c in cells], widgets)
    return NotebookDigest(profile, digest, meta, tuple(cells), widgets)


def digest_of(nb: Any, path: object, profile: str = PROFILE) -> NotebookDigest:
    """:func:`notebook_digest`, with errors naming the notebook's ``path``."""
    try:
        return notebook_digest(nb, profile)
    except NotebookError as exc:
        raise NotebookError(f"{path}: {exc}") from None
    except RecursionError:
        raise NotebookError(f"{path}: nested too deeply to be a notebook") from None
