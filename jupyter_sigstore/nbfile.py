"""Notebook files: reading and parsing them with one clear error for anything wrong, and writing them back
atomically, in their own JSON style, through symbolic links to the real file."""

from __future__ import annotations

import codecs
import contextlib
import json
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import NotebookError

#: Notebooks larger than this are refused before they are read (a hostile file costs bounded memory).
MAX_NOTEBOOK_BYTES = 2 << 30


@dataclass(frozen=True)
class JsonStyle:
    """How a notebook file was serialised, so a rewrite keeps its bytes where nothing changed."""

    indent: int | None
    sort_keys: bool
    ensure_ascii: bool
    trailing_newline: bool

    def dumps(self, value: Any) -> str:
        separators = (",", ": ") if self.indent is not None else (",", ":")
        text = json.dumps(
            value,
            indent=self.indent,
            sort_keys=self.sort_keys,
            ensure_ascii=self.ensure_ascii,
            separators=separators,
        )
        return text + "\n" if self.trailing_newline else text


#: nbformat's own style (what Jupyter writes), used when a file's style cannot be reproduced.
NBFORMAT_STYLE = JsonStyle(indent=1, sort_keys=True, ensure_ascii=False, trailing_newline=True)


def parse_notebook(data: bytes | str, name: str = "notebook") -> dict[str, Any]:
    """Parse notebook JSON (UTF-8), with one actionable error for anything that is not nbformat 4."""
    from .canonical import check_nbformat

    text = _decode(data, name) if isinstance(data, bytes) else data
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as exc:
        if not text.lstrip().startswith(("{", "[")):
            raise NotebookError(
                f"{name} is not a notebook: it does not hold JSON (a notebook is an .ipynb JSON file)"
            ) from None
        raise NotebookError(f"{name} is not valid JSON ({exc}); is the file truncated?") from None
    except RecursionError:
        raise NotebookError(f"{name} is nested too deeply to be a notebook") from None
    except ValueError as exc:  # e.g. an integer longer than Python's int conversion limit
        raise NotebookError(f"{name} holds a number Python cannot read: {exc}") from None
    return check_nbformat(nb)


def _decode(data: bytes, name: str) -> str:
    _refuse_utf16(data, name)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _not_utf8(name, exc.start) from None


def _refuse_utf16(data: bytes, name: str) -> None:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(data) > 1 and (data[0] == 0 or data[1] == 0)):
        raise NotebookError(f"{name} is UTF-16 or UTF-32 text; notebooks are UTF-8: re-save it as UTF-8")


def _not_utf8(name: str, byte: int) -> NotebookError:
    return NotebookError(f"{name} is not UTF-8 text (byte {byte}); is it a notebook?")


@dataclass(frozen=True)
class LoadedNotebook:
    """A notebook as read from disk: where it is, its bytes and its parsed JSON."""

    path: Path
    raw: bytes
    nb: dict[str, Any]

    @property
    def style(self) -> JsonStyle:
        """The file's JSON style (worked out only when the notebook is written back)."""
        return detect_style(self.raw, self.nb)


def detect_style(raw: bytes, nb: Any) -> JsonStyle:
    """The JSON style that reproduces ``raw`` from ``nb``, else nbformat's style.

    The indent, key order and escaping are read off the text, then checked with one serialisation.
    """
    text = raw.decode("utf-8")
    lines = text.split("\n", 2)
    indent: int | None = None
    if len(lines) > 1:
        second = lines[1]
        indent = (len(second) - len(second.lstrip(" "))) or None
    keys = list(nb) if isinstance(nb, dict) else []
    sort_keys = keys == sorted(keys)
    ensure_ascii = text.isascii()  # for a notebook without non-ASCII text both choices agree
    style = JsonStyle(indent, sort_keys, ensure_ascii, text.endswith("\n"))
    return style if style.dumps(nb) == text else NBFORMAT_STYLE


def load_notebook(path: str | os.PathLike[str]) -> LoadedNotebook:
    """Read and parse a notebook file (a regular file, size-capped), with one actionable error line.

    The bytes are kept, to write the notebook back; :func:`read_notebook` parses without keeping them.
    """
    path = Path(path)
    raw = read_regular_file(path, MAX_NOTEBOOK_BYTES, "notebook")
    return LoadedNotebook(path, raw, _parse_file(path, raw))


def read_notebook(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and parse a notebook file like :func:`load_notebook`, keeping only the parsed notebook.

    Memory peaks at the file plus its text (1, 2 or 4 bytes a character, by the widest one): the bytes
    are decoded a piece at a time and dropped before the text is parsed.
    """
    path = Path(path)
    text = "".join(_decode_pieces(read_regular_file(path, MAX_NOTEBOOK_BYTES, "notebook"), str(path)))
    return _parse_file(path, text)


def _decode_pieces(data: bytes, name: str) -> list[str]:
    """The UTF-8 text of ``data`` in pieces (one for ASCII). Decoded whole, a text whose first wide
    character comes late would be held three times at once (the bytes, a narrow copy, the widened text).

    Python stores a text with 4 bytes a character if one is beyond U+FFFF (an emoji), 2 if not: each
    such character is written as the JSON escape of its UTF-16 surrogate pair, which JSON reads as
    the character itself, so a notebook holding an emoji takes half the memory. Not after a
    backslash: there the escape would read differently (``\\`` and ``u...``), so that character stays.
    """
    _refuse_utf16(data, name)
    if data.isascii():
        return [data.decode("ascii")]
    decoder = codecs.getincrementaldecoder("utf-8")()
    pieces: list[str] = []
    last = ""  # the text's last character so far (a piece may be empty: a character cut in two)
    view = memoryview(data)
    for start in range(0, len(data), _PIECE):
        raw = view[start : start + _PIECE]
        try:
            piece = decoder.decode(raw, final=start + _PIECE >= len(data))
        except UnicodeDecodeError as exc:
            raise _not_utf8(name, start + exc.start) from None
        # a character beyond U+FFFF starts with one of F0-F4 in UTF-8 (perhaps in the last piece's end)
        if any(data.find(lead, max(start - 3, 0), start + _PIECE) >= 0 for lead in _ASTRAL_LEADS):
            piece = _narrow(piece, last)
        pieces.append(piece)
        last = piece[-1:] or last
    return pieces


def _narrow(piece: str, before: str) -> str:
    """``piece`` with each character beyond U+FFFF not after a backslash as its JSON escape;
    ``before`` is the character preceding the piece (if any)."""

    def escape(match: re.Match[str]) -> str:
        at = match.start()
        if (piece[at - 1] if at else before) == "\\":
            return match.group()
        code = ord(match.group()) - 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"

    return _ASTRAL.sub(escape, piece)


_PIECE = 1 << 24
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_ASTRAL_LEADS = (b"\xf0", b"\xf1", b"\xf2", b"\xf3", b"\xf4")


def _parse_file(path: Path, data: bytes | str) -> dict[str, Any]:
    try:
        return parse_notebook(data, str(path))
    except NotebookError as exc:
        msg = str(exc)
        raise NotebookError(msg if msg.startswith(str(path)) else f"{path}: {msg}") from None


def read_regular_file(path: Path, limit: int, what: str) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``limit`` bytes.

    Opened without blocking (a FIFO never hangs the reader) and checked with fstat before reading.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise NotebookError(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise NotebookError(f"{path} is a directory, not a {what}") from None
    except OSError as exc:
        raise NotebookError(f"{path}: cannot read {what} ({exc.strerror})") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise NotebookError(f"{path} is a directory, not a {what}")
        if not stat.S_ISREG(st.st_mode):
            raise NotebookError(f"{path} is not a regular file (a FIFO, socket or device); not read")
        if st.st_size > limit:
            raise NotebookError(f"{path} is too large to be a {what} ({st.st_size} bytes; limit {limit})")
        chunks = []
        remaining = limit + 1
        want = st.st_size + 1  # the whole file in one read (no copy to join) unless it grows meanwhile
        while remaining > 0:
            chunk = os.read(fd, min(remaining, want))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
            want = 1 << 24
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        if len(data) > limit:
            raise NotebookError(f"{path} grew beyond the {what} size limit ({limit} bytes) while read")
        return data
    except OSError as exc:
        raise NotebookError(f"{path}: cannot read {what} ({exc.strerror})") from None
    finally:
        os.close(fd)


def check_writable(path: Path) -> None:
    """Fail before any signing work when the notebook (or its folder) cannot be written."""
    real = path.resolve()
    if not os.access(real, os.W_OK):
        raise NotebookError(f"{path} is not writable; nothing was signed")
    if not os.access(real.parent, os.W_OK | os.X_OK):
        raise NotebookError(f"folder {real.parent} is not writable; nothing was signed")


def atomic_write(path: Path, data: bytes, *, expect: bytes | None = None, mode: int | None = None) -> None:
    """Replace the file ``path`` names (its link target, for a symbolic link) with ``data`` atomically.

    A same-folder temporary file is fsync'ed and renamed over the target, keeping the target's
    permissions; a new file gets ``mode`` (default: 0666 less the umask, as ``open`` would). With
    ``expect``, refuse when the file no longer holds those bytes (it changed under us).
    """
    target = Path(os.path.realpath(path))
    keep: int | None = None
    with contextlib.suppress(FileNotFoundError):
        keep = target.stat().st_mode & 0o7777
        if expect is not None and target.read_bytes() != expect:
            raise NotebookError(f"{path} changed on disk while signing; nothing was written")
    if keep is None:
        keep = mode if mode is not None else 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, keep)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    """The process umask, read without changing it (``os.umask`` would race with other threads)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return 0o022


def save_notebook(loaded: LoadedNotebook, nb: dict[str, Any]) -> None:
    """Write ``nb`` over the loaded file in the file's own JSON style, atomically, if the file still
    holds the bytes that were loaded."""
    atomic_write(loaded.path, loaded.style.dumps(nb).encode("utf-8"), expect=loaded.raw)
