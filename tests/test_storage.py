"""Where signatures live (``jupyter_sigstore.storage``), and reading a detached reference written as
an attack: a notebook's ``bundleRef`` may name anything, and through the server a reference must not
become a way to hang the reader, read a device, or learn anything (not even a hash) about a file the
notebook's folder does not hold. Each refusal looks the same as a missing file."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import pytest
from helpers import EXAMPLES

from jupyter_sigstore import api
from jupyter_sigstore.storage import (
    MAX_BUNDLE_BYTES,
    plan_signature,
    read_signatures,
    sidecar_path,
    tracked_outputs,
    with_block,
    with_tracked,
)

NB = json.loads((EXAMPLES / "analysis.ipynb").read_text(encoding="utf-8"))
BUNDLE = json.dumps(
    {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "note": "not verified here"}
)
HEX64 = re.compile(r"[0-9a-f]{64}")


def referencing(path: str, sha256: str) -> dict[str, object]:
    return with_block(NB, {"version": 1, "signatures": [{"bundleRef": {"path": path, "sha256": sha256}}]})


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "work").mkdir()
    return tmp_path / "work"


def read_one(folder: Path, path: str, sha256: str) -> tuple[str | None, str | None]:
    [stored] = read_signatures(referencing(path, sha256), folder / "analysis.ipynb")
    return stored.bundle_text, stored.error


def test_a_regular_reference_is_read(folder: Path) -> None:
    (folder / "analysis.ipynb.sigstore.json").write_text(BUNDLE)
    assert read_one(folder, "analysis.ipynb.sigstore.json", sha(BUNDLE.encode())) == (BUNDLE, None)
    text, error = read_one(folder, "analysis.ipynb.sigstore.json", "0" * 64)
    assert (
        text is None
        and error == "detached signature analysis.ipynb.sigstore.json changed since it was referenced"
    )


def _fifo(folder: Path, outside: Path) -> tuple[str, bytes]:
    os.mkfifo(folder / "pipe.json")
    return "pipe.json", b""


def _dev_zero(folder: Path, outside: Path) -> tuple[str, bytes]:
    (folder / "zero.json").symlink_to("/dev/zero")
    return "zero.json", b""


def _hidden(folder: Path, outside: Path) -> tuple[str, bytes]:
    (folder / ".hidden.json").write_text(BUNDLE)
    return ".hidden.json", BUNDLE.encode()


def _hidden_folder(folder: Path, outside: Path) -> tuple[str, bytes]:
    (folder / ".git").mkdir()
    (folder / ".git" / "config.json").write_text(BUNDLE)
    return ".git/config.json", BUNDLE.encode()


def _huge(folder: Path, outside: Path) -> tuple[str, bytes]:
    with (folder / "huge.json").open("wb") as fh:  # sparse: costs no disk
        fh.truncate(MAX_BUNDLE_BYTES + 1)
    return "huge.json", b"\0" * (MAX_BUNDLE_BYTES + 1)


def _link_outside(folder: Path, outside: Path) -> tuple[str, bytes]:
    (folder / "link.json").symlink_to(outside)
    return "link.json", outside.read_bytes()


def _directory(folder: Path, outside: Path) -> tuple[str, bytes]:
    (folder / "dir.json").mkdir()
    return "dir.json", b""


def _missing(folder: Path, outside: Path) -> tuple[str, bytes]:
    return "missing.json", b""


REFUSED = {
    "fifo": _fifo,
    "symlink to /dev/zero": _dev_zero,
    "hidden file": _hidden,
    "file in a hidden folder": _hidden_folder,
    "huge file": _huge,
    "symlink leading outside": _link_outside,
    "directory": _directory,
    "missing file (for comparison)": _missing,
}


@pytest.mark.timeout(60)  # a reader that blocks on the FIFO or reads /dev/zero fails here, not hangs
@pytest.mark.parametrize("case", list(REFUSED))
def test_unusable_references_are_refused_alike(case: str, folder: Path, tmp_path: Path) -> None:
    outside = tmp_path / "secret.json"
    outside.write_text(BUNDLE)
    name, content = REFUSED[case](folder, outside)
    text, error = read_one(folder, name, sha(content))  # even with the right hash
    assert text is None
    assert error == f"detached signature {name} is missing, unreadable or not allowed"
    assert not HEX64.search(error)


@pytest.mark.parametrize("path", ["../secret.json", "/etc/passwd", "a/../../secret.json", "a//b.json", ""])
def test_references_that_leave_the_folder_are_refused_by_their_form(
    path: str, folder: Path, tmp_path: Path
) -> None:
    (tmp_path / "secret.json").write_text(BUNDLE)
    text, error = read_one(folder, path, sha(BUNDLE.encode()))
    assert text is None and error is not None
    assert "escapes the notebook's folder" in error or "not a relative POSIX path" in error
    assert not HEX64.search(error)


@pytest.mark.timeout(60)
def test_verifying_a_notebook_whose_reference_is_a_fifo(folder: Path) -> None:
    """Through the API: the verdict is ``invalid`` with the same message, promptly."""
    os.mkfifo(folder / "analysis.ipynb.sigstore.json")
    (folder / "analysis.ipynb").write_text(json.dumps(referencing("analysis.ipynb.sigstore.json", "0" * 64)))
    report = api.verify(folder / "analysis.ipynb")
    assert report.status == "invalid"
    assert "is missing, unreadable or not allowed" in report.summary


def test_entries_that_are_neither_bundle_nor_reference() -> None:
    nb = with_block(NB, {"version": 1, "signatures": [{"bundle": "text"}, 7, {"other": 1}]})
    found = read_signatures(nb, Path("analysis.ipynb"))
    assert [s.error is None for s in found] == [True, False, False]
    assert (
        read_signatures(with_block(NB, "garbage"), Path("x.ipynb"))[0].error
        == "metadata.sigstore is malformed"
    )
    assert read_signatures(NB, Path("x.ipynb")) == []


def test_plans_for_each_placement(tmp_path: Path) -> None:
    notebook = tmp_path / "analysis.ipynb"
    embedded = plan_signature(NB, notebook, BUNDLE, "embedded", [])
    assert embedded.sidecar is None and embedded.block["signatures"] == [{"bundle": json.loads(BUNDLE)}]
    sidecar = plan_signature(NB, notebook, BUNDLE, "sidecar", [])
    assert sidecar.sidecar == sidecar_path(notebook) and sidecar.sidecar_bytes == BUNDLE.encode()
    detached = plan_signature(NB, notebook, BUNDLE, "detached", [])
    assert detached.block["signatures"] == [
        {"bundleRef": {"path": "analysis.ipynb.sigstore.json", "sha256": sha(BUNDLE.encode())}}
    ]
    # a kept reference to the default sidecar is not overwritten: the new one takes the next name
    kept = detached.block["signatures"]
    again = plan_signature(NB, notebook, BUNDLE, "detached", kept)
    assert again.sidecar == tmp_path / "analysis.ipynb.2.sigstore.json" and again.kept == 1


def test_tracked_outputs_round_trip_and_ignore_garbage() -> None:
    nb = with_tracked(NB, ["results.csv", "figures", "results.csv"])
    assert tracked_outputs(nb) == ["results.csv", "figures"]
    assert "sigstore" not in NB["metadata"]  # copies, not changes
    garbage = with_block(NB, {"tracked": ["ok.csv", 3, "", None]})
    assert tracked_outputs(garbage) == ["ok.csv"]
