"""Data outputs: choosing the files, naming them relative to the notebook, hashing and re-checking them.

An output spec is a file, a directory (taken recursively) or a glob pattern (``*``, ``?``, ``[...]``
within one path segment, ``**`` for any number of directories; like :mod:`glob`, wildcards do not
match names that start with a dot). Files found in directories and by patterns pass through
``.gitignore``-style exclude rules (:data:`DEFAULT_EXCLUDES` plus the user's ``--exclude``), matched
against the name the file gets in the signature, i.e. its POSIX path relative to the notebook's
folder. Directory and pattern specs and the exclude rules are recorded in the signed statement
(:class:`OutputRules`), so verification enumerates the same files with the same rules and names a
file that appeared since signing as ``added``.

Symbolic links found while walking a directory are skipped unless ``follow_symlinks`` is set, and
even then never lead outside the root (the notebook's folder); a link loop is not followed twice.

This module imports only :mod:`hashing` at load time so ``jupyter-sigstore digest`` starts fast.
"""

from __future__ import annotations

import os
import re
import stat as _stat
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from .errors import BundleError, OutputError, UsageError
from .hashing import FileHash, Progress, hash_files

if TYPE_CHECKING:
    from .report import OutputReport
    from .statement import OutputDigest

DEFAULT_EXCLUDES: tuple[str, ...] = (".git/", ".ipynb_checkpoints/", "*.sigstore.json")
"""Always excluded from directories and patterns: version-control data, Jupyter's checkpoints and
Sigstore bundles (ours included, which are written after hashing)."""

MAX_RULES = 1000
MAX_PATTERN_LENGTH = 1024
_MAGIC = re.compile(r"[*?\[]")


class OutputFile(NamedTuple):
    """An output file: its name in the signature (relative to the notebook), where it is on disk,
    and its size when known (-1 if not)."""

    name: str
    path: str
    size: int = -1


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
            exclude = tuple(_check_exclude(p) for p in raw_exclude)
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
    if kind == "glob" and not _MAGIC.search(path):
        raise ValueError(f"output glob spec {path!r} has no wildcard")
    return path


def _check_exclude(pattern: Any) -> str:
    if not isinstance(pattern, str) or not pattern.strip() or len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(f"exclude pattern {pattern!r} is empty, too long or not text")
    if "\x00" in pattern or "\n" in pattern or "\r" in pattern:
        raise ValueError(f"exclude pattern {pattern!r} contains a control character")
    return pattern


class ExcludeMatcher:
    """``.gitignore``-style exclusion over POSIX names (directories are tested with a trailing ``/``).

    The default rules are matched without importing ``pathspec`` (they only look at a name's last
    part, exactly as gitignore treats patterns without an inner slash); any other rule uses
    ``pathspec.GitIgnoreSpec`` with git's semantics (last match wins, ``!`` re-includes).
    """

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = tuple(patterns)
        self._spec: Any = None
        self._dir_names: frozenset[str] = frozenset()
        self._suffixes: tuple[str, ...] = ()
        if all(p in DEFAULT_EXCLUDES for p in self.patterns):
            self._dir_names = frozenset(p[:-1] for p in self.patterns if p.endswith("/"))
            self._suffixes = tuple(p[1:] for p in self.patterns if p.startswith("*"))
        else:
            import pathspec

            try:
                self._spec = pathspec.GitIgnoreSpec.from_lines(self.patterns)
            except Exception as exc:  # pathspec raises assorted errors on malformed patterns
                raise ValueError(f"bad exclude pattern: {exc}") from None

    def excluded(self, name: str, is_dir: bool) -> bool:
        """True if the file or directory ``name`` (relative POSIX path) is excluded."""
        if self._spec is not None:
            return bool(self._spec.match_file(name + "/" if is_dir else name))
        base = name.rsplit("/", 1)[-1]
        return (is_dir and base in self._dir_names) or base.endswith(self._suffixes)


def _segment_regex(segment: str) -> re.Pattern[str]:
    import fnmatch

    return re.compile(fnmatch.translate(segment))


class GlobPattern:
    """A glob over a directory tree (segments relative to the directory it starts in)."""

    def __init__(self, segments: Sequence[str]) -> None:
        self.segments = tuple(segments)
        self._regex = [None if s == "**" else _segment_regex(s) for s in self.segments]

    def _closure(self, states: Iterable[int]) -> set[int]:
        out: set[int] = set()
        todo = list(states)
        while todo:
            i = todo.pop()
            if i in out:
                continue
            out.add(i)
            if i < len(self.segments) and self.segments[i] == "**":
                todo.append(i + 1)
        return out

    def start(self) -> frozenset[int]:
        """The initial matcher state."""
        return frozenset(self._closure([0]))

    def step(self, states: frozenset[int], name: str, is_dir: bool) -> tuple[bool, frozenset[int]]:
        """Consume one path segment: (does the path so far match, state for its children)."""
        end = len(self.segments)
        hidden = name.startswith(".")
        matched = False
        following: set[int] = set()
        for i in states:
            if i >= end:
                continue
            regex = self._regex[i]
            if regex is None:  # "**": any non-hidden directories, or anything at the end
                if hidden:
                    continue
                if is_dir:
                    following.add(i)
                if i + 1 == end:
                    matched = True
                continue
            if hidden and not self.segments[i].startswith("."):
                continue
            if regex.match(name):
                if i + 1 == end:
                    matched = True
                elif is_dir:
                    following.add(i + 1)
        return matched, frozenset(self._closure(following))


def split_glob(spec: str) -> tuple[str, list[str]]:
    """Split a pattern into its literal directory prefix and its wildcard segments."""
    parts = spec.replace(os.sep, "/").split("/")
    literal: list[str] = []
    for k, part in enumerate(parts):
        if _MAGIC.search(part):
            rest = [p for p in parts[k:] if p != ""]
            if any(p in (".", "..") for p in rest):
                raise UsageError(f"output pattern {spec}: '.' or '..' may not follow a wildcard")
            prefix = "/".join(literal)
            if spec.startswith("/") and not prefix.startswith("/"):
                prefix = "/" + prefix
            return prefix or ".", rest
        literal.append(part)
    return spec, []


# --- walking ---------------------------------------------------------------------------------


class _Walk:
    """Enumerates regular files under directories with excludes, symlink rules and patterns."""

    def __init__(
        self,
        matcher: ExcludeMatcher,
        *,
        follow_symlinks: bool,
        boundary: str | None,
        skip: frozenset[str] = frozenset(),
        strict: bool = True,
    ) -> None:
        self.matcher = matcher
        self.follow = follow_symlinks
        self.boundary = boundary
        self.skip = skip
        self.strict = strict
        self.files: dict[str, OutputFile] = {}
        self.problems: list[tuple[str, str]] = []
        self.skipped_links = 0
        self.skipped_special = 0
        self.loops = 0

    def _problem(self, name: str, message: str, exc: type[Exception] = UsageError) -> None:
        if self.strict:
            raise exc(message)
        self.problems.append((name, message))

    def _within(self, real: str) -> bool:
        b = self.boundary
        return b is None or real == b or real.startswith(b.rstrip("/") + "/")

    def walk(self, top: str, top_name: str, pattern: GlobPattern | None = None) -> None:
        """Add the files under directory ``top`` (named ``top_name`` in the signature)."""
        try:
            top_st = os.stat(top)
        except OSError:
            return
        start_state = pattern.start() if pattern is not None else frozenset()
        # (path, name, glob state or None once everything below is included, ancestors)
        stack: list[tuple[str, str, frozenset[int] | None, tuple[tuple[int, int], ...]]] = [
            (top, top_name, start_state if pattern is not None else None, ((top_st.st_dev, top_st.st_ino),))
        ]
        while stack:
            path, name, state, ancestors = stack.pop()
            try:
                with os.scandir(path) as it:
                    entries = list(it)
            except OSError as exc:
                if self.strict:
                    reason = "permission denied" if isinstance(exc, PermissionError) else exc.strerror
                    raise OutputError(f"output folder {name or '.'} cannot be listed ({reason})") from None
                continue
            for entry in entries:
                child = f"{name}/{entry.name}" if name else entry.name
                if child in self.skip:
                    continue
                try:
                    child.encode("utf-8")
                except UnicodeEncodeError:
                    shown = child.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
                    self._problem(
                        shown, f"output {shown}: the file name is not valid UTF-8; rename it", OutputError
                    )
                    continue
                try:
                    is_link = entry.is_symlink()
                    if is_link:
                        if not self.follow:
                            self.skipped_links += 1
                            continue
                        real = os.path.realpath(entry.path)
                        if not self._within(real):
                            self._problem(
                                child,
                                f"output {child} is a symbolic link to {real}, outside {self.boundary}; "
                                "exclude it or replace it with the file",
                            )
                            continue
                        st = os.stat(entry.path)
                    else:
                        st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    if is_link:
                        self._problem(child, f"output {child} is a broken symbolic link", OutputError)
                    continue  # vanished while listing: not there
                except OSError as exc:
                    self._problem(child, f"output {child} cannot be examined ({exc.strerror})", OutputError)
                    continue
                is_dir = _stat.S_ISDIR(st.st_mode)
                if self.matcher.excluded(child, is_dir):
                    continue
                if state is None:
                    included, child_state = True, None
                else:
                    assert pattern is not None
                    included, glob_next = pattern.step(state, entry.name, is_dir)
                    child_state = None if included else glob_next
                if is_dir:
                    key = (st.st_dev, st.st_ino)
                    if key in ancestors:
                        self.loops += 1
                        continue
                    if child_state is None or child_state:
                        stack.append((entry.path, child, child_state, (*ancestors, key)))
                elif not included:
                    continue
                elif _stat.S_ISREG(st.st_mode):
                    self.files.setdefault(child, OutputFile(child, entry.path, st.st_size))
                else:
                    self.skipped_special += 1

    def notes(self, where: str) -> list[str]:
        """Human notes about what the walk left out."""
        notes = []
        if self.skipped_links:
            notes.append(
                f"skipped {self.skipped_links} symbolic link(s) in {where} "
                "(pass --follow-symlinks to include what they point to)"
            )
        if self.skipped_special:
            notes.append(f"skipped {self.skipped_special} device(s), FIFO(s) or socket(s) in {where}")
        if self.loops:
            notes.append(f"did not follow {self.loops} symbolic-link loop(s) in {where}")
        return notes


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


def _excludes(extra: Sequence[str]) -> ExcludeMatcher:
    if len(extra) > MAX_RULES:
        raise UsageError(f"more than {MAX_RULES} exclude patterns")
    try:
        patterns = [_check_exclude(p) for p in extra]
        return ExcludeMatcher([*DEFAULT_EXCLUDES, *(p for p in patterns if p not in DEFAULT_EXCLUDES)])
    except ValueError as exc:
        raise UsageError(str(exc)) from None


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
    matcher = _excludes(options.exclude)
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
                walk = _Walk(
                    matcher,
                    follow_symlinks=options.follow_symlinks,
                    boundary=str(boundary),
                    skip=frozenset({nb_real.name}) if real == root else frozenset(),
                )
                walk.walk(str(path), name)
                include.append(IncludeSpec("directory", name or "."))
                for f in walk.files.values():
                    files.setdefault(f.name, f)
                notes += walk.notes(spec)
                if not walk.files:
                    notes.append(f"folder {spec} holds no file to sign (after exclusions)")
                continue
            if real == nb_real:
                raise UsageError(f"output {spec} is the notebook itself, which is always signed")
            if _is_own_sidecar(name, nb_real.name) and real.parent == root:
                raise UsageError(f"output {spec} is this notebook's own signature bundle")
            _check_name(name or spec)
            if not path.exists():
                raise OutputError(f"output {spec} is a broken symbolic link")
            files.setdefault(name, OutputFile(name, str(path), -1))
            continue
        if not _MAGIC.search(spec):
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
        walk = _Walk(
            matcher,
            follow_symlinks=options.follow_symlinks,
            boundary=str(root if _is_within(top_real, root) else top_real),
            skip=frozenset({nb_real.name}) if top_real == root else frozenset(),
        )
        walk.walk(str(top), top_name, GlobPattern(segments))
        if not walk.files:
            raise OutputError(f"output pattern {spec} matches no file")
        include.append(IncludeSpec("glob", pattern_text))
        for f in walk.files.values():
            files.setdefault(f.name, f)
        notes += walk.notes(spec)
    rules = (
        OutputRules(tuple(dict.fromkeys(include)), matcher.patterns, options.follow_symlinks)
        if include
        else None
    )
    return OutputSelection(sorted(files.values(), key=lambda f: f.name), rules, notes)


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
    if not enabled:
        return None
    sizes = [f.size if f.size >= 0 else _size(f.path) for f in files]
    return Progress.for_terminal(sum(sizes), len(files), label=label)


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def hash_outputs(
    files: Sequence[OutputFile], *, jobs: int | None = None, progress: bool = False
) -> list[OutputDigest]:
    """SHA-256 and size of each output file, hashed in parallel; the first failure is raised."""
    from .statement import OutputDigest

    bar = _progress(files, progress, "hashing outputs")
    sizes = [f.size for f in files] if all(f.size >= 0 for f in files) else None
    if bar is None:
        results = hash_files([f.path for f in files], names=[f.name for f in files], sizes=sizes, jobs=jobs)
    else:
        with bar:
            results = hash_files(
                [f.path for f in files], names=[f.name for f in files], sizes=sizes, jobs=jobs, progress=bar
            )
    digests = []
    for f, r in zip(files, results, strict=True):
        assert isinstance(r, FileHash)
        digests.append(OutputDigest(f.name, r.sha256, r.size))
    return digests


# --- verification ----------------------------------------------------------------------------


def enumerate_rules(
    notebook: Path, rules: OutputRules, *, allow_outside: bool = False
) -> tuple[dict[str, OutputFile], list[tuple[str, str]]]:
    """The files the recorded rules select today, and problems found (links leading outside)."""
    nb_real = notebook.resolve()
    root = nb_real.parent
    matcher = ExcludeMatcher(rules.exclude)
    found: dict[str, OutputFile] = {}
    problems: list[tuple[str, str]] = []
    for spec in rules.include:
        if spec.kind == "directory":
            top_name = "" if spec.path == "." else spec.path
            segments: list[str] = []
        else:
            prefix, segments = split_glob(spec.path)
            top_name = "" if prefix == "." else prefix
        top = root / top_name if top_name else root
        real = top.resolve()
        if not _is_within(real, root) and not (allow_outside and top_name.startswith("..")):
            continue  # the signed files below it are reported as leading outside
        walk = _Walk(
            matcher,
            follow_symlinks=rules.follow_symlinks,
            boundary=str(root if _is_within(real, root) else real),
            skip=frozenset({nb_real.name}) if real == root else frozenset(),
            strict=False,
        )
        walk.walk(str(top), top_name, GlobPattern(segments) if segments else None)
        for f in walk.files.values():
            found.setdefault(f.name, f)
        problems += walk.problems
    return found, problems


def _plain_relative(name: str, allow_parent: bool) -> bool:
    """A fast test that ``name`` is a normal relative POSIX path (what check_relative_path admits)."""
    if not name or "\x00" in name or "\\" in name or name[0] == "/":
        return False
    parts = name.split("/")
    if allow_parent:
        while parts and parts[0] == "..":
            parts.pop(0)
    return bool(parts) and "" not in parts and "." not in parts and ".." not in parts


def check_outputs(
    notebook: Path,
    signed: tuple[OutputDigest, ...],
    *,
    allow_outside: bool = False,
    rules: OutputRules | None = None,
    jobs: int | None = None,
    progress: bool = False,
) -> list[OutputReport]:
    """Recompute each signed output's digest and compare; with ``rules``, also name files that
    appeared since signing in signed directories or patterns as ``added``."""
    from .report import OutputReport
    from .statement import check_relative_path

    root = notebook.resolve().parent
    root_text = str(root)
    reports: list[OutputReport | None] = []
    to_hash: list[tuple[int, OutputDigest, str]] = []
    folder_inside: dict[str, bool] = {}  # each parent folder's real location, resolved once

    def leads_outside(name: str, path: str) -> bool:
        if allow_outside:
            return False
        parent = name.rpartition("/")[0]
        if parent not in folder_inside:
            folder_inside[parent] = _is_within(Path(os.path.realpath(os.path.join(root_text, parent))), root)
        if not folder_inside[parent]:
            return True
        return os.path.islink(path) and not _is_within(Path(os.path.realpath(path)), root)

    for out in signed:
        if not _plain_relative(out.path, allow_outside):
            check_relative_path(out.path, allow_parent=allow_outside)  # raises with the reason
        path = os.path.join(root_text, out.path)
        if leads_outside(out.path, path):
            reports.append(
                OutputReport(
                    out.path, "modified", out.sha256, None, "now a link outside the notebook's folder"
                )
            )
            continue
        to_hash.append((len(reports), out, path))
        reports.append(None)
    files = [OutputFile(out.path, path, out.size) for _, out, path in to_hash]
    bar = _progress(files, progress, "checking outputs")
    kwargs: dict[str, Any] = {
        "names": [f.name for f in files],
        "sizes": [f.size for f in files],
        "jobs": jobs,
        "collect_errors": True,
    }
    if bar is None:
        results = hash_files([f.path for f in files], **kwargs)
    else:
        with bar:
            results = hash_files([f.path for f in files], progress=bar, **kwargs)
    for (slot, out, path), result in zip(to_hash, results, strict=True):
        if isinstance(result, FileHash):
            status: Literal["ok", "modified"] = "ok" if result.sha256 == out.sha256 else "modified"
            reports[slot] = OutputReport(out.path, status, out.sha256, result.sha256)
        elif not os.path.lexists(path):
            reports[slot] = OutputReport(out.path, "missing", out.sha256, None, "file not found")
        else:
            reports[slot] = OutputReport(out.path, "missing", out.sha256, None, str(result))
    final = [r for r in reports if r is not None]
    if rules is not None:
        signed_names = {o.path for o in signed}
        found, problems = enumerate_rules(notebook, rules, allow_outside=allow_outside)
        added = [
            OutputReport(name, "added", None, None, "not in the signature")
            for name in sorted(found)
            if name not in signed_names
        ]
        added += [
            OutputReport(name, "added", None, None, message)
            for name, message in problems
            if name not in signed_names
        ]
        final += added
    return final


# --- digest (the CLI's `digest` command) -----------------------------------------------------


def expand_paths(
    paths: Sequence[str], *, exclude: Sequence[str] = (), follow_symlinks: bool = False
) -> tuple[list[OutputFile], list[str]]:
    """Expand files, directories and patterns for ``digest``: (files named as given, notes).

    In directories, exclude rules are matched against paths relative to the directory given.
    """
    matcher = _excludes(exclude)
    out: list[OutputFile] = []
    notes: list[str] = []
    for spec in paths:
        if os.path.lexists(spec):
            if os.path.isdir(spec):
                display = spec.rstrip("/" + os.sep) or spec[:1]
                real = os.path.realpath(spec)
                walk = _Walk(matcher, follow_symlinks=follow_symlinks, boundary=real)
                walk.walk(spec, "")
                prefix = "" if display in (".",) else display.rstrip("/") + "/"
                if display == "/":
                    prefix = "/"
                out += [
                    OutputFile(prefix + f.name, f.path, f.size)
                    for f in sorted(walk.files.values(), key=lambda f: f.name)
                ]
                notes += walk.notes(spec)
            else:
                out.append(OutputFile(spec, spec, -1))
            continue
        if not _MAGIC.search(spec):
            raise OutputError(f"{spec} does not exist")
        prefix_dir, segments = split_glob(spec)
        if not os.path.isdir(prefix_dir):
            raise OutputError(f"pattern {spec} matches no file ({prefix_dir} is not a folder)")
        walk = _Walk(matcher, follow_symlinks=follow_symlinks, boundary=os.path.realpath(prefix_dir))
        walk.walk(prefix_dir, "", GlobPattern(segments))
        if not walk.files:
            raise OutputError(f"pattern {spec} matches no file")
        lead = "" if prefix_dir == "." and not spec.startswith("./") else prefix_dir.rstrip("/") + "/"
        matches = sorted(walk.files.values(), key=lambda f: f.name)
        out += [OutputFile(lead + f.name, f.path, f.size) for f in matches]
        notes += walk.notes(spec)
    return out, notes


def escape_name(name: str) -> tuple[str, bool]:
    """Escape a file name for a checksum line as ``sha256sum`` does: (text, was it escaped)."""
    if "\\" not in name and "\n" not in name and "\r" not in name:
        return name, False
    return name.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r"), True


def display_name(name: str) -> str:
    """A file name safe to print (bytes that are not UTF-8 shown as backslash escapes)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
