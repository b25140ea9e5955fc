"""Canonical notebook digests, profile ``jupyter-sigstore/canonical/v1``.

The profile is specified in ``docs/canonical-profile-v1.md``; this module is its reference
implementation. In short: every cell is reduced to the parts that carry meaning (type, source,
attachments, outputs with every mime bundle decoded, meaningful metadata), serialised with RFC 8785
(JSON Canonicalization Scheme) and hashed with SHA-256; the notebook digest hashes the profile name,
the meaningful notebook metadata and the ordered list of cell digests.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import rfc8785

from .errors import NotebookError

PROFILE = "jupyter-sigstore/canonical/v1"

#: Cell metadata keys that only record UI or execution-timing state; they never enter a digest.
VOLATILE_CELL_METADATA = frozenset(
    {
        "collapsed",
        "scrolled",
        "jupyter",
        "ExecuteTime",
        "execution",
        "trusted",
        "papermill",
        "editable",
        "deletable",
        "heading_collapsed",
        "hidden",
        "vscode",
        "pycharm",
    }
)

#: Notebook-level metadata that enters the digest: ``{key: subkeys or None for the whole value}``.
NOTEBOOK_METADATA_FIELDS: Mapping[str, tuple[str, ...] | None] = {
    "kernelspec": ("name", "language"),
    "language_info": ("name",),
    "title": None,
    "authors": None,
}

_CELL_TYPES = frozenset({"code", "markdown", "raw"})
_OUTPUT_TYPES = frozenset({"stream", "display_data", "execute_result", "error"})


@dataclass(frozen=True)
class CellDigest:
    """The digest of one cell, with what identifies it to a person."""

    index: int
    cell_type: str
    digest: str
    cell_id: str | None


@dataclass(frozen=True)
class NotebookDigest:
    """The canonical digests of a notebook: one per cell, one for notebook metadata, one overall."""

    profile: str
    digest: str
    metadata_digest: str
    cells: tuple[CellDigest, ...]


def _sha256_jcs(value: Any) -> str:
    return hashlib.sha256(rfc8785.dumps(value)).hexdigest()


def _text(value: Any, where: str) -> str:
    """nbformat multiline strings are a string or a list of strings."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return "".join(value)
    raise NotebookError(f"{where} must be a string or a list of strings")


def _is_json_mime(mime: str) -> bool:
    base = mime.split(";", 1)[0].strip().lower()
    return base == "application/json" or base.endswith("+json")


def _is_text_mime(mime: str) -> bool:
    base = mime.split(";", 1)[0].strip().lower()
    return (
        base.startswith("text/")
        or base in {"image/svg+xml", "application/javascript", "application/xml"}
        or base.endswith("+xml")
    )


def _mime_value(mime: str, value: Any, where: str) -> list[Any]:
    """Canonicalise one mime-bundle entry as ``[kind, value]``.

    JSON mime types keep their JSON value, text types their joined text, and every other type is
    base64-decoded and represented by the SHA-256 of its bytes (so images are compared decoded).
    """
    if _is_json_mime(mime):
        return ["json", _jcs_safe(value, where)]
    text = _text(value, where)
    if _is_text_mime(mime):
        return ["text", text]
    try:
        raw = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NotebookError(f"{where} ({mime}) is not valid base64") from exc
    return ["binary", hashlib.sha256(raw).hexdigest()]


def _jcs_safe(value: Any, where: str) -> Any:
    """Reject values RFC 8785 cannot represent (NaN, infinities, integers beyond 2**53)."""
    try:
        rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise NotebookError(f"{where} holds a value that cannot be canonicalised: {exc}") from exc
    return value


def _mime_bundle(bundle: Any, where: str) -> dict[str, list[Any]]:
    if not isinstance(bundle, dict):
        raise NotebookError(f"{where} must be an object of mime types")
    return {mime: _mime_value(mime, value, f"{where}[{mime!r}]") for mime, value in bundle.items()}


def _merge_streams(outputs: list[Any], where: str) -> list[dict[str, Any]]:
    """Merge consecutive stream outputs of one name, as front ends do when they load and re-save."""
    merged: list[dict[str, Any]] = []
    for n, output in enumerate(outputs):
        if not isinstance(output, dict):
            raise NotebookError(f"{where}.outputs[{n}] must be an object")
        if output.get("output_type") == "stream":
            text = _text(output.get("text", ""), f"{where}.outputs[{n}].text")
            name = output.get("name")
            last = merged[-1] if merged else None
            if last is not None and last["output_type"] == "stream" and last["name"] == name:
                last["text"] += text
                continue
            merged.append({"output_type": "stream", "name": name, "text": text})
        else:
            merged.append(output)
    return merged


def _output(output: dict[str, Any], where: str) -> dict[str, Any]:
    output_type = output.get("output_type")
    if output_type not in _OUTPUT_TYPES:
        raise NotebookError(f"{where}.output_type {output_type!r} is not an nbformat 4 output type")
    if output_type == "stream":
        return output  # already reduced by _merge_streams
    if output_type == "error":
        return {
            "output_type": "error",
            "ename": _text(output.get("ename", ""), f"{where}.ename"),
            "evalue": _text(output.get("evalue", ""), f"{where}.evalue"),
            "traceback": _text(output.get("traceback", []), f"{where}.traceback"),
        }
    result: dict[str, Any] = {
        "output_type": output_type,
        "data": _mime_bundle(output.get("data", {}), f"{where}.data"),
        "metadata": _jcs_safe(output.get("metadata", {}), f"{where}.metadata"),
    }
    if output_type == "execute_result":
        result["execution_count"] = output.get("execution_count")
    return result


def canonical_cell(cell: Any, index: int) -> dict[str, Any]:
    """Reduce one nbformat 4 cell to the JSON value whose RFC 8785 form is hashed."""
    where = f"cell {index}"
    if not isinstance(cell, dict):
        raise NotebookError(f"{where} must be an object")
    cell_type = cell.get("cell_type")
    if cell_type not in _CELL_TYPES:
        raise NotebookError(f"{where} has cell_type {cell_type!r}; expected code, markdown or raw")
    metadata = cell.get("metadata", {})
    if not isinstance(metadata, dict):
        raise NotebookError(f"{where}.metadata must be an object")
    result: dict[str, Any] = {
        "cell_type": cell_type,
        "source": _text(cell.get("source", ""), f"{where}.source"),
        "metadata": _jcs_safe(
            {k: v for k, v in metadata.items() if k not in VOLATILE_CELL_METADATA},
            f"{where}.metadata",
        ),
    }
    attachments = cell.get("attachments")
    if attachments:
        if not isinstance(attachments, dict):
            raise NotebookError(f"{where}.attachments must be an object")
        result["attachments"] = {
            name: _mime_bundle(bundle, f"{where}.attachments[{name!r}]")
            for name, bundle in attachments.items()
        }
    if cell_type == "code":
        outputs = cell.get("outputs", [])
        if not isinstance(outputs, list):
            raise NotebookError(f"{where}.outputs must be a list")
        result["execution_count"] = cell.get("execution_count")
        result["outputs"] = [
            _output(o, f"{where}.outputs[{n}]") for n, o in enumerate(_merge_streams(outputs, where))
        ]
    return result


def canonical_metadata(metadata: Any) -> dict[str, Any]:
    """Keep only the notebook metadata that the profile covers (kernel and language, title, authors)."""
    if not isinstance(metadata, dict):
        raise NotebookError("notebook metadata must be an object")
    result: dict[str, Any] = {}
    for key, subkeys in NOTEBOOK_METADATA_FIELDS.items():
        if key not in metadata:
            continue
        value = metadata[key]
        if subkeys is not None:
            if not isinstance(value, dict):
                raise NotebookError(f"notebook metadata.{key} must be an object")
            value = {k: value[k] for k in subkeys if k in value}
        result[key] = _jcs_safe(value, f"notebook metadata.{key}")
    return result


def check_nbformat(nb: Any) -> dict[str, Any]:
    """Return ``nb`` if it is an nbformat 4 notebook object, else raise an actionable error."""
    if not isinstance(nb, dict):
        raise NotebookError("not a notebook: the top-level JSON value must be an object")
    major = nb.get("nbformat")
    if major != 4:
        if isinstance(major, int) and major < 4:
            raise NotebookError(
                f"nbformat {major} notebooks are not supported; convert it first with "
                "`jupyter nbconvert --to notebook --nbformat 4 --inplace NOTEBOOK`"
            )
        raise NotebookError(f"not an nbformat 4 notebook (nbformat is {major!r})")
    if not isinstance(nb.get("cells"), list):
        raise NotebookError("not a notebook: 'cells' must be a list")
    return nb


def notebook_digest(nb: Any) -> NotebookDigest:
    """Compute the canonical digests of a parsed nbformat 4 notebook (a plain JSON dict)."""
    check_nbformat(nb)
    cells = []
    for index, cell in enumerate(nb["cells"]):
        digest = _sha256_jcs(canonical_cell(cell, index))
        cell_id = cell.get("id") if isinstance(cell.get("id"), str) else None
        cells.append(CellDigest(index, cell["cell_type"], digest, cell_id))
    metadata = canonical_metadata(nb.get("metadata", {}))
    metadata_digest = _sha256_jcs(metadata)
    digest = _sha256_jcs(
        {"profile": PROFILE, "metadata": metadata_digest, "cells": [c.digest for c in cells]}
    )
    return NotebookDigest(PROFILE, digest, metadata_digest, tuple(cells))


def parse_notebook(data: bytes | str, name: str = "notebook") -> dict[str, Any]:
    """Parse notebook JSON bytes, with an actionable error for anything that is not nbformat 4."""
    try:
        nb = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NotebookError(f"{name} is not valid JSON ({exc}); is the file truncated?") from exc
    return check_nbformat(nb)
