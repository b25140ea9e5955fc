"""Contents paths -> files on disk, never outside the server's root (symlinks included)."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Any

from tornado.web import HTTPError

from .config import POLICY_FILE_NAME


def contents_root(contents_manager: Any) -> Path:
    """The real (symlink-free) root folder of a file-based contents manager."""
    root = getattr(contents_manager, "root_dir", None)
    if not root:
        raise HTTPError(501, "jupyter-sigstore needs a file-based contents manager (with root_dir)")
    return Path(root).resolve()


def resolve_api_path(contents_manager: Any, api_path: str, *, must_exist: bool = True) -> Path:
    """The real path of a contents API path, refusing anything that leaves the root.

    Every refusal is a 404 that does not say whether the file exists, so the API reveals nothing
    about files outside the root or hidden ones.
    """
    root = contents_root(contents_manager)
    not_found = HTTPError(404, f"no such file in the server's contents: {api_path}")
    if not isinstance(api_path, str) or not api_path.strip("/") or "\x00" in api_path or "\\" in api_path:
        raise not_found
    pure = PurePosixPath(api_path.strip("/"))
    if pure.is_absolute() or ".." in pure.parts or os.path.splitdrive(str(pure))[0]:
        raise not_found
    candidate = root.joinpath(*pure.parts)
    real = candidate.resolve()
    if real != root and root not in real.parents:
        raise not_found
    if must_exist and not real.is_file():
        raise not_found
    allow_hidden = bool(getattr(contents_manager, "allow_hidden", False))
    if not allow_hidden and any(part.startswith(".") for part in real.relative_to(root).parts):
        raise not_found
    return real


def api_path_of(contents_manager: Any, real: Path) -> str:
    """The contents API path of a real path inside the root."""
    return real.relative_to(contents_root(contents_manager)).as_posix()


def nearest_policy_file(root: Path, notebook: Path) -> Path | None:
    """The nearest sigstore-policy.toml from the notebook's folder up to ``root`` (both real paths).

    A candidate that is a symlink leading outside the root is ignored.
    """
    folder = notebook.parent
    while True:
        candidate = folder / POLICY_FILE_NAME
        if candidate.is_file():
            real = candidate.resolve()
            if real == root or root in real.parents:
                return candidate
        if folder == root or root not in folder.parents:
            return None
        folder = folder.parent
