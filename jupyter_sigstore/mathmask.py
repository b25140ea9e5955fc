"""What JupyterLab and Notebook 7 hand to their markdown parser: the text with its math set aside.

Before ``marked`` sees a markdown cell, JupyterLab's renderer replaces every math region (``$...$``,
``$$...$$``, ``\\\\(...\\\\)``, ``\\\\[...\\\\]``, ``\\begin{env}...\\end{env}``) with a placeholder
``@@N@@`` and writes the math back into the HTML afterwards (with ``& < >`` escaped, quotes not).
Taking math out first changes what the markdown parser sees: a backtick or a fence line inside math no
longer opens code, so an image that CommonMark reads as code is displayed; and math written back into
an image's address can add attributes to it. :func:`mask_math` computes the text JupyterLab's parser
receives and :func:`restore_math` writes the math back, so a CommonMark parser run on the masked text
sees what ``marked`` sees.

This is an independent implementation of the behaviour of ``removeMath``/``replaceMath`` in
``@jupyterlab/rendermime`` (``latex.ts``), including its regular expressions' match semantics (its
line terminators, greedy and lazy choices), written to run in linear time with an explicit step budget:
the JupyterLab code has inputs on which it needs quadratic time, and past the budget
:func:`mask_math` gives up (returns None) instead of spending it.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable

__all__ = ["mask_math", "restore_math"]

_JS_LINE_TERMINATORS = "\n\r\u2028\u2029"
# JavaScript's \s
_JS_SPACE = frozenset("\t\n\v\f\r \u00a0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff") | frozenset(
    chr(code) for code in range(0x2000, 0x200B)
)
_DETILDE = re.compile("~([TD])")
_SPLIT_START = re.compile(r"[$\\{}\n@]")
_ENVIRONMENT = re.compile(r"\\(?:begin|end)\{[a-zA-Z]*\*?\}", re.IGNORECASE)
_PLACEHOLDER = re.compile("@@([0-9]+)@@")


class _Budget:
    def __init__(self, steps: int) -> None:
        self.left = steps

    def spend(self, steps: int = 1) -> bool:
        self.left -= steps
        return self.left >= 0


def mask_math(text: str, budget: int | None = None) -> tuple[str, list[str]] | None:
    """The text JupyterLab's markdown parser receives for ``text``, and the math strings set aside
    (in placeholder order); None when computing it would take more than ``budget`` steps (default:
    50 per character)."""
    steps = _Budget(50 * len(text) + 10_000 if budget is None else budget)
    has_code = "`" in text or "~~~" in text
    if has_code:
        text = text.replace("~", "~T")
        protected = _protect_fences(text, steps)
        if protected is None:
            return None
        text = _protect_code_spans(protected)

    def detilde(value: str) -> str:
        if not has_code:
            return value
        return _DETILDE.sub(lambda match: "~" if match.group(1) == "T" else "$", value)

    blocks = _split(text.replace("\r\n", "\n").replace("\r", "\n"))
    math: list[str] = []
    if not _pair_delimiters(blocks, math, detilde, steps):
        return None
    return detilde("".join(blocks)), math


def restore_math(html: str, math: list[str]) -> str:
    """``html`` with each placeholder replaced by its math, as JupyterLab's ``replaceMath`` does. (A
    placeholder with no math makes JupyterLab's throw, and the cell shows nothing; here it becomes
    ``undefined``, which can only add to what is reported.)"""

    def group(match: re.Match[str]) -> str:
        digits = match.group(1)
        canonical = digits == "0" or not digits.startswith("0")
        if not canonical or len(digits) > 9 or int(digits) >= len(math):
            return "undefined"
        value = math[int(digits)]
        for opening, closing in (("\\\\(", "\\\\)"), ("\\\\[", "\\\\]")):
            if value.startswith(opening) and value.endswith(closing) and len(value) >= 3:
                return opening[1:] + value[3 : len(value) - 3] + closing[1:]
        return value

    return _PLACEHOLDER.sub(group, html)


def _line_starts(text: str) -> list[int]:
    """Where JavaScript's multiline ``^`` matches: the start, and after every line terminator."""
    starts = [0]
    starts.extend(i + 1 for i, char in enumerate(text) if char in _JS_LINE_TERMINATORS)
    return starts


def _line_end(text: str, pos: int) -> int:
    """Where JavaScript's multiline ``$`` first matches at or after ``pos``."""
    best = len(text)
    for terminator in _JS_LINE_TERMINATORS:
        found = text.find(terminator, pos, best)
        if found >= 0:
            best = found
    return best


def _replace_dollars(text: str, regions: list[tuple[int, int]]) -> str:
    if not regions:
        return text
    parts: list[str] = []
    pos = 0
    for start, end in regions:
        parts.append(text[pos:start])
        parts.append(text[start:end].replace("$", "~D"))
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


def _protect_fences(text: str, steps: _Budget) -> str | None:
    """``$`` -> ``~D`` inside what ``/^(?<fence>`{3,}|(~T){3,})[^`\\n]*\\n([\\s\\S]*?)^\\k<fence>`*$/gm``
    matches (tildes are already ``~T``)."""
    starts = _line_starts(text)
    lines = []  # (start, end) of each JavaScript line
    for index, start in enumerate(starts):
        end = starts[index + 1] - 1 if index + 1 < len(starts) else len(text)
        lines.append((start, end))
    regions: list[tuple[int, int]] = []
    last_index = 0
    line = 0
    while line < len(lines):
        start, _ = lines[line]
        if start < last_index:
            line += 1
            continue
        found = _fence_at(text, lines, line, steps)
        if found is None:
            if steps.left < 0:
                return None
            line += 1
            continue
        close_line, match_end = found
        regions.append((start, match_end))
        last_index = match_end
        line = close_line + 1
    return _replace_dollars(text, regions)


def _fence_at(text: str, lines: list[tuple[int, int]], line: int, steps: _Budget) -> tuple[int, int] | None:
    start, _ = lines[line]
    if text.startswith("```", start):
        unit, count = "`", _run_length(text, start, "`")
    elif text.startswith("~T~T~T", start):
        unit, count = "~T", _run_length(text, start, "~T")
    else:
        return None
    newline = text.find("\n", start)
    if newline < 0 or "`" in text[start + len(unit) * count : newline]:
        return None
    # the first JavaScript line that starts after the newline
    first = _first_line_after(lines, line, newline, steps)
    if first is None:
        return None
    sizes = [count] if unit == "`" else list(range(count, 2, -1))
    for size in sizes:
        fence = unit * size
        for candidate in range(first, len(lines)):
            if not steps.spend():
                return None
            cstart, cend = lines[candidate]
            if not text.startswith(fence, cstart):
                continue
            rest = text[cstart + len(fence) : cend]
            if rest.strip("`") == "":
                return candidate, cend
    return None


def _first_line_after(lines: list[tuple[int, int]], line: int, pos: int, steps: _Budget) -> int | None:
    index = line + 1
    while index < len(lines) and lines[index][0] <= pos:
        if not steps.spend():
            return None
        index += 1
    return index


def _run_length(text: str, pos: int, unit: str) -> int:
    count = 0
    while text.startswith(unit, pos):
        count += 1
        pos += len(unit)
    return count


def _protect_code_spans(text: str) -> str:
    """``$`` -> ``~D`` inside what ``/(^|[^\\\\])(`+)([^\\n]*?[^`\\n])\\2(?!`)/gm`` matches."""
    runs: list[tuple[int, int]] = []  # maximal runs of backticks: (start, length)
    for match in re.finditer("`+", text):
        runs.append((match.start(), match.end() - match.start()))
    if not runs:
        return text
    # for each line (split at "\n" only, as [^\n] does), the runs of each length in order
    by_length: dict[tuple[int, int], list[int]] = {}
    line_of: list[int] = []
    line = 0
    newline = text.find("\n")
    for index, (start, length) in enumerate(runs):
        while 0 <= newline < start:
            line += 1
            newline = text.find("\n", newline + 1)
        line_of.append(line)
        by_length.setdefault((line, length), []).append(index)
    regions: list[tuple[int, int]] = []
    last_index = 0
    index = 0
    while index < len(runs):
        start, length = runs[index]
        if start < last_index:
            index += 1
            continue
        if start == 0 or text[start - 1] != "\\":
            # (^|[^\\]) takes the character before the run (a line terminator too) into the match
            match_start, opening = max(start - 1, 0), length
        else:  # after a backslash the match starts at the run, which opens one backtick shorter
            match_start, opening = start, length - 1
        closing = None
        for size in range(opening, 0, -1):
            same = by_length.get((line_of[index], size))
            if not same:
                continue
            after = bisect_right(same, index)
            if after < len(same):
                closing = same[after]
                break
        if closing is None:
            index += 1
            continue
        close_start, close_length = runs[closing]
        regions.append((match_start, close_start + close_length))
        last_index = close_start + close_length
        index = closing + 1
    return _replace_dollars(text, regions)


def _split(text: str) -> list[str]:
    """``text.split(MATHSPLIT)``: text and delimiters alternating (delimiters at odd indices)."""
    blocks: list[str] = []
    pos = chunk = 0
    end = len(text)
    while True:
        found = _SPLIT_START.search(text, pos)
        if found is None:
            break
        at = found.start()
        delimiter = _delimiter_at(text, at)
        if delimiter is None:
            pos = at + 1
            continue
        blocks.append(text[chunk:at])
        blocks.append(delimiter)
        pos = chunk = at + len(delimiter)
    blocks.append(text[chunk:end])
    return blocks


def _delimiter_at(text: str, at: int) -> str | None:
    char = text[at]
    if char == "$":
        return "$$" if text.startswith("$$", at) else "$"
    if char in "{}":
        return char
    if char == "\n":
        end = at + 1
        while end < len(text) and text[end] in _JS_SPACE:
            end += 1
        return text[at:end]
    if char == "@":
        if not text.startswith("@@", at):
            return None
        end = at + 2
        while end < len(text) and text[end] in "0123456789":
            end += 1
        if end > at + 2 and text.startswith("@@", end):
            return text[at : end + 2]
        return None
    # a backslash
    environment = _ENVIRONMENT.match(text, at)
    if environment is not None:
        return environment.group()
    if text.startswith(("\\{", "\\}", "\\$"), at):
        return text[at : at + 2]
    if text.startswith(("\\\\(", "\\\\)", "\\\\[", "\\\\]"), at):
        return text[at : at + 3]
    return None


def _is_paragraph_break(block: str) -> bool:
    """``/\\n.*\\n/``: two newlines with no other line terminator between them."""
    first = block.find("\n")
    while first >= 0:
        second = block.find("\n", first + 1)
        if second < 0:
            return False
        if not any(char in block[first + 1 : second] for char in "\r\u2028\u2029"):
            return True
        first = second
    return False


def _pair_delimiters(
    blocks: list[str], math: list[str], detilde: Callable[[str], str], steps: _Budget
) -> bool:
    """The delimiter-pairing loop of ``removeMath``: math regions become placeholders in ``blocks``."""
    start: int | None = None
    end: str | None = None
    last: int | None = None
    braces = 0

    def process(first: int, final: int) -> None:
        block = (
            "".join(blocks[first : final + 1]).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        )
        block = detilde(block)
        for index in range(first + 1, final + 1):
            blocks[index] = ""
        blocks[first] = f"@@{len(math)}@@"
        math.append(block)

    i = 1
    while i < len(blocks):
        if not steps.spend():
            return False
        block = blocks[i]
        if block.startswith("@"):
            blocks[i] = f"@@{len(math)}@@"
            math.append(block)
        elif start is not None:
            if block == end:
                if braces:
                    last = i
                else:
                    process(start, i)
                    start = end = last = None
            elif _is_paragraph_break(block):
                if last is not None:
                    i = last
                    process(start, i)
                start = end = last = None
                braces = 0
            elif block == "{":
                braces += 1
            elif block == "}" and braces:
                braces -= 1
        elif block in ("$", "$$"):
            start, end, braces = i, block, 0
        elif block in ("\\\\(", "\\\\["):
            start, end, braces = i, ("\\\\)" if block.endswith("(") else "\\\\]"), 0
        elif block[1:6] == "begin":
            start, end, braces = i, "\\end" + block[6:], 0
        i += 2
    if start is not None and last is not None:
        process(start, last)
    return True
