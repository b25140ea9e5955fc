"""The legacy canonical profile ``jupyter-sigstore/canonical/v1``, kept so that v1 signatures still
verify (with a warning: it has known collisions, see docs/security.md). New signatures use v2
(:mod:`canonical`).

The profile is specified in ``docs/canonical-profile-v1.md``; this module is its reference
implementation. In short: every cell is reduced to the parts that carry meaning (type, source,
attachments, outputs with every mime bundle decoded, meaningful metadata), serialised with RFC 8785
(JSON Canonicalization Scheme) and hashed with SHA-256; the notebook digest hashes the profile name,
the digest of the meaningful notebook metadata and the ordered list of cell digests.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import re
from collections.abc import Sequence
from typing import Any

import rfc8785

from .errors import NotebookError

PROFILE = "jupyter-sigstore/canonical/v1"

#: Cell metadata keys that only record UI, editor or execution-timing state (spec section 5.1);
#: they never enter a digest.
VOLATILE_CELL_METADATA = frozenset(
    {
        # Jupyter front ends: view state, permissions, trust, timings
        "collapsed",
        "scrolled",
        "jupyter",
        "trusted",
        "editable",
        "deletable",
        "execution",
        "jp-MarkdownHeadingCollapsed",
        "heading_collapsed",
        "hidden",
        # classic notebook extensions (ExecuteTime, codefolding, hide_input, freeze, ...)
        "ExecuteTime",
        "code_folding",
        "hide_input",
        "run_control",
        # other editors and runners
        "papermill",
        "vscode",
        "pycharm",
        "colab",
        "executionInfo",
        "outputId",
        "id",
    }
)

#: The largest magnitude below which every integer is exactly representable as an IEEE 754 double.
_SAFE_INTEGER = 2**53

_CELL_TYPES = ("code", "markdown", "raw")
_OUTPUT_TYPES = ("stream", "display_data", "execute_result", "error")

#: Mime types (besides ``text/*`` and ``*+xml``) whose values are text, not base64 (spec 4.3).
_TEXT_MIMES = frozenset(
    {
        "application/javascript",
        "application/ecmascript",
        "application/x-javascript",
        "application/xml",
        "application/sql",
        "application/x-latex",
        "application/x-tex",
    }
)

_ASCII_WHITESPACE = re.compile(r"[\t\n\x0b\x0c\r ]+")
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


def _sha256_jcs(value: Any) -> str:
    return hashlib.sha256(rfc8785.dumps(value)).hexdigest()


# --- JSON values --------------------------------------------------------------------------------


def _json_value(value: Any, where: str) -> Any:
    """Return ``value`` as RFC 8785 can serialise it: every number as the nearest IEEE 754 double
    (what ``JSON.parse`` gives), and an error for what I-JSON cannot hold (NaN, infinities, lone
    surrogates, non-JSON types)."""
    if value is None or isinstance(value, (bool, str)):
        if isinstance(value, str):
            _check_unicode(value, where)
        return value
    if isinstance(value, int):
        if -_SAFE_INTEGER < value < _SAFE_INTEGER:
            return value
        try:
            return _json_value(float(value), where)
        except OverflowError:
            raise NotebookError(f"{where} holds a number too large for JSON: {value}") from None
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotebookError(f"{where} holds {value}, which JSON cannot represent")
        return value
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotebookError(f"{where} has a non-string key {key!r}")
            _check_unicode(key, where)
            result[key] = _json_value(item, where)
        return result
    if isinstance(value, (list, tuple)):
        return [_json_value(item, where) for item in value]
    raise NotebookError(f"{where} holds a {type(value).__name__}, which is not a JSON value")


def _check_unicode(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise NotebookError(f"{where} holds a lone surrogate (invalid Unicode)") from None


def _text(value: Any, where: str) -> str:
    """An nbformat multiline string: a string or a list of strings, concatenated."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, list) and all(isinstance(part, str) for part in value):
        text = "".join(value)
    else:
        raise NotebookError(f"{where} must be a string or a list of strings")
    _check_unicode(text, where)
    return text


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise NotebookError(f"{where} must be a string")
    _check_unicode(value, where)
    return value


# --- mime bundles -------------------------------------------------------------------------------


def is_json_mime(mime: str) -> bool:
    """nbformat's rule: ``application/json`` and ``application/*+json`` hold JSON values."""
    return mime == "application/json" or (mime.startswith("application/") and mime.endswith("+json"))


def is_text_mime(mime: str) -> bool:
    """Mime types whose values are text (compared as text), not base64-encoded bytes."""
    base = mime.split(";", 1)[0].strip().lower()
    return base.startswith("text/") or base.endswith("+xml") or base in _TEXT_MIMES


def _decode_base64(text: str) -> bytes | None:
    """Strict base64 (RFC 4648 section 4) after removing ASCII whitespace; None if not base64."""
    compact = _ASCII_WHITESPACE.sub("", text)
    if not _BASE64.fullmatch(compact):
        return None
    try:
        return base64.b64decode(compact)
    except (binascii.Error, ValueError):  # pragma: no cover - the pattern admits only valid input
        return None


def _mime_value(mime: str, value: Any, where: str) -> list[Any]:
    """Canonicalise one mime-bundle entry as ``[kind, value]`` (spec section 4.3).

    ``json`` keeps the JSON value; ``text`` the concatenated text; ``binary`` the SHA-256 of the
    base64-decoded bytes (images are compared decoded, whatever their line wrapping). A value of a
    non-text, non-JSON type that is not valid base64 is kept as ``text``.
    """
    if is_json_mime(mime):
        return ["json", _json_value(value, where)]
    text = _text(value, where)
    if not is_text_mime(mime):
        raw = _decode_base64(text)
        if raw is not None:
            return ["binary", hashlib.sha256(raw).hexdigest()]
    return ["text", text]


def _mime_bundle(bundle: Any, where: str) -> dict[str, list[Any]]:
    if not isinstance(bundle, dict):
        raise NotebookError(f"{where} must be an object of mime types")
    result = {}
    for mime, value in bundle.items():
        _check_unicode(mime, where)
        result[mime] = _mime_value(mime, value, f"{where}[{mime!r}]")
    return result


# --- outputs ------------------------------------------------------------------------------------


def render_stream(text: str) -> str:
    """Apply carriage returns and backspaces the way JupyterLab 4 does when it loads a stream.

    JupyterLab stores the rendered text when it saves, so the profile hashes the rendered text
    (spec section 4.2). Works on Unicode code points.
    """
    if "\r" not in text and "\b" not in text:
        return text
    out: list[str] = []
    pos = 0
    for ch in text:
        if ch == "\n":
            out.append("\n")
            pos = len(out)
        elif ch == "\r":
            while pos > 0 and out[pos - 1] != "\n":
                pos -= 1
        elif ch == "\b":
            if pos > 0 and out[pos - 1] != "\n":
                del out[pos - 1 : pos + 1]
                pos -= 1
        else:
            if pos < len(out):
                out[pos] = ch
            else:
                out.append(ch)
            pos += 1
    return "".join(out)


def _merge_streams(outputs: list[Any], where: str) -> list[dict[str, Any]]:
    """Merge consecutive stream outputs of one name and render them, as JupyterLab does on load."""
    merged: list[dict[str, Any]] = []
    for n, output in enumerate(outputs):
        if not isinstance(output, dict):
            raise NotebookError(f"{where}.outputs[{n}] must be an object")
        if output.get("output_type") == "stream":
            name = _string(output.get("name"), f"{where}.outputs[{n}].name")
            text = _text(output.get("text", ""), f"{where}.outputs[{n}].text")
            last = merged[-1] if merged else None
            if last is not None and last["output_type"] == "stream" and last["name"] == name:
                last["text"] += text
                continue
            merged.append({"output_type": "stream", "name": name, "text": text})
        else:
            merged.append(output)
    for output in merged:
        if output.get("output_type") == "stream":
            output["text"] = render_stream(output["text"])
    return merged


def _execution_count(value: Any, where: str) -> int | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return _json_value(value, where)  # type: ignore[no-any-return]
    raise NotebookError(f"{where} must be a non-negative integer or null")


def _output(output: dict[str, Any], where: str) -> dict[str, Any]:
    output_type = output.get("output_type")
    if output_type not in _OUTPUT_TYPES:
        raise NotebookError(f"{where}.output_type {output_type!r} is not an nbformat 4 output type")
    if output_type == "stream":
        return output  # already reduced by _merge_streams
    if output_type == "error":
        traceback = output.get("traceback", [])
        if not isinstance(traceback, list) or not all(isinstance(line, str) for line in traceback):
            raise NotebookError(f"{where}.traceback must be a list of strings")
        return {
            "output_type": "error",
            "ename": _string(output.get("ename", ""), f"{where}.ename"),
            "evalue": _string(output.get("evalue", ""), f"{where}.evalue"),
            "traceback": [_string(line, f"{where}.traceback") for line in traceback],
        }
    metadata = output.get("metadata", {})
    if not isinstance(metadata, dict):
        raise NotebookError(f"{where}.metadata must be an object")
    result: dict[str, Any] = {
        "output_type": output_type,
        "data": _mime_bundle(output.get("data", {}), f"{where}.data"),
        "metadata": _json_value(metadata, f"{where}.metadata"),
    }
    if output_type == "execute_result":
        result["execution_count"] = _execution_count(
            output.get("execution_count"), f"{where}.execution_count"
        )
    return result


# --- cells and notebook -------------------------------------------------------------------------


def _cell_metadata(metadata: dict[str, Any], where: str) -> dict[str, Any]:
    kept = {
        key: value
        for key, value in metadata.items()
        if key not in VOLATILE_CELL_METADATA and value not in (None, {}, [])
    }
    return _json_value(kept, where)  # type: ignore[no-any-return]


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
    source = _text(cell.get("source", ""), f"{where}.source")
    result: dict[str, Any] = {
        "cell_type": cell_type,
        "source": source.replace("\r\n", "\n").replace("\r", "\n"),
        "metadata": _cell_metadata(metadata, f"{where}.metadata"),
    }
    attachments = cell.get("attachments")
    if attachments is not None:
        if not isinstance(attachments, dict):
            raise NotebookError(f"{where}.attachments must be an object")
        if attachments:
            result["attachments"] = {
                name: _mime_bundle(bundle, f"{where}.attachments[{name!r}]")
                for name, bundle in attachments.items()
            }
    if cell_type == "code":
        outputs = cell.get("outputs", [])
        if not isinstance(outputs, list):
            raise NotebookError(f"{where}.outputs must be a list")
        result["execution_count"] = _execution_count(cell.get("execution_count"), f"{where}.execution_count")
        result["outputs"] = [
            _output(o, f"{where}.outputs[{n}]") for n, o in enumerate(_merge_streams(outputs, where))
        ]
    return result


def canonical_metadata(metadata: Any) -> dict[str, Any]:
    """Keep only the notebook metadata that the profile covers: kernel name, language, title, authors.

    The language is ``kernelspec.language``, else ``language_info.name`` (which a kernel writes when
    it starts), so a front end filling in either one for the same language changes nothing.
    """
    if not isinstance(metadata, dict):
        raise NotebookError("notebook metadata must be an object")
    result: dict[str, Any] = {}
    kernelspec = metadata.get("kernelspec", {})
    language_info = metadata.get("language_info", {})
    for key, value in (("kernelspec", kernelspec), ("language_info", language_info)):
        if not isinstance(value, dict):
            raise NotebookError(f"notebook metadata.{key} must be an object")
    if "name" in kernelspec:
        result["kernel"] = _string(kernelspec["name"], "notebook metadata.kernelspec.name")
    if "language" in kernelspec:
        result["language"] = _string(kernelspec["language"], "notebook metadata.kernelspec.language")
    elif "name" in language_info:
        result["language"] = _string(language_info["name"], "notebook metadata.language_info.name")
    for key in ("title", "authors"):
        if key in metadata:
            result[key] = _json_value(metadata[key], f"notebook metadata.{key}")
    return result


def combine_digests(metadata_digest: str, cell_digests: Sequence[str]) -> str:
    """The notebook digest from the metadata digest and the ordered cell digests (spec section 6)."""
    return _sha256_jcs({"profile": PROFILE, "metadata": metadata_digest, "cells": list(cell_digests)})


def cell_digest(cell: Any, index: int) -> str:
    """The v1 digest of one cell."""
    return _sha256_jcs(canonical_cell(cell, index))


def metadata_digest(metadata: Any) -> str:
    """The v1 digest of the notebook metadata the profile covers."""
    return _sha256_jcs(canonical_metadata(metadata))
