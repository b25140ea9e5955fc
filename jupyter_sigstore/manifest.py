"""The outputs manifest: many data outputs signed through one file beside the notebook.

Above :data:`MANIFEST_THRESHOLD` outputs, a signature does not list each output: signing writes
``<notebook>.outputs.sha256`` beside the notebook, in the format of coreutils' ``sha256sum``
(``<hex>  <path relative to the notebook's folder>`` per line, sorted, LF line ends), and the
statement names that file and its SHA-256 as a subject. ``sha256sum -c`` run in the notebook's
folder checks it, and stock ``sigstore verify`` checks the manifest itself against the bundle.

Verification reads the manifest bounded by its signed size, checks its SHA-256 against the signed
one before anything else, and only then parses it, strictly: a manifest the signer could not have
written is a malformed signature. See ``docs/metadata-schema.md``.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import Any, Literal

from .errors import BundleError, NotebookError, OutputError
from .nbfile import read_regular_file
from .outputs import OutputDigest, check_relative_path
from .walking import MANIFEST_SUFFIX, listing_needs_escape, needs_escape

MANIFEST_THRESHOLD = 1000
"""Signatures over more local outputs than this list them in a manifest file instead of the statement.
At 1,000 outputs the statement is about 120 KB; the manifest keeps it at a few KB whatever the count."""
_MAX_LINE = 64 + 2 + 4096 + 1
"""A line: a digest, two spaces, a path (PATH_MAX on Linux) and the line end."""
_LINE = re.compile(rb"([0-9a-f]{64})  ([^\n\r\\]+)\n")
"""One manifest line: a digest, two spaces, a path without line breaks or backslashes, a line feed."""


@dataclass(frozen=True)
class ManifestRef:
    """The manifest as a signature names it: its path (a file name in the notebook's folder), its
    SHA-256, how many outputs it lists and its size in bytes."""

    path: str
    sha256: str
    count: int
    size: int

    def to_json(self) -> dict[str, Any]:
        """The predicate's ``outputsManifest`` object."""
        return {"path": self.path, "digest": {"sha256": self.sha256}, "count": self.count, "size": self.size}

    @classmethod
    def from_json(cls, value: Any, sha256: str) -> ManifestRef:
        """Validate a signed ``outputsManifest`` object (``sha256`` already checked as a digest)."""
        if not isinstance(value, dict):
            raise BundleError("signed statement: predicate.outputsManifest must be an object")
        path, count, size = value.get("path"), value.get("count"), value.get("size")
        if not isinstance(path, str) or "/" in path or not path.endswith(MANIFEST_SUFFIX):
            raise BundleError(
                f"signed statement: outputs manifest {path!r} is not a *{MANIFEST_SUFFIX} file name"
            )
        check_relative_path(path)
        if path.startswith("."):
            raise BundleError(f"signed statement: outputs manifest {path!r} is a hidden file")
        for what, number in (("count", count), ("size", size)):
            if not isinstance(number, int) or isinstance(number, bool) or number < 1:
                raise BundleError(f"signed statement: outputs manifest {what} must be a positive integer")
        assert isinstance(count, int) and isinstance(size, int)
        if not 68 * count <= size <= _MAX_LINE * count:
            raise BundleError(
                f"signed statement: an outputs manifest of {count} lines cannot be {size} bytes long"
            )
        return cls(path, sha256, count, size)


def manifest_name(notebook: Path, sha256: str | None = None) -> str:
    """The manifest's file name for a notebook: ``<notebook name>.outputs.sha256``, or with
    ``sha256``, ``<notebook name>.<its first 12 hex digits>.outputs.sha256``."""
    return f"{notebook.name}.{sha256[:12]}{MANIFEST_SUFFIX}" if sha256 else notebook.name + MANIFEST_SUFFIX


def holds_other(target: Path, data: bytes) -> bool:
    """Whether something other than ``data`` is at ``target`` (a file with other bytes, a link, a
    folder): writing ``data`` there would replace it."""
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(st.st_mode) or st.st_size != len(data):
        return True
    with open(target, "rb") as fh:
        return fh.read(len(data) + 1) != data


def manifest_bytes(outputs: Sequence[OutputDigest]) -> bytes:
    """The manifest listing ``outputs``, sorted by path. A path holding a line break or a
    backslash cannot be written the way ``sha256sum -c`` reads it without escapes: refused."""
    ordered = sorted(outputs, key=attrgetter("path"))
    text = "".join([f"{out.sha256}  {out.path}\n" for out in ordered])
    if listing_needs_escape(text, len(ordered)):
        bad = next(out.path for out in ordered if needs_escape(out.path))
        raise OutputError(
            f"output {bad!r}: a file name with a line break or a backslash cannot go in the "
            f"outputs manifest used above {MANIFEST_THRESHOLD} outputs; rename it"
        )
    return text.encode("utf-8")


def describe(outputs: Sequence[OutputDigest], name: str) -> tuple[ManifestRef, bytes]:
    """The manifest for ``outputs`` (named ``name``) and its bytes."""
    data = manifest_bytes(outputs)
    return ManifestRef(name, hashlib.sha256(data).hexdigest(), len(outputs), len(data)), data


@dataclass(frozen=True)
class ManifestProblem:
    """Why a signed manifest cannot be used: it is missing, or it is not the signed file."""

    status: Literal["missing", "modified"]
    reason: str


def read_manifest(
    notebook: Path, ref: ManifestRef, *, allow_parent: bool = False
) -> tuple[OutputDigest, ...] | ManifestProblem:
    """The outputs a signed manifest lists (sizes unknown: -1), or why it cannot be used.

    The file is read only if it is a regular file in the notebook's real folder of at most the
    signed size, and parsed only once its SHA-256 is the signed one. Raises BundleError when the
    signed bytes are not a manifest this package writes (the signature then is not usable).
    """
    folder = notebook.resolve().parent
    target = Path(os.path.realpath(folder / ref.path))
    if target.parent != folder or target.name.startswith("."):
        # as for detached bundles: a link must not make this a way to learn about another file
        return ManifestProblem("modified", f"outputs manifest {ref.path} now leads outside the folder")
    if not os.path.lexists(target):
        return ManifestProblem("missing", f"outputs manifest {ref.path} not found")
    try:
        data = read_regular_file(target, ref.size, "outputs manifest")
    except NotebookError:
        return ManifestProblem(
            "modified", f"outputs manifest {ref.path} is not the signed file (size or type changed)"
        )
    if hashlib.sha256(data).hexdigest() != ref.sha256:  # the new digest is not told (see above)
        return ManifestProblem(
            "modified", f"outputs manifest {ref.path} changed since signing (sha256 differs)"
        )
    return parse_manifest(data, ref, allow_parent=allow_parent)


def parse_manifest(data: bytes, ref: ManifestRef, *, allow_parent: bool = False) -> tuple[OutputDigest, ...]:
    """Parse signed manifest bytes strictly: ``ref.count`` lines, sorted, each path once and normal."""
    where = f"signed outputs manifest {ref.path}"
    outputs: list[OutputDigest] = []
    previous = b""
    at = 0
    new = tuple.__new__  # skips OutputDigest.__new__'s Python frame: this runs once per line
    for line in _LINE.finditer(data):  # one match at a time: no list of every line to outlive
        if line.start() != at:
            break
        raw = line.group(2)
        if raw <= previous:
            raise BundleError(f"{where}: line {len(outputs) + 1} is out of order or repeated")
        previous = raw
        try:
            path = raw.decode("utf-8")
            check_relative_path(path, allow_parent=allow_parent)
        except UnicodeDecodeError:
            raise BundleError(f"{where}: line {len(outputs) + 1} names a path that is not UTF-8") from None
        except BundleError as exc:
            raise BundleError(f"{where}: line {len(outputs) + 1}: {exc}") from None
        outputs.append(new(OutputDigest, (path, line.group(1).decode("ascii"), -1)))
        at = line.end()
    if at != len(data):
        if data.find(b"\n", at) < 0:
            raise BundleError(f"{where}: line {len(outputs) + 1} does not end with a line break")
        raise BundleError(f"{where}: line {len(outputs) + 1} is not `<sha256>  <path>`")
    if len(outputs) != ref.count:
        raise BundleError(f"{where} lists {len(outputs)} outputs, not the {ref.count} signed")
    return tuple(outputs)
