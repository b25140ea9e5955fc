"""Normalisation rules for ``reproduce``: what may differ between two runs and still count.

Rules come from the user (``--rules FILE``) or the policy file's ``[reproduce]`` table, never from
the notebook. Defaults (memory addresses, timestamps, durations, progress bars) apply unless
``defaults = false`` and are always named in the report::

    [reproduce]
    defaults = true                 # the default replacements
    allow_exemptions = true         # honour cells the notebook tags sigstore-nondeterministic
    ignore_cells = ["c0ffee01"]     # cell ids whose outputs are not compared
    ignore_tags = ["slow"]          # cells with these tags are not compared

    [[reproduce.replace]]           # a replacement applied to both runs' output text
    name = "run id"
    pattern = 'run-[0-9a-f]{8}'
    replacement = "run-ID"

    [[reproduce.files]]             # how output files compare (first match wins)
    path = "figures/*.png"
    compare = "png-pixels"          # or "text" (replacements applied), "ignore"

Patterns are RE2 (linear-time matching; no backreferences or lookaround), as in policy files.
"""

from __future__ import annotations

import fnmatch
import re
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import re2

from .errors import PolicyError
from .textfiles import read_text

FileCompare = Literal["png-pixels", "text", "ignore"]
NONDETERMINISTIC_TAG = "sigstore-nondeterministic"
#: Output text longer than this is compared as it is (normalising it would cost unbounded work).
MAX_NORMALISED_CHARS = 4 << 20


@dataclass(frozen=True)
class Replacement:
    """A regex replacement applied to output text of both runs before comparing."""

    name: str
    pattern: str
    replacement: str
    default: bool = False
    _apply: Callable[[str], str] = field(default=lambda s: s, compare=False, repr=False)

    def apply(self, text: str) -> str:
        return self._apply(text)

    def describe(self) -> str:
        origin = "default" if self.default else "rule"
        return f"{origin} {self.name!r}: /{self.pattern}/ -> {self.replacement!r}"


@dataclass(frozen=True)
class FileRule:
    """How output files whose path matches ``path`` (a glob) are compared."""

    path: str
    compare: FileCompare

    def matches(self, name: str) -> bool:
        return fnmatch.fnmatchcase(name, self.path)

    def describe(self) -> str:
        return f"files {self.path}: {self.compare}"


def _compiler(pattern: str, replacement: str, where: str) -> Callable[[str], str]:
    """``text -> text`` replacing every match; group references ``\\1`` are honoured."""
    options = re2.Options()
    options.max_mem = 8 << 20
    options.log_errors = False
    try:
        compiled = re2.compile(pattern, options)
    except re2.error as exc:  # its text is bytes
        detail = exc.args[0] if exc.args else exc
        text = detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)
        raise PolicyError(f"{where}: pattern {pattern!r} does not compile: {text}") from None
    groups = re.compile(r"\\(\d)")

    def expand(match: Any) -> str:
        return groups.sub(lambda g: match.group(int(g.group(1))) or "", replacement)

    def apply(text: str) -> str:
        # splice by hand: google-re2's sub mangles non-ASCII replacement text
        parts, last = [], 0
        for match in compiled.finditer(text):
            start, end = match.span()
            parts += [text[last:start], expand(match)]
            last = end
        return "".join(parts) + text[last:] if parts else text

    return apply


def replacement(name: str, pattern: str, repl: str, *, default: bool = False, where: str = "") -> Replacement:
    return Replacement(name, pattern, repl, default, _compiler(pattern, repl, where or f"rule {name!r}"))


#: Shown in every report that uses them (never silent).
DEFAULT_REPLACEMENTS = (
    replacement("memory address", r"\b0x[0-9a-fA-F]{6,16}\b", "0xADDRESS", default=True),
    replacement(
        "timestamp",
        r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?",
        "<timestamp>",
        default=True,
    ),
    replacement(
        "duration",
        r"\b\d+(\.\d+)?\s?(ns|us|µs|ms|s|sec|secs|seconds|min|minutes)\b",
        "<duration>",
        default=True,
    ),
    replacement("progress bar", r"\d{1,3}%\|[^|\n]*\|[^\n]*", "<progress>", default=True),
)


@dataclass(frozen=True)
class Rules:
    """Normalisation rules for one reproduction, and where they came from."""

    replacements: tuple[Replacement, ...] = DEFAULT_REPLACEMENTS
    files: tuple[FileRule, ...] = ()
    ignore_cells: frozenset[str] = frozenset()
    ignore_tags: frozenset[str] = frozenset()
    allow_exemptions: bool = True
    source: str = "defaults"

    def normalise(self, text: str) -> str:
        """``text`` as a terminal shows it (carriage returns overwrite), with every replacement."""
        if len(text) > MAX_NORMALISED_CHARS:
            return text
        if "\r" in text:
            text = "\n".join(line.rsplit("\r", 1)[-1] for line in text.split("\n"))
        for rule in self.replacements:
            text = rule.apply(text)
        return text

    def file_rule(self, name: str) -> FileRule | None:
        return next((r for r in self.files if r.matches(name)), None)

    def describe(self) -> list[str]:
        """One line per rule, defaults included: what the report shows."""
        lines = [r.describe() for r in self.replacements]
        lines += [r.describe() for r in self.files]
        lines += [f"cells with id {c}: not compared" for c in sorted(self.ignore_cells)]
        lines += [f"cells tagged {t}: not compared" for t in sorted(self.ignore_tags)]
        if not self.allow_exemptions:
            lines.append(f"cells the notebook tags {NONDETERMINISTIC_TAG}: compared anyway")
        return lines

    def merged(self, other: Rules) -> Rules:
        """These rules and ``other``'s (both apply; exemptions only if both allow them)."""
        names = {(r.pattern, r.replacement) for r in self.replacements}
        return Rules(
            self.replacements
            + tuple(r for r in other.replacements if (r.pattern, r.replacement) not in names),
            self.files + other.files,
            self.ignore_cells | other.ignore_cells,
            self.ignore_tags | other.ignore_tags,
            self.allow_exemptions and other.allow_exemptions,
            f"{self.source} and {other.source}",
        )


_KEYS = {"defaults", "allow_exemptions", "ignore_cells", "ignore_tags", "replace", "files"}


def rules_from_dict(table: Any, source: str) -> Rules:
    """Rules from a parsed ``[reproduce]`` table; PolicyError names what is wrong."""
    if not isinstance(table, dict):
        raise PolicyError(f"{source}: [reproduce] must be a table")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise PolicyError(f"{source}: [reproduce]: unknown key {unknown[0]!r}")
    defaults = _bool(table.get("defaults", True), "defaults", source)
    allow = _bool(table.get("allow_exemptions", True), "allow_exemptions", source)
    replacements = list(DEFAULT_REPLACEMENTS) if defaults else []
    for n, entry in enumerate(_tables(table.get("replace", []), "replace", source), 1):
        where = f"{source}: [[reproduce.replace]] {n}"
        extra = sorted(set(entry) - {"name", "pattern", "replacement"})
        if extra:
            raise PolicyError(f"{where}: unknown key {extra[0]!r}")
        pattern = _str(entry.get("pattern"), "pattern", where)
        repl = entry.get("replacement", "")
        if not isinstance(repl, str):
            raise PolicyError(f"{where}: replacement must be a string")
        replacements.append(replacement(str(entry.get("name") or pattern), pattern, repl, where=where))
    files = []
    for n, entry in enumerate(_tables(table.get("files", []), "files", source), 1):
        where = f"{source}: [[reproduce.files]] {n}"
        extra = sorted(set(entry) - {"path", "compare"})
        if extra:
            raise PolicyError(f"{where}: unknown key {extra[0]!r}")
        compare = entry.get("compare")
        if compare not in ("png-pixels", "text", "ignore"):
            raise PolicyError(f"{where}: compare must be 'png-pixels', 'text' or 'ignore', not {compare!r}")
        files.append(FileRule(_str(entry.get("path"), "path", where), compare))
    return Rules(
        tuple(replacements),
        tuple(files),
        frozenset(_strings(table.get("ignore_cells", []), "ignore_cells", source)),
        frozenset(_strings(table.get("ignore_tags", []), "ignore_tags", source)),
        allow,
        source,
    )


def load_rules(path: str | Path) -> Rules:
    """Rules from a TOML file: its ``[reproduce]`` table (a policy file's too)."""
    path = Path(path)
    data = _toml(read_text(path, "rules file", PolicyError), f"rules file {path}")
    if "reproduce" not in data:
        raise PolicyError(f"rules file {path} has no [reproduce] table")
    return rules_from_dict(data["reproduce"], f"rules file {path}")


def rules_from_policy_file(path: str | Path) -> Rules | None:
    """The ``[reproduce]`` table of a policy file as rules (None when it has none)."""
    path = Path(path)
    data = _toml(read_text(path, "policy file", PolicyError), f"policy file {path}")
    if "reproduce" not in data:
        return None
    return rules_from_dict(data["reproduce"], f"policy file {path}")


def _toml(text: str, source: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        data: dict[str, Any] = tomllib.loads(text)
        return data
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source} is not valid TOML: {exc}") from None


def _bool(value: Any, key: str, source: str) -> bool:
    if not isinstance(value, bool):
        raise PolicyError(f"{source}: [reproduce]: {key} must be true or false")
    return value


def _str(value: Any, key: str, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise PolicyError(f"{where}: {key} must be a non-empty string")
    return value


def _tables(value: Any, key: str, source: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise PolicyError(f"{source}: [[reproduce.{key}]] must be a list of tables")
    return value


def _strings(value: Any, key: str, source: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise PolicyError(f"{source}: [reproduce]: {key} must be a list of strings")
    return value


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Chunks that define the pixels; every other (text, time, software, physical size) is left out.
_PIXEL_CHUNKS = (b"IHDR", b"PLTE", b"tRNS")
MAX_IMAGE_BYTES = 256 << 20


def png_pixels(data: bytes) -> bytes | None:
    """What a PNG's pixels are made of: its header, palette and transparency chunks and its
    decompressed image data (text chunks such as matplotlib's date and software are left out);
    None when ``data`` is not a well-formed PNG."""
    if not data.startswith(_PNG_SIGNATURE):
        return None
    pos, kept, idat = len(_PNG_SIGNATURE), [], []
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if len(body) != length:
            return None
        if kind in _PIXEL_CHUNKS:
            kept.append(kind + body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    try:
        decompressor = zlib.decompressobj()
        pixels = decompressor.decompress(b"".join(idat), MAX_IMAGE_BYTES)
    except zlib.error:
        return None
    if decompressor.unconsumed_tail:
        return None
    return b"".join(kept) + b"IDAT" + pixels


def same_pngs(a: bytes, b: bytes) -> bool:
    """True when two PNGs hold the same pixels (see :func:`png_pixels`)."""
    pa, pb = png_pixels(a), png_pixels(b)
    return pa is not None and pa == pb
