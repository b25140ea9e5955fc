"""lab_form against a real JupyterLab and Notebook 7: what opening and saving writes, what the page
shows for streams, and that lab_form's own output survives opening, saving and "Trust Notebook"."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lab_roundtrip import (
    FRONTENDS,
    JupyterServer,
    jupyter_server,
    open_and_save,
    open_notebook,
    save_notebook,
    shown_texts,
    trust_notebook,
)
from labform_corpus import STREAM_CELLS, corpus, old_corpus

from jupyter_sigstore.labform import lab_form

pytestmark = pytest.mark.timeout(300)
GENERATED_ID = re.compile(r"[0-9a-f]{8}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
NOTEBOOKS = {"corpus.ipynb": corpus, "old.ipynb": old_corpus}


def nbformat_bytes(nb: dict[str, Any]) -> bytes:
    """A notebook serialised the way nbformat (and so the Jupyter server) writes it."""
    text = json.dumps(nb, indent=1, sort_keys=True, separators=(",", ": "), ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def json_difference(a: Any, b: Any, where: str = "") -> str | None:
    """Where two JSON values first differ, telling 1 from 1.0 from True; None if they are the same."""
    if type(a) is not type(b):
        return f"{where or '/'}: {a!r} ({type(a).__name__}) != {b!r} ({type(b).__name__})"
    if isinstance(a, dict):
        if a.keys() != b.keys():
            return f"{where or '/'}: keys {sorted(a.keys() ^ b.keys())} differ"
        pairs = [(f"{where}/{key}", a[key], b[key]) for key in a]
    elif isinstance(a, list):
        if len(a) != len(b):
            return f"{where or '/'}: {len(a)} items != {len(b)} items: {a!r} != {b!r}"
        pairs = [(f"{where}/{i}", x, y) for i, (x, y) in enumerate(zip(a, b, strict=True))]
    else:
        return None if a == b else f"{where or '/'}: {a!r} != {b!r}"
    for path, x, y in pairs:
        difference = json_difference(x, y, path)
        if difference:
            return difference
    return None


def mask_generated_ids(saved: dict[str, Any], expected: dict[str, Any], original: dict[str, Any]) -> None:
    """Cell ids the server or JupyterLab generate are random: where lab_form generated one too, check
    both look generated (8 hex digits, or a UUID for a null id) and mask them."""
    original_ids = [cell.get("id") for cell in original["cells"]]
    for n, (got, want) in enumerate(zip(saved["cells"], expected["cells"], strict=False)):
        if n < len(original_ids) and want.get("id") == original_ids[n]:
            continue
        if "id" in got and "id" in want:
            assert GENERATED_ID.fullmatch(got["id"]), got["id"]
            assert len(got["id"]) == len(want["id"]), (got["id"], want["id"])
            got["id"] = want["id"] = "<generated>"


def assert_same(saved: dict[str, Any], expected: dict[str, Any]) -> None:
    difference = json_difference(saved, expected)
    assert difference is None, difference


@pytest.fixture(scope="module", params=FRONTENDS)
def bare(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Any]]:
    """``jupyter lab`` or ``jupyter notebook`` offering no kernel, so opening starts none."""
    frontend = request.param
    with jupyter_server(tmp_path_factory.mktemp(frontend), app=frontend, kernels=False) as server:
        yield frontend, server


def test_open_and_save_writes_lab_form_and_shows_rendered_streams(page: Any, bare: tuple[str, Any]) -> None:
    frontend, server = bare
    for name, make in NOTEBOOKS.items():
        original = make()
        (server.root / name).write_bytes(nbformat_bytes(original))
        open_notebook(page, server, name, frontend=frontend)
        if name == "corpus.ipynb":  # the page shows streams merged and rendered: lab_form's default
            shown, _ = lab_form(original)
            for n in range(len(STREAM_CELLS)):
                expected = ["".join(output["text"]) for output in shown["cells"][n]["outputs"]]
                assert shown_texts(page, n) == expected, f"cell {n + 1}"
        saved = json.loads(save_notebook(page, server, name))
        expected, notes = lab_form(original, render_streams=False)
        assert notes
        mask_generated_ids(saved, expected, original)
        assert_same(saved, expected)


def test_lab_form_survives_open_save_and_trust(page: Any, bare: tuple[str, Any]) -> None:
    """lab_form's output is a fixed point: opening and saving writes the same bytes, and so does
    "Trust Notebook", which re-serialises every output from the front end's output model."""
    frontend, server = bare
    for name, make in NOTEBOOKS.items():
        form, _ = lab_form(make())
        assert lab_form(form) == (form, [])
        data = nbformat_bytes(form)
        (server.root / name).write_bytes(data)
        saved = open_and_save(page, server, name, frontend=frontend)
        assert_same(json.loads(saved), form)
        assert saved == data
        trust_notebook(page)
        trusted = save_notebook(page, server, name)
        assert_same(json.loads(trusted), form)


@pytest.mark.parametrize("frontend", FRONTENDS)
def test_a_starting_kernel_changes_only_kernelspec_and_language_info(
    page: Any, lab: Any, frontend: str
) -> None:
    """In the browser tests' lab (kernels available, the jupyter-sigstore extensions loaded)."""
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    original = corpus()
    folder = Path(lab.root, "roundtrip", frontend)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "corpus.ipynb").write_bytes(nbformat_bytes(original))
    server = JupyterServer(lab.url, lab.token, lab.root)
    saved = json.loads(
        open_and_save(page, server, f"roundtrip/{frontend}/corpus.ipynb", frontend=frontend, kernel=True)
    )
    expected, _ = lab_form(original, render_streams=False)
    # the kernel's spec replaces kernelspec (display_name too, and keys such as "env" are dropped)
    assert saved["metadata"].pop("kernelspec") == {
        "name": "python3",
        "display_name": spec.display_name,
        "language": spec.language,
    }
    assert expected["metadata"].pop("kernelspec")["display_name"] == "Custom Python"
    language_info = saved["metadata"].pop("language_info")
    assert language_info["name"] == "python"
    assert "version" in language_info and "mimetype" in language_info
    expected["metadata"].pop("language_info")
    mask_generated_ids(saved, expected, original)
    assert_same(saved, expected)
