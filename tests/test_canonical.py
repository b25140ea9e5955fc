"""Canonical profile v2: the test vectors in tests/vectors/canonical-v2 and the rules they stand for, and
property tests in both directions: formatting, key order, multiline splitting and excluded keys never
change a digest; values that Python reads differently never share one."""

from __future__ import annotations

import copy
import importlib.util
import json
import math
import random
import re
import struct
import sys
import warnings
from pathlib import Path
from typing import Any

import nbformat
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from jupyter_sigstore.canonical import (
    EXCLUDED_CELL_METADATA,
    EXCLUDED_NESTED_METADATA,
    EXCLUDED_NOTEBOOK_METADATA,
    PROFILE_V2,
    canonical_cell,
    canonical_metadata,
    combine_digests,
    encode,
    is_json_mime,
    notebook_digest,
)
from jupyter_sigstore.errors import NotebookError
from jupyter_sigstore.nbfile import parse_notebook

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "tests" / "vectors" / "canonical-v2"
EXPECTED: dict[str, dict[str, Any]] = json.loads((VECTORS / "expected.json").read_text(encoding="utf-8"))
VALID = sorted(name for name, v in EXPECTED.items() if "error" not in v)
INVALID = sorted(name for name, v in EXPECTED.items() if "error" in v)
RELATED = sorted(name for name, v in EXPECTED.items() if "relation" in v)

Notebook = dict[str, Any]


def load(name: str) -> Notebook:
    return parse_notebook((VECTORS / f"{name}.ipynb").read_bytes(), name)


def digests(nb: Any) -> tuple[str, str, str | None, tuple[str, ...]]:
    result = notebook_digest(nb, PROFILE_V2)
    return result.digest, result.metadata_digest, result.widgets_digest, tuple(c.digest for c in result.cells)


# ------------------------------------------------------------------------------------- vectors


def test_every_vector_file_is_expected() -> None:
    assert {p.stem for p in VECTORS.glob("*.ipynb")} == set(EXPECTED)
    assert len(VALID) > 90 and len(INVALID) > 30


def test_the_generator_reproduces_the_vectors() -> None:
    """The files and expected.json are what make_vectors_v2.py writes (nobody edited them by hand)."""
    spec = importlib.util.spec_from_file_location("make_vectors_v2", VECTORS.parent / "make_vectors_v2.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    vectors = module.build()
    assert set(vectors) == set(EXPECTED)
    for name, vector in vectors.items():
        assert (VECTORS / f"{name}.ipynb").read_bytes() == vector.data, name
        recorded = {k: v for k, v in EXPECTED[name].items() if k in ("error", "digest", "canonical_cells")}
        assert {k: v for k, v in module.record(name, vector.data).items() if k in recorded} == recorded


@pytest.mark.parametrize("name", VALID)
def test_vector_digests(name: str) -> None:
    expected = EXPECTED[name]
    nb = load(name)
    result = notebook_digest(nb, PROFILE_V2)
    metadata = nb.get("metadata", {})
    assert encode(canonical_metadata(metadata), "m").decode() == expected["canonical_metadata"]
    assert encode(metadata.get("widgets"), "w").decode() == expected["canonical_widgets"]
    canonical = [encode(canonical_cell(c, i), "c").decode() for i, c in enumerate(nb["cells"])]
    assert canonical == expected["canonical_cells"]
    assert [c.digest for c in result.cells] == expected["cells"]
    assert result.metadata_digest == expected["metadata_digest"]
    assert result.widgets_digest == expected["widgets_digest"]
    assert result.digest == expected["digest"]
    assert result.digest == combine_digests(
        PROFILE_V2, expected["metadata_digest"], expected["cells"], expected["widgets_digest"]
    )


@pytest.mark.parametrize("name", RELATED)
def test_vector_relation_to_its_base(name: str) -> None:
    """An invariance vector digests exactly like its base; a sensitivity vector changes the notebook
    digest, exactly the cells it lists, and the metadata / widgets digest only when it says so."""
    vector = EXPECTED[name]
    base = EXPECTED[vector["base"]]
    assert (vector["digest"] == base["digest"]) == (vector["relation"] == "invariant")
    changed = [i for i, (a, b) in enumerate(zip(vector["cells"], base["cells"], strict=True)) if a != b]
    assert changed == vector["changed_cells"]
    assert (vector["metadata_digest"] != base["metadata_digest"]) == vector["metadata_changed"]
    assert (vector["widgets_digest"] != base["widgets_digest"]) == vector["widgets_changed"]


@pytest.mark.parametrize("name", INVALID)
def test_error_vectors_are_rejected_with_one_clear_error(name: str) -> None:
    with pytest.raises(NotebookError, match=re.escape(EXPECTED[name]["error"])):
        notebook_digest(load(name), PROFILE_V2)


def test_every_exclusion_has_an_invariance_vector_and_its_neighbours_are_covered() -> None:
    for key in EXCLUDED_CELL_METADATA:
        assert EXPECTED[f"inv-cell-{key}"]["relation"] == "invariant"
    for namespace, keys in EXCLUDED_NESTED_METADATA.items():
        for key in keys:
            assert EXPECTED[f"inv-cell-{namespace}-{key}"]["relation"] == "invariant"
    for key in EXCLUDED_NOTEBOOK_METADATA - {"widgets"}:
        assert EXPECTED[f"inv-notebook-{key.replace('_', '-')}"]["relation"] == "invariant"
    assert EXPECTED["inv-kernelspec-display-name"]["relation"] == "invariant"
    for name in (
        "sens-cell-run-control-frozen",
        "sens-cell-tags",
        "sens-cell-jupyter-other-key",
        "sens-cell-papermill-exception",
        "sens-widget-value",
        "sens-kernelspec-language",
    ):
        assert EXPECTED[name]["relation"] == "sensitive", name


def test_number_boundaries_are_exact() -> None:
    """Issue 16.1: 2^53 +- 1, -0.0, 1.0 vs 1, exponent forms, 1e21 and a 4300-digit integer."""
    canonical = json.loads(EXPECTED["numbers"]["canonical_cells"][0])["outputs"][0]["data"][
        "application/json"
    ]
    text = EXPECTED["numbers"]["canonical_cells"][0]
    assert "9007199254740991,9007199254740992,9007199254740993,-9007199254740993," in text
    assert "0.0,-0.0,1.0,-1.0,1.5," in text
    assert "1000000000000000.0,1e+16,9999999999999998.0,1.2345678901234568e+16,2e+16," in text
    assert "0.0001,1e-05," in text and "1e+21,1e+22," in text and "5e-324" in text
    assert "9007199254740994.0" in text  # a 40-digit literal above the tie rounds up, correctly
    assert canonical[:2] == [0, 0]  # -0 is the integer 0
    assert str(10**4300 - 1) in EXPECTED["number-integer-4300-digits"]["canonical_cells"][0]
    assert "Exceeds the limit" in EXPECTED["error-integer-4301-digits"]["error"]


def _fold_source_as_jupyterlab_does(cell: dict[str, Any], hidden: bool) -> None:
    """CodeCell.saveCollapseState in @jupyterlab/cells 4.6: set or delete jupyter.source_hidden, and
    delete the jupyter object once it is empty."""
    jupyter = dict(cell["metadata"].get("jupyter", {}))
    if hidden:
        jupyter["source_hidden"] = True
    else:
        jupyter.pop("source_hidden", None)
    if jupyter:
        cell["metadata"]["jupyter"] = jupyter
    else:
        cell["metadata"].pop("jupyter", None)


@pytest.mark.parametrize("start", [{}, {"other_key": 1}, None])
def test_folding_and_unfolding_a_cell_in_jupyterlab_keeps_every_digest(start: dict[str, Any] | None) -> None:
    """Folding a cell's source is view state. A cell signed with ``"jupyter": {}`` used to change its
    digest when JupyterLab folded it (``{"source_hidden": true}`` was dropped whole, ``{}`` was not) and
    again when it unfolded it (JupyterLab then deletes the empty object)."""
    nb = load("base")
    cell = nb["cells"][1]
    if start is not None:
        cell["metadata"]["jupyter"] = start
    signed = digests(nb)
    _fold_source_as_jupyterlab_does(cell, True)
    assert digests(nb) == signed
    _fold_source_as_jupyterlab_does(cell, False)
    assert digests(nb) == signed


def test_widget_state_absent_or_null_is_null() -> None:
    nb = load("base")
    del nb["metadata"]["widgets"]
    absent = notebook_digest(nb, PROFILE_V2)
    nb["metadata"]["widgets"] = None
    assert notebook_digest(nb, PROFILE_V2).widgets_digest == absent.widgets_digest
    assert absent.widgets_digest == EXPECTED["minimal"]["widgets_digest"]


@pytest.mark.parametrize("name", ["base", "minimal", "mime-rules", "strings", "numbers", "inv-split-lines"])
@pytest.mark.parametrize("minor", [4, 5])
def test_nbformat_read_and_write_keep_every_digest(name: str, minor: int) -> None:
    """What Jupyter's server does to a file on load and save (nbformat's reader and writer, and the
    4.4 -> 4.5 upgrade that adds cell ids) changes no v2 digest."""
    nb = load(name)
    nb["nbformat_minor"] = minor
    if minor < 5:
        for cell in nb["cells"]:
            cell.pop("id", None)
    before = digests(nb)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        node = nbformat.reads(json.dumps(nb), as_version=4)
        written = nbformat.writes(node)
        upgraded = nbformat.v4.upgrade(
            nbformat.reads(written, as_version=4), from_version=4, from_minor=minor
        )
    for variant in (node, parse_notebook(written.encode()), upgraded):
        assert digests(variant) == before


def test_spec_worked_example_matches_the_vectors() -> None:
    """The digests printed in docs/canonical-profile-v2.md are the ones of the minimal vector."""
    spec = (ROOT / "docs" / "canonical-profile-v2.md").read_text(encoding="utf-8")
    minimal = EXPECTED["minimal"]
    for digest in (
        minimal["digest"],
        minimal["metadata_digest"],
        minimal["widgets_digest"],
        *minimal["cells"],
    ):
        assert digest in spec
    for text in (minimal["canonical_metadata"], *minimal["canonical_cells"]):
        assert f"`{text}`" in spec


# ------------------------------------------------------------------------------------- generators

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# any Unicode scalar value: control characters (\r, \b, NUL, ...) included, lone surrogates not
_CHARS = st.characters(codec="utf-8")
texts = st.text(_CHARS, max_size=12)
keys = st.text(_CHARS, max_size=5)
numbers = (
    st.integers(-(10**30), 10**30)
    | st.sampled_from([2**53 - 1, 2**53, 2**53 + 1, 10**21, -(2**63), 0])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([0.0, -0.0, 1.0, 1e16, 1e21, 1e-5, 5e-324, 2.0**53])
)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=10,
)
TEXT_MIMES = ["text/plain", "text/html", "image/png", "image/svg+xml", "application/vnd.jupyter.stdout"]
JSON_MIMES = ["application/json", "application/vnd.vega.v5+json"]
bundles = st.dictionaries(st.sampled_from(TEXT_MIMES), texts, max_size=3).flatmap(
    lambda text_part: st.dictionaries(st.sampled_from(JSON_MIMES), json_values, max_size=2).map(
        lambda json_part: {**text_part, **json_part}
    )
)
outputs = st.one_of(
    st.builds(
        lambda name, text: {"output_type": "stream", "name": name, "text": text},
        st.sampled_from(["stdout", "stderr"]),
        texts,
    ),
    st.builds(
        lambda data, metadata: {"output_type": "display_data", "data": data, "metadata": metadata},
        bundles,
        st.dictionaries(keys, json_values, max_size=2),
    ),
    st.builds(
        lambda data, count: {
            "output_type": "execute_result",
            "data": data,
            "metadata": {},
            "execution_count": count,
        },
        bundles,
        st.integers(1, 99) | st.none(),
    ),
    st.builds(
        lambda evalue, tb: {"output_type": "error", "ename": "E", "evalue": evalue, "traceback": tb},
        texts,
        st.lists(texts, max_size=3),
    ),
)
cell_metadata = st.dictionaries(keys, json_values, max_size=3)
code_cells = st.builds(
    lambda source, metadata, outs, count: {
        "cell_type": "code",
        "source": source,
        "metadata": metadata,
        "outputs": outs,
        "execution_count": count,
    },
    texts,
    cell_metadata,
    st.lists(outputs, max_size=3),
    st.integers(1, 99) | st.none(),
)
text_cells = st.builds(
    lambda kind, source, metadata, attachments: {
        "cell_type": kind,
        "source": source,
        "metadata": metadata,
        **({"attachments": attachments} if attachments else {}),
    },
    st.sampled_from(["markdown", "raw"]),
    texts,
    cell_metadata,
    st.dictionaries(keys, bundles, max_size=2),
)
notebooks = st.builds(
    lambda cells, metadata, widgets: {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {**metadata, **({"widgets": widgets} if widgets is not None else {})},
        "cells": [{**cell, "id": f"cell-{n}"} for n, cell in enumerate(cells)],
    },
    st.lists(code_cells | text_cells, max_size=4),
    st.dictionaries(keys, json_values, max_size=3),
    st.none() | json_values,
)


def strictly_equal(a: Any, b: Any) -> bool:
    """Whether Python readers get the same value: same types (True is not 1, 1.0 is not 1), floats
    bit for bit (-0.0 is not 0.0), the same keys."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return struct.pack("<d", a) == struct.pack("<d", b)
    if isinstance(a, list):
        return len(a) == len(b) and all(strictly_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(strictly_equal(a[k], b[k]) for k in a)
    return bool(a == b)


def shuffled(value: Any, rng: random.Random) -> Any:
    """The same value with every object's keys in a random order."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: shuffled(v, rng) for k, v in items}
    if isinstance(value, list):
        return [shuffled(v, rng) for v in value]
    return value


def split(text: str, rng: random.Random) -> list[str]:
    cuts = sorted(rng.randint(0, len(text)) for _ in range(rng.randint(0, 4)))
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]


def split_multiline(nb: Notebook, rng: random.Random) -> None:
    """Store every nbformat multiline string as a list of strings split at random points."""

    def bundle(data: dict[str, Any]) -> None:
        for mime, value in data.items():
            if not is_json_mime(mime):
                data[mime] = split(value, rng)

    for cell in nb["cells"]:
        cell["source"] = split(cell["source"], rng)
        for attachment in cell.get("attachments", {}).values():
            bundle(attachment)
        for output in cell.get("outputs", []):
            if output["output_type"] == "stream":
                output["text"] = split(output["text"], rng)
            elif "data" in output:
                bundle(output["data"])


def add_excluded(nb: Notebook, rng: random.Random, value: Any) -> None:
    """Set excluded keys (chosen by ``rng``) to ``value``, change or drop cell ids, change
    nbformat_minor."""
    nb["nbformat_minor"] = rng.choice([4, 5, 9])
    excluded_notebook = sorted(EXCLUDED_NOTEBOOK_METADATA - {"widgets"})
    for key in rng.sample(excluded_notebook, rng.randint(0, len(excluded_notebook))):
        nb["metadata"][key] = value
    kernelspec = nb["metadata"].get("kernelspec")
    if isinstance(kernelspec, dict):
        kernelspec["display_name"] = value
        kernelspec[rng.choice(["env", "argv", "metadata"])] = value
    for n, cell in enumerate(nb["cells"]):
        if rng.random() < 0.3:
            del cell["id"]
        else:
            cell["id"] = rng.choice([f"other-{n}", None, value])
        metadata = cell["metadata"]
        for key in rng.sample(sorted(EXCLUDED_CELL_METADATA), 3):
            metadata[key] = value
        for namespace, names in EXCLUDED_NESTED_METADATA.items():
            inner = metadata.get(namespace, {})
            if isinstance(inner, dict):
                metadata[namespace] = {**inner, rng.choice(sorted(names)): value}


# ------------------------------------------------------------------------------------- properties


@SETTINGS
@given(
    nb=notebooks, seed=st.integers(0, 2**32), indent=st.sampled_from([None, 0, 1, 2, 4]), ascii=st.booleans()
)
def test_digest_is_independent_of_json_formatting_and_key_order(
    nb: Notebook, seed: int, indent: int | None, ascii: bool
) -> None:
    rng = random.Random(seed)
    separators = (",", ":") if indent is None and rng.random() < 0.5 else None
    text = json.dumps(shuffled(nb, rng), indent=indent, ensure_ascii=ascii, separators=separators)
    assert digests(parse_notebook(text.encode("utf-8"))) == digests(nb)


@SETTINGS
@given(nb=notebooks, seed=st.integers(0, 2**32))
def test_digest_is_independent_of_multiline_splitting(nb: Notebook, seed: int) -> None:
    split_up = copy.deepcopy(nb)
    split_multiline(split_up, random.Random(seed))
    assert digests(split_up) == digests(nb)


@SETTINGS
@given(nb=notebooks, seed=st.integers(0, 2**32), value=json_values)
def test_digest_is_independent_of_excluded_keys(nb: Notebook, seed: int, value: Any) -> None:
    changed = copy.deepcopy(nb)
    add_excluded(changed, random.Random(seed), value)
    assert digests(changed) == digests(nb)


@settings(max_examples=300, deadline=None)
@given(value=json_values)
def test_canonical_bytes_decode_to_exactly_the_value(value: Any) -> None:
    """The canonical bytes are JSON that Python reads back as the same value: so two values Python
    reads differently can never have the same canonical bytes (the encoding is injective)."""
    assert strictly_equal(json.loads(encode(value, "value")), value)


def _neighbours(value: Any) -> list[Any]:
    """Values close to ``value`` that a Python reader still tells apart from it (most of them)."""
    found: list[Any] = [None, [value], {"": value}]
    if isinstance(value, bool):
        found += [int(value), float(value), not value]
    elif isinstance(value, int):
        found += [value + 1, value - 1, -value, str(value), value == 1]
        if abs(value) < 2**1023:
            found.append(float(value))
    elif isinstance(value, float):
        found += [-value, math.nextafter(value, math.inf), math.nextafter(value, -math.inf), repr(value)]
        if value.is_integer():
            found.append(int(value))
    elif isinstance(value, str):
        found += [
            value + "\r",
            value + "\x00",
            "\b" + value,
            value[:-1],
            value.replace("\n", "\r\n"),
            value.upper(),
        ]
    elif isinstance(value, list):
        found += [value[:-1], [*value, None], list(reversed(value))]
    elif isinstance(value, dict):
        found += [
            {**value, "\x7f": None},
            {k + "\r": v for k, v in value.items()},
            dict(list(value.items())[:-1]),
        ]
    return found


def _carrying(value: Any) -> Notebook:
    """A notebook holding ``value`` in an output, in cell metadata and in notebook metadata."""
    output = {
        "output_type": "execute_result",
        "execution_count": 1,
        "metadata": {},
        "data": {"application/json": value},
    }
    cell = {
        "cell_type": "code",
        "source": "v",
        "metadata": {"v": value},
        "outputs": [output],
        "execution_count": 1,
    }
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {"v": value}, "cells": [cell]}


@settings(max_examples=200, deadline=None)
@given(value=json_values, data=st.data())
def test_values_python_reads_differently_never_share_a_digest(value: Any, data: st.DataObject) -> None:
    other = data.draw(st.sampled_from(_neighbours(value)) | json_values)
    assume(not strictly_equal(value, other))
    a, b = digests(_carrying(value)), digests(_carrying(other))
    assert a[0] != b[0]
    assert a[1] != b[1] and a[3] != b[3]  # the metadata and the one cell both changed
