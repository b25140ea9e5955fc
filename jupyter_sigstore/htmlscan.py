"""The URLs an HTML, SVG or CSS text makes a browser load, read the way a browser reads them.

The HTML side follows the WHATWG tokenizer for every state that decides what is markup: tags and
their attributes (character references decoded in attribute mode), comments (``<!-->``, ``--!>``),
bogus comments, DOCTYPE, and the raw-text elements (``style``, ``script``, ``textarea``...). Python's
``html.parser`` is not used because it diverges from browsers exactly where it matters here: it hides
markup that browsers show (``<!--> <img src=a.png> -->``, ``<!-- --!> <img src=a.png>``,
``<![CDATA[> <img src=a.png>``) and decodes ``&amp1`` in an attribute where browsers do not, and how it
does depends on the Python patch release. Where being exact would need a tree builder, the scanner
errs on the side of reporting more (markup inside ``<template>``, ``<noscript>`` or SVG ``<style>``).

CSS follows the CSS Syntax Level 3 tokenizer for what can name a URL: ``url(...)`` tokens and
functions, strings in ``image-set()``/``src()``, and ``@import``. Every scanner here is linear in its
input: bulk skips use ``str.find`` or single-class regexes, and no search is repeated over text
already passed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.entities import html5 as _ENTITIES

__all__ = ["Found", "css_urls", "html_urls", "srcset_urls"]

#: How deep ``<iframe srcdoc>`` documents are read inside each other.
SRCDOC_DEPTH = 3


@dataclass(frozen=True)
class Found:
    """One URL a browser loads to display a document.

    ``element`` and ``attribute`` say where it was (``attribute`` is ``"url()"`` or ``"@import"`` for
    CSS inside a ``style`` attribute or element). ``value`` is the URL as the browser's URL parser
    receives it. ``rewritten`` is true for the attributes JupyterLab resolves against the notebook's
    folder itself (``src`` of any element, ``href`` of ``link``). Two kinds of finding are notes
    rather than URLs: ``element == "base"`` (a ``<base href>`` changes how every relative URL of the
    page resolves) and ``attribute == "srcdoc"`` with an empty value (an ``iframe srcdoc`` nested
    deeper than :data:`SRCDOC_DEPTH`, not read).
    """

    element: str
    attribute: str
    value: str
    rewritten: bool = False


_WS = "\t\n\f\r "
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

# Elements and the attributes that hold a URL the browser fetches to display (or run) something.
_URL_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "img": ("src",),
    "source": ("src",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "input": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "iframe": ("src",),
    "frame": ("src",),
    "script": ("src",),
    "link": ("href",),
}
_SRCSET_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "img": ("srcset",),
    "source": ("srcset",),
    "link": ("imagesrcset",),
}
# ``href`` on anything but these is an SVG resource reference (image, use, feImage, script, ...).
_NAVIGATION_HREF = frozenset({"a", "area", "base", "link"})
# SVG presentation attributes whose value is CSS that may hold url(...).
_CSS_ATTRIBUTES = frozenset(
    {
        "style",
        "fill",
        "stroke",
        "filter",
        "mask",
        "clip-path",
        "marker-start",
        "marker-mid",
        "marker-end",
        "cursor",
    }
)
_RAWTEXT = frozenset({"style", "script", "xmp", "iframe", "noembed", "noframes"})
_RCDATA = frozenset({"textarea", "title"})
_FOREIGN_ROOTS = frozenset({"svg", "math"})

_TAG_NAME = re.compile(r"[^\t\n\f />]*")
_SKIP_WS = re.compile(r"[\t\n\f ]*")
_ATTR_NAME = re.compile(r"[^\t\n\f />][^\t\n\f />=]*")  # a leading '=' is part of the name
_UNQUOTED = re.compile(r"[^\t\n\f >]*")
_CHAR_REF = re.compile(r"&(?:#[xX]([0-9A-Fa-f]+);?|#([0-9]+);?|([A-Za-z0-9]+;?))")
_LONGEST_ENTITY = max(len(name) for name in _ENTITIES)
# Numeric references the HTML spec maps to another code point (the windows-1252 legacy).
_C1_REPLACEMENTS = {
    0x80: 0x20AC, 0x82: 0x201A, 0x83: 0x0192, 0x84: 0x201E, 0x85: 0x2026, 0x86: 0x2020, 0x87: 0x2021,
    0x88: 0x02C6, 0x89: 0x2030, 0x8A: 0x0160, 0x8B: 0x2039, 0x8C: 0x0152, 0x8E: 0x017D, 0x91: 0x2018,
    0x92: 0x2019, 0x93: 0x201C, 0x94: 0x201D, 0x95: 0x2022, 0x96: 0x2013, 0x97: 0x2014, 0x98: 0x02DC,
    0x99: 0x2122, 0x9A: 0x0161, 0x9B: 0x203A, 0x9C: 0x0153, 0x9E: 0x017E, 0x9F: 0x0178,
}  # fmt: skip


class _Finder:
    """``pattern.search`` from increasing positions, each part of the text searched at most once."""

    def __init__(self, text: str, pattern: re.Pattern[str]) -> None:
        self._text = text
        self._pattern = pattern
        self._match: re.Match[str] | None = None
        self._searched_from = len(text) + 1  # nothing searched yet
        self._exhausted_from = len(text) + 1

    def search(self, pos: int) -> re.Match[str] | None:
        if pos >= self._exhausted_from:
            return None
        if self._match is not None and self._searched_from <= pos <= self._match.start():
            return self._match
        self._searched_from = pos
        self._match = self._pattern.search(self._text, pos)
        if self._match is None:
            self._exhausted_from = pos
        return self._match


def decode_attribute(value: str) -> str:
    """Character references in an attribute value decoded as the HTML tokenizer does in attribute
    mode: a named reference without ``;`` followed by ``=`` or an alphanumeric stays as written."""
    if "&" not in value:
        return value
    return _CHAR_REF.sub(lambda match: _char_ref(match, value), value)


def _char_ref(match: re.Match[str], text: str) -> str:
    hex_digits, dec_digits, name = match.groups()
    if name is None:
        digits = (hex_digits or dec_digits).lstrip("0")
        # more than 8 significant digits is past U+10FFFF whatever they are (and int() of 4,300+
        # decimal digits raises)
        code = int(digits, 16 if hex_digits else 10) if 0 < len(digits) <= 8 else (0 if not digits else -1)
        if code == 0 or code > 0x10FFFF or code < 0 or 0xD800 <= code <= 0xDFFF:
            return "\ufffd"
        return chr(_C1_REPLACEMENTS.get(code, code))
    for length in range(min(len(name), _LONGEST_ENTITY), 1, -1):
        candidate = name[:length]
        replacement = _ENTITIES.get(candidate)
        if replacement is None:
            continue
        if not candidate.endswith(";"):
            after = match.start(3) + length
            following = text[after] if after < len(text) else ""
            if following == "=" or (following.isascii() and following.isalnum()):
                return match.group()
        return replacement + name[length:]
    return match.group()


def html_urls(text: str, *, depth: int = 0) -> Iterator[Found]:
    """Every URL that displaying the HTML (or inline SVG) ``text`` fetches, in document order."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "\ufffd")
    return _HtmlScanner(text, depth).scan()


class _HtmlScanner:
    def __init__(self, text: str, depth: int) -> None:
        self.text = text
        self.depth = depth
        self.foreign = 0  # how many <svg>/<math> elements are open
        self.foreign_style: list[str] | None = None  # text of an open SVG <style>
        self._lt = _Finder(text, re.compile("<[A-Za-z/!?]"))  # any other '<' is text
        self._gt = _Finder(text, re.compile(">"))
        self._comment_end = _Finder(text, re.compile("--!?>"))
        self._end_tags: dict[str, _Finder] = {}

    def scan(self) -> Iterator[Found]:
        text, pos, end = self.text, 0, len(self.text)
        while pos < end:
            lt = self._lt.search(pos)
            if lt is None:
                self._text_run(pos, end)
                break
            start = lt.start()
            self._text_run(pos, start)
            pos = start + 1
            nxt = text[pos]
            if nxt.isalpha():
                tag = self._tag(pos)
                if tag is None:  # EOF inside the tag: browsers drop it
                    break
                name, attributes, self_closing, pos = tag
                yield from self._start_tag(name, attributes, self_closing)
                pos, css = self._after_start_tag(name, self_closing, pos)
                if css:
                    yield from (Found("style", attribute, url) for attribute, url in css_urls(css))
            elif nxt == "/":
                after = text[pos + 1] if pos + 1 < end else ""
                if after.isascii() and after.isalpha():
                    tag = self._tag(pos + 1)
                    if tag is None:
                        break
                    yield from self._end_tag(tag[0])
                    pos = tag[3]
                elif after == ">":
                    pos += 2
                elif not after:
                    break
                else:
                    pos = self._bogus_comment(pos)
            elif nxt == "!":
                pos = self._markup_declaration(pos + 1)
            elif nxt == "?":
                pos = self._bogus_comment(pos)
        if self.foreign_style is not None:
            yield from (
                Found("style", attribute, url) for attribute, url in css_urls("".join(self.foreign_style))
            )

    def _text_run(self, start: int, stop: int) -> None:
        if self.foreign_style is not None and start < stop:
            self.foreign_style.append(self.text[start:stop])

    def _tag(self, pos: int) -> tuple[str, list[tuple[str, str]], bool, int] | None:
        """Read a tag whose name starts at ``pos``: (name, attributes, self-closing, position after)."""
        text, end = self.text, len(self.text)
        name_match = _TAG_NAME.match(text, pos)
        assert name_match is not None
        name = name_match.group().translate(_ASCII_LOWER)
        pos = name_match.end()
        attributes: list[tuple[str, str]] = []
        seen: set[str] = set()
        while True:
            pos = _skip_ws(text, pos)
            if pos >= end:
                return None
            char = text[pos]
            if char == ">":
                return name, attributes, False, pos + 1
            if char == "/":
                pos += 1
                if pos >= end:
                    return None
                if text[pos] == ">":
                    return name, attributes, True, pos + 1
                continue
            attr_match = _ATTR_NAME.match(text, pos)
            assert attr_match is not None
            attr = attr_match.group().translate(_ASCII_LOWER)
            pos = _skip_ws(text, attr_match.end())
            value = ""
            if pos < end and text[pos] == "=":
                pos = _skip_ws(text, pos + 1)
                if pos >= end:
                    return None
                quote = text[pos]
                if quote in "\"'":
                    close = text.find(quote, pos + 1)
                    if close < 0:
                        return None
                    value = text[pos + 1 : close]
                    pos = close + 1
                else:
                    unquoted = _UNQUOTED.match(text, pos)
                    assert unquoted is not None
                    value = unquoted.group()
                    pos = unquoted.end()
            if attr not in seen:  # browsers keep the first of duplicate attributes
                seen.add(attr)
                attributes.append((attr, decode_attribute(value)))

    def _start_tag(self, name: str, attributes: list[tuple[str, str]], self_closing: bool) -> Iterator[Found]:
        attrs = dict(attributes)
        for attribute, value in attributes:
            if attribute in _URL_ATTRIBUTES.get(name, ()):
                yield Found(name, attribute, value, rewritten=attribute == "src" or name == "link")
            elif attribute == "src":  # JupyterLab resolves the src of any element
                yield Found(name, attribute, value, rewritten=True)
            elif attribute in _SRCSET_ATTRIBUTES.get(name, ()):
                yield from (Found(name, attribute, url) for url in srcset_urls(value))
            elif attribute == "background" or (
                attribute in ("href", "xlink:href") and name not in _NAVIGATION_HREF
            ):
                yield Found(name, attribute, value)
            elif attribute in _CSS_ATTRIBUTES:
                yield from (Found(name, attribute, url) for _, url in css_urls(value))
            elif attribute == "srcdoc" and name == "iframe":
                if self.depth + 1 >= SRCDOC_DEPTH:
                    yield Found(name, attribute, "")
                else:
                    yield from html_urls(value, depth=self.depth + 1)
        if name == "base" and "href" in attrs:
            yield Found(name, "href", attrs["href"])
        if name in _FOREIGN_ROOTS and not self_closing:
            self.foreign += 1

    def _end_tag(self, name: str) -> Iterator[Found]:
        if name in _FOREIGN_ROOTS and self.foreign:
            self.foreign -= 1
        if name == "style" and self.foreign_style is not None:
            css = "".join(self.foreign_style)
            self.foreign_style = None
            yield from (Found("style", attribute, url) for attribute, url in css_urls(css))

    def _after_start_tag(self, name: str, self_closing: bool, pos: int) -> tuple[int, str]:
        """Skip the content of a raw-text element: (where to go on, the CSS of a ``<style>``)."""
        if self.foreign:
            # inside SVG/MathML nothing is raw text: a <style>'s CSS is its text, gathered as it comes
            if name == "style" and not self_closing and self.foreign_style is None:
                self.foreign_style = []
            return pos, ""
        if name == "plaintext":
            return len(self.text), ""
        if name not in _RAWTEXT and name not in _RCDATA:
            return pos, ""
        close = self._end_tag_finder(name).search(pos)
        content_end = close.start() if close else len(self.text)
        # the end tag itself is read as a tag
        return content_end, (self.text[pos:content_end] if name == "style" else "")

    def _end_tag_finder(self, name: str) -> _Finder:
        finder = self._end_tags.get(name)
        if finder is None:
            finder = _Finder(self.text, re.compile(f"</{name}(?=[\t\n\f />])", re.IGNORECASE))
            self._end_tags[name] = finder
        return finder

    def _bogus_comment(self, pos: int) -> int:
        gt = self._gt.search(pos)
        return gt.end() if gt else len(self.text)

    def _markup_declaration(self, pos: int) -> int:
        """``pos`` is just after ``<!``."""
        text = self.text
        if text.startswith("--", pos):
            body = pos + 2
            if text.startswith(">", body):
                return body + 1
            if text.startswith("->", body):
                return body + 2
            close = self._comment_end.search(body)
            return close.end() if close else len(text)
        # DOCTYPE ends at the first '>', even inside its quoted identifiers; so does any bogus comment,
        # and so does <![CDATA[ outside SVG/MathML (inside them a CDATA section is text, and ending it
        # at the first '>' only reads more of it as markup)
        return self._bogus_comment(pos)


def _skip_ws(text: str, pos: int) -> int:
    match = _SKIP_WS.match(text, pos)
    assert match is not None
    return match.end()


_SRCSET_WS = re.compile(r"[\t\n\f\r ,]*")
_SRCSET_URL = re.compile(r"[^\t\n\f\r ]*")
_DESCRIPTOR_STOP = re.compile(r"[\t\n\f\r ,()]")


def srcset_urls(value: str) -> Iterator[str]:
    """The candidate URLs of a ``srcset`` value, split as the HTML spec's srcset parser splits it."""
    pos, end = 0, len(value)
    while True:
        skip = _SRCSET_WS.match(value, pos)
        assert skip is not None
        pos = skip.end()
        if pos >= end:
            return
        url_match = _SRCSET_URL.match(value, pos)
        assert url_match is not None
        url, pos = url_match.group(), url_match.end()
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            pos = _skip_descriptors(value, pos)
        if url:
            yield url


def _skip_descriptors(value: str, pos: int) -> int:
    """Past a candidate's descriptors: up to and including the first ',' outside parentheses."""
    in_parens = False
    while True:
        stop = _DESCRIPTOR_STOP.search(value, pos)
        if stop is None:
            return len(value)
        char, pos = stop.group(), stop.end()
        if in_parens:
            in_parens = char != ")"
        elif char == "(":
            in_parens = True
        elif char == ",":
            return pos


# --- CSS -------------------------------------------------------------------------------------------

_CSS_WS = "\t\n\f\r "
_HEX = frozenset("0123456789abcdefABCDEF")
_CSS_INTERESTING = re.compile(r"""[/"'\\()\[\]{}@a-zA-Z_\-\u0080-\U0010ffff]""")
_CSS_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CSS_NAME_RUN = re.compile(r"[A-Za-z0-9_\-\u0080-\U0010ffff]+")
_CSS_STRING_RUN = {'"': re.compile(r'[^"\\\n\r\f]+'), "'": re.compile(r"[^'\\\n\r\f]+")}
_CSS_URL_RUN = re.compile(r"""[^)\\"'(\t\n\f\r \x00-\x08\x0b\x0e-\x1f\x7f]+""")
_CSS_BAD_URL_RUN = re.compile(r"[^)\\]+")
_URL_STRING_FUNCTIONS = frozenset({"url", "image-set", "-webkit-image-set", "src"})


def css_urls(css: str) -> Iterator[tuple[str, str]]:
    """``("url()" | "@import", url)`` for every URL a CSS text (a stylesheet or a ``style`` attribute)
    fetches: url() tokens and functions, strings inside ``image-set()``/``src()``, and ``@import``."""
    css = css.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n").replace("\x00", "\ufffd")
    return _CssScanner(css).scan()


class _CssScanner:
    def __init__(self, css: str) -> None:
        self.css = css
        self.comment_end = _Finder(css, re.compile(r"\*/"))

    def scan(self) -> Iterator[tuple[str, str]]:
        css, pos, end = self.css, 0, len(self.css)
        blocks: list[tuple[str, str]] = []  # open blocks: (closing character, function name or "")
        while pos < end:
            match = _CSS_INTERESTING.search(css, pos)
            if match is None:
                return
            pos = match.start()
            char = css[pos]
            if char in _CSS_WS:
                pos += 1
                continue
            if char == "/" and css.startswith("/*", pos):
                close = self.comment_end.search(pos + 2)
                pos = close.end() if close else end
                continue
            if char in "\"'":
                value, pos = self._string(pos)
                if value is not None and blocks and blocks[-1][1] in _URL_STRING_FUNCTIONS:
                    yield "url()", value
                continue
            if char in _CSS_OPENERS:
                blocks.append((_CSS_OPENERS[char], ""))
                pos += 1
                continue
            if char in ")]}":
                if blocks and blocks[-1][0] == char:  # a closer of another kind is just a token
                    blocks.pop()
                pos += 1
                continue
            if char == "@":
                name, after = self._name(pos + 1)
                if name is None:
                    pos += 1
                    continue
                pos = after
                if name.translate(_ASCII_LOWER) == "import":
                    pos = self._skip_ws_and_comments(pos)
                    if pos < end and css[pos] in "\"'":
                        value, pos = self._string(pos)
                        if value is not None:
                            yield "@import", value
                continue
            if char == "\\" and not self._valid_escape(pos):
                pos += 1
                continue
            if char == "-" or char == "\\" or char == "_" or char.isalpha() or ord(char) >= 0x80:
                if not self._starts_identifier(pos):
                    pos += 1
                    continue
                name, pos = self._name(pos)
                assert name is not None
                if pos < end and css[pos] == "(":
                    lowered = name.translate(_ASCII_LOWER)
                    pos += 1
                    if lowered == "url":
                        inner = self._skip_css_ws(pos)
                        if inner < end and css[inner] in "\"'":
                            blocks.append((")", "url"))
                            pos = inner
                        else:
                            value, pos = self._url_token(inner)
                            if value is not None:
                                yield "url()", value
                    else:
                        blocks.append((")", lowered))
                continue
            pos += 1

    def _skip_css_ws(self, pos: int) -> int:
        end = len(self.css)
        while pos < end and self.css[pos] in _CSS_WS:
            pos += 1
        return pos

    def _skip_ws_and_comments(self, pos: int) -> int:
        css, end = self.css, len(self.css)
        while pos < end:
            if css[pos] in _CSS_WS:
                pos += 1
            elif css.startswith("/*", pos):
                close = self.comment_end.search(pos + 2)
                pos = close.end() if close else end
            else:
                break
        return pos

    def _valid_escape(self, pos: int) -> bool:
        return self.css[pos] == "\\" and pos + 1 < len(self.css) and self.css[pos + 1] != "\n"

    def _starts_identifier(self, pos: int) -> bool:
        css, end = self.css, len(self.css)
        char = css[pos]
        if char == "-":
            nxt = css[pos + 1] if pos + 1 < end else ""
            return nxt == "-" or _name_start(nxt) or (nxt == "\\" and self._valid_escape(pos + 1))
        if char == "\\":
            return self._valid_escape(pos)
        return _name_start(char)

    def _escape(self, pos: int) -> tuple[str, int]:
        """Decode the escape whose backslash is at ``pos`` (it is valid, or at the end of input)."""
        css, end = self.css, len(self.css)
        pos += 1
        if pos >= end:
            return "\ufffd", pos
        if css[pos] in _HEX:
            start = pos
            while pos < end and pos - start < 6 and css[pos] in _HEX:
                pos += 1
            code = int(css[start:pos], 16)
            if pos < end and css[pos] in _CSS_WS:
                pos += 1
            if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                return "\ufffd", pos
            return chr(code), pos
        return css[pos], pos + 1

    def _name(self, pos: int) -> tuple[str | None, int]:
        """Consume a name (identifier characters and escapes) at ``pos``."""
        css, end = self.css, len(self.css)
        parts: list[str] = []
        while pos < end:
            run = _CSS_NAME_RUN.match(css, pos)
            if run is not None:
                parts.append(run.group())
                pos = run.end()
            elif self._valid_escape(pos):
                char, pos = self._escape(pos)
                parts.append(char)
            else:
                break
        return ("".join(parts) if parts else None), pos

    def _string(self, pos: int) -> tuple[str | None, int]:
        """A string token; None for a bad string (an unescaped newline)."""
        css, end = self.css, len(self.css)
        quote = css[pos]
        run_pattern = _CSS_STRING_RUN[quote]
        pos += 1
        parts: list[str] = []
        while pos < end:
            run = run_pattern.match(css, pos)
            if run is not None:
                parts.append(run.group())
                pos = run.end()
                continue
            char = css[pos]
            if char == quote:
                return "".join(parts), pos + 1
            if char == "\n":
                return None, pos  # bad string: the newline is read again as whitespace
            # a backslash
            if pos + 1 >= end:
                pos += 1
            elif css[pos + 1] == "\n":
                pos += 2
            else:
                char, pos = self._escape(pos)
                parts.append(char)
        return "".join(parts), pos  # EOF ends a string

    def _url_token(self, pos: int) -> tuple[str | None, int]:
        """The rest of an unquoted url( token; None for a bad url (which loads nothing)."""
        css, end = self.css, len(self.css)
        parts: list[str] = []
        while pos < end:
            run = _CSS_URL_RUN.match(css, pos)
            if run is not None:
                parts.append(run.group())
                pos = run.end()
                continue
            char = css[pos]
            if char == ")":
                return "".join(parts), pos + 1
            if char in _CSS_WS:
                pos = self._skip_css_ws(pos)
                if pos >= end:
                    return "".join(parts), pos
                if css[pos] == ")":
                    return "".join(parts), pos + 1
                return None, self._bad_url_rest(pos)
            if char == "\\" and self._valid_escape(pos):
                char, pos = self._escape(pos)
                parts.append(char)
                continue
            return None, self._bad_url_rest(pos)
        return "".join(parts), pos

    def _bad_url_rest(self, pos: int) -> int:
        css, end = self.css, len(self.css)
        while pos < end:
            run = _CSS_BAD_URL_RUN.match(css, pos)
            if run is not None:
                pos = run.end()
                continue
            if css[pos] == ")":
                return pos + 1
            pos += 2 if self._valid_escape(pos) else 1
        return pos


def _name_start(char: str) -> bool:
    return bool(char) and (char == "_" or (char.isascii() and char.isalpha()) or ord(char) >= 0x80)
