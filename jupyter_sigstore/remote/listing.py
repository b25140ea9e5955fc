"""Which objects a URL output spec names: one object, everything under a prefix, or a glob pattern.

- ``s3://bucket/key``: that object; a URL without a trailing slash that names no object but has
  objects below it is taken as a prefix.
- ``s3://bucket/run-42/`` (or ``s3://bucket``): every object below the prefix, recursively.
- ``s3://bucket/run-42/**/*.parquet``: the objects below the pattern's literal prefix that match it,
  with the local patterns' rules (``*``, ``?``, ``[...]`` within one part, ``**`` for any number of
  parts, wildcards do not match names starting with a dot).

Below a prefix or pattern the exclude rules of local folders apply (``.git/``, ``.ipynb_checkpoints/``,
``*.sigstore.json`` and the user's ``--exclude``), matched against each object's path relative to
the prefix, or to the pattern's literal prefix. Prefix and pattern specs, with the exclude rules,
are recorded in the signed statement (:class:`RemoteRules`) so that verification names objects added
since signing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from ..errors import BundleError, OutputError, UsageError
from ..walking import (
    DEFAULT_EXCLUDES,
    MAX_RULES,
    ExcludeMatcher,
    GlobPattern,
    check_exclude,
    excludes,
    has_wildcard,
    split_glob,
)
from .objects import RemoteDigest, RemoteObject, etag_of, version_of
from .urls import (
    FileSystems,
    ObjectChangedError,
    ObjectMissingError,
    check_url,
    object_error,
    path_of,
    protocol_of,
    single_file_only,
)

MAX_OBJECTS = 250_000
"""At most this many objects are listed for one operation (signing refuses more; verification stops
listing there and says so)."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

SpecKind = Literal["object", "prefix", "glob"]


@dataclass(frozen=True)
class RemoteSpec:
    """A URL output spec: ``object`` (one object), ``prefix`` (URL ending in ``/``) or ``glob``."""

    kind: SpecKind
    url: str

    def top(self) -> str:
        """The prefix URL (ending in ``/``) that the spec's objects are listed below."""
        if self.kind == "prefix":
            return self.url
        if self.kind == "glob":
            protocol = protocol_of(self.url)
            literal, _ = split_glob(self.url[len(protocol) + 3 :])
            return f"{protocol}://{literal.rstrip('/')}/"
        return self.url

    def segments(self) -> list[str]:
        """A glob spec's wildcard parts (empty for the other kinds)."""
        if self.kind != "glob":
            return []
        protocol = protocol_of(self.url)
        return split_glob(self.url[len(protocol) + 3 :])[1]


class RemoteRules(NamedTuple):
    """The prefix and pattern specs and the exclude rules remote outputs were chosen with."""

    include: tuple[RemoteSpec, ...]
    exclude: tuple[str, ...] = DEFAULT_EXCLUDES

    def to_json(self) -> dict[str, Any]:
        """The predicate's ``remoteOutputRules`` object."""
        return {
            "include": [{spec.kind: spec.url} for spec in self.include],
            "exclude": list(self.exclude),
        }

    @classmethod
    def from_json(cls, value: Any) -> RemoteRules:
        """Parse and validate a signed ``remoteOutputRules`` object (raises BundleError)."""
        if not isinstance(value, dict):
            raise BundleError("signed statement: predicate.remoteOutputRules must be an object")
        raw_include, raw_exclude = value.get("include"), value.get("exclude", [])
        if not isinstance(raw_include, list) or not isinstance(raw_exclude, list):
            raise BundleError("signed statement: remoteOutputRules.include and .exclude must be lists")
        if len(raw_include) > MAX_RULES or len(raw_exclude) > MAX_RULES:
            raise BundleError(f"signed statement: more than {MAX_RULES} remote output rules")
        include = []
        for item in raw_include:
            if not isinstance(item, dict) or len(item) != 1:
                raise BundleError("signed statement: each remoteOutputRules.include entry names one spec")
            ((kind, url),) = item.items()
            if kind not in ("prefix", "glob"):
                raise BundleError(f"signed statement: unknown remote output spec kind {kind!r}")
            try:
                include.append(_checked_spec(kind, url))
            except UsageError as exc:
                raise BundleError(f"signed statement: {exc}") from None
        try:
            exclude = tuple(check_exclude(p) for p in raw_exclude)
        except ValueError as exc:
            raise BundleError(f"signed statement: {exc}") from None
        return cls(tuple(include), exclude)


def _checked_spec(kind: str, url: Any) -> RemoteSpec:
    check_url(url)
    if single_file_only(url):
        raise UsageError(f"{url}: {protocol_of(url)}:// names single files; it has no prefixes or patterns")
    if kind == "prefix" and not url.endswith("/"):
        raise UsageError(f"remote prefix {url} does not end with '/'")
    if kind == "glob":
        if not has_wildcard(url):
            raise UsageError(f"remote pattern {url} has no wildcard")
        protocol = protocol_of(url)
        literal, _ = split_glob(url[len(protocol) + 3 :])
        if literal in (".", "") or has_wildcard(literal.split("/", 1)[0]):
            raise UsageError(f"remote pattern {url}: name the bucket or container without wildcards")
    return RemoteSpec(kind, url)  # type: ignore[arg-type]


def resolve_spec(fss: FileSystems, url: str) -> tuple[RemoteSpec, RemoteObject | None]:
    """What a URL spec given by a user names, and for one object, that object as it is now.

    Raises OutputError (one line) when it names nothing: no such bucket, object or prefix.
    """
    check_url(url)
    if has_wildcard(url):
        return _checked_spec("glob", url), None
    if url.endswith("/"):
        return _checked_spec("prefix", url), None
    fs = fss.get(url)
    try:
        info = fs.info(path_of(fs, url))
    except FileNotFoundError as exc:
        raise _missing(fss, url, exc) from None
    except Exception as exc:
        raise object_error(url, exc) from None
    if info.get("type") == "directory":
        return _checked_spec("prefix", url + "/"), None
    size = info.get("size")
    return RemoteSpec("object", url), RemoteObject(
        url, size if isinstance(size, int) else -1, etag_of(info), version_of(info)
    )


def _missing(fss: FileSystems, url: str, exc: BaseException) -> OutputError:
    """``url`` is not there: say whether its bucket (or container) is missing, or only the object."""
    error = object_error(url, exc)
    if not isinstance(error, ObjectMissingError) or single_file_only(url):
        return error
    protocol = protocol_of(url)
    bucket = url[len(protocol) + 3 :].split("/", 1)[0]
    fs = fss.get(url)
    try:
        fs.ls(path_of(fs, f"{protocol}://{bucket}"), detail=False)
    except FileNotFoundError:
        return OutputError(f"output {url}: the bucket or container {bucket} does not exist")
    except Exception:  # noqa: S110 - the object's own error says enough
        pass
    return OutputError(f"output {url} does not exist (no object, and no object below it as a prefix)")


class Listing(NamedTuple):
    """The objects a prefix or pattern spec names now, and problems met (objects left out)."""

    objects: list[RemoteObject]
    problems: list[tuple[str, str]]
    truncated: bool


def list_spec(
    fss: FileSystems, spec: RemoteSpec, matcher: ExcludeMatcher, *, limit: int = MAX_OBJECTS
) -> Listing:
    """The objects below a prefix or pattern spec that pass the exclude rules, in URL order.

    Raises OutputError when the prefix cannot be listed (no bucket, access denied, unreachable).
    """
    top = spec.top()
    fs = fss.get(top)
    base = path_of(fs, top).rstrip("/")
    try:
        found = fs.find(base, detail=True, withdirs=False)
    except FileNotFoundError as exc:
        raise _missing(fss, top, exc) from None
    except Exception as exc:
        raise object_error(top, exc) from None
    pattern = GlobPattern(spec.segments()) if spec.kind == "glob" else None
    cut = len(base) + 1
    objects: list[RemoteObject] = []
    problems: list[tuple[str, str]] = []
    truncated = False
    for name in sorted(found):
        info = found[name]
        if not name.startswith(base + "/") or name.endswith("/") or info.get("type", "file") != "file":
            continue  # the prefix itself, or a folder marker
        relative = name[cut:]
        if not _selected(relative, matcher, pattern):
            continue
        url = top + relative
        if _CONTROL.search(relative):
            shown = relative.encode("unicode_escape").decode("ascii")
            problems.append((top + shown, f"output {top + shown}: the object name holds control characters"))
            continue
        if len(objects) >= limit:
            truncated = True
            break
        size = info.get("size")
        objects.append(
            RemoteObject(url, size if isinstance(size, int) else -1, etag_of(info), version_of(info))
        )
    return Listing(objects, problems, truncated)


def _selected(relative: str, matcher: ExcludeMatcher, pattern: GlobPattern | None) -> bool:
    """Whether an object (its path below the spec's top) passes the excludes and the pattern."""
    parts = relative.split("/")
    if "" in parts:
        return False  # a doubled or leading slash: not a name a pattern or exclude can speak of
    state = pattern.start() if pattern is not None else None
    for n, part in enumerate(parts):
        is_dir = n < len(parts) - 1
        name = "/".join(parts[: n + 1])
        if matcher.excluded(name, is_dir, part):
            return False
        if state is None or pattern is None:
            continue
        matched, following = pattern.step(state, part, is_dir)
        if not is_dir:
            return matched
        if matched:
            state = None  # a matched folder takes everything below it
        elif not following:
            return False
        else:
            state = following
    return state is None


class RemoteSelection(NamedTuple):
    """The objects chosen for signing, the rules to record (None for single objects only), notes."""

    objects: list[RemoteObject]
    rules: RemoteRules | None
    notes: list[str]


def select_remote(
    specs: Sequence[str],
    *,
    exclude: Sequence[str] = (),
    limit: int = MAX_OBJECTS,
    fss: FileSystems | None = None,
) -> RemoteSelection:
    """Resolve URL output specs to objects for signing; every refusal is one OutputError line."""
    fss = fss or FileSystems()
    matcher = excludes(exclude)
    chosen: dict[str, RemoteObject] = {}
    include: list[RemoteSpec] = []
    notes: list[str] = []
    for url in specs:
        spec, single = resolve_spec(fss, url)
        if single is not None:
            chosen.setdefault(single.url, single)
            continue
        listing = list_spec(fss, spec, matcher, limit=limit - len(chosen))
        if listing.problems:
            raise OutputError(f"{listing.problems[0][1]}; rename it or exclude it")
        if listing.truncated:
            raise OutputError(f"output {url} names more than {limit} objects; narrow it with a pattern")
        if not listing.objects:
            if spec.kind == "glob":
                raise OutputError(f"output pattern {url} matches no object")
            notes.append(f"prefix {url} holds no object to sign (after exclusions)")
        include.append(spec)
        for obj in listing.objects:
            chosen.setdefault(obj.url, obj)
    rules = RemoteRules(tuple(dict.fromkeys(include)), matcher.patterns) if include else None
    return RemoteSelection(sorted(chosen.values(), key=lambda o: o.url), rules, notes)


def confirm_unchanged(
    digests: Sequence[RemoteDigest], rules: RemoteRules | None, *, fss: FileSystems | None = None
) -> None:
    """Raise ObjectChangedError if an object hashed is no longer the current one (replaced or
    deleted while it was being hashed): listed again by prefix, or looked up one by one."""
    if not digests:
        return
    fss = fss or FileSystems()
    current: dict[str, dict[str, Any]] = {}
    covered: set[str] = set()
    for spec in rules.include if rules is not None else ():
        top = spec.top()
        fs = fss.get(top)
        base = path_of(fs, top).rstrip("/")
        try:
            found = fs.find(base, detail=True, withdirs=False)
        except Exception as exc:
            raise object_error(top, exc, while_hashing=True) from None
        for name, info in found.items():
            if name.startswith(base + "/"):
                current[top + name[len(base) + 1 :]] = info
        covered.update(d.url for d in digests if d.url.startswith(top))
    for digest in digests:
        if digest.url in covered:
            info = current.get(digest.url)
        else:
            fs = fss.get(digest.url)
            try:
                info = fs.info(path_of(fs, digest.url))
            except FileNotFoundError:
                info = None
            except Exception as exc:
                raise object_error(digest.url, exc, while_hashing=True) from None
        if info is None:
            raise ObjectChangedError(
                f"output {digest.url} disappeared while it was being hashed; wait until whatever writes "
                "it has finished, then try again"
            )
        size, etag = info.get("size"), etag_of(info)
        if (isinstance(size, int) and size != digest.size) or (
            etag is not None and digest.etag is not None and etag != digest.etag
        ):
            raise ObjectChangedError(
                f"output {digest.url} changed while it was being hashed (size or ETag differ); wait "
                "until whatever writes it has finished, then try again"
            )
