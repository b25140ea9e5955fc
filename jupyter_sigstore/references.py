"""Files a notebook displays from outside itself.

A markdown cell ``![](figs/acc.png)`` or an HTML output ``<img src="figs/acc.png">`` shows a file read
from disk when the notebook is opened (JupyterLab and Notebook 7 fetch it through the server's files
API, relative to the notebook; nbconvert's HTML export references it too). :func:`displayed_files`
lists every such reference, and :func:`resolve_local` finds the file a local one names, refusing
anything outside the root. Nothing here reads the disk except :func:`resolve_local`, and nothing is
ever fetched.

What counts is what a front end *loads* to display a cell: markdown images (inline and
reference-style) and raw HTML in markdown cells; ``text/html`` and ``text/markdown`` outputs; inline
SVG (``image/svg+xml`` outputs, which nbconvert exports inline); raw cells that nbconvert's HTML export
includes as HTML; and in HTML, every element attribute that fetches (``img src``/``srcset``,
``video src``/``poster``, ``audio``, ``source``, ``track``, ``input``, ``embed``, ``object data``,
``iframe src``/``srcdoc``, ``script src``, ``link href``, SVG ``href``/``xlink:href``, ``background``)
and CSS ``url()``/``image-set()``/``@import`` in ``style`` attributes, ``<style>`` elements and SVG
presentation attributes. Links (``a href``) are not displayed content.

A reference is read two ways when the two differ, and each distinct reading is reported: as the URL
standard resolves it (browsers, nbconvert exports: surrounding whitespace stripped, ``\\`` read as
``/``), and as JupyterLab resolves ``src`` and ``link href`` itself (the attribute's text as a path
relative to the notebook, then percent-decoded). Markdown is read as CommonMark with GitHub tables
(markdown-it), once as written and once with math set aside as JupyterLab does before ``marked`` runs
(:mod:`.mathmask`), and the union is reported. Everything is linear in the notebook's size; past the
limits, the result says what was not read exactly.
"""

from __future__ import annotations

import enum
import functools
import os
import posixpath
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, unquote

from .htmlscan import Found, html_urls
from .mathmask import mask_math, restore_math

__all__ = [
    "MAX_MARKDOWN_CHARS",
    "MAX_REFERENCES",
    "DisplayedFiles",
    "Kind",
    "Limit",
    "Reference",
    "displayed_files",
    "resolve_local",
]

#: References reported per notebook; past it :attr:`DisplayedFiles.truncated` is set.
MAX_REFERENCES = 1000
#: Markdown longer than this (per cell or output, not counting base64 payloads of data: URLs) is
#: read approximately (see :class:`Limit`): the CommonMark parser is linear but slow on hostile input
#: (up to some 30 microseconds a character).
MAX_MARKDOWN_CHARS = 64 * 1024
#: Markdown parsed per notebook (each cell once as written, once more if it has math); past it the
#: rest is read approximately.
MAX_MARKDOWN_TOTAL = 512 * 1024
#: A reference is shown to people shortened to this many characters.
MAX_RAW_CHARS = 300
#: No file is named by a longer path (PATH_MAX on Linux).
MAX_PATH_CHARS = 4096


class Kind(str, enum.Enum):
    """Where a reference points."""

    #: a file inside the root, named by :attr:`Reference.target` relative to the notebook's folder
    LOCAL = "local"
    #: a URL elsewhere (``http``, ``https``, ``ftp``, ``//host``, any other scheme); never fetched
    REMOTE = "remote"
    #: ``attachment:NAME``: stored in the cell, so covered by the notebook's digest
    ATTACHMENT = "attachment"
    #: a ``data:`` URL: the content is in the notebook, so covered by its digest
    DATA = "data"
    #: a file outside the root (``..`` past it, an absolute path, ``file:``); cannot be checked
    OUTSIDE = "outside"


@dataclass(frozen=True)
class Reference:
    """One file (or URL) a cell displays.

    ``cell`` is 0-based. ``output`` is the output's index, or None for the cell's own source (a
    markdown cell's text, not its attachments, or a raw cell that HTML exports include). ``mime`` is
    what the text was read as (``text/markdown``, ``text/html``, ``image/svg+xml``). ``element`` and
    ``attribute`` say where the reference was (``img``/``src``, ``style``/``url()``, ...; a markdown
    image is an ``img``/``src``). ``raw`` is the reference as the front end reads it (entities and
    markdown escapes decoded), shortened to :data:`MAX_RAW_CHARS`. ``target``: for LOCAL and OUTSIDE
    the normalised POSIX path relative to the notebook's folder (OUTSIDE: may start with ``..`` or
    ``/``); for REMOTE the URL; for DATA ``data:`` and the media type; for ATTACHMENT the name.
    """

    cell: int
    output: int | None
    mime: str
    element: str
    attribute: str
    raw: str
    kind: Kind
    target: str


@dataclass(frozen=True)
class Limit:
    """Something in a cell that was not read exactly (0-based ``cell``; ``output`` as in
    :class:`Reference`), with the reason in words."""

    cell: int
    output: int | None
    reason: str


@dataclass(frozen=True)
class DisplayedFiles:
    """What a notebook displays from outside itself. ``truncated`` is true when there were more than
    the ``max_references`` asked for (the rest were not read); ``limits`` lists what was read only
    approximately or not at all."""

    references: tuple[Reference, ...]
    truncated: bool = False
    limits: tuple[Limit, ...] = field(default=())

    def local(self) -> tuple[Reference, ...]:
        """The references to files inside the root."""
        return tuple(ref for ref in self.references if ref.kind is Kind.LOCAL)


class _Full(Exception):
    """The reference cap was reached."""


def displayed_files(
    nb: dict[str, Any],
    notebook_path: str | os.PathLike[str],
    root: str | os.PathLike[str] | None = None,
    *,
    max_references: int = MAX_REFERENCES,
) -> DisplayedFiles:
    """Every file or URL that displaying the cells of ``nb`` (a parsed notebook) loads.

    ``notebook_path`` is where the notebook is; ``root`` the folder references must stay inside
    (default: the notebook's folder), e.g. the Jupyter server's root or the project. Both are only
    compared as paths: nothing is read. Never raises for any JSON value of ``nb``.
    """
    collector = _Collector(
        _Locator(Path(notebook_path), None if root is None else Path(root)), max_references
    )
    cells = nb.get("cells") if isinstance(nb, dict) else None
    try:
        for index, cell in enumerate(cells if isinstance(cells, list) else []):
            if isinstance(cell, dict):
                collector.cell(index, cell)
    except _Full:
        return DisplayedFiles(tuple(collector.references), True, tuple(collector.limits))
    return DisplayedFiles(tuple(collector.references), False, tuple(collector.limits))


def resolve_local(
    ref: Reference, notebook_path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None
) -> Path | None:
    """The regular file a LOCAL reference names, with symlinks resolved; None when it is not a local
    reference, names nothing, or names anything but a regular file, or when the file (after every
    symlink) is outside ``root`` (default: the notebook's folder)."""
    if ref.kind is not Kind.LOCAL or "\x00" in ref.target:
        return None
    notebook = Path(os.path.abspath(notebook_path))
    try:
        top = Path(os.path.abspath(notebook.parent if root is None else root)).resolve(strict=True)
        target = (notebook.parent / PurePosixPath(ref.target)).resolve(strict=True)
        target.relative_to(top)
        if not stat.S_ISREG(target.stat().st_mode):
            return None
    except (OSError, ValueError, RuntimeError):
        return None
    return target


# --- reading a notebook ----------------------------------------------------------------------------

_RAW_CELL_HTML = ("", "text/html")  # the raw cells nbconvert's HTML export includes verbatim
_OUTPUT_TYPES = ("display_data", "execute_result")


class _Collector:
    def __init__(self, locator: _Locator, max_references: int) -> None:
        self.locator = locator
        self.max_references = max(0, max_references)
        self.references: list[Reference] = []
        self.limits: list[Limit] = []
        self._seen: set[Reference] = set()
        self._markdown_left = MAX_MARKDOWN_TOTAL
        self._readings: dict[tuple[str, bool], list[tuple[Kind, str]]] = {}

    def cell(self, index: int, cell: dict[str, Any]) -> None:
        cell_type = cell.get("cell_type")
        if cell_type == "markdown":
            text = _text(cell.get("source"))
            if text is not None:
                self.markdown(index, None, text)
        elif cell_type == "raw":
            metadata = cell.get("metadata")
            mimetype = (
                metadata.get("raw_mimetype", metadata.get("format", "")) if isinstance(metadata, dict) else ""
            )
            text = _text(cell.get("source"))
            if isinstance(mimetype, str) and mimetype.lower() in _RAW_CELL_HTML and text is not None:
                self.html(index, None, "text/html", text)
        elif cell_type == "code":
            outputs = cell.get("outputs")
            for number, output in enumerate(outputs if isinstance(outputs, list) else []):
                if isinstance(output, dict) and output.get("output_type") in _OUTPUT_TYPES:
                    self.output(index, number, output.get("data"))

    def output(self, index: int, number: int, data: Any) -> None:
        if not isinstance(data, dict):
            return
        for mime in ("text/html", "image/svg+xml"):
            text = _text(data.get(mime))
            if text is not None:
                self.html(index, number, mime, text)
        text = _text(data.get("text/markdown"))
        if text is not None:
            self.markdown(index, number, text)

    def html(self, index: int, output: int | None, mime: str, text: str) -> None:
        self.found(index, output, mime, html_urls(text))

    def markdown(self, index: int, output: int | None, text: str) -> None:
        if "<" not in text and "![" not in text:
            return  # neither HTML nor an image: nothing to load
        text = _BASE64_PAYLOAD.sub("base64,AAAA", text)  # no markdown syntax in it, and parsing it is slow
        masked = mask_math(text) if len(text) <= min(MAX_MARKDOWN_CHARS, self._markdown_left) else None
        renders = 1 if masked is None or (masked[0] == text and not masked[1]) else 2
        if masked is None or renders * len(text) > self._markdown_left:
            size = (
                f"{len(text):,} characters"
                if len(text) > MAX_MARKDOWN_CHARS
                else "past the notebook's budget"
            )
            reason = f"markdown read approximately ({size}): links and code may be listed as references too"
            self._limit(Limit(index, output, reason))
            self.found(index, output, "text/markdown", _approximate_markdown(text))
            return
        self._markdown_left -= renders * len(text)
        self.found(index, output, "text/markdown", _markdown_findings(text, masked))

    def found(self, index: int, output: int | None, mime: str, findings: Iterable[Found]) -> None:
        for finding in findings:
            if finding.element == "base":
                reason = f"a <base href> ({_short(finding.value)}) changes where relative references resolve"
                self._limit(Limit(index, output, reason))
                continue
            if finding.attribute == "srcdoc":
                self._limit(Limit(index, output, "iframe srcdoc documents nested too deep to read"))
                continue
            key = (finding.value, finding.rewritten)
            readings = self._readings.get(key)
            if readings is None:
                readings = self._readings[key] = self.locator.readings(*key)
            for kind, target in readings:
                self.add(
                    Reference(
                        index,
                        output,
                        mime,
                        finding.element,
                        finding.attribute,
                        _short(finding.value),
                        kind,
                        target,
                    )
                )

    def add(self, ref: Reference) -> None:
        if ref in self._seen:
            return
        if len(self.references) >= self.max_references:
            raise _Full
        self._seen.add(ref)
        self.references.append(ref)

    def _limit(self, limit: Limit) -> None:
        if limit not in self.limits:
            self.limits.append(limit)


def _text(value: Any) -> str | None:
    """A notebook multiline string: a string, or a list of strings joined."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return "".join(value)
    return None


def _short(value: str) -> str:
    return value if len(value) <= MAX_RAW_CHARS else value[: MAX_RAW_CHARS - 1] + "\u2026"


# --- markdown --------------------------------------------------------------------------------------

_BASE64_PAYLOAD = re.compile("base64,[A-Za-z0-9+/]{256,}")
# encodeURI's unreserved and reserved characters, and '%' (marked restores %25 to %)
_URI_SAFE = ";,/?:@&=+$-_.!~*'()#%"


def _encode_like_marked(url: str) -> str:
    """The ``src`` marked writes for an image address: ``encodeURI`` with ``%`` kept."""
    return quote(url, safe=_URI_SAFE, errors="surrogatepass")


@functools.cache
def _markdown() -> Any:
    """CommonMark with GitHub tables, writing image addresses the way marked does (built on first use:
    only notebooks with markdown to read pay for importing markdown-it)."""
    from markdown_it import MarkdownIt

    class MarkedLikeParser(MarkdownIt):
        def __init__(self) -> None:
            super().__init__("commonmark", {"html": True})
            self.enable("table")
            self.disable("emphasis")  # no bearing on what loads, and the slowest rule on hostile input
            # marked escapes ' in text as &#39;: inside a raw <style> an unescaped one would open a CSS string
            for rule in ("text", "code_inline", "code_block", "fence"):
                self.add_render_rule(rule, _escaping_quotes(getattr(self.renderer, "rules")[rule]))  # noqa: B009

        def validateLink(self, url: str) -> bool:  # noqa: N802 (markdown-it's name)
            return True  # marked renders every address; markdown-it drops javascript:, file:, most data:

        def normalizeLink(self, url: str) -> str:  # noqa: N802
            return _encode_like_marked(url)

    return MarkedLikeParser()


def _escaping_quotes(render: Any) -> Any:
    def rule(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        return str(render(tokens, idx, options, env)).replace("'", "&#39;")

    return rule


def _render(text: str) -> str:
    return str(_markdown().render(text))


def _markdown_findings(text: str, masked: tuple[str, list[str]]) -> Iterator[Found]:
    """What markdown ``text`` loads, read as written and as JupyterLab reads it (math set aside)."""
    yield from html_urls(_render(text))
    masked_text, math = masked
    if masked_text != text or math:
        yield from html_urls(restore_math(_render(masked_text), math))


_DESTINATION_START = re.compile(r"\]\(|\]:")
_DESTINATION_SPACE = re.compile(r"[ \t]*\n?[ \t]*")
_DESTINATION_RUN = re.compile(r"[^\s\\()\x00-\x1f\x7f]+")


def _approximate_markdown(text: str) -> Iterator[Found]:
    """For markdown too large to parse: every raw-HTML reference and every link or image address
    (``](...)`` and ``]: ...``), wherever it is, code spans included: more than is displayed,
    never less."""
    from markdown_it.common.utils import unescapeAll

    yield from html_urls(text)
    pos = 0
    while True:
        match = _DESTINATION_START.search(text, pos)
        if match is None:
            return
        space = _DESTINATION_SPACE.match(text, match.end())
        assert space is not None
        destination, pos = _destination(text, space.end())
        if destination:
            yield Found("img", "src", _encode_like_marked(unescapeAll(destination)), rewritten=True)
        pos = max(pos, match.end())


def _destination(text: str, pos: int) -> tuple[str, int]:
    """A CommonMark link destination at ``pos``: ``<...>`` or a run with balanced parentheses."""
    end = len(text)
    if pos < end and text[pos] == "<":
        close = pos + 1
        while close < end and text[close] not in "<>\n":
            close += 2 if text[close] == "\\" else 1
        if close < end and text[close] == ">":
            return text[pos + 1 : close], close + 1
        return "", pos + 1
    depth = 0
    start = pos
    while pos < end:
        run = _DESTINATION_RUN.match(text, pos)
        if run is not None:
            pos = run.end()
            continue
        char = text[pos]
        if char == "\\" and pos + 1 < end:
            pos += 2
        elif char == "(":
            depth += 1
            pos += 1
        elif char == ")" and depth:
            depth -= 1
            pos += 1
        else:  # whitespace, a control character, an unbalanced ')' or a final backslash
            break
    return text[start:pos], pos


# --- URLs ------------------------------------------------------------------------------------------

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_C0_OR_SPACE = "".join(chr(code) for code in range(0x21))
_TAB_OR_NEWLINE = str.maketrans("", "", "\t\n\r")
_SPECIAL_SCHEMES = frozenset({"http", "https", "ws", "wss", "ftp", "file"})
_DOMAIN = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=]+")
_PORT = re.compile(r"[0-9]{0,5}")
_PERCENT = re.compile("%")
_HEX2 = re.compile("[0-9A-Fa-f]{2}")
_URL_DOT = frozenset({".", "%2e"})
_URL_DOTDOT = frozenset({"..", ".%2e", "%2e.", "%2e%2e"})


class _Locator:
    """Turns the text of a reference into (kind, target) readings, relative to one notebook."""

    def __init__(self, notebook_path: Path, root: Path | None) -> None:
        notebook = PurePosixPath(Path(os.path.abspath(notebook_path)).as_posix())
        top = PurePosixPath(Path(os.path.abspath(root)).as_posix()) if root is not None else notebook.parent
        try:
            self.folder: tuple[str, ...] = notebook.parent.relative_to(top).parts
        except ValueError:
            self.folder = ()  # a notebook outside its root: relative references are judged from its folder
        self.inside = root is None or notebook.parent == top or notebook.parent.is_relative_to(top)

    def readings(self, value: str, rewritten: bool) -> list[tuple[Kind, str]]:
        found = self.url_reading(value)
        if rewritten:
            for reading in self.jupyterlab_reading(value):
                if reading not in found:
                    found.append(reading)
        return found

    def url_reading(self, value: str) -> list[tuple[Kind, str]]:
        """As a browser resolves ``value`` against a page beside the notebook (an nbconvert export)."""
        url = value.strip(_C0_OR_SPACE).translate(_TAB_OR_NEWLINE)
        if not url or url.startswith(("#", "?")):
            return []  # the page itself
        scheme_match = _SCHEME.match(url)
        if scheme_match is not None:
            scheme = scheme_match.group()[:-1].lower()
            rest = url[scheme_match.end() :]
            if scheme == "data":
                return [(Kind.DATA, "data:" + _short(re.split("[;,]", rest, maxsplit=1)[0].strip()))]
            if scheme == "attachment":
                return [(Kind.ATTACHMENT, _short(rest))]
            if scheme == "file":
                return [(Kind.OUTSIDE, _short(url))]
            found = [(Kind.REMOTE, _short(url))]
            if scheme in _SPECIAL_SCHEMES and not rest.startswith(("/", "\\")):
                found += self._relative(rest, url_dots=True)  # http:figs/a.png is relative to an http page
            return found
        if url.startswith(("//", "\\\\", "/\\", "\\/")):
            return [(Kind.REMOTE, _short(url))]
        if url.startswith(("/", "\\")):
            return [(Kind.OUTSIDE, _short(url))]
        return self._relative(url, url_dots=True)

    def jupyterlab_reading(self, value: str) -> list[tuple[Kind, str]]:
        """As JupyterLab resolves a ``src`` or ``link href`` itself (``rendermime``'s ``handleAttr``):
        the attribute's text, unless it is an absolute URL or starts with ``/``, is a path relative to
        the notebook; its query and fragment are split off; it is normalised, then percent-decoded."""
        if not value or _malformed_uri(value) or value.startswith("/"):
            return []
        url = value.strip(_C0_OR_SPACE).translate(_TAB_OR_NEWLINE)
        scheme_match = _SCHEME.match(url)
        if scheme_match is not None:
            scheme = scheme_match.group()[:-1].lower()
            if value.lower().startswith(scheme + ":") and _surely_parses(scheme, url[scheme_match.end() :]):
                return []  # an absolute URL: left to the browser (the URL reading covers it)
        path = re.split("[?#]", value, maxsplit=1)[0]
        if not path or _SCHEME.match(path):
            path = value
        return self._relative(path, url_dots=False)

    def _relative(self, path: str, *, url_dots: bool) -> list[tuple[Kind, str]]:
        if url_dots:
            # the URL standard: '\' is '/', the query and fragment are not part of the path, and
            # %2e is a dot when normalising; then the server decodes and normalises again
            path = re.split("[?#]", path.replace("\\", "/"), maxsplit=1)[0]
        segments = _normalise(self.folder, path.split("/"), url_dots=url_dots)
        if segments is None:
            return [(Kind.OUTSIDE, self._outside_target(path))]
        joined = "/".join(segments)
        try:
            decoded = unquote(joined, errors="strict")
        except UnicodeDecodeError:
            return []  # the server (or decodeURIComponent) refuses it: nothing is loaded
        segments = _normalise((), decoded.split("/"), url_dots=False)
        if segments is None:
            return [(Kind.OUTSIDE, self._outside_target(decoded))]
        target = posixpath.relpath("/" + "/".join(segments), "/" + "/".join(self.folder))
        if not self.inside or len(target) > MAX_PATH_CHARS:
            return [(Kind.OUTSIDE, _short(target))]
        return [(Kind.LOCAL, target)]

    def _outside_target(self, path: str) -> str:
        return _short(posixpath.normpath(path) if path else ".")


def _normalise(base: tuple[str, ...], segments: list[str], *, url_dots: bool) -> list[str] | None:
    """``base`` + ``segments`` with empty and dot segments resolved; None if ``..`` climbs past the top."""
    out = list(base)
    for segment in segments:
        lowered = segment.lower() if url_dots else segment
        if segment == "" or (lowered in _URL_DOT if url_dots else segment == "."):
            continue
        if lowered in _URL_DOTDOT if url_dots else segment == "..":
            if not out:
                return None
            out.pop()
            continue
        out.append(segment)
    return out


def _malformed_uri(value: str) -> bool:
    """Whether JavaScript's ``decodeURI(value)`` throws (JupyterLab then leaves the URL alone)."""
    pos = value.find("%")
    while pos >= 0:
        octets = bytearray()
        lead = _hex_at(value, pos)
        if lead is None:
            return True
        octets.append(lead)
        pos += 3
        if lead >= 0x80:
            width = (
                2 if lead >> 5 == 0b110 else 3 if lead >> 4 == 0b1110 else 4 if lead >> 3 == 0b11110 else 0
            )
            if not width:
                return True
            for _ in range(width - 1):
                if not value.startswith("%", pos):
                    return True
                octet = _hex_at(value, pos)
                if octet is None:
                    return True
                octets.append(octet)
                pos += 3
            try:
                octets.decode("utf-8")
            except UnicodeDecodeError:
                return True
        pos = value.find("%", pos)
    return False


def _hex_at(value: str, pos: int) -> int | None:
    match = _HEX2.match(value, pos + 1)
    return int(match.group(), 16) if match else None


def _surely_parses(scheme: str, rest: str) -> bool:
    """Whether the URL ``scheme:rest`` certainly parses; when unsure, JupyterLab may take it for a
    file name (an anchor element reports protocol ``:`` for a URL it cannot parse)."""
    rest = rest.replace("\\", "/") if scheme in _SPECIAL_SCHEMES else rest
    if scheme in _SPECIAL_SCHEMES:
        if scheme in ("http", "https") and not rest.startswith("/"):
            return True  # relative to the page, or https:host: both parse
        authority = re.split("[/?#]", rest.lstrip("/"), maxsplit=1)[0]
        return _authority_parses(authority, special=scheme != "file")
    if not rest.startswith("//"):
        return True  # an opaque path always parses
    return _authority_parses(re.split("[/?#]", rest[2:], maxsplit=1)[0], special=False)


def _authority_parses(authority: str, *, special: bool) -> bool:
    host_port = authority.rpartition("@")[2]
    if host_port.startswith("["):
        address, bracket, port = host_port[1:].partition("]")
        try:
            IPv6Address(address)
        except ValueError:
            return False
        return bool(bracket) and (not port or (port.startswith(":") and _port_ok(port[1:])))
    host, colon, port = host_port.partition(":")
    if colon and not _port_ok(port):
        return False
    if not special:
        return not any(char in host for char in " #/:<>?@[\\]^|\x00\t\n\r")
    if not host or _DOMAIN.fullmatch(host) is None:
        return False
    labels = host.rstrip(".").split(".")
    if any(label.lower().startswith("xn--") for label in labels):
        return False  # punycode may not decode
    last = labels[-1]
    if last.isdigit() or last.lower().startswith("0x"):
        try:
            IPv4Address(host.rstrip("."))
        except ValueError:
            return False
    return True


def _port_ok(port: str) -> bool:
    return port == "" or (_PORT.fullmatch(port) is not None and int(port) <= 65535)
