"""Data outputs: turning user-given paths into notebook-relative names, hashing, and re-checking them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import OutputError, UsageError
from .hashing import sha256_file
from .report import OutputReport
from .statement import OutputDigest, check_relative_path


@dataclass(frozen=True)
class OutputFile:
    """An output file: its name in the signature (relative to the notebook) and where it is."""

    name: str
    path: Path


def _is_within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def resolve_outputs(
    notebook: Path, specs: list[str], *, allow_outside: bool = False, base: Path | None = None
) -> list[OutputFile]:
    """Resolve output paths (relative to ``base``, default the current directory) to output files.

    Paths outside the notebook's folder, or symlinks leading outside it, are refused unless
    ``allow_outside`` is set.
    """
    base = base or Path.cwd()
    root = notebook.resolve().parent
    files: dict[str, OutputFile] = {}
    for spec in specs:
        path = Path(os.path.normpath(base / spec))
        if not path.exists() and not path.is_symlink():
            raise OutputError(f"output {spec} does not exist")
        if path.is_dir():
            raise OutputError(f"output {spec} is a directory; name the files in it")
        rel = os.path.relpath(path, root)
        real = path.resolve()
        outside = rel.startswith("..") or not _is_within(real, root)
        if outside and not allow_outside:
            raise UsageError(
                f"output {spec} is outside the notebook's folder {root}; move it there, or pass "
                "--allow-outside if the signature should name it relative to the notebook"
            )
        name = PurePosixPath(*Path(rel).parts).as_posix()
        if real == notebook.resolve():
            raise UsageError(f"output {spec} is the notebook itself, which is always signed")
        files[name] = OutputFile(name, path)
    return list(files.values())


def hash_outputs(files: list[OutputFile]) -> list[OutputDigest]:
    """SHA-256 and size of each output file."""
    result = []
    for f in files:
        digest = sha256_file(f.path)
        result.append(OutputDigest(f.name, digest, f.path.stat().st_size))
    return result


def check_outputs(
    notebook: Path, signed: tuple[OutputDigest, ...], *, allow_outside: bool = False
) -> list[OutputReport]:
    """Recompute each signed output's digest and compare."""
    root = notebook.resolve().parent
    reports = []
    for out in signed:
        check_relative_path(out.path, allow_parent=allow_outside)
        path = root / out.path
        if not allow_outside and not _is_within(path.resolve(), root):
            reports.append(
                OutputReport(
                    out.path, "modified", out.sha256, None, "now a link outside the notebook's folder"
                )
            )
            continue
        if not path.is_file():
            reports.append(OutputReport(out.path, "missing", out.sha256, None, "file not found"))
            continue
        try:
            actual = sha256_file(path)
        except OutputError as exc:
            reports.append(OutputReport(out.path, "missing", out.sha256, None, str(exc)))
            continue
        status = "ok" if actual == out.sha256 else "modified"
        reports.append(OutputReport(out.path, status, out.sha256, actual))
    return reports
