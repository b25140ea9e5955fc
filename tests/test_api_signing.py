"""Signing through ``jupyter_sigstore.api``: where a signature is stored (embedded, sidecar, detached),
which earlier signatures stay, an editor's in-memory model, and refusals that change nothing: no file
written and no transparency-log entry made. Real signing against the loopback instance."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import keyless_signer, snapshot

from jupyter_sigstore import api
from jupyter_sigstore.errors import SigstoreNotebookError
from jupyter_sigstore.policy import TrustPolicy
from jupyter_sigstore.testing import LocalSigstore

ALICE, BOB = "alice@example.com", "bob@example.com"
OUTPUTS = ("results.csv", "figures/summary.png")


@pytest.fixture
def instance(trust_config: Path) -> api.Instance:
    return api.Instance.select(trust_config=trust_config)


@pytest.fixture
def sign(
    sigstore_instance: LocalSigstore, trust_config: Path, instance: api.Instance, example: Path
) -> Callable[..., api.SignResult]:
    """Sign examples/analysis.ipynb (a private copy) as ``identity`` with the given SignOptions fields."""

    def run(identity: str = ALICE, **options: Any) -> api.SignResult:
        signer = keyless_signer(sigstore_instance, trust_config, identity)
        opts = api.SignOptions(base=example, instance=instance, **options)
        return api.sign(example / "analysis.ipynb", signer, opts)

    return run


def verify(path: Path | api.NotebookModel, instance: api.Instance, issuer: str, *trusted: str) -> Any:
    policy = TrustPolicy.exact(trusted[0], issuer) if len(trusted) == 1 else None
    return api.verify(path, api.VerifyOptions(policy=policy, instance=instance))


def signatures(notebook: Path) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads(notebook.read_text())["metadata"]["sigstore"]["signatures"]
    return entries


def signer_of(entry: dict[str, Any]) -> str:
    """The identity in an embedded bundle's certificate (read with the same code the report uses)."""
    from jupyter_sigstore.bundles import claimed_signer

    claim = claimed_signer(entry["bundle"])
    assert claim is not None
    return claim[0]


def test_embedded_signature_covers_notebook_and_outputs(
    sign: Callable[..., api.SignResult],
    example: Path,
    instance: api.Instance,
    sigstore_instance: LocalSigstore,
) -> None:
    result = sign(outputs=OUTPUTS)
    notebook = example / "analysis.ipynb"
    assert result.written and result.sidecar is None and result.signatures == 1
    assert not (example / "analysis.ipynb.sigstore.json").exists()
    assert signatures(notebook) == [{"bundle": json.loads(result.bundle_json)}]
    assert json.loads(notebook.read_text())["metadata"]["sigstore"] == result.block
    assert sorted(o.path for o in result.outputs) == sorted(OUTPUTS)
    assert result.identity == ALICE and result.log_index is not None
    report = verify(notebook, instance, sigstore_instance.issuer_url, ALICE)
    assert report.status == "verified", report.summary
    assert [(o.path, o.status) for o in report.outputs] == [(p, "ok") for p in sorted(OUTPUTS)]


def test_sidecar_placement_writes_the_same_bundle_beside_the_notebook(
    sign: Callable[..., api.SignResult],
    example: Path,
    instance: api.Instance,
    sigstore_instance: LocalSigstore,
) -> None:
    result = sign(outputs=("results.csv",), placement="sidecar")
    sidecar = example / "analysis.ipynb.sigstore.json"
    assert result.sidecar == sidecar
    assert json.loads(sidecar.read_text()) == signatures(example / "analysis.ipynb")[0]["bundle"]
    assert verify(example / "analysis.ipynb", instance, sigstore_instance.issuer_url, ALICE).ok


def test_detached_placement_keeps_only_a_reference(
    sign: Callable[..., api.SignResult],
    example: Path,
    instance: api.Instance,
    sigstore_instance: LocalSigstore,
) -> None:
    sign(outputs=("results.csv",), placement="detached")
    sidecar = example / "analysis.ipynb.sigstore.json"
    [entry] = signatures(example / "analysis.ipynb")
    assert entry == {
        "bundleRef": {"path": sidecar.name, "sha256": hashlib.sha256(sidecar.read_bytes()).hexdigest()}
    }
    assert verify(example / "analysis.ipynb", instance, sigstore_instance.issuer_url, ALICE).ok
    sidecar.write_bytes(sidecar.read_bytes() + b" ")
    report = verify(example / "analysis.ipynb", instance, sigstore_instance.issuer_url, ALICE)
    assert report.status == "invalid"
    assert "changed since it was referenced" in report.summary


def test_other_signers_are_kept_and_the_signers_own_earlier_signature_replaced(
    sign: Callable[..., api.SignResult], example: Path
) -> None:
    sign(ALICE, outputs=OUTPUTS)
    second = sign(BOB, outputs=OUTPUTS)
    assert (second.kept, second.dropped, second.signatures) == (1, (), 2)
    again = sign(ALICE, outputs=OUTPUTS)
    assert (again.kept, again.dropped) == (1, (ALICE,))
    assert [signer_of(e) for e in signatures(example / "analysis.ipynb")] == [BOB, ALICE]


def test_replace_drops_every_earlier_signature(sign: Callable[..., api.SignResult], example: Path) -> None:
    sign(ALICE, outputs=OUTPUTS)
    result = sign(BOB, outputs=OUTPUTS, replace=True)
    assert (result.kept, result.dropped) == (0, (ALICE,))
    assert [signer_of(e) for e in signatures(example / "analysis.ipynb")] == [BOB]


def test_countersignature_covers_exactly_what_the_first_covers(
    sign: Callable[..., api.SignResult],
    example: Path,
    instance: api.Instance,
    sigstore_instance: LocalSigstore,
) -> None:
    first = sign(ALICE, outputs=OUTPUTS)
    counter = sign(BOB, countersign=True)
    assert counter.outputs == first.outputs and counter.notebook_digest == first.notebook_digest
    assert counter.kept == 1
    report = verify(example / "analysis.ipynb", instance, sigstore_instance.issuer_url)
    assert [s.identity for s in report.signatures] == [ALICE, BOB]
    assert all(s.covers_current for s in report.signatures)


def test_an_in_memory_model_gets_a_block_and_no_file_is_written(
    sigstore_instance: LocalSigstore, trust_config: Path, instance: api.Instance, example: Path
) -> None:
    path = example / "analysis.ipynb"
    before = snapshot(example)
    content = json.loads(path.read_text())
    content["cells"][0]["source"] = "# typed in the editor, not saved yet\n"
    signer = keyless_signer(sigstore_instance, trust_config)
    result = api.sign(
        api.NotebookModel(path, content), signer, api.SignOptions(base=example, instance=instance)
    )
    assert not result.written and snapshot(example) == before
    signed = {**content, "metadata": {**content["metadata"], "sigstore": result.block}}
    model_report = verify(api.NotebookModel(path, signed), instance, sigstore_instance.issuer_url, ALICE)
    assert model_report.status == "verified"
    path.write_text(json.dumps({**signed, "cells": json.loads(path.read_text())["cells"]}))
    report = verify(path, instance, sigstore_instance.issuer_url, ALICE)
    assert report.status == "modified"  # the file still holds the unedited first cell
    assert [c.index for c in report.changed_cells()] == [0]


def _edit_first_code_cell(example: Path) -> None:
    path = example / "analysis.ipynb"
    nb = json.loads(path.read_text())
    code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    code["source"] = "result = 42  # edited after signing\n"
    path.write_text(json.dumps(nb, indent=1))


REFUSALS: dict[str, tuple[Callable[[Callable[..., api.SignResult], Path], object], dict[str, Any], str]] = {
    # case: (what happens first, the refused signing act, part of its one-line error)
    "countersign unsigned": (
        lambda sign, ex: None,
        {"identity": BOB, "countersign": True},
        "no signature to countersign",
    ),
    "countersign with outputs": (
        lambda sign, ex: sign(ALICE, outputs=OUTPUTS),
        {"identity": BOB, "countersign": True, "outputs": ("results.csv",)},
        "covers exactly the notebook and outputs",
    ),
    "countersign modified": (
        lambda sign, ex: (sign(ALICE, outputs=OUTPUTS), _edit_first_code_cell(ex)),
        {"identity": BOB, "countersign": True},
        "refusing to countersign",
    ),
    "countersign own signature": (
        lambda sign, ex: sign(ALICE, outputs=OUTPUTS),
        {"identity": ALICE, "countersign": True},
        "a countersignature needs another signer",
    ),
    "missing output": (lambda sign, ex: None, {"outputs": ("nope.csv",)}, "nope.csv"),
    "output outside the folder": (
        lambda sign, ex: (ex.parent / "outside.csv").write_text("x\n"),
        {"outputs": ("../outside.csv",)},
        "outside",
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refusals_write_nothing_and_log_nothing(
    case: str, sign: Callable[..., api.SignResult], example: Path, sigstore_instance: LocalSigstore
) -> None:
    setup, options, message = REFUSALS[case]
    setup(sign, example)
    before, logged = snapshot(example.parent), len(sigstore_instance.rekor_v1_log.bodies)
    with pytest.raises(SigstoreNotebookError) as refused:
        sign(**options)
    assert message in str(refused.value) and "\n" not in str(refused.value)
    assert snapshot(example.parent) == before
    assert len(sigstore_instance.rekor_v1_log.bodies) == logged
