"""references: which files a notebook displays from outside itself, read the way front ends read them.

Table-driven cases for markdown, HTML, SVG and CSS; the reading of local paths (entities, percent
escapes, query and fragment, ``./``, ``..``, backslashes, whitespace); resolving local references on
disk (symlinks out of the root refused); properties (never raises, deterministic); the bounded-work
attacks; and a differential test against JupyterLab's own markdown pipeline (its ``removeMath`` and
``marked``, run in Node from the built extension's node_modules).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_sigstore.htmlscan import css_urls, html_urls, srcset_urls
from jupyter_sigstore.mathmask import mask_math, restore_math
from jupyter_sigstore.references import (
    MAX_MARKDOWN_CHARS,
    DisplayedFiles,
    Kind,
    Reference,
    _markdown_findings,
    displayed_files,
    resolve_local,
)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = Path("/project/notebooks/analysis.ipynb")

L, R, A, D, OUT = Kind.LOCAL, Kind.REMOTE, Kind.ATTACHMENT, Kind.DATA, Kind.OUTSIDE


def markdown_nb(text: str) -> dict[str, Any]:
    return {"cells": [{"cell_type": "markdown", "metadata": {}, "source": text}]}


def output_nb(mime: str, text: str) -> dict[str, Any]:
    output = {"output_type": "display_data", "metadata": {}, "data": {mime: text}}
    return {"cells": [{"cell_type": "code", "metadata": {}, "source": "", "outputs": [output]}]}


def found(result: DisplayedFiles) -> set[tuple[str, str, Kind, str]]:
    return {(ref.element, ref.attribute, ref.kind, ref.target) for ref in result.references}


def in_markdown(text: str, root: Path | None = None) -> set[tuple[str, str, Kind, str]]:
    return found(displayed_files(markdown_nb(text), NOTEBOOK, root))


def in_html(text: str, mime: str = "text/html") -> set[tuple[str, str, Kind, str]]:
    return found(displayed_files(output_nb(mime, text), NOTEBOOK))


def img(target: str, kind: Kind = L, attribute: str = "src") -> tuple[str, str, Kind, str]:
    return ("img", attribute, kind, target)


# --- markdown --------------------------------------------------------------------------------------

MARKDOWN_CASES = [
    ("inline image with title", '![acc](figs/acc.png "Accuracy")', {img("figs/acc.png")}),
    ("reference-style image", "![acc][fig]\n\n[fig]: figs/ref.png", {img("figs/ref.png")}),
    ("collapsed reference", "![fig][]\n\n[fig]: <figs/collapsed.png>", {img("figs/collapsed.png")}),
    ("shortcut reference", "![fig]\n\n[FIG]: figs/shortcut.png 'title'", {img("figs/shortcut.png")}),
    ("a definition nobody uses shows nothing", "[fig]: figs/unused.png", set()),
    ("a link is not displayed", "[the figure](figs/link.png) and <https://example.com/a.png>", set()),
    ("an image inside a link is", "[![](figs/inner.png)](report.html)", {img("figs/inner.png")}),
    ("code span", "see `![](figs/code.png)` for the syntax", set()),
    ("fenced code", "```\n![](figs/fenced.png)\n```", set()),
    ("tilde fence", "~~~md\n![](figs/tilde.png)\n~~~", set()),
    ("indented code", "text\n\n    ![](figs/indented.png)", set()),
    ("raw HTML block", '<div>\n<img src="figs/block.png">\n</div>', {img("figs/block.png")}),
    ("markdown inside an HTML block is text", "<div>\n![](figs/text.png)\n</div>", set()),
    ("markdown after a blank line in HTML is markdown", "<div>\n\n![](figs/md.png)\n\n</div>", {img("figs/md.png")}),  # noqa: E501
    ("inline HTML", "a <img src=figs/inline.png> b", {img("figs/inline.png")}),
    ("HTML comment", "<!-- ![](figs/c1.png) <img src=figs/c2.png> -->", set()),
    ("entity in the address", "![](figs/a&amp;b.png)", {img("figs/a&b.png")}),
    ("backslash escape", r"![](figs/a\_b.png)", {img("figs/a_b.png")}),
    ("percent escape", "![](figs/fig%20one.png)", {img("figs/fig one.png")}),
    ("spaces in <...>", "![](<figs/fig two.png>)", {img("figs/fig two.png")}),
    ("query and fragment", "![](figs/acc.png?v=2#top)", {img("figs/acc.png")}),
    ("./ and ..", "![](./figs/../figs/./acc.png)", {img("figs/acc.png")}),
    ("case is kept", "![](Figs/ACC.PNG)", {img("Figs/ACC.PNG")}),
    ("attachment", "![](attachment:plot.png)", {img("plot.png", A)}),
    ("data URL", "![](data:image/png;base64,iVBORw0KGgo=)", {img("data:image/png", D)}),
    ("remote", "![](https://example.com/a.png) ![](ftp://h/b.png)", {
        img("https://example.com/a.png", R), img("ftp://h/b.png", R)
    }),
    ("protocol-relative", "![](//cdn.example.com/c.png)", {img("//cdn.example.com/c.png", R)}),
    ("absolute path", "![](/etc/passwd)", {img("/etc/passwd", OUT)}),
    ("file URL", "![](file:///etc/passwd)", {img("file:///etc/passwd", OUT)}),
    (".. past the root", "![](../secret.png)", {img("../secret.png", OUT)}),
    ("math does not hide a later image", "$x^2$ and ![](figs/after-math.png)", {img("figs/after-math.png")}),
    ("table cells split before code spans (GFM)", "| a | b |\n|---|---|\n| `x | ![](figs/t.png) | y` |", {
        img("figs/t.png")
    }),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"), [case[1:] for case in MARKDOWN_CASES], ids=[c[0] for c in MARKDOWN_CASES]
)
def test_markdown(text: str, expected: set[tuple[str, str, Kind, str]]) -> None:
    assert in_markdown(text) == expected


def test_markdown_dot_dot_inside_a_given_root_is_local() -> None:
    assert in_markdown("![](../shared/fig.png)", root=NOTEBOOK.parent.parent) == {img("../shared/fig.png")}
    assert in_markdown("![](../../fig.png)", root=NOTEBOOK.parent.parent) == {img("../../fig.png", OUT)}


def test_math_set_aside_by_jupyterlab_unhides_an_image() -> None:
    """The attack: a fence that CommonMark sees hides the image from a CommonMark reader, but JupyterLab
    first removes the math around the fence's opening line, and marked then renders the image."""
    text = "$\n ```\n$\n![](figs/swapped.png)\n ```\n"
    assert img("figs/swapped.png") in in_markdown(text)


def test_math_written_back_into_an_address_adds_attributes() -> None:
    """JupyterLab writes math back into the HTML unescaped quotes and all: an image address holding
    math gains a srcset that loads another file."""
    refs = in_markdown('![](a$"srcset="figs/other.png$)')
    assert img("figs/other.png$", attribute="srcset") in refs


def test_where_each_reference_is() -> None:
    nb = {
        "cells": [
            {"cell_type": "markdown", "source": ["# Title\n", "![](figs/a.png)"], "attachments": {}},
            {"cell_type": "code", "outputs": [
                {"output_type": "stream", "name": "stdout", "text": "<img src=no.png>"},
                {"output_type": "execute_result", "data": {"text/html": ["<img ", "src='figs/b.png'>"]}},
                {"output_type": "display_data", "data": {"text/markdown": "![](figs/c.png)"}},
            ]},
            {"cell_type": "raw", "metadata": {}, "source": "<img src=figs/raw.png>"},
            {"cell_type": "raw", "metadata": {"raw_mimetype": "text/x-python"}, "source": "<img src=no.png>"},
        ]
    }  # fmt: skip
    refs = displayed_files(nb, NOTEBOOK).references
    assert [(r.cell, r.output, r.mime, r.raw, r.target) for r in refs] == [
        (0, None, "text/markdown", "figs/a.png", "figs/a.png"),
        (1, 1, "text/html", "figs/b.png", "figs/b.png"),
        (1, 2, "text/markdown", "figs/c.png", "figs/c.png"),
        (2, None, "text/html", "figs/raw.png", "figs/raw.png"),
    ]


# --- HTML, SVG, CSS --------------------------------------------------------------------------------

HTML_CASES = [
    ("img src", '<img src="figs/a.png">', {img("figs/a.png")}),
    ("img srcset, every candidate", '<img srcset="figs/a.png 1x, figs/b,c.png 2x,figs/d.png 100w (x,y)">', {
        img("figs/a.png", attribute="srcset"), img("figs/b,c.png", attribute="srcset"),
        img("figs/d.png", attribute="srcset"),
    }),
    ("video src and poster", '<video src="v.mp4" poster="p.png"></video>', {
        ("video", "src", L, "v.mp4"), ("video", "poster", L, "p.png")
    }),
    ("audio and track", '<audio src="a.ogg"><track src="t.vtt"></audio>', {
        ("audio", "src", L, "a.ogg"), ("track", "src", L, "t.vtt")
    }),
    ("picture", '<picture><source srcset="s.webp" type="image/webp"><img src="f.png"></picture>', {
        ("source", "srcset", L, "s.webp"), img("f.png")
    }),
    ("input type=image", '<input type="image" src="btn.png">', {("input", "src", L, "btn.png")}),
    ("embed, object, iframe", '<embed src="e.svg"><object data="o.pdf"></object><iframe src="i.html"></iframe>', {  # noqa: E501
        ("embed", "src", L, "e.svg"), ("object", "data", L, "o.pdf"), ("iframe", "src", L, "i.html")
    }),
    ("stylesheet and script", '<link rel="stylesheet" href="s.css"><script src="x.js"></script>', {
        ("link", "href", L, "s.css"), ("script", "src", L, "x.js")
    }),
    ("inline SVG", '<svg><image href="i.png"/><image xlink:href="j.png"/><use href="u.svg#a"/>'
     '<use href="#local"/><a href="link.html">x</a></svg>', {
        ("image", "href", L, "i.png"), ("image", "xlink:href", L, "j.png"), ("use", "href", L, "u.svg")
    }),
    ("CSS in a style attribute", '<div style="background: url(bg.png); cursor: url(&quot;c.cur&quot;)">', {
        ("div", "style", L, "bg.png"), ("div", "style", L, "c.cur")
    }),
    ("CSS in a style element", '<style>@import "a.css"; @import url(b.css); .x{background:'
     'image-set("c.png" 1x, url(d.png) 2x)} .y{background:u\\72l(e.png)} /* url(no.png) */</style>', {
        ("style", "@import", L, "a.css"), ("style", "url()", L, "b.css"), ("style", "url()", L, "c.png"),
        ("style", "url()", L, "d.png"), ("style", "url()", L, "e.png"),
    }),
    ("legacy background attribute", '<table background="t.png"></table>', {("table", "background", L, "t.png")}),  # noqa: E501
    ("iframe srcdoc is a document too", '<iframe srcdoc="&lt;img src=&quot;in.png&quot;&gt;"></iframe>', {img("in.png")}),  # noqa: E501
    ("links are not displayed", '<a href="a.png">a</a><area href="b.png">', set()),
    ("comments hide", "<!-- <img src=no.png> -->", set()),
    ("<!--> is a whole comment", "<!--> <img src=shown.png> -->", {img("shown.png")}),
    ("--!> ends a comment", "<!-- x --!> <img src=shown.png> -->", {img("shown.png")}),
    ("CDATA outside SVG ends at the first >", "<![CDATA[> <img src=shown.png> ]]>", {img("shown.png")}),
    ("raw text is not markup", "<textarea><img src=no.png></textarea><script>'<img src=no2.png>'</script>", set()),  # noqa: E501
    ("a tag cut off at the end is dropped", "<img src=no.png", set()),
    ("the first of duplicate attributes wins", "<img src=first.png src=second.png>", {img("first.png")}),
    ("entities in attributes", '<img src="a&amp;b.png"><img src="c&#x2F;d.png"><img src="e&#47;f.png">', {
        img("a&b.png"), img("c/d.png"), img("e/f.png")
    }),
    ("no ; and then alphanumeric: not a reference", '<img src="x&amp1.png"><img src="y&copy=2.png">', {
        img("x&amp1.png"), img("y&copy=2.png")
    }),
    ("percent escapes", '<img src="fig%20one.png"><img src="sub%2Fdir.png">', {img("fig one.png"), img("sub/dir.png")}),  # noqa: E501
    ("remote, data, attachment", '<img src="HTTP://e.com/a.png"><img src="data:image/gif,x"><img src="attachment:a.png">', {  # noqa: E501
        img("HTTP://e.com/a.png", R), img("data:image/gif", D), img("a.png", A)
    }),
    ("fragment only refers to the page", '<image href="#x"/><img src="">', set()),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"), [case[1:] for case in HTML_CASES], ids=[c[0] for c in HTML_CASES]
)
def test_html(text: str, expected: set[tuple[str, str, Kind, str]]) -> None:
    assert in_html(text) == expected


def test_svg_output() -> None:
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg"><style>.a{fill:url(grad.svg#g)}</style>'
        '<image href="s.png"/><feImage xlink:href="f.png"/><rect fill="url(#local)"/>'
        '<rect filter="url(fx.svg#blur)"/></svg>'
    )
    assert in_html(svg, "image/svg+xml") == {
        ("style", "url()", L, "grad.svg"),
        ("image", "href", L, "s.png"),
        ("feimage", "xlink:href", L, "f.png"),
        ("rect", "filter", L, "fx.svg"),
    }


def test_whitespace_and_backslashes_are_read_both_ways() -> None:
    """Browsers strip surrounding spaces and read '\\' as '/'; JupyterLab takes the attribute's text
    as a file name. Both files are reported, so neither can be swapped unseen."""
    assert in_html('<img src=" figs/a.png">') == {img("figs/a.png"), img(" figs/a.png")}
    assert in_html('<img src="figs\\b.png">') == {img("figs/b.png"), img("figs\\b.png")}
    assert in_html('<img src="fi\ngs/c.png">') == {img("figs/c.png"), img("fi\ngs/c.png")}
    # a leading space hides a scheme from JupyterLab: it asks the server for that file name
    assert in_html('<img src=" data:image/png;base64,AAAA">') == {
        img("data:image/png", D),
        img(" data:image/png;base64,AAAA"),
    }
    # only src (and link href) are JupyterLab's own reading; srcset is left to the browser
    assert in_html('<img srcset=" figs/d.png">') == {img("figs/d.png", attribute="srcset")}


def test_base_element_is_reported_as_a_limit() -> None:
    result = displayed_files(output_nb("text/html", '<base href="../other/"><img srcset="x.png">'), NOTEBOOK)
    assert [limit.reason for limit in result.limits] == [
        "a <base href> (../other/) changes where relative references resolve"
    ]


@pytest.mark.parametrize(
    ("srcset", "urls"),
    [
        ("a.png", ["a.png"]),
        ("a.png 1x, b.png 2x", ["a.png", "b.png"]),
        ("a.png,b.png", ["a.png,b.png"]),
        ("a.png, b.png", ["a.png", "b.png"]),
        ("a.png,, ,b.png 2x", ["a.png", "b.png"]),
        ("a.png 100w (x, y), b.png", ["a.png", "b.png"]),
        ("data:image/png;base64,AA== 1x, c.png 2x", ["data:image/png;base64,AA==", "c.png"]),
        (" , ", []),
    ],
)
def test_srcset_candidates(srcset: str, urls: list[str]) -> None:
    assert list(srcset_urls(srcset)) == urls


# --- resolving on disk -----------------------------------------------------------------------------


def local_ref(target: str) -> Reference:
    return Reference(0, None, "text/markdown", "img", "src", target, Kind.LOCAL, target)


def test_resolve_local(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "nb" / "figs").mkdir(parents=True)
    notebook = project / "nb" / "analysis.ipynb"
    notebook.write_text("{}")
    (project / "nb" / "figs" / "acc.png").write_bytes(b"png")
    (project / "shared.png").write_bytes(b"png")
    outside = tmp_path / "outside.png"
    outside.write_bytes(b"secret")
    (project / "nb" / "figs" / "escape.png").symlink_to(outside)
    (project / "nb" / "figs" / "inside.png").symlink_to(project / "shared.png")
    (project / "nb" / "figs" / "dir.png").mkdir()
    os.mkfifo(project / "nb" / "figs" / "fifo.png")

    assert (
        resolve_local(local_ref("figs/acc.png"), notebook) == (project / "nb" / "figs" / "acc.png").resolve()
    )
    # the attack: a symlink beside the notebook that leads out of the root
    assert resolve_local(local_ref("figs/escape.png"), notebook) is None
    assert resolve_local(local_ref("figs/escape.png"), notebook, root=tmp_path) == outside.resolve()
    # a symlink that stays inside the root is followed
    assert resolve_local(local_ref("figs/inside.png"), notebook) is None  # root = the notebook's folder
    assert (
        resolve_local(local_ref("figs/inside.png"), notebook, root=project)
        == (project / "shared.png").resolve()
    )
    for name in ("figs/missing.png", "figs/dir.png", "figs/fifo.png", "figs/a\x00.png", "../shared.png"):
        assert resolve_local(local_ref(name), notebook) is None
    assert (
        resolve_local(local_ref("../shared.png"), notebook, root=project)
        == (project / "shared.png").resolve()
    )
    remote = Reference(0, None, "text/html", "img", "src", "x", Kind.REMOTE, "https://e.com/figs/acc.png")
    assert resolve_local(remote, notebook) is None


def test_found_references_resolve(tmp_path: Path) -> None:
    notebook = tmp_path / "analysis.ipynb"
    (tmp_path / "figs").mkdir()
    (tmp_path / "figs" / "fig one.png").write_bytes(b"png")
    nb = markdown_nb("![](figs/fig%20one.png?x=1) ![](figs/missing.png)")
    result = displayed_files(nb, notebook)
    resolved = [resolve_local(ref, notebook) for ref in result.local()]
    assert resolved == [(tmp_path / "figs" / "fig one.png").resolve(), None]


# --- properties ------------------------------------------------------------------------------------

_FRAGMENTS = st.sampled_from(
    ["![", "](", "[", "]", "(", ")", "a.png", "`", "```", "~~~", "$", "$$", "\\", "\\\\(", "\n", "\n\n",
     " ", "    ", "<img src=", "<svg>", "<style>", "</style>", "url(", '"', "'", ">", "<", "&amp;", "&#",
     "<!--", "-->", "|", "-", "@@0@@", "{", "}", "\\begin{x}", "\\end{x}", "%", "%2e", "..", "/", "#", "?",
     "srcset=", "data:", "\x00", "\r", "\u2028", "\ud800"]
)  # fmt: skip
_TEXTS = st.one_of(st.text(max_size=200), st.lists(_FRAGMENTS, max_size=40).map("".join))


@settings(max_examples=300, deadline=None)
@given(text=_TEXTS, mime=st.sampled_from(["markdown", "text/html", "image/svg+xml", "text/markdown", "raw"]))
def test_never_raises_and_is_deterministic(text: str, mime: str) -> None:
    if mime == "markdown":
        nb = markdown_nb(text)
    elif mime == "raw":
        nb = {"cells": [{"cell_type": "raw", "source": text}]}
    else:
        nb = output_nb(mime, text)
    first = displayed_files(nb, NOTEBOOK)
    assert first == displayed_files(nb, NOTEBOOK)
    for ref in first.references:
        assert ref.kind is not Kind.LOCAL or not ref.target.startswith(("/", "../"))


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(
    cells=st.lists(
        _JSON
        | st.fixed_dictionaries(
            {"cell_type": st.sampled_from(["markdown", "code", "raw"])},
            optional={"source": _JSON, "outputs": _JSON, "metadata": _JSON},
        )
    )
)
def test_never_raises_on_any_json(cells: list[Any]) -> None:
    assert isinstance(displayed_files({"cells": cells}, NOTEBOOK), DisplayedFiles)


@settings(max_examples=300, deadline=None)
@given(text=_TEXTS)
def test_scanners_never_raise(text: str) -> None:
    list(html_urls(text))
    list(css_urls(text))
    list(srcset_urls(text))
    masked = mask_math(text)
    if masked is not None:
        restore_math(masked[0], masked[1])


def test_css_urls_agree_with_tinycss2() -> None:
    """Differential: our CSS scanner against tinycss2's tokenizer (CSS Syntax Level 3). (tinycss2 keeps
    a backslash before a newline inside url( as a character, where the spec and browsers read a bad
    URL that loads nothing; the pieces leave that case out.)"""
    tinycss2 = pytest.importorskip("tinycss2")
    pieces = ["url(", "URL(", "u\\72l(", ")", "(", '"', "'", "a.png", " ", "\n", "\\)", "\\29 ", "/*", "*/",
              "@import ", "image-set(", "x", "-", ",", ";", "{", "}", '"\\\n"', "\x00", "b c"]  # fmt: skip
    rng = random.Random(1616)
    for _ in range(3000):
        css = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        assert sorted(url for _, url in css_urls(css)) == sorted(_tinycss2_urls(tinycss2, css)), css


def _tinycss2_urls(tinycss2: Any, css: str) -> list[str]:
    urls: list[str] = []

    def walk(tokens: list[Any], function: str, after_import: bool) -> None:
        for token in tokens:
            if token.type in ("whitespace", "comment"):
                continue
            in_url_function = function in ("url", "image-set", "-webkit-image-set", "src")
            if token.type == "url" or (token.type == "string" and (after_import or in_url_function)):
                urls.append(token.value)
            elif token.type == "function":
                walk(token.arguments, token.lower_name, False)
            elif token.type in ("() block", "[] block", "{} block"):
                walk(token.content, "", False)
            after_import = token.type == "at-keyword" and token.lower_value == "import"

    walk(tinycss2.parse_component_value_list(css, skip_comments=True), "", False)
    return urls


# --- bounded work ----------------------------------------------------------------------------------

# Each of these runs in well under a second per MB here; a quadratic scanner would need hours on 10 MB.
MB = 1024 * 1024
ATTACKS = {
    "markdown images": ("markdown", "!["),
    "markdown destinations": ("markdown", "![a](b"),
    "markdown math": ("markdown", "$\\begin{a}{\\end{a} "),
    "markdown code spans": ("markdown", "` `` $ ![](x) "),
    "markdown html": ("markdown", "<img src="),
    "html tags": ("text/html", "<a "),
    "html comments": ("text/html", "<!-- --! -- >"),
    "html attributes": ("text/html", "<img src='&amp;&#x"),
    "html style": ("text/html", "<svg><style>"),
    "html srcset": ("text/html", "<img srcset='a,"),
    "css": ("text/html", "<style>u\\72 l(image-set(@import /*"),
    "svg": ("image/svg+xml", "<svg><image href=a"),
}


def attack(kind: str, unit: str, size: int) -> DisplayedFiles:
    text = (unit * (size // len(unit) + 1))[:size]
    nb = markdown_nb(text) if kind == "markdown" else output_nb(kind, text)
    return displayed_files(nb, NOTEBOOK)


@pytest.mark.parametrize(("kind", "unit"), list(ATTACKS.values()), ids=list(ATTACKS))
def test_hostile_cells_cost_linear_work(kind: str, unit: str) -> None:
    start = time.monotonic()
    attack(kind, unit, 2 * MB)
    assert time.monotonic() - start < 120  # generous: linear is a few seconds, quadratic is hours


@pytest.mark.parametrize(("kind", "unit"), [ATTACKS["markdown images"], ATTACKS["html tags"]])
def test_ten_megabyte_cells(kind: str, unit: str) -> None:
    start = time.monotonic()
    result = attack(kind, unit, 10 * MB)
    assert time.monotonic() - start < 300
    if kind == "markdown":
        assert "markdown read approximately (10,485,760 characters)" in result.limits[0].reason


def test_large_markdown_is_read_approximately_but_completely() -> None:
    """Past the size limit nothing is missed: code spans are read as if they were text."""
    text = "x" * MAX_MARKDOWN_CHARS + " `![](figs/in-code.png)` ![](figs/real.png) <img src=figs/raw.png>"
    result = displayed_files(markdown_nb(text), NOTEBOOK)
    assert {ref.target for ref in result.references} == {"figs/in-code.png", "figs/real.png", "figs/raw.png"}
    assert result.limits and result.limits[0].cell == 0


def test_data_urls_do_not_count_against_the_markdown_limit() -> None:
    payload = "iVBORw0KGgo" * (MAX_MARKDOWN_CHARS // 5)
    result = displayed_files(
        markdown_nb(f"![](data:image/png;base64,{payload}) `![](figs/code.png)`"), NOTEBOOK
    )
    assert found(result) == {img("data:image/png", D)}
    assert result.limits == ()


def test_math_pairing_has_a_step_budget() -> None:
    """JupyterLab's math pairing rescans after every unmatched environment: quadratic. Ours stops."""

    def name(n: int) -> str:  # environment names are letters only
        return "".join(chr(ord("a") + int(digit, 26)) for digit in _base26(n))

    pairs = ["\\begin{" + name(n) + "}{\\end{" + name(n) + "} " for n in range(3000)]
    text = "".join(pairs) + "\n\n"
    assert mask_math(text[: len(text) // 30] + "\n\n") is not None
    assert mask_math(text) is None  # the default budget (50 steps a character) is spent


def _base26(n: int) -> str:
    digits = "0123456789abcdefghijklmnop"
    out = ""
    while True:
        out = digits[n % 26] + out
        n //= 26
        if not n:
            return out


def test_reference_cap() -> None:
    text = "".join(f"<img src=figs/{n}.png>" for n in range(5000))
    result = displayed_files(output_nb("text/html", text), NOTEBOOK, max_references=100)
    assert result.truncated and len(result.references) == 100
    default = displayed_files(output_nb("text/html", text), NOTEBOOK)
    assert default.truncated and len(default.references) == 1000
    assert not displayed_files(output_nb("text/html", text[:2000]), NOTEBOOK).truncated


def test_nested_srcdoc_is_bounded() -> None:
    html = "<img src=deep.png>"
    for _ in range(10):
        html = f'<iframe srcdoc="{html.replace("&", "&amp;").replace(chr(34), "&quot;")}"></iframe>'
    result = displayed_files(output_nb("text/html", html), NOTEBOOK)
    assert result.references == ()
    assert [limit.reason for limit in result.limits] == ["iframe srcdoc documents nested too deep to read"]


# --- JupyterLab's own markdown pipeline ------------------------------------------------------------

LAB_MODULES = ROOT / "labextension" / "node_modules"


def _lab_pipeline(texts: list[str]) -> list[dict[str, Any]]:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    if not (LAB_MODULES / "marked").is_dir() or not (LAB_MODULES / "@jupyterlab" / "rendermime").is_dir():
        pytest.skip("the lab extension's node_modules are not installed (pip install -e . builds them)")
    done = subprocess.run(
        ["node", str(ROOT / "tests" / "js" / "lab_markdown.mjs"), str(LAB_MODULES)],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    results: list[dict[str, Any]] = json.loads(done.stdout)
    return results


def _markdown_corpus() -> list[str]:
    pieces = ["![", "](", "[", "]", "(", ")", "a.png", "b.png", "`", "``", "```", "~~~", "$", "$$", "\\", "\\\\(",  # noqa: E501
              "\\\\)", "\n", "\n\n", " ", "    ", " ```", "<img src=c.png>", "<div>", "</div>", "<!--", "-->", "|",  # noqa: E501
              "|-|", "-", "\"", "'", "*", "@@0@@", "@\\@1@@", "{", "}", "\\begin{x}", "\\end{x}", "x", ">", "<",  # noqa: E501
              "&amp;", "[r]: d.png", "![r]", "- ", "> ", "\r\n", "~", "<style>", "url(e.png)"]  # fmt: skip
    rng = random.Random(4242)
    corpus = [text for _, text, _ in MARKDOWN_CASES]
    corpus += ["$\n ```\n$\n![](lab-only.png)\n ```\n", '![](a$"srcset="b.png$)', "x `$a` $b$"]
    corpus += ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 25))) for _ in range(4000)]
    return corpus


def test_math_masking_matches_jupyterlab() -> None:
    """Differential: mask_math against JupyterLab's removeMath, on the same texts."""
    corpus = _markdown_corpus()
    for text, lab in zip(corpus, _lab_pipeline(corpus), strict=True):
        assert mask_math(text) == (lab["masked"], lab["math"]), text


def test_markdown_finds_everything_jupyterlab_displays() -> None:
    """Differential: every URL in the HTML JupyterLab's pipeline (removeMath, marked, replaceMath)
    makes of a text is one we find; and we find little more.

    Known gap: marked is more lenient than CommonMark in a few places (a destination with an
    unbalanced parenthesis or a backslash before a bracket, a reference definition whose destination
    has text after it, a ``~~~`` line with more after it), where it renders an image that markdown-it
    reads as text. On this fixed corpus that is 6 texts in 4,035; the bound stops it from growing."""
    corpus = _markdown_corpus()
    extra = 0
    misses = []
    for text, lab in zip(corpus, _lab_pipeline(corpus), strict=True):
        masked = mask_math(text)
        assert masked is not None
        ours = {(f.element, f.attribute, f.value) for f in _markdown_findings(text, masked)}
        theirs = {(f.element, f.attribute, f.value) for f in html_urls(lab["html"] or "")}
        if not theirs <= ours:
            misses.append((text, theirs - ours))
        extra += bool(ours - theirs)
    missed = {text for text, _ in misses}
    assert not any(text in missed for _, text, _ in MARKDOWN_CASES)
    assert len(misses) <= 6, misses
    assert extra < len(corpus) // 10  # over-reporting (e.g. images inside math) stays rare
