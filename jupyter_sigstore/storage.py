"""Where signatures live: ``metadata.sigstore`` in the notebook (embedded bundles, or references to
detached ``<notebook>.sigstore.json`` files), and sidecar copies beside it.

The metadata block (schema in ``docs/metadata-schema.md``)::

    "sigstore": {"version": 1, "signatures": [{"bundle": {...}} | {"bundleRef": {"path", "sha256"}}],
                 "tracked": ["results.csv", ...]}

This module is the only one that knows that layout. Nothing read here is trusted: a reference is only a
pointer to bytes that verification then checks, and reading it is bounded (a regular file inside the
notebook's folder, of limited size).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import BundleError, NotebookError
from .nbfile import read_regular_file
from .outputs import check_relative_path

METADATA_KEY = "sigstore"
SCHEMA_VERSION = 1
SIDECAR_SUFFIX = ".sigstore.json"
TRACKED_KEY = "tracked"
#: A Sigstore bundle is a few kilobytes; anything far larger is not one.
MAX_BUNDLE_BYTES = 16 << 20

Placement = Literal["embedded", "sidecar", "detached"]
"""Where a new signature goes: in the notebook (``embedded``), in the notebook and a sidecar bundle
file (``sidecar``), or in a sidecar file the notebook only references by path and sha256
(``detached``)."""


@dataclass(frozen=True)
class StoredSignature:
    """One signature found with a notebook: the bundle text, or why it could not be read."""

    source: str
    bundle_text: str | None
    error: str | None = None


@dataclass(frozen=True)
class StoragePlan:
    """What storing a new signature changes: the new ``metadata.sigstore`` value and the sidecar file
    to write (if any), with the earlier signatures it keeps and drops."""

    block: dict[str, Any]
    sidecar: Path | None
    sidecar_bytes: bytes | None
    kept: int
    dropped: tuple[str, ...] = field(default_factory=tuple)


def sidecar_path(notebook: Path) -> Path:
    """The default sidecar bundle path of a notebook: ``<notebook>.sigstore.json``."""
    return notebook.with_name(notebook.name + SIDECAR_SUFFIX)


def signature_block(nb: dict[str, Any]) -> Any:
    """The raw, unvalidated ``metadata.sigstore`` value, or None when the notebook has none."""
    metadata = nb.get("metadata")
    return metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None


def existing_entries(nb: dict[str, Any]) -> list[dict[str, Any]]:
    """The current signature entries of ``nb`` as stored (empty if none or malformed)."""
    block = signature_block(nb)
    if isinstance(block, dict) and isinstance(block.get("signatures"), list):
        return [e for e in block["signatures"] if isinstance(e, dict)]
    return []


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
            try:
                text = json.dumps(entry["bundle"], allow_nan=False)
            except (ValueError, RecursionError):
                found.append(StoredSignature(where, None, f"{where} is not a JSON bundle"))
                continue
            found.append(StoredSignature(where, text))
        elif isinstance(entry, dict) and isinstance(entry.get("bundleRef"), dict):
            found.append(_read_reference(notebook, entry["bundleRef"], where))
        else:
            found.append(StoredSignature(where, None, f"{where} holds neither a bundle nor a bundleRef"))
    return found


def read_bundle_file(path: Path) -> StoredSignature:
    """A bundle file the user named (``verify --bundle``): bounded like any other read."""
    data = read_regular_file(path, MAX_BUNDLE_BYTES, "bundle")
    try:
        return StoredSignature(str(path), data.decode("utf-8"))
    except UnicodeDecodeError:
        raise BundleError(f"bundle {path} is not UTF-8 text") from None


def _read_reference(notebook: Path, ref: dict[str, Any], where: str) -> StoredSignature:
    """Read a detached bundle: a regular, non-hidden file inside the notebook's folder.

    Errors never reveal anything about the file the reference names beyond "not usable" (through
    the server, a reference must not become a way to learn the hash of a file one cannot read).
    """
    try:
        rel = check_relative_path(ref.get("path"))  # type: ignore[arg-type]
    except BundleError as exc:
        return StoredSignature(where, None, f"{where}: {exc}")
    expected = ref.get("sha256")
    unusable = StoredSignature(rel, None, f"detached signature {rel} is missing, unreadable or not allowed")
    if any(part.startswith(".") for part in rel.split("/")):
        return unusable
    folder = notebook.resolve().parent
    target = Path(os.path.realpath(folder / rel))
    if folder not in target.parents:
        return unusable
    try:
        data = read_regular_file(target, MAX_BUNDLE_BYTES, "bundle")
    except NotebookError:
        return unusable
    if hashlib.sha256(data).hexdigest() != expected:
        return StoredSignature(rel, None, f"detached signature {rel} changed since it was referenced")
    return StoredSignature(rel, data.decode("utf-8", errors="replace"))


def plan_signature(
    nb: dict[str, Any],
    notebook: Path,
    bundle_json: str,
    placement: Placement,
    keep: list[dict[str, Any]],
    dropped: tuple[str, ...] = (),
) -> StoragePlan:
    """Store a new signature after the ``keep`` entries: the new block, and the sidecar to write.

    A sidecar goes to ``<notebook>.sigstore.json`` unless a kept entry references that file, then to
    the first free ``<notebook>.<n>.sigstore.json``.
    """
    sidecar: Path | None = None
    data = bundle_json.encode("utf-8")
    entry: dict[str, Any] = {"bundle": json.loads(bundle_json)}
    if placement in ("sidecar", "detached"):
        referenced = {
            e["bundleRef"].get("path")
            for e in keep
            if isinstance(e.get("bundleRef"), dict) and isinstance(e["bundleRef"].get("path"), str)
        }
        sidecar = _free_sidecar(notebook, referenced)
        if placement == "detached":
            entry = {"bundleRef": {"path": sidecar.name, "sha256": hashlib.sha256(data).hexdigest()}}
    block = _block(nb)
    block["signatures"] = [*keep, entry]
    return StoragePlan(block, sidecar, data if sidecar else None, len(keep), dropped)


def _free_sidecar(notebook: Path, referenced: set[Any]) -> Path:
    first = sidecar_path(notebook)
    if first.name not in referenced:
        return first
    for n in range(2, 1000):
        candidate = notebook.with_name(f"{notebook.name}.{n}{SIDECAR_SUFFIX}")
        if candidate.name not in referenced and not candidate.exists():
            return candidate
    raise BundleError(f"too many sidecar bundles beside {notebook}")


def _block(nb: dict[str, Any]) -> dict[str, Any]:
    old = signature_block(nb)
    block = dict(old) if isinstance(old, dict) else {}
    block["version"] = SCHEMA_VERSION
    block.setdefault("signatures", [])
    return block


def with_block(nb: dict[str, Any], block: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``nb`` whose ``metadata.sigstore`` is ``block`` (the cells are shared, not copied)."""
    new = dict(nb)
    metadata = dict(nb.get("metadata") or {})
    metadata[METADATA_KEY] = block
    new["metadata"] = metadata
    return new


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
    block = _block(nb)
    block[TRACKED_KEY] = list(dict.fromkeys(paths))
    return with_block(nb, block)
