"""Notebook files (``jupyter_sigstore.nbfile``): hostile or broken files give one clear NotebookError
line each, through the public API too; writes are atomic, keep the file's mode and JSON style, go
through a symbolic link to its target, and refuse to overwrite a file that changed since it was read."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from helpers import EXAMPLES
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_sigstore import api
from jupyter_sigstore.errors import NotebookError
from jupyter_sigstore.nbfile import atomic_write, load_notebook, read_regular_file, save_notebook

NB: dict[str, Any] = json.loads((EXAMPLES / "analysis.ipynb").read_text(encoding="utf-8"))
CODE = next(i for i, c in enumerate(NB["cells"]) if c["cell_type"] == "code")


def with_json_output(raw: str) -> bytes:
    """The example notebook whose first code cell shows ``raw`` (JSON text) as application/json."""
    nb = json.loads(json.dumps(NB))
    output = {"output_type": "display_data", "metadata": {}, "data": {"application/json": "@RAW@"}}
    nb["cells"][CODE]["outputs"] = [output]
    return json.dumps(nb).replace('"@RAW@"', raw).encode("utf-8")


BROKEN: dict[str, tuple[bytes, str]] = {
    "UTF-16 with a byte-order mark": (json.dumps(NB).encode("utf-16"), "UTF-16 or UTF-32"),
    "UTF-16 without a byte-order mark": (json.dumps(NB).encode("utf-16-le"), "UTF-16 or UTF-32"),
    "Latin-1": (
        json.dumps(NB, ensure_ascii=False).replace("}", ', "x": "caf\u00e9"}', 1).encode("latin-1"),
        "not UTF-8",
    ),
    "4,301-digit integer": (with_json_output("9" * 4301), "a number Python cannot read"),
    "100,000-deep nesting": (with_json_output("[" * 100_000 + "]" * 100_000), "nested too deeply"),
    "lone surrogate in a value": (with_json_output('"\\udc80"'), "lone surrogate"),
    "lone surrogate in a key": (with_json_output('{"\\ud800": 1}'), "lone surrogate"),
    "truncated": (json.dumps(NB).encode()[:-40], "not valid JSON"),
    "not JSON": (b"print('hello')\n", "not a notebook"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_notebooks_are_one_clear_error(case: str, tmp_path: Path) -> None:
    data, message = BROKEN[case]
    path = tmp_path / "broken.ipynb"
    path.write_bytes(data)
    for read in (api.verify, api.inspect):
        with pytest.raises(NotebookError) as refused:
            read(path)
        text = str(refused.value)
        assert message in text and text.startswith(str(path)), text
        assert "\n" not in text and "Traceback" not in text


EDGES = {  # within Python's limits, and one variant that differs in a single place
    "4,300-digit integer": ("9" * 4300, "8" + "9" * 4299),
    "900-deep lists": ("[" * 900 + "]" * 900, "[" * 899 + "[1]" + "]" * 899),
    "900-deep objects": ('{"a":' * 900 + "1" + "}" * 900, '{"a":' * 900 + "2" + "}" * 900),
}


@pytest.mark.parametrize("case", list(EDGES))
def test_big_numbers_and_deep_nesting_within_pythons_limits_are_read_and_hashed(
    case: str, tmp_path: Path
) -> None:
    """Canonical profile v2 hashes what is stored, exactly: such an output is content like any other."""
    raw, changed = EDGES[case]
    path = tmp_path / "edge.ipynb"
    path.write_bytes(with_json_output(raw))
    assert api.verify(path).status == "unsigned"
    digest = api.inspect(path).notebook_digest
    path.write_bytes(with_json_output(changed))
    assert api.inspect(path).notebook_digest != digest


def test_reading_refuses_what_is_not_a_regular_file(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.ipynb")
    with pytest.raises(NotebookError, match="not a regular file"):
        load_notebook(tmp_path / "pipe.ipynb")  # opened without blocking: no hang
    with pytest.raises(NotebookError, match="is a directory"):
        load_notebook(tmp_path)
    with pytest.raises(NotebookError, match="no such notebook"):
        load_notebook(tmp_path / "missing.ipynb")
    (tmp_path / "big").write_bytes(b"x" * 101)
    with pytest.raises(NotebookError, match="too large"):
        read_regular_file(tmp_path / "big", 100, "bundle")
    assert read_regular_file(tmp_path / "big", 101, "bundle") == b"x" * 101


def test_atomic_write_keeps_the_mode(tmp_path: Path) -> None:
    path = tmp_path / "nb.ipynb"
    path.write_text("old")
    path.chmod(0o640)
    atomic_write(path, b"new")
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["nb.ipynb"]  # no temporary file left
    atomic_write(tmp_path / "fresh.json", b"{}", mode=0o600)
    assert stat.S_IMODE((tmp_path / "fresh.json").stat().st_mode) == 0o600


def test_atomic_write_goes_through_a_symlink_to_its_target(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "nb.ipynb"
    target.write_text("old")
    target.chmod(0o604)
    link = tmp_path / "link.ipynb"
    link.symlink_to(target)
    atomic_write(link, b"new")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes() == b"new" and stat.S_IMODE(target.stat().st_mode) == 0o604


def test_save_keeps_the_files_json_style(tmp_path: Path) -> None:
    path = tmp_path / "styled.ipynb"
    original = json.dumps(NB, indent=2, sort_keys=True, ensure_ascii=True)  # not nbformat's indent=1
    path.write_text(original)
    loaded = load_notebook(path)
    save_notebook(loaded, loaded.nb)
    assert path.read_text() == original
    changed = {**loaded.nb, "metadata": {**loaded.nb["metadata"], "extra": "é"}}
    save_notebook(load_notebook(path), changed)
    assert path.read_text() == json.dumps(changed, indent=2, sort_keys=True, ensure_ascii=True)


def test_save_refuses_a_file_that_changed_since_it_was_read(tmp_path: Path) -> None:
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(NB))
    loaded = load_notebook(path)
    path.write_text(json.dumps(NB, indent=1))  # someone saved meanwhile
    with pytest.raises(NotebookError, match="changed on disk"):
        save_notebook(loaded, loaded.nb)
    assert path.read_text() == json.dumps(NB, indent=1)


# Text made of what can change how JSON reads a character beyond U+FFFF once it is escaped:
# backslashes, quotes, `u` and hex digits (an escape written before or after it), and wide characters.
_TRICKY = st.text(alphabet='\\"ud83cfDC0 a\u2014\U0001f4c8\U00010000\U0010ffff', max_size=40)


@settings(max_examples=2000, deadline=None)
@given(content=_TRICKY, piece=st.integers(min_value=1, max_value=12))
def test_wide_characters_escaped_for_memory_read_as_they_are_written(content: str, piece: int) -> None:
    # as the content of a string, a key, or bare (mostly not JSON): parsed the same either way
    import jupyter_sigstore.nbfile as nbfile

    for text in (f'{{"k": "{content}"}}', f'{{"{content}": 1}}', content):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(nbfile, "_PIECE", piece)  # pieces end anywhere, even inside a character
            narrowed = "".join(nbfile._decode_pieces(text.encode("utf-8"), "nb"))
        try:
            expected: object = json.loads(text)
        except json.JSONDecodeError:
            with pytest.raises(json.JSONDecodeError):
                json.loads(narrowed)
            continue
        assert json.loads(narrowed) == expected
        if not any(after == "\\" for after, char in zip(text, text[1:], strict=False) if char > "\uffff"):
            assert all(char <= "\uffff" for char in narrowed)  # two bytes a character, not four


def test_a_notebook_with_an_emoji_is_read_narrow(tmp_path: Path) -> None:
    nb = json.loads(json.dumps(NB))
    nb["cells"][CODE]["source"] = "print('\U0001f4c8 up \\\\\U0001f4c9')"
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")
    assert load_notebook(path).nb == nb
    assert api.verify(path).status == "unsigned"
