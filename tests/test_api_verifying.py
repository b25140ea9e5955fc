"""Verifying through ``jupyter_sigstore.api``: each status, and the verdict taken from the signatures
that cover the notebook as it is (an older signature is history: it neither vouches for the current
content nor makes it "modified"). Real signatures from the loopback instance."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from helpers import keyless_signer

from jupyter_sigstore import api
from jupyter_sigstore.policy import TrustPolicy
from jupyter_sigstore.testing import LocalSigstore

ALICE, BOB = "alice@example.com", "bob@example.com"


class Example:
    """The example notebook (a private copy), signed and verified through the API."""

    def __init__(self, folder: Path, sigstore: LocalSigstore, trust_config: Path) -> None:
        self.folder, self.sigstore, self.trust_config = folder, sigstore, trust_config
        self.path = folder / "analysis.ipynb"
        self.instance = api.Instance.select(trust_config=trust_config)

    def sign(self, identity: str = ALICE, **options: Any) -> api.SignResult:
        signer = keyless_signer(self.sigstore, self.trust_config, identity)
        opts = api.SignOptions(base=self.folder, instance=self.instance, outputs=("results.csv",), **options)
        return api.sign(self.path, signer, opts)

    def verify(self, trusted: str | None = None) -> api.VerificationReport:
        """Verify with a policy trusting ``trusted`` from the test issuer (no policy without it)."""
        policy = TrustPolicy.exact(trusted, self.sigstore.issuer_url) if trusted else None
        return api.verify(self.path, api.VerifyOptions(policy=policy, instance=self.instance))

    @property
    def nb(self) -> dict[str, Any]:
        content: dict[str, Any] = json.loads(self.path.read_text())
        return content

    def write(self, nb: dict[str, Any]) -> None:
        self.path.write_text(json.dumps(nb, indent=1))

    def code_cell(self) -> int:
        return next(i for i, c in enumerate(self.nb["cells"]) if c["cell_type"] == "code")

    def edit_cell(self, index: int, source: str = "result = 42  # edited\n") -> None:
        nb = self.nb
        nb["cells"][index]["source"] = source
        self.write(nb)


@pytest.fixture
def ex(example: Path, sigstore_instance: LocalSigstore, trust_config: Path) -> Example:
    return Example(example, sigstore_instance, trust_config)


def test_unsigned(ex: Example) -> None:
    report = ex.verify(ALICE)
    assert (report.status, report.signatures, report.ok) == ("unsigned", (), False)
    assert [c.index for c in report.cells] == list(range(len(ex.nb["cells"])))
    assert all(c.status == "ok" for c in report.cells)


def test_verified_and_untrusted_signer(ex: Example) -> None:
    ex.sign()
    report = ex.verify(ALICE)
    assert report.status == "verified" and report.ok
    [sig] = report.signatures
    assert (sig.identity, sig.issuer, sig.valid, sig.covers_current) == (
        ALICE,
        ex.sigstore.issuer_url,
        True,
        True,
    )
    assert sig.trusted_as and sig.log_index is not None
    for trusted in (BOB, None):
        other = ex.verify(trusted)
        assert other.status == "untrusted-signer" and not other.ok
        assert other.signatures[0].trusted_as == ()
        assert ALICE in other.summary


def test_modified_cell_and_output_are_named(ex: Example) -> None:
    ex.sign()
    cell = ex.code_cell()
    ex.edit_cell(cell)
    (ex.folder / "results.csv").write_text("edited by hand\n")
    report = ex.verify(ALICE)
    assert report.status == "modified"
    assert [(c.index, c.status) for c in report.changed_cells()] == [(cell, "modified")]
    [out] = report.outputs
    assert (out.path, out.status) == ("results.csv", "modified")
    assert out.expected_sha256 and out.actual_sha256 and out.expected_sha256 != out.actual_sha256
    assert not report.signatures[0].covers_current


def test_a_tampered_signature_is_invalid(ex: Example) -> None:
    ex.sign()
    nb = ex.nb
    envelope = nb["metadata"]["sigstore"]["signatures"][0]["bundle"]["dsseEnvelope"]
    signature = bytearray(base64.b64decode(envelope["signatures"][0]["sig"]))
    signature[-1] ^= 0x01
    envelope["signatures"][0]["sig"] = base64.b64encode(bytes(signature)).decode()
    ex.write(nb)
    report = ex.verify(ALICE)
    assert report.status == "invalid" and not report.signatures[0].valid
    assert report.signatures[0].error


def test_a_signature_from_another_instance_is_invalid(ex: Example, tmp_path: Path) -> None:
    with LocalSigstore() as other:
        tc = other.write_trust_config(tmp_path / "other.json")
        signer = keyless_signer(other, tc, ALICE)
        opts = api.SignOptions(base=ex.folder, instance=api.Instance.select(trust_config=tc))
        api.sign(ex.path, signer, opts)
    assert ex.verify(ALICE).status == "invalid"


def test_metadata_claims_are_not_a_verdict(ex: Example) -> None:
    nb = ex.nb
    nb["metadata"]["sigstore"] = {"version": 1, "signatures": [], "status": "verified", "verified": True}
    ex.write(nb)
    assert ex.verify(ALICE).status == "unsigned"


@pytest.fixture
def history(ex: Example) -> Example:
    """alice signed, the notebook changed, then bob signed the new content (alice's is kept)."""
    ex.sign(ALICE)
    ex.edit_cell(ex.code_cell())
    result = ex.sign(BOB)
    assert result.kept == 1
    return ex


def test_a_history_signature_covers_an_earlier_version(history: Example) -> None:
    report = history.verify(BOB)
    assert report.status == "verified"  # bob's signature covers what is there; alice's is history
    alice, bob = report.signatures
    assert (alice.identity, alice.valid, alice.covers_current) == (ALICE, True, False)
    assert (bob.identity, bob.covers_current) == (BOB, True)
    assert report.changed_cells() == []  # cells compare with the covering signature


def test_the_verdict_comes_from_covering_signatures_only(history: Example) -> None:
    report = history.verify(ALICE)  # alice is trusted, but her signature covers an older version
    assert report.status == "untrusted-signer", report.summary
    assert not report.ok
    assert [s.trusted_as != () for s in report.signatures] == [True, False]


def test_verifying_an_in_memory_model(ex: Example) -> None:
    ex.sign()
    content = ex.nb
    model = api.NotebookModel(ex.path, content)
    options = api.VerifyOptions(policy=TrustPolicy.exact(ALICE, ex.sigstore.issuer_url), instance=ex.instance)
    assert api.verify(model, options).status == "verified"
    content["cells"][0]["source"] = "# edited in the editor\n"
    assert api.verify(api.NotebookModel(ex.path, content), options).status == "modified"
