"""Finding files: folders walked recursively, glob patterns, ``.gitignore``-style excludes, symlink rules.

A pattern has ``*``, ``?`` and ``[...]`` within one path segment and ``**`` for any number of
folders; like :mod:`glob`, wildcards do not match names that start with a dot. Symbolic links met
while walking are skipped unless ``follow_symlinks`` is set, and even then never lead outside the
walk's boundary. Every real folder is listed once, whatever links lead to it (loops included), and
a walk looks at no more than :data:`MAX_ENTRIES` entries.

:mod:`outputs` builds signing and verification on this; ``jupyter-sigstore digest`` uses
:func:`expand_paths`. Only small standard modules are imported at load time (``re`` when a
pattern needs it, ``pathspec`` for custom exclude rules), so that ``digest`` starts fast.
"""

from __future__ import annotations

import heapq
import os
import stat as _stat
from itertools import islice
from operator import itemgetter

from .errors import OutputError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from collections.abc import Iterable, Sequence
    from typing import Any

MANIFEST_SUFFIX = ".outputs.sha256"
"""The name ending of an outputs manifest (:mod:`~jupyter_sigstore.manifest`)."""
DEFAULT_EXCLUDES: tuple[str, ...] = (".git/", ".ipynb_checkpoints/", "*.sigstore.json", "*" + MANIFEST_SUFFIX)
"""Always excluded from directories and patterns: version-control data, Jupyter's checkpoints,
Sigstore bundles (ours included, which are written after hashing) and outputs manifests (each is
signed as what stands for the outputs it lists)."""

MAX_RULES = 1000
MAX_PATTERN_LENGTH = 1024
MAX_GLOB_SEGMENTS = 32
"""Path parts a pattern may have from its first wildcard on: matching costs up to this much per entry."""
_WILDCARDS = frozenset("*?[")


class OutputFile(tuple[str, str, int]):
    """A file found: its name (in a signature: relative to the notebook), where it is on disk, and
    its size when known (-1 if not). Compares and unpacks as a ``(name, path, size)`` tuple."""

    __slots__ = ()

    def __new__(cls, name: str, path: str, size: int = -1) -> OutputFile:
        return tuple.__new__(cls, (name, path, size))

    @property
    def name(self) -> str:
        """The file's name as signed (a relative POSIX path)."""
        return self[0]

    @property
    def path(self) -> str:
        """Where the file is on disk."""
        return self[1]

    @property
    def size(self) -> int:
        """Its size in bytes, or -1 when the walk did not look."""
        return self[2]

    def __getnewargs__(self) -> tuple[object, ...]:  # for pickle and copy, as a NamedTuple has
        return tuple(self)

    def __repr__(self) -> str:
        return f"OutputFile(name={self[0]!r}, path={self[1]!r}, size={self[2]})"


def has_wildcard(text: str) -> bool:
    """True if ``text`` holds a glob wildcard (``*``, ``?`` or ``[``)."""
    return not _WILDCARDS.isdisjoint(text)


def check_exclude(pattern: Any) -> str:
    """Validate one exclude pattern (raises ValueError)."""
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
        self.file_suffixes: tuple[str, ...] | None = None
        """With the default rules only: a file is excluded if its name ends with one of these."""
        if all(p in DEFAULT_EXCLUDES for p in self.patterns):
            self._dir_names = frozenset(p[:-1] for p in self.patterns if p.endswith("/"))
            self._suffixes = tuple(p[1:] for p in self.patterns if p.startswith("*"))
            self.file_suffixes = self._suffixes
        else:
            import pathspec

            try:
                self._spec = pathspec.GitIgnoreSpec.from_lines(self.patterns)
            except Exception as exc:  # pathspec raises assorted errors on malformed patterns
                raise ValueError(f"bad exclude pattern: {exc}") from None

    def excluded(self, name: str, is_dir: bool, base: str | None = None) -> bool:
        """True if the file or directory ``name`` (relative POSIX path) is excluded.

        ``base`` is the name's last part, when the caller already has it.
        """
        if self._spec is not None:
            return bool(self._spec.match_file(name + "/" if is_dir else name))
        if base is None:
            base = name.rpartition("/")[2]
        return (is_dir and base in self._dir_names) or base.endswith(self._suffixes)


def excludes(extra: Sequence[str]) -> ExcludeMatcher:
    """The default exclude rules plus the user's ``extra`` ones (raises UsageError if malformed)."""
    if len(extra) > MAX_RULES:
        raise UsageError(f"more than {MAX_RULES} exclude patterns")
    try:
        patterns = [check_exclude(p) for p in extra]
        return ExcludeMatcher([*DEFAULT_EXCLUDES, *(p for p in patterns if p not in DEFAULT_EXCLUDES)])
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _segment_regex(segment: str) -> re.Pattern[str]:
    import fnmatch
    import re

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
        if has_wildcard(part):
            rest = [p for p in parts[k:] if p != ""]
            if any(p in (".", "..") for p in rest):
                raise UsageError(f"output pattern {spec}: '.' or '..' may not follow a wildcard")
            if len(rest) > MAX_GLOB_SEGMENTS:
                raise UsageError(
                    f"output pattern {spec}: more than {MAX_GLOB_SEGMENTS} parts from the first wildcard on"
                )
            prefix = "/".join(literal)
            if spec.startswith("/") and not prefix.startswith("/"):
                prefix = "/" + prefix
            return prefix or ".", rest
        literal.append(part)
    return spec, []


def _not_utf8(name: str) -> bool:
    if name.isascii():
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


LINK_NOT_FOLLOWED = "symbolic link, not followed"
MAX_ENTRIES = 5_000_000
"""How many directory entries (files, folders, links) one walk looks at before it stops with an
error: the most work a hostile folder can cause. Raise it to sign bigger folders."""

# A folder waiting to be listed: (symbolic links followed to reach it, its name, a tie-break,
# its path, the glob state (None once everything below is included), its (device, inode)).
_Folder = tuple[int, str, int, str, "frozenset[int] | None", tuple[int, int]]


def _leads_to_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _special_kind(mode: int) -> str:
    if _stat.S_ISFIFO(mode):
        return "FIFO, not a regular file"
    if _stat.S_ISSOCK(mode):
        return "socket, not a regular file"
    if _stat.S_ISCHR(mode) or _stat.S_ISBLK(mode):
        return "device, not a regular file"
    return "not a regular file"


class Walk:
    """Enumerates regular files under directories with excludes, symlink rules and patterns.

    Found files collect in :attr:`files` (by name); :meth:`found` lists them in name order. With
    ``sizes=False`` regular files are not stat'ed (the directory listing says what each entry is)
    and their size is -1: hashing learns the size anyway, so only a progress bar needs them
    beforehand. ``strict`` raises on the first problem (a link leading outside, an unreadable
    folder, too many entries); otherwise problems collect in :attr:`problems` as (name, message),
    a folder's name ending in ``/``.

    Each real folder (device and inode) is listed once however many links lead to it, so the work
    is bounded by the folders and files that exist, and at most ``max_entries`` (default
    :data:`MAX_ENTRIES`) entries are looked at. A folder reached several ways is named by the way
    through the fewest symbolic links, then by the first name in code-point order, so the same
    tree gives the same names at signing and at verification. Links not followed and special
    files (FIFOs, sockets, devices) that the rules would take are listed in :attr:`skipped` as
    (name, why).
    """

    def __init__(
        self,
        matcher: ExcludeMatcher,
        *,
        follow_symlinks: bool,
        boundary: str | None,
        skip: frozenset[str] = frozenset(),
        strict: bool = True,
        sizes: bool = True,
        max_entries: int | None = None,
    ) -> None:
        self.matcher = matcher
        self.follow = follow_symlinks
        self.boundary = boundary
        self.skip = skip
        self.strict = strict
        self.sizes = sizes
        self.max_entries = MAX_ENTRIES if max_entries is None else max_entries
        self.files: dict[str, OutputFile] = {}
        self.problems: list[tuple[str, str]] = []
        self.skipped: list[tuple[str, str]] = []
        self.revisits = 0  # links to folders walked already (a loop, or two ways to one folder)
        self.folders_listed = 0
        self.entries_seen = 0
        self.stopped = False  # the entry limit was reached
        self._walked: set[tuple[int, int]] = set()
        self._queued = 0

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
        start = pattern.start() if pattern is not None else None
        queue: list[_Folder] = [(0, top_name, self._queued, top, start, (top_st.st_dev, top_st.st_ino))]
        self._queued += 1
        while queue and not self.stopped:
            links, name, _, path, state, key = heapq.heappop(queue)
            if key in self._walked:
                self.revisits += 1
                continue
            self._walked.add(key)
            entries = self._list(path, name)
            prefix = name + "/" if name else ""
            files, skip, sizes = self.files, self.skip, self.sizes
            excluded, suffixes = self.matcher.excluded, self.matcher.file_suffixes
            new = tuple.__new__  # skips OutputFile.__new__'s Python frame
            for entry in entries:
                base = entry.name
                child = prefix + base
                # The common case inline (a plain file in a folder taken whole); the rest in _entry.
                try:
                    plain = state is None and entry.is_file(follow_symlinks=False)
                except OSError:  # a file system without file types in listings: _entry says why
                    plain = False
                if plain and (child.isascii() or not _not_utf8(child)) and child not in skip:
                    if suffixes is not None:
                        kept = not base.endswith(suffixes)
                    else:
                        kept = not excluded(child, False, base)
                    if kept and sizes:
                        self._add_file(child, entry)
                    elif kept and child not in files:
                        files[child] = new(OutputFile, (child, entry.path, -1))
                    continue
                self._entry(entry, child, state, links, pattern, queue)

    def _list(self, path: str, name: str) -> list[os.DirEntry[str]]:
        """A folder's entries, counted against the limit (none if it cannot be listed)."""
        shown = f"{name}/" if name else "./"
        room = self.max_entries - self.entries_seen
        try:
            with os.scandir(path) as it:
                entries = list(islice(it, room + 1))
        except OSError as exc:
            reason = "permission denied" if isinstance(exc, PermissionError) else exc.strerror
            self._problem(shown, f"output folder {name or '.'} cannot be listed ({reason})", OutputError)
            return []
        self.folders_listed += 1
        self.entries_seen += len(entries)
        if len(entries) > room:
            self.stopped = True
            self._problem(
                shown,
                f"walk stopped in {shown}: more than {self.max_entries:,} files, folders and links; "
                "exclude what need not be signed",
                OutputError,
            )
            return []
        return entries

    def found(self, prefix: str = "") -> list[OutputFile]:
        """The files found, in name order, each name with ``prefix`` in front."""
        ordered = sorted(self.files.values(), key=itemgetter(0))  # by name; measured 2x faster than by key
        if not prefix:
            return ordered
        new = tuple.__new__  # skips OutputFile.__new__'s Python frame: this runs once per file
        return [new(OutputFile, (prefix + f[0], f[1], f[2])) for f in ordered]

    def _entry(
        self,
        entry: os.DirEntry[str],
        child: str,
        state: frozenset[int] | None,
        links: int,
        pattern: GlobPattern | None,
        queue: list[_Folder],
    ) -> None:
        if child in self.skip:
            return
        if _not_utf8(child):
            shown = child.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            self._problem(shown, f"output {shown}: the file name is not valid UTF-8; rename it", OutputError)
            return
        st: os.stat_result | None = None
        try:
            is_link = entry.is_symlink()
            if is_link and not self.follow:
                is_dir = is_file = False  # a link is not walked into, like git does
            elif is_link:
                try:
                    st = os.stat(entry.path)
                except FileNotFoundError:
                    self._problem(child, f"output {child} is a broken symbolic link", OutputError)
                    return
                is_dir, is_file = _stat.S_ISDIR(st.st_mode), _stat.S_ISREG(st.st_mode)
            else:
                # The listing's file type, without a stat unless the file system does not give it.
                is_dir = entry.is_dir(follow_symlinks=False)
                is_file = not is_dir and entry.is_file(follow_symlinks=False)
        except FileNotFoundError:
            return  # vanished while listing: not there
        except OSError as exc:
            self._problem(child, f"output {child} cannot be examined ({exc.strerror})", OutputError)
            return
        if self.matcher.excluded(child, is_dir, entry.name):
            return
        if state is None:
            included, child_state = True, None
        else:
            assert pattern is not None
            # A link not followed counts as a folder if it leads to one: files below it could match.
            as_dir = is_dir or (is_link and not self.follow and _leads_to_folder(entry))
            included, glob_next = pattern.step(state, entry.name, as_dir)
            child_state = None if included else glob_next
        if is_link and not self.follow:
            if included or child_state:  # it, or something below it, would be taken
                self.skipped.append((child, LINK_NOT_FOLLOWED))
        elif is_dir:
            if child_state is not None and not child_state:
                return  # the pattern can match nothing below it
            try:
                st = st or entry.stat(follow_symlinks=False)
            except OSError:
                return
            key = (st.st_dev, st.st_ino)
            if key in self._walked:
                self.revisits += 1
                return
            if is_link and self._leads_outside(entry, child):
                return
            heapq.heappush(
                queue, (links + 1 if is_link else links, child, self._queued, entry.path, child_state, key)
            )
            self._queued += 1
        elif not included or (is_link and self._leads_outside(entry, child)):
            return
        elif is_file:
            self._add_file(child, entry, st)
        else:
            try:
                mode = (st or entry.stat(follow_symlinks=False)).st_mode
            except OSError:
                return
            self.skipped.append((child, _special_kind(mode)))

    def _leads_outside(self, entry: os.DirEntry[str], child: str) -> bool:
        real = os.path.realpath(entry.path)
        if self._within(real):
            return False
        self._problem(
            child,
            f"output {child} is a symbolic link to {real}, outside {self.boundary}; "
            "exclude it or replace it with the file",
        )
        return True

    def _add_file(self, child: str, entry: os.DirEntry[str], st: os.stat_result | None = None) -> None:
        size = -1
        if self.sizes:
            try:
                # os.lstat, not entry.stat: the entry would keep its stat result (hundreds of
                # bytes) for as long as the folder's listing lives
                size = (st or os.lstat(entry.path)).st_size
            except OSError:
                return  # vanished while listing: not there
        if child not in self.files:
            self.files[child] = tuple.__new__(OutputFile, (child, entry.path, size))

    def notes(self, where: str) -> list[str]:
        """Human notes about what the walk left out."""
        notes = []
        links = sum(1 for _, why in self.skipped if why == LINK_NOT_FOLLOWED)
        if links:
            notes.append(
                f"skipped {links} symbolic link(s) in {where} "
                "(pass --follow-symlinks to include what they point to)"
            )
        if len(self.skipped) > links:
            notes.append(f"skipped {len(self.skipped) - links} device(s), FIFO(s) or socket(s) in {where}")
        if self.revisits:
            notes.append(
                f"did not walk {self.revisits} folder(s) again in {where}, reached a second time "
                "through a symbolic link (or a link loop)"
            )
        return notes


def expand_paths(
    paths: Sequence[str],
    *,
    exclude: Sequence[str] = (),
    follow_symlinks: bool = False,
    sizes: bool = True,
) -> tuple[list[OutputFile], list[str]]:
    """Expand files, directories and patterns for ``digest``: (files named as given, notes).

    In directories, exclude rules are matched against paths relative to the directory given. With
    ``sizes=False`` files found in folders are not stat'ed (their size is -1, like named files').
    """
    matcher = excludes(exclude)
    out: list[OutputFile] = []
    notes: list[str] = []
    for spec in paths:
        if os.path.lexists(spec):
            if os.path.isdir(spec):
                display = spec.rstrip("/" + os.sep) or spec[:1]
                real = os.path.realpath(spec)
                walk = Walk(matcher, follow_symlinks=follow_symlinks, boundary=real, sizes=sizes)
                walk.walk(spec, "")
                prefix = "" if display in (".",) else display.rstrip("/") + "/"
                if display == "/":
                    prefix = "/"
                out += walk.found(prefix)
                notes += walk.notes(spec)
            else:
                out.append(OutputFile(spec, spec, -1))
            continue
        if not has_wildcard(spec):
            raise OutputError(f"{spec} does not exist")
        prefix_dir, segments = split_glob(spec)
        if not os.path.isdir(prefix_dir):
            raise OutputError(f"pattern {spec} matches no file ({prefix_dir} is not a folder)")
        walk = Walk(
            matcher, follow_symlinks=follow_symlinks, boundary=os.path.realpath(prefix_dir), sizes=sizes
        )
        walk.walk(prefix_dir, "", GlobPattern(segments))
        if not walk.files:
            raise OutputError(f"pattern {spec} matches no file")
        lead = "" if prefix_dir == "." and not spec.startswith("./") else prefix_dir.rstrip("/") + "/"
        out += walk.found(lead)
        notes += walk.notes(spec)
    return out, notes


def sizes_of(files: Sequence[OutputFile]) -> list[int]:
    """Each file's size, stat'ing those the walk did not (0 for one that cannot be stat'ed: hashing
    it reports why)."""
    sizes = []
    for f in files:
        size = f.size
        if size < 0:
            try:
                size = os.stat(f.path).st_size
            except OSError:
                size = 0
        sizes.append(size)
    return sizes


def needs_escape(name: str) -> bool:
    """Whether ``sha256sum`` escapes ``name`` in a checksum line: it holds a backslash or a line break."""
    return "\\" in name or "\n" in name or "\r" in name


def listing_needs_escape(text: str, lines: int) -> bool:
    """Whether ``text``, ``lines`` checksum lines written without escapes, names a file that
    :func:`needs_escape` (hex digests hold no backslash or line break: any is in a name). One test of
    the whole listing, not one per name."""
    return "\\" in text or "\r" in text or text.count("\n") != lines


def escape_name(name: str) -> tuple[str, bool]:
    """Escape a file name for a checksum line as ``sha256sum`` does: (text, was it escaped)."""
    if not needs_escape(name):
        return name, False
    return name.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r"), True
