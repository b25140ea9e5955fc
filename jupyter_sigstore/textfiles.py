"""Reading the small text and JSON files users hand us (bundles, trust roots, policies), with
one-line errors that name the file and what it was supposed to be."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import SigstoreNotebookError


def read_text(path: Path, what: str, error: type[SigstoreNotebookError]) -> str:
    """The UTF-8 text of ``path``; ``error("<what> <path>: cannot read (...)")`` otherwise."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise error(f"{what} {path}: cannot read ({reason})") from None


def read_json(path: Path, what: str, error: type[SigstoreNotebookError]) -> tuple[str, Any]:
    """The text of ``path`` and its parsed JSON; ``error("<what> <path> is not JSON (...)")`` otherwise."""
    text = read_text(path, what, error)
    try:
        return text, json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{what} {path} is not JSON ({exc})") from None
