"""The form in which JupyterLab 4.6 and Notebook 7 save a notebook they opened: :func:`lab_form`.

Opening a notebook and saving it in JupyterLab passes it through the Jupyter server's nbformat reader,
JavaScript (``JSON.parse``, the shared Y.js model, the cell widgets, ``JSON.stringify``) and nbformat's
writer. What that changes was established in a real JupyterLab 4.6 and Notebook 7
(``tests/browser/test_lab_roundtrip.py``). In short:

- numbers become JavaScript doubles: integers beyond 2^53 are rounded (and printed the way JavaScript
  prints them), integral floats below 1e21 become integers, -0.0 becomes 0, integers beyond the double
  range become null;
- notebook keys other than cells/metadata/nbformat/nbformat_minor, and cell keys JupyterLab does not
  know for the cell's type, are dropped; an unknown cell type becomes raw; a notebook without cells
  gets one empty code cell; a falsy execution_count becomes null;
- nbformat_minor below 4 becomes 4; cell ids are dropped below 4.5 and added (or de-duplicated) from
  4.5 on; metadata orig_nbformat, orig_nbformat_minor, signature and cell metadata trusted are
  dropped; metadata kernelspec and language_info are added when missing (a kernel that starts
  replaces both: that is not modelled here); cell metadata collapsed and jupyter.outputs_hidden are
  kept in step, and scrolled and jp-MarkdownHeadingCollapsed are written back as the view reads them;
- multi-line strings are split into lines the way nbformat writes them (cosmetic).

Opening and saving leaves outputs as stored. JupyterLab *shows* them differently: consecutive stream
outputs of one name are merged and ``\\r``/``\\b``/``\\n`` applied (over UTF-16 code units, with
JupyterLab's quirks), and ``transient`` and non-display metadata are left out. It writes that form
whenever it re-serialises a cell's outputs (trusting the notebook, running the cell). By default
:func:`lab_form` puts outputs in that shown form, which is also a fixed point of opening and saving;
``render_streams=False`` gives exactly what opening and saving writes.
"""

from __future__ import annotations

import math
import re
import sys
import uuid
from array import array
from decimal import Decimal
from typing import Any

from .errors import NotebookError

__all__ = ["js_number", "lab_form", "stream_text"]

_MAX_SAFE = 2**53
_UTF16 = "utf-16-le" if sys.byteorder == "little" else "utf-16-be"
_CONTROL = re.compile(r"([\n\r\x08])")
_MISSING = object()
_CELL_KEYS = {
    "code": ("id", "cell_type", "source", "metadata", "outputs", "execution_count"),
    "markdown": ("id", "cell_type", "source", "metadata", "attachments"),
    "raw": ("id", "cell_type", "source", "metadata", "attachments"),
}
_TRANSIENT_METADATA = ("orig_nbformat", "orig_nbformat_minor", "signature")
_HEADING_COLLAPSED = "jp-MarkdownHeadingCollapsed"
_DISPLAY_TYPES = ("display_data", "execute_result", "update_display_data")


def lab_form(nb: dict[str, Any], *, render_streams: bool = True) -> tuple[dict[str, Any], list[str]]:
    """Return ``nb`` as JupyterLab 4.6 / Notebook 7 would save it after opening it, without running
    anything, and a note for every change a reader could see (cells and outputs numbered from 1).

    The input is not modified. With ``render_streams`` (the default) outputs are in the form
    JupyterLab shows and re-serialises them (streams merged and rendered); without it, exactly as
    opening and saving writes them. Raises :class:`NotebookError` for a notebook JupyterLab cannot open
    or save (NaN, lone surrogates, ``__proto__`` keys, nbformat other than 4, ...).
    """
    return _LabForm(render_streams).notebook(nb)


class _LabForm:
    def __init__(self, render_streams: bool) -> None:
        self.render_streams = render_streams
        self.notes: list[str] = []
        self._where = "notebook"
        self._numbers: dict[str, list[str]] = {}

    # --- notebook and cells ------------------------------------------------------------------

    def notebook(self, nb: Any) -> tuple[dict[str, Any], list[str]]:
        if not isinstance(nb, dict):
            raise NotebookError("a notebook must be a JSON object")
        if nb.get("nbformat") != 4 or isinstance(nb.get("nbformat"), bool):
            raise NotebookError(f"JupyterLab form is defined for nbformat 4, not {nb.get('nbformat')!r}")
        minor = nb.get("nbformat_minor")
        if not isinstance(minor, int) or isinstance(minor, bool):
            raise NotebookError("nbformat_minor must be an integer")
        cells = nb.get("cells")
        metadata = nb.get("metadata")
        if not isinstance(cells, list) or not isinstance(metadata, dict):
            raise NotebookError("a notebook needs a list of cells and a metadata object")
        dropped = sorted(set(nb) - {"cells", "metadata", "nbformat", "nbformat_minor"})
        if dropped:
            self.notes.append(f"notebook: {_keys(dropped)} dropped (JupyterLab keeps only the nbformat keys)")
        new_minor = max(minor, 4)
        if new_minor != minor:
            self.notes.append(f"notebook: nbformat_minor {minor} stored as 4")
        out_meta = self.metadata(metadata)
        out_cells = [self.cell(cell, n) for n, cell in enumerate(cells, 1)]
        self.cell_ids(out_cells, minor)
        if not out_cells:
            self.notes.append("notebook: one empty code cell added (JupyterLab never holds zero cells)")
            out_cells = [_cell_dict("code", "", {}, {"outputs": [], "execution_count": None})]
            if minor >= 5:
                out_cells[0]["id"] = str(uuid.uuid4())
        self.notes.extend(self._number_notes())
        return {
            "cells": out_cells,
            "metadata": out_meta,
            "nbformat": 4,
            "nbformat_minor": new_minor,
        }, self.notes

    def metadata(self, metadata: dict[str, Any]) -> dict[str, Any]:
        out = self.object(metadata, "notebook metadata")
        for key in _TRANSIENT_METADATA:
            if key in out:
                del out[key]
                self.notes.append(f"notebook: metadata.{key} dropped (nbformat drops it on reading)")
        for key, placeholder in (
            ("language_info", {"name": ""}),
            ("kernelspec", {"name": "", "display_name": ""}),
        ):
            if not _js_truthy(out.get(key)):
                if key in out:
                    self.notes.append(f"notebook: metadata.{key} {out[key]!r} replaced by {placeholder}")
                else:
                    self.notes.append(f"notebook: metadata.{key} {placeholder} added")
                out[key] = placeholder
        return out

    def cell(self, cell: Any, n: int) -> dict[str, Any]:
        where = f"cell {n}"
        if not isinstance(cell, dict) or not isinstance(cell.get("metadata"), dict):
            raise NotebookError(f"{where} must be an object with a metadata object")
        kind = cell.get("cell_type")
        out_kind = kind if isinstance(kind, str) and kind in _CELL_KEYS else "raw"
        if out_kind != kind:
            self.notes.append(f"{where}: cell type {kind!r} stored as raw")
        known = _CELL_KEYS[out_kind]
        dropped = sorted(key for key in cell if key not in known)
        if dropped:
            self.notes.append(
                f"{where}: {_keys(dropped)} dropped (JupyterLab keeps only its {out_kind} cell keys)"
            )
        source = self.multiline(self.value(cell.get("source"), where), f"{where} source", missing="")
        metadata = self.cell_metadata(cell["metadata"], where)
        extra: dict[str, Any] = {}
        if out_kind == "markdown":
            self.heading_collapsed(metadata, where)
        if out_kind == "code":
            self.scrolled(metadata, where)
            count = self.value(cell.get("execution_count"), where)
            if not _js_truthy(count):
                if count is not None:
                    self.notes.append(f"{where}: execution_count {count!r} stored as null")
                count = None
            outputs = cell.get("outputs", [])
            if not isinstance(outputs, list):
                raise NotebookError(f"{where}: outputs must be a list")
            extra = {"outputs": self.outputs(outputs, where), "execution_count": count}
        elif "attachments" in cell:
            attachments = cell["attachments"]
            if not isinstance(attachments, dict):
                raise NotebookError(f"{where}: attachments must be an object (JupyterLab cannot open it)")
            extra["attachments"] = {
                name: self.bundle(bundle, f"{where} attachment {name!r}")
                for name, bundle in attachments.items()
            }
        out = _cell_dict(out_kind, source, metadata, extra)
        if "id" in cell:
            out["id"] = self.value(cell["id"], where)
        return out

    def cell_metadata(self, metadata: dict[str, Any], where: str) -> dict[str, Any]:
        out = self.object(metadata, f"{where} metadata")
        out.pop("trusted", None)  # nbformat drops it on reading and writing
        # YBaseCell.setMetadata keeps collapsed and jupyter.outputs_hidden in step
        collapsed = out.get("collapsed")
        jupyter = out.get("jupyter")
        if collapsed is not None:
            if not _js_truthy(jupyter):
                jupyter = out["jupyter"] = {}
            if isinstance(jupyter, dict):
                if not _same(jupyter.get("outputs_hidden", _MISSING), collapsed):
                    self.notes.append(
                        f"{where}: metadata.jupyter.outputs_hidden set to collapsed ({collapsed!r})"
                    )
                jupyter["outputs_hidden"] = collapsed
            elif not isinstance(jupyter, list):
                raise NotebookError(
                    f"{where}: metadata.jupyter {jupyter!r} is not an object (JupyterLab cannot open it)"
                )
        elif isinstance(jupyter, dict) and jupyter.get("outputs_hidden") is not None:
            out["collapsed"] = jupyter["outputs_hidden"]
            self.notes.append(
                f"{where}: metadata.collapsed set to jupyter.outputs_hidden ({out['collapsed']!r})"
            )
        return out

    def scrolled(self, metadata: dict[str, Any], where: str) -> None:
        """A code cell widget writes its scroll state back (CodeCell.loadScrolledState, then
        saveScrolledState): true when scrolled, absent when not; "auto" counts as not scrolled."""
        if "scrolled" not in metadata:
            return
        value = metadata["scrolled"]
        if value != "auto" and _js_truthy(value):
            if value is not True:
                metadata["scrolled"] = True
                self.notes.append(f"{where}: metadata.scrolled {value!r} stored as true")
        else:
            del metadata["scrolled"]
            self.notes.append(
                f"{where}: metadata.scrolled {value!r} dropped (JupyterLab writes it only when true)"
            )

    def heading_collapsed(self, metadata: dict[str, Any], where: str) -> None:
        """A collapsed markdown heading is collapsed again on load (setHeadingCollapse), which writes
        true. JupyterLab does it only for cells that render as headings; here for every markdown cell,
        which gives the same fixed point (JupyterLab leaves true alone)."""
        value = metadata.get(_HEADING_COLLAPSED)
        if _js_truthy(value) and value is not True:
            metadata[_HEADING_COLLAPSED] = True
            self.notes.append(f"{where}: metadata.{_HEADING_COLLAPSED} {value!r} stored as true")

    def cell_ids(self, out_cells: list[dict[str, Any]], minor: int) -> None:
        if minor < 5:
            had = [n for n, cell in enumerate(out_cells, 1) if cell.pop("id", _MISSING) is not _MISSING]
            if had:
                self.notes.append(
                    f"cells {_numbers(had)}: id dropped (JupyterLab writes no ids below nbformat 4.5)"
                )
            return
        # the server's nbformat.validate adds missing ids and replaces repeated ones (8 hex digits);
        # JupyterLab gives a null id a UUID
        seen: set[Any] = set()
        for n, cell in enumerate(out_cells, 1):
            if "id" not in cell:
                cell["id"] = uuid.uuid4().hex[:8]
                self.notes.append(f"cell {n}: id {cell['id']} added")
            try:
                repeated = cell["id"] in seen
            except TypeError:
                raise NotebookError(f"cell {n}: id {cell['id']!r} is not a string") from None
            if repeated:
                old, cell["id"] = cell["id"], uuid.uuid4().hex[:8]
                self.notes.append(f"cell {n}: repeated id {old!r} replaced by {cell['id']}")
            seen.add(cell["id"])
            if cell["id"] is None:
                cell["id"] = str(uuid.uuid4())
                self.notes.append(f"cell {n}: null id replaced by {cell['id']}")

    # --- outputs ------------------------------------------------------------------------------

    def outputs(self, outputs: list[Any], where: str) -> list[dict[str, Any]]:
        stored = [self.output(output, f"{where} output {k}") for k, output in enumerate(outputs, 1)]
        if not self.render_streams:
            for output in stored:
                _split_output(output)
            return stored
        shown = self.shown_outputs(stored, where)
        for output in shown:
            _split_output(output)
        return shown

    def output(self, output: Any, where: str) -> dict[str, Any]:
        """One output as the server's reader gives it to JupyterLab (multi-line strings joined)."""
        if not isinstance(output, dict) or not isinstance(output.get("output_type"), str):
            raise NotebookError(f"{where} must be an object with an output_type")
        out = self.object(output, where)
        kind = out["output_type"]
        if kind in ("execute_result", "display_data") and "data" in out:
            if not isinstance(out["data"], dict):
                raise NotebookError(f"{where}: data must be an object")
            _join_bundle(out["data"])
        elif kind == "stream":
            if out.get("name") == "":
                raise NotebookError(
                    f"{where}: a stream output needs a name (JupyterLab fails on an empty one)"
                )
            out["text"] = self.multiline(out.get("text"), f"{where} text", missing=None)
        elif "text" in out and isinstance(out["text"], list):
            out["text"] = self.multiline(out["text"], f"{where} text", missing=None)
        return out

    def shown_outputs(self, outputs: list[dict[str, Any]], where: str) -> list[dict[str, Any]]:
        """OutputAreaModel.fromJSON then toJSON: streams merged and rendered, OutputModel.toJSON."""
        shown: list[dict[str, Any]] = []
        k = 0
        while k < len(outputs):
            output = outputs[k]
            first = k
            k += 1
            if output["output_type"] == "stream":
                name = output.get("name", _MISSING)
                texts = [output["text"]]
                while (
                    k < len(outputs)
                    and outputs[k]["output_type"] == "stream"
                    and outputs[k].get("name", _MISSING) == name
                ):
                    texts.append(outputs[k]["text"])
                    k += 1
                label = (
                    f"{where} output {first + 1}" if k - first == 1 else f"{where} outputs {first + 1}-{k}"
                )
                try:
                    text = stream_text(texts)
                except UnicodeError:
                    raise NotebookError(
                        f"{label}: JupyterLab's handling of \\r and \\b splits a UTF-16 surrogate pair"
                        " here, leaving text that is not valid Unicode"
                    ) from None
                if k - first > 1:
                    self.notes.append(
                        f"{label}: {k - first} {_stream_name(name)} stream outputs merged into one,"
                        " as JupyterLab shows them"
                    )
                if text != "".join(texts):
                    self.notes.append(f"{label}: stream text as JupyterLab shows it (\\r and \\b applied)")
                output = {**output, "text": text}
            shown.append(self.output_model(output, f"{where} output {first + 1}"))
        return shown

    def output_model(self, output: dict[str, Any], where: str) -> dict[str, Any]:
        """rendermime's OutputModel.toJSON: transient always left out, data and metadata only kept
        (or added empty) for display outputs, and no metadata for update_display_data."""
        kind = output["output_type"]
        out = {key: value for key, value in output.items() if key not in ("data", "metadata", "transient")}
        if kind in _DISPLAY_TYPES:
            metadata = output.get("metadata", {}) if kind != "update_display_data" else {}
            if not isinstance(metadata, dict):
                raise NotebookError(f"{where}: metadata must be an object")
            out["data"] = output.get("data", {})
            out["metadata"] = metadata
        left_out = [key for key in output if key not in out]
        if kind == "update_display_data" and output.get("metadata"):
            left_out.append("metadata")
        added = [key for key in out if key not in output]
        if left_out or added:
            change = " and ".join(
                part
                for part in (
                    f"{_keys(left_out)} left out" if left_out else "",
                    f"empty {_keys(added)} added" if added else "",
                )
                if part
            )
            self.notes.append(f"{where}: {change}, as JupyterLab holds {kind} outputs")
        return out

    # --- values ------------------------------------------------------------------------------

    def multiline(self, value: Any, where: str, missing: str | None) -> str:
        """An nbformat multi-line string (already checked by ``value``), joined as nbformat reads it."""
        if value is None and missing is not None:
            return missing
        if isinstance(value, str):
            return value
        if isinstance(value, list) and all(isinstance(part, str) for part in value):
            return "".join(value)
        raise NotebookError(f"{where} must be a string or a list of strings")

    def bundle(self, bundle: Any, where: str) -> dict[str, Any]:
        if not isinstance(bundle, dict):
            raise NotebookError(f"{where} must be an object")
        out = self.object(bundle, where)
        _join_bundle(out)
        _split_bundle(out)
        return out

    def object(self, value: dict[str, Any], where: str) -> dict[str, Any]:
        copy: dict[str, Any] = self.value(value, where)
        return copy

    def value(self, value: Any, where: str) -> Any:
        """A deep copy of a JSON value as it comes back from JavaScript (numbers as doubles)."""
        self._where = where
        try:
            return self._copy(value)
        except RecursionError:
            raise NotebookError(f"{where} is nested too deeply") from None

    def _copy(self, value: Any) -> Any:
        kind = type(value)
        if kind is str:
            if not value.isascii():
                _check_unicode(value, self._where)
            return value
        if kind is dict:
            if "__proto__" in value:
                raise NotebookError(
                    f'{self._where} has a key "__proto__", which JavaScript drops or merges'
                    " (JupyterLab changes it)"
                )
            return {_check_key(key, self._where): self._copy(item) for key, item in value.items()}
        if kind is list:
            return [self._copy(item) for item in value]
        if kind is int:
            if -_MAX_SAFE <= value <= _MAX_SAFE:
                return value
            return self._number(value)
        if kind is float:
            if value.is_integer() or not math.isfinite(value):
                return self._number(value)
            return value
        if value is None or kind is bool:
            return value
        raise NotebookError(f"{self._where} holds a {kind.__name__}, which is not a JSON value")

    def _number(self, value: int | float) -> int | float | None:
        new = js_number(value, self._where)
        if not _same(new, value):
            self._numbers.setdefault(self._where, []).append(f"{_show(value)} stored as {_show(new)}")
        return new

    def _number_notes(self) -> list[str]:
        notes = []
        for where, changes in self._numbers.items():
            others = len(changes) - 1
            more = f" (and {others} more number{'s' if others > 1 else ''})" if others else ""
            notes.append(f"{where}: {changes[0]}{more}, as JupyterLab's JavaScript numbers hold it")
        return notes


# --- JavaScript numbers ----------------------------------------------------------------------------


def js_number(value: int | float, where: str = "notebook") -> int | float | None:
    """A JSON number after ``JSON.parse``, ``JSON.stringify`` and Python's ``json.loads``."""
    if isinstance(value, int):
        if -_MAX_SAFE <= value <= _MAX_SAFE:
            return value
        try:
            value = float(value)
        except OverflowError:
            return None  # JSON.parse gives Infinity, JSON.stringify writes null
    if not math.isfinite(value):
        raise NotebookError(f"{where} holds {value}, which JSON cannot hold (JupyterLab cannot open it)")
    if not value.is_integer() or abs(value) >= 1e21:
        return value
    if abs(value) <= _MAX_SAFE:
        return int(value)  # also -0.0 -> 0
    # JavaScript prints the shortest round-trip digits padded with zeros, as repr() finds them
    return int(Decimal(repr(value)))


def _js_truthy(value: Any) -> bool:
    if value is None or value is False or value == "":
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value != 0 and not math.isnan(value)
    return True


# --- stream text -----------------------------------------------------------------------------------


def stream_text(texts: list[str]) -> str:
    """The text JupyterLab shows for consecutive stream outputs of one name (``texts``, in order).

    This is OutputAreaModel's ``Private.processText`` / ``addText`` (@jupyterlab/outputarea 4.6) over
    UTF-16 code units: text is written over the current line from a cursor; ``\\r`` moves the cursor to
    the start of its line; ``\\b`` deletes the unit before the cursor *and* the one under it (unless the
    cursor is at a line start); ``\\n`` appends a newline at the *end* of the text and moves the cursor
    there. Raises UnicodeError when the result is not valid Unicode (a split surrogate pair).
    """
    if not any("\r" in text or "\b" in text for text in texts):
        return "".join(texts)
    buffer = _LineBuffer()
    for text in texts:
        if "\r" in text or "\b" in text:
            buffer.feed(text)
        else:
            buffer.feed_plain(text)
    return buffer.text()


class _LineBuffer:
    """Text as finished lines plus the current line as a gap buffer of UTF-16 units around a cursor."""

    def __init__(self) -> None:
        self.done: list[bytes] = []
        self.left = array("H")  # the current line before the cursor
        self.right = array("H")  # the current line from the cursor on, reversed

    def feed(self, text: str) -> None:
        for part in _CONTROL.split(text):
            if part == "\n":
                self.newline()
            elif part == "\r":
                self.right.extend(self.left[::-1])
                self.left = array("H")
            elif part == "\b":
                if self.left:
                    del self.left[-1]
                    if self.right:
                        del self.right[-1]
            elif part:
                self.write(part)

    def feed_plain(self, text: str) -> None:
        """``feed`` for text without \\r or \\b: after its first newline everything is appended."""
        first, newline, rest = text.partition("\n")
        if first:
            self.write(first)
        if not newline:
            return
        self.newline()
        last = rest.rfind("\n") + 1
        if last:
            self.done.append(rest[:last].encode(_UTF16, "surrogatepass"))
        if last < len(rest):
            self.left.frombytes(rest[last:].encode(_UTF16, "surrogatepass"))

    def write(self, text: str) -> None:
        units = array("H", text.encode(_UTF16, "surrogatepass"))
        self.left.extend(units)
        overwritten = min(len(units), len(self.right))
        if overwritten:
            del self.right[len(self.right) - overwritten :]

    def newline(self) -> None:
        self.done.append(self.left.tobytes() + self.right[::-1].tobytes() + "\n".encode(_UTF16))
        self.left = array("H")
        self.right = array("H")

    def text(self) -> str:
        data = b"".join(self.done) + self.left.tobytes() + self.right[::-1].tobytes()
        return data.decode(_UTF16)  # strict: a lone surrogate raises UnicodeDecodeError


# --- helpers ---------------------------------------------------------------------------------------


def _cell_dict(kind: str, source: str, metadata: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    return {"cell_type": kind, "source": _split(source), "metadata": metadata, **extra}


def _check_unicode(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise NotebookError(
            f"{where} holds a lone UTF-16 surrogate, which is not valid Unicode (JupyterLab cannot open it)"
        ) from None


def _check_key(key: Any, where: str) -> str:
    if type(key) is not str:
        raise NotebookError(f"{where} has a non-string key {key!r}")
    if not key.isascii():
        _check_unicode(key, where)
    return key


def _is_json_mime(mime: str) -> bool:
    return mime == "application/json" or (mime.startswith("application/") and mime.endswith("+json"))


def _join_bundle(bundle: dict[str, Any]) -> None:
    """nbformat's rejoin on reading: non-JSON values given as lists of strings are joined."""
    for mime, value in bundle.items():
        if type(value) is list and not _is_json_mime(mime) and all(type(part) is str for part in value):
            bundle[mime] = "".join(value)


def _split(text: str) -> list[str]:
    return text.splitlines(True)


def _split_bundle(bundle: dict[str, Any]) -> None:
    """nbformat's split_lines on writing."""
    for mime, value in bundle.items():
        if type(value) is str and (
            mime.startswith("text/") or mime in ("application/javascript", "image/svg+xml")
        ):
            bundle[mime] = _split(value)


def _split_output(output: dict[str, Any]) -> None:
    kind = output["output_type"]
    if kind in ("execute_result", "display_data") and isinstance(output.get("data"), dict):
        _split_bundle(output["data"])
    elif kind == "stream" and isinstance(output.get("text"), str):
        output["text"] = _split(output["text"])


def _stream_name(name: Any) -> str:
    return name if isinstance(name, str) else "unnamed"


def _keys(keys: list[str]) -> str:
    return ", ".join(repr(key) for key in keys)


def _numbers(numbers: list[int]) -> str:
    return ", ".join(str(n) for n in numbers)


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON values (Python's 1 == 1.0 == True are three different JSON values)."""
    return type(a) is type(b) and a == b


def _show(value: Any) -> str:
    return "null" if value is None else repr(value)
