"""What verifying a notebook costs, tried as the attacks and regressions it must withstand.

- Long texts (images) are hashed piece by piece, not through json.dumps (canonical._feed): the digest
  must still be exactly SHA-256 of the spec's bytes, whatever characters a long text holds, so no two
  different texts can share a digest through the faster path.
- Verifying reads a notebook without keeping its bytes: memory stays near the file plus its text.
- Verifying never re-serialises the notebook (the JSON-style detection that made CRLF files slow).
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_sigstore import api, nbfile
from jupyter_sigstore.canonical import _LONG_TEXT, canonical_cell, notebook_digest
from jupyter_sigstore.errors import NotebookError
from jupyter_sigstore.instance import Instance
from jupyter_sigstore.oidc.tokens import parse_token
from jupyter_sigstore.policy import TrustPolicy
from jupyter_sigstore.signing import KeylessSigner
from jupyter_sigstore.testing import LocalSigstore

ALICE = "alice@example.com"


def _spec_digest(cell: dict[str, Any]) -> str:
    """A cell's v2 digest as the spec defines it: SHA-256 of json.dumps of its canonical value."""
    text = json.dumps(canonical_cell(cell, 0), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _image_cell(png: str, *, stream: str = "done\n", attachment: str | None = None) -> dict[str, Any]:
    cell: dict[str, Any] = {
        "cell_type": "code",
        "execution_count": 1,
        "id": "plot",
        "metadata": {"tags": ["figure"]},
        "source": "plt.show()",
        "outputs": [
            {"output_type": "stream", "name": "stdout", "text": stream},
            {
                "output_type": "display_data",
                "metadata": {"image/png": {"width": 640}},
                "data": {"image/png": png, "text/plain": ["<Figure>"]},
            },
        ],
    }
    if attachment is not None:
        cell = {**cell, "cell_type": "markdown", "attachments": {"a.png": {"image/png": attachment}}}
        del cell["outputs"], cell["execution_count"]
    return cell


def _nb(*cells: dict[str, Any]) -> dict[str, Any]:
    return {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


# Characters JSON escapes (or that a fast path could get wrong) among plain base64 ones.
_SPECIAL = ["\n", '"', "\\", "\\n", "\x00", "\x1f", "\t", "\r", "\x7f", "é", "\u2028", "/", "\ud800"]
_pieces = st.lists(st.sampled_from(_SPECIAL) | st.text("AZaz09+/=", max_size=5), max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(head=_pieces, middle=_pieces, tail=_pieces, where=st.sampled_from(["output", "attachment", "stream"]))
def test_long_texts_hash_exactly_as_the_spec_says(
    head: list[str], middle: list[str], tail: list[str], where: str
) -> None:
    body = "iVBORw0KGgo" * (_LONG_TEXT // 11 + 1)
    text = "".join(head) + body + "".join(middle) + body[:100] + "".join(tail)
    plain = "A" * _LONG_TEXT
    if where == "output":
        cell = _image_cell(text)
    elif where == "attachment":
        cell = _image_cell(plain, attachment=text)
    else:
        cell = _image_cell(plain, stream=text)
    try:
        expected = _spec_digest(cell)
    except UnicodeEncodeError:  # a lone surrogate: the notebook is refused, not hashed
        with pytest.raises(NotebookError):
            notebook_digest(_nb(cell))
        return
    assert notebook_digest(_nb(cell)).cells[0].digest == expected


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("\n", "\\n"),  # a newline vs a backslash and an n: both are written \n by a careless escaper
        ('"', '\\"'),
        ("\\", "\\\\"),
        ("\t", "\\t"),
        ("\x00", "\\u0000"),
    ],
)
def test_an_escaped_character_and_its_escape_sequence_differ(one: str, other: str) -> None:
    body = "iVBORw0KGgo" * (_LONG_TEXT // 11 + 1)
    first, second = _image_cell(body + one + body), _image_cell(body + other + body)
    digests = [notebook_digest(_nb(c)).cells[0].digest for c in (first, second)]
    assert digests == [_spec_digest(first), _spec_digest(second)]
    assert digests[0] != digests[1]


# ------------------------------------------------------------------ verifying a big notebook


def _images_notebook(size: int) -> dict[str, Any]:
    rnd = random.Random(13)
    cells = [
        _image_cell(base64.b64encode(rnd.randbytes(750_000)).decode("ascii") + "\n") | {"id": f"plot-{n}"}
        for n in range(size // 1_000_000)
    ]
    return _nb(*cells)


@pytest.fixture
def signed_images(
    tmp_path: Path, sigstore_instance: LocalSigstore, trust_config: Path, token: Callable[..., str]
) -> tuple[Path, api.VerifyOptions]:
    path = tmp_path / "images.ipynb"
    path.write_text(json.dumps(_images_notebook(20_000_000), indent=1, sort_keys=True) + "\n")
    instance = Instance.select(trust_config=trust_config)
    api.sign(path, KeylessSigner(instance, parse_token(token(ALICE), "test")))
    policy = TrustPolicy.exact(ALICE, sigstore_instance.issuer_url)
    return path, api.VerifyOptions(policy=policy, instance=instance)


def test_verify_memory_stays_near_the_file_and_its_text(
    signed_images: tuple[Path, api.VerifyOptions],
) -> None:
    path, options = signed_images
    api.verify(path, options)  # imports and the trusted root, outside the measurement
    tracemalloc.start()
    try:
        report = api.verify(path, options)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.status == "verified"
    size = path.stat().st_size
    text = path.read_text(encoding="utf-8")
    # Python stores the decoded text with 1, 2 or 4 bytes a character, by its widest character (the
    # signature's Rekor checkpoint holds an em dash, written as is in JupyterLab's form: 2)
    width = 1 if max(text) <= "\xff" else 2 if max(text) <= "\uffff" else 4
    # the bytes while decoded, then the text while parsed: (1 + width)x; keeping the bytes adds 1x
    assert peak < (1.5 + width) * size, f"verify peaked at {peak / size:.2f}x the notebook (width {width})"


def test_verify_never_reserialises_the_notebook(
    signed_images: tuple[Path, api.VerifyOptions], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, options = signed_images
    crlf = path.with_name("crlf.ipynb")
    crlf.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))

    def refuse(*args: object, **kwargs: object) -> str:
        raise AssertionError("verify serialised the whole notebook")

    monkeypatch.setattr(nbfile.JsonStyle, "dumps", refuse)
    assert api.verify(crlf, options).status == "verified"
