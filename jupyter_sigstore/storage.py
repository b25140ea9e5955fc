"""Where signatures live: ``metadata.sigstore`` in the notebook, and ``<notebook>.sigstore.json`` sidecars.

The metadata block (schema in ``docs/metadata-schema.md``)::

    "sigstore": {"version": 1, "signatures": [{"bundle": {...}} | {"bundleRef": {"path", "sha256"}}]}

Notebooks are rewritten atomically and in their own JSON style, so signing changes nothing but
``metadata.sigstore``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .canonical import NotebookDigest, notebook_digest, parse_notebook
from .errors import BundleError, NotebookError
from .outputs import check_relative_path

METADATA_KEY = "sigstore"
SCHEMA_VERSION = 1
SIDECAR_SUFFIX = ".sigstore.json"


@dataclass(frozen=True)
class JsonStyle:
    """How a notebook file was serialised, so a rewrite keeps its bytes where nothing changed."""

    indent: int | None
    sort_keys: bool
    ensure_ascii: bool
    trailing_newline: bool

    def dumps(self, value: Any) -> str:
        separators = (",", ": ") if self.indent is not None else (",", ":")
        text = json.dumps(
            value,
            indent=self.indent,
            sort_keys=self.sort_keys,
            ensure_ascii=self.ensure_ascii,
            separators=separators,
        )
        return text + "\n" if self.trailing_newline else text


#: nbformat's own style (what Jupyter writes), used when a file's style cannot be reproduced.
NBFORMAT_STYLE = JsonStyle(indent=1, sort_keys=True, ensure_ascii=False, trailing_newline=True)


@dataclass(frozen=True)
class LoadedNotebook:
    """A notebook as read from disk: its bytes, its parsed JSON and its JSON style."""

    path: Path
    raw: bytes
    nb: dict[str, Any]
    style: JsonStyle


@dataclass(frozen=True)
class StoredSignature:
    """One signature found with a notebook: the bundle text, or why it could not be read."""

    source: str
    bundle_text: str | None
    error: str | None = None


def _detect_style(raw: bytes, nb: Any) -> JsonStyle:
    text = raw.decode("utf-8")
    trailing = text.endswith("\n")
    indents: list[int | None] = []
    lines = text.split("\n", 2)
    if len(lines) > 1:
        second = lines[1]
        indents.append(len(second) - len(second.lstrip(" ")) or None)
    indents += [1, 2, None]
    for indent in dict.fromkeys(indents):
        for sort_keys in (True, False):
            for ensure_ascii in (False, True):
                style = JsonStyle(indent, sort_keys, ensure_ascii, trailing)
                if style.dumps(nb) == text:
                    return style
    return NBFORMAT_STYLE


def load_notebook(path: str | os.PathLike[str]) -> LoadedNotebook:
    """Read and parse a notebook file, with one actionable error line for anything wrong."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise NotebookError(f"{path}: no such notebook") from exc
    except IsADirectoryError as exc:
        raise NotebookError(f"{path} is a directory, not a notebook") from exc
    except OSError as exc:
        raise NotebookError(f"{path}: cannot read notebook ({exc.strerror})") from exc
    try:
        nb = parse_notebook(raw, str(path))
    except NotebookError as exc:
        msg = str(exc)
        raise NotebookError(msg if msg.startswith(str(path)) else f"{path}: {msg}") from exc
    return LoadedNotebook(path, raw, nb, _detect_style(raw, nb))


def digest_of(nb: dict[str, Any], path: Path) -> NotebookDigest:
    """The canonical digest of a notebook, with errors naming the notebook's path."""
    try:
        return notebook_digest(nb)
    except NotebookError as exc:
        raise NotebookError(f"{path}: {exc}") from exc


def sidecar_path(notebook: Path) -> Path:
    """The default sidecar bundle path of a notebook: ``<notebook>.sigstore.json``."""
    return notebook.with_name(notebook.name + SIDECAR_SUFFIX)


def signature_block(nb: dict[str, Any]) -> Any:
    """The raw, unvalidated ``metadata.sigstore`` value, or None when the notebook has none."""
    metadata = nb.get("metadata")
    return metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None


def read_signatures(nb: dict[str, Any], notebook: Path) -> list[StoredSignature]:
    """Every signature stored with the notebook (embedded or by reference), in signing order.

    Anything unreadable becomes a StoredSignature with an ``error``, never an exception, so one bad
    entry shows as an invalid signature instead of hiding the others.
    """
    block = signature_block(nb)
    if block is None:
        return []
    if not isinstance(block, dict) or not isinstance(block.get("signatures"), list):
        return [StoredSignature("metadata.sigstore", None, "metadata.sigstore is malformed")]
    found = []
    for n, entry in enumerate(block["signatures"]):
        where = f"metadata.sigstore.signatures[{n}]"
        if isinstance(entry, dict) and "bundle" in entry:
            found.append(StoredSignature(where, json.dumps(entry["bundle"])))
        elif isinstance(entry, dict) and isinstance(entry.get("bundleRef"), dict):
            found.append(_read_reference(notebook, entry["bundleRef"], where))
        else:
            found.append(StoredSignature(where, None, f"{where} holds neither a bundle nor a bundleRef"))
    return found


def _read_reference(notebook: Path, ref: dict[str, Any], where: str) -> StoredSignature:
    try:
        rel = check_relative_path(ref.get("path"))  # type: ignore[arg-type]
    except BundleError as exc:
        return StoredSignature(where, None, f"{where}: {exc}")
    target = notebook.parent / rel
    try:
        data = target.read_bytes()
    except OSError:
        return StoredSignature(rel, None, f"detached signature {rel} is missing or unreadable")
    actual = hashlib.sha256(data).hexdigest()
    if actual != ref.get("sha256"):
        return StoredSignature(
            rel, None, f"detached signature {rel} changed: sha256 was {ref.get('sha256')}, now {actual}"
        )
    return StoredSignature(rel, data.decode("utf-8", errors="replace"))


def check_writable(path: Path) -> None:
    """Fail before any signing work when the notebook (or its folder) cannot be written."""
    if not os.access(path, os.W_OK):
        raise NotebookError(f"{path} is not writable; nothing was signed")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise NotebookError(f"folder {path.parent} is not writable; nothing was signed")


def atomic_write(path: Path, data: bytes, *, expect: bytes | None = None) -> None:
    """Replace ``path`` with ``data`` atomically (same-folder temp file, fsync, rename).

    With ``expect``, refuse when the file no longer holds those bytes (it changed under us).
    """
    mode = None
    with contextlib.suppress(FileNotFoundError):
        mode = path.stat().st_mode & 0o7777
        if expect is not None and path.read_bytes() != expect:
            raise NotebookError(f"{path} changed on disk while signing; nothing was written")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def with_signatures(nb: dict[str, Any], entries: list[dict[str, Any]]) -> dict[str, Any]:
    """A copy of ``nb`` whose ``metadata.sigstore`` holds exactly ``entries`` (other keys kept)."""
    new = dict(nb)
    metadata = dict(nb.get("metadata") or {})
    old = metadata.get(METADATA_KEY)
    block = dict(old) if isinstance(old, dict) else {}
    block["version"] = SCHEMA_VERSION
    block["signatures"] = entries
    metadata[METADATA_KEY] = block
    new["metadata"] = metadata
    return new


def existing_entries(nb: dict[str, Any]) -> list[dict[str, Any]]:
    """The current signature entries of ``nb`` as stored (empty if none or malformed)."""
    block = signature_block(nb)
    if isinstance(block, dict) and isinstance(block.get("signatures"), list):
        return [e for e in block["signatures"] if isinstance(e, dict)]
    return []


def save_notebook(loaded: LoadedNotebook, nb: dict[str, Any]) -> None:
    """Write ``nb`` over the loaded file in the file's own JSON style, atomically."""
    atomic_write(loaded.path, loaded.style.dumps(nb).encode("utf-8"), expect=loaded.raw)


TRACKED_KEY = "tracked"


def tracked_outputs(nb: dict[str, Any]) -> list[str]:
    """The data outputs declared with ``%sigstore track`` (``metadata.sigstore.tracked``), as
    notebook-relative POSIX paths; anything malformed is ignored."""
    block = signature_block(nb)
    tracked = block.get(TRACKED_KEY) if isinstance(block, dict) else None
    if not isinstance(tracked, list):
        return []
    return [p for p in dict.fromkeys(tracked) if isinstance(p, str) and p]


def with_tracked(nb: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """A copy of ``nb`` whose ``metadata.sigstore.tracked`` is ``paths`` (other keys kept)."""
    new = dict(nb)
    metadata = dict(nb.get("metadata") or {})
    old = metadata.get(METADATA_KEY)
    block = dict(old) if isinstance(old, dict) else {}
    block.setdefault("version", SCHEMA_VERSION)
    block.setdefault("signatures", [])
    block[TRACKED_KEY] = list(dict.fromkeys(paths))
    metadata[METADATA_KEY] = block
    new["metadata"] = metadata
    return new
