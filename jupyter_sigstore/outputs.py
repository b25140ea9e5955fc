"""Data outputs: choosing the files, naming them relative to the notebook, hashing and re-checking them.

An output spec is a file, a directory (taken recursively) or a glob pattern (``*``, ``?``, ``[...]``
within one path segment, ``**`` for any number of directories; see :mod:`walking`). Files found in
directories and by patterns pass through ``.gitignore``-style exclude rules
(:data:`~jupyter_sigstore.walking.DEFAULT_EXCLUDES` plus the user's ``--exclude``), matched
against the name the file gets in the signature, i.e. its POSIX path relative to the notebook's
folder. Directory and pattern specs and the exclude rules are recorded in the signed statement
(:class:`OutputRules`), so verification enumerates the same files with the same rules and names a
file that appeared since signing as ``added``.

Symbolic links found while walking a directory are skipped unless ``follow_symlinks`` is set, and
even then never lead outside the root (the notebook's folder); each real folder is walked once.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator, Sequence
from operator import itemgetter
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, cast

from .errors import BundleError, OutputError, UsageError
from .hashing import FileHash, Progress, hash_files
from .walking import (
    DEFAULT_EXCLUDES,
    LINK_NOT_FOLLOWED,
    MANIFEST_SUFFIX,
    MAX_PATTERN_LENGTH,
    MAX_RULES,
    ExcludeMatcher,
    GlobPattern,
    OutputFile,
    Walk,
    check_exclude,
    excludes,
    has_wildcard,
    sizes_of,
    split_glob,
)

if TYPE_CHECKING:
    from .report import OutputReport


class OutputDigest(NamedTuple):
    """A data output: its path relative to the notebook (POSIX form), SHA-256 and size (-1 when not
    known). A named tuple, not a dataclass: a signature may list 100,000 of them."""

    path: str
    sha256: str
    size: int


def check_relative_path(path: str, *, allow_parent: bool = False) -> str:
    """Return ``path`` if it is a normal relative POSIX path below the notebook's folder.

    ``allow_parent`` admits leading ``..`` parts (outputs the user explicitly allowed outside).
    """
    if not isinstance(path, str) or not path or "\x00" in path or "\\" in path:
        raise BundleError(f"output path {path!r} is not a relative POSIX path")
    # Plain string tests (this runs once per signed output): an empty part means a leading, trailing
    # or doubled slash; "." and ".." parts are not normal, except leading ".." with allow_parent.
    parts = path.split("/")
    if allow_parent:
        first = 0
        while first < len(parts) and parts[first] == "..":
            first += 1
        parts = parts[first:]
    if not parts or "" in parts or "." in parts or ".." in parts:
        raise BundleError(
            f"output path {path!r} escapes the notebook's folder or is not normal "
            "(pass --allow-outside to accept outputs outside it)"
        )
    return path


class IncludeSpec(NamedTuple):
    """A recorded directory or glob output spec; ``path`` is relative to the notebook's folder."""

    kind: Literal["directory", "glob"]
    path: str


class OutputRules(NamedTuple):
    """How the outputs were chosen, recorded in the signature so verification can re-apply it."""

    include: tuple[IncludeSpec, ...]
    exclude: tuple[str, ...] = DEFAULT_EXCLUDES
    follow_symlinks: bool = False

    def to_json(self) -> dict[str, Any]:
        """The predicate's ``outputRules`` object."""
        return {
            "include": [{spec.kind: spec.path} for spec in self.include],
            "exclude": list(self.exclude),
            "followSymlinks": self.follow_symlinks,
        }

    @classmethod
    def from_json(cls, value: Any, *, allow_parent: bool = False) -> OutputRules:
        """Parse and validate a signed ``outputRules`` object (raises BundleError)."""
        if not isinstance(value, dict):
            raise BundleError("signed statement: predicate.outputRules must be an object")
        raw_include = value.get("include")
        raw_exclude = value.get("exclude", [])
        follow = value.get("followSymlinks", False)
        if not isinstance(raw_include, list) or not isinstance(raw_exclude, list):
            raise BundleError("signed statement: outputRules.include and .exclude must be lists")
        if not isinstance(follow, bool):
            raise BundleError("signed statement: outputRules.followSymlinks must be true or false")
        if len(raw_include) > MAX_RULES or len(raw_exclude) > MAX_RULES:
            raise BundleError(f"signed statement: more than {MAX_RULES} output rules")
        include = []
        for item in raw_include:
            if not isinstance(item, dict) or len(item) != 1:
                raise BundleError("signed statement: each outputRules.include entry names one spec")
            ((kind, path),) = item.items()
            if kind not in ("directory", "glob"):
                raise BundleError(f"signed statement: unknown output spec kind {kind!r}")
            try:
                _check_spec_path(path, kind, allow_parent=allow_parent)
            except ValueError as exc:
                raise BundleError(f"signed statement: {exc}") from None
            include.append(IncludeSpec(kind, path))
        try:
            exclude = tuple(check_exclude(p) for p in raw_exclude)
        except ValueError as exc:
            raise BundleError(f"signed statement: {exc}") from None
        return cls(tuple(include), exclude, follow)


class OutputOptions(NamedTuple):
    """How to choose and hash outputs when signing (``exclude`` adds to :data:`DEFAULT_EXCLUDES`)."""

    exclude: tuple[str, ...] = ()
    follow_symlinks: bool = False
    jobs: int | None = None
    progress: bool = False


class OutputSelection(NamedTuple):
    """The files chosen for signing, the rules to record (None for plain files only), and notes."""

    files: list[OutputFile]
    rules: OutputRules | None
    notes: list[str]


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Cyclic garbage collection off for a block that makes many objects without cycles (the outputs
    of a big signature: with it on, Python re-scans them all several times; measured 0.25-0.4 s of
    2.4 s when verifying 100,000 outputs). Restored on exit."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# --- spec and pattern validation -------------------------------------------------------------


def _check_spec_path(path: Any, kind: str, *, allow_parent: bool) -> str:
    if not isinstance(path, str) or not path or len(path) > MAX_PATTERN_LENGTH:
        raise ValueError(f"output {kind} spec {path!r} is empty, too long or not text")
    if "\x00" in path or "\\" in path:
        raise ValueError(f"output {kind} spec {path!r} is not a relative POSIX path")
    if kind == "directory" and path == ".":
        return path
    pure = PurePosixPath(path)
    parts = list(pure.parts)
    if allow_parent:
        while parts and parts[0] == "..":
            parts.pop(0)
    if pure.is_absolute() or not parts or ".." in parts or str(pure) != path or "." in path.split("/"):
        raise ValueError(f"output {kind} spec {path!r} escapes the notebook's folder or is not normal")
    if kind == "glob" and not has_wildcard(path):
        raise ValueError(f"output glob spec {path!r} has no wildcard")
    return path


# --- selecting outputs for signing -----------------------------------------------------------


def _is_within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _locate(base: Path, spec: str) -> Path:
    """The absolute path of ``spec``, with its parent folders' symlinks resolved but not its own."""
    absolute = Path(os.path.normpath(base / spec))
    if absolute.name in ("", ".", ".."):
        return absolute.resolve()
    return Path(os.path.realpath(absolute.parent)) / absolute.name


def _name_in(path: Path, root: Path, spec: str, allow_outside: bool) -> str:
    rel = os.path.relpath(path, root)
    real = path.resolve()
    if (rel == ".." or rel.startswith("../") or not _is_within(real, root)) and not allow_outside:
        raise UsageError(
            f"output {spec} is outside the notebook's folder {root}; move it there, or pass "
            "--allow-outside if the signature should name it relative to the notebook"
        )
    return "" if rel == "." else PurePosixPath(*Path(rel).parts).as_posix()


def _is_own_sidecar(name: str, notebook_name: str) -> bool:
    if not name.startswith(notebook_name + ".") or not name.endswith(".sigstore.json"):
        return False
    middle = name[len(notebook_name) + 1 : -len(".sigstore.json")]
    return middle == "" or middle.isdigit()


def select_outputs(
    notebook: Path,
    specs: Sequence[str],
    *,
    options: OutputOptions | None = None,
    allow_outside: bool = False,
    base: Path | None = None,
) -> OutputSelection:
    """Resolve output specs (relative to ``base``, default the current directory) to output files.

    Files are named by their path relative to the notebook's folder. Outputs outside it, or links
    leading outside it, are refused unless ``allow_outside`` is set (links found inside a directory
    never lead outside the directory's own root). A pattern that matches nothing is an error.
    """
    options = options or OutputOptions()
    base = base or Path.cwd()
    nb_real = notebook.resolve()
    root = nb_real.parent
    matcher = excludes(options.exclude)
    files: dict[str, OutputFile] = {}
    include: list[IncludeSpec] = []
    notes: list[str] = []
    for spec in specs:
        if not spec or "\x00" in spec:
            raise UsageError(f"output {spec!r} is not a path")
        path = _locate(base, spec)
        if os.path.lexists(path):
            name = _name_in(path, root, spec, allow_outside)
            real = path.resolve()
            if path.is_dir():
                boundary = root if _is_within(real, root) else real
                walk = Walk(
                    matcher,
                    follow_symlinks=options.follow_symlinks,
                    boundary=str(boundary),
                    skip=frozenset({nb_real.name}) if real == root else frozenset(),
                    sizes=False,  # the workers learn each size; a stat per file here cost 0.3 s per 100,000
                )
                walk.walk(str(path), name)
                include.append(IncludeSpec("directory", name or "."))
                for f in walk.found():
                    files.setdefault(f[0], f)  # f.name
                _refuse_skipped(walk, spec)
                notes += walk.notes(spec)
                if not walk.files:
                    notes.append(f"folder {spec} holds no file to sign (after exclusions)")
                continue
            if real == nb_real:
                raise UsageError(f"output {spec} is the notebook itself, which is always signed")
            if _is_own_sidecar(name, nb_real.name) and real.parent == root:
                raise UsageError(f"output {spec} is this notebook's own signature bundle")
            if name.endswith(MANIFEST_SUFFIX):
                raise UsageError(f"output {spec} is an outputs manifest, which signing writes itself")
            _check_name(name or spec)
            if not path.exists():
                raise OutputError(f"output {spec} is a broken symbolic link")
            files.setdefault(name, OutputFile(name, str(path), -1))
            continue
        if not has_wildcard(spec):
            raise OutputError(f"output {spec} does not exist")
        prefix, segments = split_glob(spec)
        top = _locate(base, prefix)
        if not top.is_dir():
            raise OutputError(f"output pattern {spec} matches no file ({prefix} is not a folder)")
        top_name = _name_in(top, root, spec, allow_outside)
        pattern_text = "/".join([top_name, *segments]) if top_name else "/".join(segments)
        try:
            _check_spec_path(pattern_text, "glob", allow_parent=allow_outside)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        top_real = top.resolve()
        walk = Walk(
            matcher,
            follow_symlinks=options.follow_symlinks,
            boundary=str(root if _is_within(top_real, root) else top_real),
            skip=frozenset({nb_real.name}) if top_real == root else frozenset(),
            sizes=False,
        )
        walk.walk(str(top), top_name, GlobPattern(segments))
        if not walk.files:
            raise OutputError(f"output pattern {spec} matches no file")
        include.append(IncludeSpec("glob", pattern_text))
        for f in walk.found():
            files.setdefault(f[0], f)  # f.name
        _refuse_skipped(walk, spec)
        notes += walk.notes(spec)
    rules = (
        OutputRules(tuple(dict.fromkeys(include)), matcher.patterns, options.follow_symlinks)
        if include
        else None
    )
    return OutputSelection(sorted(files.values(), key=itemgetter(0)), rules, notes)  # by name


def _refuse_skipped(walk: Walk, spec: str) -> None:
    """A signed folder must not hold what signing would leave out but verification would name (a
    link not followed, a FIFO, socket or device): say how to decide about it, before signing."""
    if not walk.skipped:
        return
    name, why = walk.skipped[0]
    more = f" (and {len(walk.skipped) - 1} more)" if len(walk.skipped) > 1 else ""
    fix = (
        "pass --follow-symlinks to sign what it points to, or exclude it"
        if why == LINK_NOT_FOLLOWED
        else "exclude it"
    )
    raise UsageError(
        f"output {spec} holds {name}{more}: a {why}, which would not be signed and which verification "
        f"would then report as added; {fix} (--exclude {name}); nothing was signed"
    )


def _check_name(name: str) -> None:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        shown = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        raise OutputError(f"output {shown}: the file name is not valid UTF-8; rename it") from None


def resolve_outputs(
    notebook: Path,
    specs: list[str],
    *,
    allow_outside: bool = False,
    base: Path | None = None,
    options: OutputOptions | None = None,
) -> list[OutputFile]:
    """The files :func:`select_outputs` chooses (without the rules and notes)."""
    return select_outputs(notebook, specs, options=options, allow_outside=allow_outside, base=base).files


def _progress(files: Sequence[OutputFile], enabled: bool, label: str) -> Progress | None:
    if not enabled or not Progress.shown_on():
        return None
    return Progress.for_terminal(sum(sizes_of(files)), len(files), label=label)


def hash_outputs(
    files: Sequence[OutputFile], *, jobs: int | None = None, progress: bool = False
) -> list[OutputDigest]:
    """SHA-256 and size of each output file, hashed in parallel; the first failure is raised."""
    bar = _progress(files, progress, "hashing outputs")
    # OutputFile is (name, path, size), FileHash (sha256, size): indexed, not by property (100,000 files)
    names, paths, sizes = [f[0] for f in files], [f[1] for f in files], [f[2] for f in files]
    known = sizes if not sizes or min(sizes) >= 0 else None
    with bar if bar is not None else contextlib.nullcontext():
        # without collect_errors the first failure is raised: every result is a FileHash
        results = cast("list[FileHash]", hash_files(paths, names=names, sizes=known, jobs=jobs, progress=bar))
    new = tuple.__new__  # skips OutputDigest.__new__'s Python frame
    return [new(OutputDigest, (name, r[0], r[1])) for name, r in zip(names, results, strict=True)]


# --- verification ----------------------------------------------------------------------------


class Selected(NamedTuple):
    """What recorded output rules select today: the files' names, and what else the walk met, each
    as (name, why)."""

    names: set[str]
    problems: list[tuple[str, str]]


def enumerate_rules(notebook: Path, rules: OutputRules, *, allow_outside: bool = False) -> Selected:
    """The names of the files the recorded rules select today, and what else was met, each as
    (name, why): links leading outside, links not followed, special files, folders that cannot be
    listed (their names end in ``/``), and a walk stopped at :data:`~.walking.MAX_ENTRIES`."""
    from . import walking

    nb_real = notebook.resolve()
    root = nb_real.parent
    matcher = ExcludeMatcher(rules.exclude)
    found: set[str] = set()
    problems: dict[str, str] = {}
    room = walking.MAX_ENTRIES  # for all the specs together: a signature may list a folder many ways
    for spec in dict.fromkeys(rules.include):
        if spec.kind == "directory":
            top_name = "" if spec.path == "." else spec.path
            segments: list[str] = []
        else:
            try:
                prefix, segments = split_glob(spec.path)
            except UsageError as exc:
                problems[spec.path + "/"] = str(exc)  # a name no signed file has
                continue
            top_name = "" if prefix == "." else prefix
        top = root / top_name if top_name else root
        real = top.resolve()
        if not _is_within(real, root) and not (allow_outside and top_name.startswith("..")):
            continue  # the signed files below it are reported as leading outside
        walk = Walk(
            matcher,
            follow_symlinks=rules.follow_symlinks,
            boundary=str(root if _is_within(real, root) else real),
            skip=frozenset({nb_real.name}) if real == root else frozenset(),
            strict=False,
            sizes=False,  # only the names are compared with the signed ones
            max_entries=room,
        )
        walk.walk(str(top), top_name, GlobPattern(segments) if segments else None)
        stopped = walk.stopped
        room -= walk.entries_seen
        found.update(walk.files)
        for name, why in (*walk.problems, *walk.skipped):
            problems.setdefault(name, why)
        del walk  # its listing of every file goes before the next spec is walked
        if stopped:
            break
    return Selected(found, sorted(problems.items()))


def check_outputs(
    notebook: Path,
    signed: tuple[OutputDigest, ...],
    *,
    allow_outside: bool = False,
    rules: OutputRules | None = None,
    jobs: int | None = None,
    progress: bool = False,
    selected: Selected | None = None,
) -> list[OutputReport]:
    """Recompute each signed output's digest and compare; with ``rules``, also name as ``added``
    the files that appeared since signing in signed directories or patterns, and, with the reason
    they were not checked, the links, special files and unreadable folders found there.

    ``selected`` is what :func:`enumerate_rules` found for ``rules``, when the caller walked the
    folders already (before holding many signed outputs: the walk's listing and they then do not
    take memory at the same time)."""
    from .report import OutputReport

    # Lean on purpose (100,000 outputs must stay within about 1 KB each): the folders are walked
    # first, digests are shared with the signed ones, and files are hashed in slices, so only one
    # slice's results are alive at a time.
    added: list[OutputReport] = []
    walked: set[str] = set()
    if rules is not None:
        selected = selected or enumerate_rules(notebook, rules, allow_outside=allow_outside)
        added = _added(signed, selected)
        if not allow_outside:
            # What the walk found is a regular file, or a link it followed, in a folder inside the
            # root: its checks below were made by the walk.
            walked = selected.names
    selected = None

    root = notebook.resolve().parent
    prefix = os.path.join(str(root), "")  # the root and one separator: joined by concatenation
    names = [out.path for out in signed]
    for name in names:
        check_relative_path(name, allow_parent=allow_outside)
    leaving = set() if allow_outside else _leading_outside(root, [n for n in names if n not in walked])
    del walked  # not kept while the outputs are hashed
    reports: list[OutputReport | None] = [None] * len(signed)
    to_hash: Sequence[int] = range(len(signed))  # the index in ``signed`` of each output to hash
    if leaving:
        to_hash = [i for i, name in enumerate(names) if name not in leaving]
        for i, (name, sha256, _) in enumerate(signed):
            if name in leaving:
                why = "now a link outside the notebook's folder"
                reports[i] = OutputReport(name, "modified", sha256, None, why)
    bar = None
    if progress and Progress.shown_on():
        total = sum(signed[i][2] if signed[i][2] >= 0 else _size(prefix + names[i]) for i in to_hash)
        bar = Progress.for_terminal(total, len(to_hash), label="checking outputs")
    with bar if bar is not None else contextlib.nullcontext():
        for first in range(0, len(to_hash), _CHECK_SLICE):
            part = to_hash[first : first + _CHECK_SLICE]
            part_names = [names[i] for i in part]
            sizes = [signed[i][2] for i in part]
            results = hash_files(
                part_names,  # relative to the root
                names=part_names,
                sizes=sizes if min(sizes) >= 0 else None,
                jobs=jobs,
                progress=bar,
                collect_errors=True,
                root=str(root),
            )
            for i, result in zip(part, results, strict=True):
                name, sha256, _ = signed[i]
                if type(result) is FileHash:
                    if result[0] == sha256:  # the signed digest shared, not a copy
                        reports[i] = OutputReport(name, "ok", sha256, sha256)
                    else:
                        reports[i] = OutputReport(name, "modified", sha256, result[0])
                else:
                    why = "file not found" if not os.path.lexists(prefix + name) else str(result)
                    reports[i] = OutputReport(name, "missing", sha256, None, why)
    return [r for r in reports if r is not None] + added


def _leading_outside(root: Path, names: list[str]) -> set[str]:
    """Those of ``names`` (relative to ``root``) that lead outside it now: in a folder that does, or
    a link to a file outside. A folder holding many of them is listed once to find its links (the
    directory entries say which are links: no stat per file on most file systems) instead of one
    lstat per file."""
    prefix = os.path.join(str(root), "")
    crowded = _crowded_folders(names)
    folders: dict[str, tuple[bool, frozenset[str] | None]] = {}
    leaving = set()
    for name in names:
        parent, _, base = name.rpartition("/")
        info = folders.get(parent)
        if info is None:
            inside = _is_within(Path(os.path.realpath(prefix + parent)), root)
            links = None
            if inside and parent in crowded:
                with contextlib.suppress(OSError), os.scandir(prefix + parent) as entries:
                    links = frozenset(e.name for e in entries if e.is_symlink())
            info = folders[parent] = (inside, links)
        inside, links = info
        if not inside or (
            (base in links if links is not None else os.path.islink(prefix + name))
            and not _is_within(Path(os.path.realpath(prefix + name)), root)
        ):
            leaving.add(name)
    return leaving


def _size(path: str) -> int:
    """A file's size for a progress bar (0 when it cannot be stat'ed: hashing reports why)."""
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _crowded_folders(names: Sequence[str]) -> set[str]:
    """The folders holding at least :data:`_CROWDED` of ``names`` (relative to the root)."""
    from collections import Counter

    counts = Counter(name.rpartition("/")[0] for name in names)
    return {folder for folder, n in counts.items() if n >= _CROWDED}


_CROWDED = 256
_CHECK_SLICE = 32768
"""Files hashed per call when checking outputs (each call's names and results are then dropped)."""


def _added(signed: Sequence[OutputDigest], selected: Selected) -> list[OutputReport]:
    """The files the recorded rules select now that are not signed, and what else they met."""
    from .report import OutputReport

    signed_names = {out.path for out in signed}
    added = [
        OutputReport(name, "added", None, None, "not in the signature")
        for name in sorted(selected.names - signed_names)
    ]
    added += [
        OutputReport(name, "added", None, None, message)
        for name, message in selected.problems
        if name not in signed_names
    ]
    return added
