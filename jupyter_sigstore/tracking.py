"""Tracked data outputs: the files ``%sigstore track`` declares, kept with the notebook in
``metadata.sigstore.tracked`` (notebook-relative POSIX paths, or URLs for outputs on object storage)
and picked up by later signing."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import UsageError
from .nbfile import load_notebook, read_notebook, save_notebook
from .outputs import resolve_outputs
from .storage import tracked_outputs, with_tracked
from .walking import split_glob


def normalise(notebook: Path, specs: list[str], *, base: Path | None = None) -> list[str]:
    """Turn user paths (relative to ``base``, default the current directory) into notebook-relative
    output specs. Files, folders and glob patterns stay what they are (a tracked folder covers the
    files added to it later); each must exist, or match, inside the notebook's folder."""
    if not specs:
        raise UsageError("name at least one file")
    from .remote.scheme import is_url

    urls = [spec for spec in specs if is_url(spec)]
    if urls:  # each names an object, a prefix or a pattern that exists now (read with your credentials)
        from .remote.listing import resolve_spec
        from .remote.urls import FileSystems

        fss = FileSystems()
        for url in urls:
            resolve_spec(fss, url)
    local = [spec for spec in specs if not is_url(spec)]
    resolve_outputs(notebook, local, base=base or Path.cwd())  # every spec exists/matches, inside the folder
    return names_of(notebook, specs, base=base)


def names_of(notebook: Path, specs: list[str], *, base: Path | None = None) -> list[str]:
    """The notebook-relative names of output specs given relative to ``base`` (not checked); URLs
    stay as they are."""
    from .remote.scheme import is_url

    base = base or Path.cwd()
    root = notebook.resolve().parent
    names = []
    for spec in specs:
        if is_url(spec):
            names.append(spec)
            continue
        prefix, wildcards = split_glob(spec)
        rel = Path(os.path.relpath(os.path.normpath(base.resolve() / prefix), root)).as_posix()
        names.append("/".join(([] if rel == "." else [rel]) + wildcards) or ".")
    return names


def add(current: list[str], names: list[str]) -> list[str]:
    """``current`` with ``names`` appended (no duplicates, order kept)."""
    return list(dict.fromkeys([*current, *names]))


def remove(current: list[str], names: list[str]) -> list[str]:
    """``current`` without ``names``; a name that is not tracked is an error."""
    missing = [n for n in names if n not in current]
    if missing:
        raise UsageError(f"{missing[0]} is not tracked (tracked: {', '.join(current) or 'nothing'})")
    return [n for n in current if n not in names]


def forget_names(notebook: Path, specs: list[str], *, base: Path | None = None) -> list[str]:
    """Names for ``untrack``: like :func:`normalise` but the files may be gone already."""
    from .remote.scheme import is_url

    base = base or Path.cwd()
    root = notebook.resolve().parent
    names = []
    for spec in specs:
        if is_url(spec):
            names.append(spec)
            continue
        rel = os.path.relpath(os.path.normpath(base.resolve() / spec), root)
        names.append(Path(rel).as_posix())
    return names


def read_tracked(notebook: Path) -> list[str]:
    """The tracked list stored in the notebook file on disk."""
    return tracked_outputs(read_notebook(notebook))


def write_tracked(notebook: Path, names: list[str]) -> None:
    """Store the tracked list in the notebook file on disk (only for notebooks no editor holds)."""
    loaded = load_notebook(notebook)
    save_notebook(loaded, with_tracked(loaded.nb, names))
