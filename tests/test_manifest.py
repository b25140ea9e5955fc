"""Many outputs: above MANIFEST_THRESHOLD local outputs a signature names one manifest file beside the
notebook (``sha256sum`` format) instead of listing each output. Signed for real against the loopback
instance; every tampering test is an attack that must leave the verdict not verified, with one line
naming what changed, and no file changed by verifying."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import snapshot

from jupyter_sigstore import api, signing
from jupyter_sigstore.canonical import notebook_digest
from jupyter_sigstore.errors import BundleError, OutputError
from jupyter_sigstore.instance import Instance
from jupyter_sigstore.manifest import (
    MANIFEST_THRESHOLD,
    ManifestRef,
    describe,
    manifest_bytes,
    parse_manifest,
)
from jupyter_sigstore.oidc.tokens import parse_token
from jupyter_sigstore.outputs import OutputDigest
from jupyter_sigstore.policy import TrustPolicy
from jupyter_sigstore.signing import KeylessSigner
from jupyter_sigstore.statement import (
    PREDICATE_TYPE_V1,
    STATEMENT_TYPE,
    build_statement,
    parse_statement,
)
from jupyter_sigstore.storage import plan_signature, with_block
from jupyter_sigstore.testing import LocalSigstore

ALICE = "alice@example.com"
NB = {
    "cells": [{"id": "a1", "cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [],
               "source": "write_parts('parts/')"}],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "nbformat": 4, "nbformat_minor": 5,
}  # fmt: skip
SMALL_THRESHOLD = 3


@pytest.fixture
def small_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    """A manifest from 4 outputs on (the real threshold has its own test), so tests stay small."""
    monkeypatch.setattr(signing, "MANIFEST_THRESHOLD", SMALL_THRESHOLD)


def _project(folder: Path, count: int, name: str = "nb.ipynb") -> Path:
    (folder / "parts").mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (folder / "parts" / f"p{i:03d}.csv").write_text(f"part,{i}\n")
    path = folder / name
    path.write_text(json.dumps(NB, indent=1), encoding="utf-8")
    return path


def _sign(path: Path, signer: KeylessSigner, *extra: str, **kwargs: Any) -> api.SignResult:
    specs = tuple(str(path.parent / s) for s in (extra or ("parts",)))
    return api.sign(path, signer, api.SignOptions(outputs=specs, **kwargs))


def _statement(path: Path) -> dict[str, Any]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    bundle = nb["metadata"]["sigstore"]["signatures"][-1]["bundle"]
    statement: dict[str, Any] = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    return statement


def _not_verified(path: Path, options: api.VerifyOptions, status: str, *words: str) -> api.VerificationReport:
    before = snapshot(path.parent)
    report = api.verify(path, options)
    assert report.status == status, report.summary
    assert "\n" not in report.summary and all(w in report.summary for w in words), report.summary
    assert snapshot(path.parent) == before  # verifying writes nothing
    return report


def test_round_trip_lists_the_outputs_once_in_the_manifest(
    tmp_path: Path, signer: KeylessSigner, options: api.VerifyOptions, small_threshold: None
) -> None:
    path = _project(tmp_path, 5)
    result = _sign(path, signer)
    manifest = tmp_path / "nb.ipynb.outputs.sha256"
    assert result.manifest == manifest and len(result.outputs) == 5
    lines = manifest.read_text().splitlines()
    digests = [hashlib.sha256(b"part,%d\n" % i).hexdigest() for i in range(5)]
    assert lines == [f"{digests[i]}  parts/p{i:03d}.csv" for i in range(5)]
    statement = _statement(path)
    names = [s["name"] for s in statement["subject"]]
    assert names == ["nb.ipynb", "nb.ipynb.outputs.sha256"]  # no output listed in the statement
    assert statement["predicate"]["outputsManifest"] == {
        "path": "nb.ipynb.outputs.sha256",
        "digest": {"sha256": hashlib.sha256(manifest.read_bytes()).hexdigest()},
        "count": 5,
        "size": manifest.stat().st_size,
    }
    assert "parts/p000.csv" not in json.dumps(statement)
    report = api.verify(path, options)
    assert report.status == "verified", report.summary
    assert "5 outputs unchanged" in report.summary
    assert sorted(o.path for o in report.outputs) == [f"parts/p{i:03d}.csv" for i in range(5)]
    assert all(o.status == "ok" for o in report.outputs)


def test_below_the_threshold_each_output_is_a_subject_once(
    tmp_path: Path, signer: KeylessSigner, options: api.VerifyOptions
) -> None:
    path = _project(tmp_path, 3)
    result = _sign(path, signer)
    assert result.manifest is None and not (tmp_path / "nb.ipynb.outputs.sha256").exists()
    text = json.dumps(_statement(path))
    for i in range(3):
        assert text.count(f"parts/p{i:03d}.csv") == 1
    assert api.verify(path, options).status == "verified"


def test_the_real_threshold(tmp_path: Path, signer: KeylessSigner, options: api.VerifyOptions) -> None:
    (tmp_path / "parts").mkdir()
    for i in range(MANIFEST_THRESHOLD + 1):
        (tmp_path / "parts" / f"p{i:05d}").write_bytes(b"%d" % i)
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(NB), encoding="utf-8")
    exact = _sign(path, signer, *[f"parts/p{i:05d}" for i in range(MANIFEST_THRESHOLD)])
    assert exact.manifest is None
    over = _sign(path, signer)
    assert over.manifest is not None and over.manifest.is_file()
    assert len(over.manifest.read_text().splitlines()) == MANIFEST_THRESHOLD + 1
    assert api.verify(path, options).status == "verified"


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="coreutils sha256sum not installed")
def test_sha256sum_checks_a_fresh_manifest(
    tmp_path: Path, signer: KeylessSigner, small_threshold: None
) -> None:
    path = _project(tmp_path, 6)
    (tmp_path / "parts" / "with space & ünïcode.csv").write_text("x\n")
    _sign(path, signer)
    done = subprocess.run(
        ["sha256sum", "--strict", "-c", "nb.ipynb.outputs.sha256"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": OK") == 7
    (tmp_path / "parts" / "p002.csv").write_text("tampered\n")
    done = subprocess.run(
        ["sha256sum", "-c", "nb.ipynb.outputs.sha256"], cwd=tmp_path, capture_output=True, check=False
    )
    assert done.returncode != 0


def test_stock_sigstore_verifies_the_manifest_against_the_bundle(
    tmp_path: Path, signer: KeylessSigner, sigstore_instance: LocalSigstore, trust_config: Path,
    small_threshold: None,
) -> None:  # fmt: skip
    path = _project(tmp_path, 5)
    _sign(path, signer, placement="sidecar")
    stock = Path(sys.executable).with_name("sigstore")

    def stock_verify() -> int:
        return subprocess.run(
            [str(stock), "--trust-config", str(trust_config), "verify", "identity",
             "--bundle", "nb.ipynb.sigstore.json", "--cert-identity", ALICE,
             "--cert-oidc-issuer", sigstore_instance.issuer_url, "nb.ipynb.outputs.sha256"],
            cwd=tmp_path, capture_output=True, check=False,
        ).returncode  # fmt: skip

    assert stock_verify() == 0
    manifest = tmp_path / "nb.ipynb.outputs.sha256"
    manifest.write_bytes(manifest.read_bytes().replace(b"p001", b"p009"))
    assert stock_verify() != 0


def test_an_edited_manifest_line_is_caught(
    tmp_path: Path, signer: KeylessSigner, options: api.VerifyOptions, small_threshold: None
) -> None:
    path = _project(tmp_path, 5)
    _sign(path, signer)
    (tmp_path / "parts" / "p002.csv").write_text("forged\n")
    manifest = tmp_path / "nb.ipynb.outputs.sha256"
    forged = hashlib.sha256(b"forged\n").hexdigest()
    lines = manifest.read_text().splitlines(keepends=True)
    lines[2] = f"{forged}  parts/p002.csv\n"
    manifest.write_text("".join(lines))
    report = _not_verified(path, options, "modified", "nb.ipynb.outputs.sha256")
    [out] = report.outputs
    assert out.path == "nb.ipynb.outputs.sha256" and out.status == "modified"
    assert out.error and "changed since signing" in out.error


def test_a_manifest_swapped_for_another_notebooks_is_caught(
    tmp_path: Path, signer: KeylessSigner, options: api.VerifyOptions, small_threshold: None
) -> None:
    path = _project(tmp_path / "a", 5)
    other = _project(tmp_path / "b", 6)
    _sign(path, signer)
    _sign(other, signer)
    shutil.copyfile(tmp_path / "b" / "nb.ipynb.outputs.sha256", tmp_path / "a" / "nb.ipynb.outputs.sha256")
    shutil.copyfile(tmp_path / "b" / "parts" / "p005.csv", tmp_path / "a" / "parts" / "p005.csv")
    _not_verified(path, options, "modified", "nb.ipynb.outputs.sha256")


def test_a_deleted_manifest_is_caught(
    tmp_path: Path, signer: KeylessSigner, options: api.VerifyOptions, small_threshold: None
) -> None:
    path = _project(tmp_path, 5)
    _sign(path, signer)
    (tmp_path / "nb.ipynb.outputs.sha256").unlink()
    report = _not_verified(path, options, "modified", "nb.ipynb.outputs.sha256", "missing")
    assert report.outputs[0].error == "outputs manifest nb.ipynb.outputs.sha256 not found"


def test_a_manifest_that_grew_is_not_read(
    tmp_path: Path, signer: KeylessSigner, options: api.VerifyOptions, small_threshold: None
) -> None:
    path = _project(tmp_path, 5)
    _sign(path, signer)
    with open(tmp_path / "nb.ipynb.outputs.sha256", "ab") as fh:
        fh.write(b"0" * (8 << 20))  # larger than signed: refused from its size, before reading it
    _not_verified(path, options, "modified", "nb.ipynb.outputs.sha256")


def test_a_manifest_link_leading_outside_is_not_followed(
    tmp_path: Path, signer: KeylessSigner, options: api.VerifyOptions, small_threshold: None
) -> None:
    path = _project(tmp_path / "nb", 5)
    _sign(path, signer)
    manifest = tmp_path / "nb" / "nb.ipynb.outputs.sha256"
    outside = tmp_path / "elsewhere.outputs.sha256"
    manifest.rename(outside)
    manifest.symlink_to(outside)  # the same bytes, but outside the notebook's folder
    report = _not_verified(path, options, "modified", "nb.ipynb.outputs.sha256")
    assert "outside" in (report.outputs[0].error or "")


@pytest.mark.parametrize("change", ["modified", "removed", "added"])
def test_outputs_changed_under_a_manifest_are_named(
    tmp_path: Path, signer: KeylessSigner, options: api.VerifyOptions, small_threshold: None, change: str
) -> None:
    path = _project(tmp_path, 5)
    _sign(path, signer)
    part = tmp_path / "parts" / "p003.csv"
    if change == "modified":
        part.write_text("changed\n")
    elif change == "removed":
        part.unlink()
    else:
        part = tmp_path / "parts" / "new.csv"
        part.write_text("new\n")
    status = {"modified": "modified", "removed": "missing", "added": "added"}[change]
    report = _not_verified(path, options, "modified", "parts/")
    assert [(o.path, o.status) for o in report.outputs if o.status != "ok"] == [
        (part.relative_to(tmp_path).as_posix(), status)
    ]


def _sign_crafted(path: Path, signer: KeylessSigner, manifest: bytes, count: int) -> None:
    """Sign, as a hostile signer would, a statement naming ``manifest`` (written beside ``path``)."""
    name = path.name + ".outputs.sha256"
    (path.parent / name).write_bytes(manifest)
    nb = json.loads(path.read_text(encoding="utf-8"))
    ref = ManifestRef(name, hashlib.sha256(manifest).hexdigest(), count, len(manifest))
    statement = build_statement(path.name, notebook_digest(nb), [], manifest=ref)
    bundle = signer.sign_statement(statement)
    path.write_text(json.dumps(with_block(nb, plan_signature(nb, path, bundle, "embedded", []).block)))


@pytest.mark.parametrize(
    ("lines", "why"),
    [
        (["../secret.txt"], "escapes"),
        (["/etc/passwd"], "escapes"),
        (["parts/p000.csv", "parts/p000.csv"], "out of order or repeated"),
        (["parts/p001.csv", "parts/p000.csv"], "out of order or repeated"),
        (["parts/./p000.csv"], "escapes"),
    ],
)
def test_a_signed_manifest_naming_bad_paths_makes_the_signature_invalid(
    tmp_path: Path, signer: KeylessSigner, options: api.VerifyOptions, lines: list[str], why: str
) -> None:
    path = _project(tmp_path, 2)
    data = "".join(f"{'0' * 64}  {name}\n" for name in lines).encode()
    _sign_crafted(path, signer, data, len(lines))
    report = _not_verified(path, options, "invalid", "nb.ipynb.outputs.sha256", why)
    assert not report.outputs


@pytest.mark.parametrize(
    "data",
    [
        b"0" * 64 + b" parts/p000.csv\n",  # one space: sha256sum's binary marker is not written either
        b"0" * 64 + b"  parts/p000.csv",  # no final line end
        b"0" * 63 + b"  parts/p000.csv\n",
        b"0" * 64 + b"  parts/p000.csv\r\n",
        b"\\" + b"0" * 64 + b"  parts/p\\n000.csv\n",
        b"0" * 64 + b"  parts/\xff.csv\n",
        b"\n" * 70,
    ],
)
def test_a_malformed_signed_manifest_makes_the_signature_invalid(
    tmp_path: Path, signer: KeylessSigner, options: api.VerifyOptions, data: bytes
) -> None:
    path = _project(tmp_path, 2)
    _sign_crafted(path, signer, data, 1)
    _not_verified(path, options, "invalid", "nb.ipynb.outputs.sha256")


def test_a_statement_cannot_claim_a_huge_manifest() -> None:
    digest = notebook_digest(NB)
    for count, size in ((1, 10**9), (10, 10), (0, 0)):
        ref = ManifestRef("nb.ipynb.outputs.sha256", "0" * 64, 1, 100)
        statement = build_statement("nb.ipynb", digest, [], manifest=ref)
        statement["predicate"]["outputsManifest"].update(count=count, size=size)
        with pytest.raises(BundleError, match="outputs manifest"):
            parse_statement(statement)


@pytest.mark.parametrize("name", ["../x.outputs.sha256", "/tmp/x.outputs.sha256", "sub/x.outputs.sha256",
                                  ".x.outputs.sha256", "x.txt"])  # fmt: skip
def test_a_statement_cannot_put_its_manifest_elsewhere(name: str) -> None:
    ref = ManifestRef(name, "0" * 64, 1, 100)
    with pytest.raises(BundleError):
        parse_statement(build_statement("nb.ipynb", notebook_digest(NB), [], manifest=ref))


def test_parse_manifest_counts_lines() -> None:
    outputs = [OutputDigest(f"p{i}", "a" * 64, 1) for i in range(3)]
    ref, data = describe(outputs, "nb.ipynb.outputs.sha256")
    assert [o.path for o in parse_manifest(data, ref)] == ["p0", "p1", "p2"]
    with pytest.raises(BundleError, match="lists 3 outputs, not the 4 signed"):
        parse_manifest(data, ManifestRef(ref.path, ref.sha256, 4, ref.size))


@pytest.mark.parametrize("name", ["two\nlines.csv", "cr\rname.csv", "back\\slash.csv"])
def test_manifest_refuses_each_name_sha256sum_would_need_escaped(name: str) -> None:
    outputs = [OutputDigest(n, c * 64, 1) for n, c in (("a.csv", "a"), (name, "b"), ("z", "c"))]
    with pytest.raises(OutputError, match=r"line break or a backslash") as caught:
        manifest_bytes(outputs)
    assert repr(name) in str(caught.value)
    assert manifest_bytes([outputs[2], outputs[0]]) == f"{'a' * 64}  a.csv\n{'c' * 64}  z\n".encode()


def test_a_name_with_a_line_break_is_refused_before_signing(
    tmp_path: Path, signer: KeylessSigner, sigstore_instance: LocalSigstore, small_threshold: None
) -> None:
    path = _project(tmp_path, 5)
    (tmp_path / "parts" / "two\nlines.csv").write_text("x\n")
    before = (snapshot(tmp_path), len(sigstore_instance.rekor_v1_log.bodies))
    with pytest.raises(OutputError, match="line break"):
        _sign(path, signer)
    assert (snapshot(tmp_path), len(sigstore_instance.rekor_v1_log.bodies)) == before


def test_a_countersignature_covers_the_same_manifest(
    tmp_path: Path,
    signer: KeylessSigner,
    sigstore_instance: LocalSigstore,
    trust_config: Path,
    small_threshold: None,
) -> None:
    path = _project(tmp_path, 5)
    _sign(path, signer)
    manifest = (tmp_path / "nb.ipynb.outputs.sha256").read_bytes()
    bob = KeylessSigner(Instance.select(trust_config=trust_config),
                        parse_token(sigstore_instance.mint_token("bob@example.com"), "test"))  # fmt: skip
    api.sign(path, bob, api.SignOptions(countersign=True, instance=bob.instance))
    assert (tmp_path / "nb.ipynb.outputs.sha256").read_bytes() == manifest
    policy = TrustPolicy.exact(ALICE, sigstore_instance.issuer_url)
    report = api.verify(path, api.VerifyOptions(policy=policy, instance=bob.instance))
    assert report.status == "verified" and all(s.covers_current for s in report.signatures)


def test_another_signers_manifest_is_never_overwritten(
    tmp_path: Path,
    signer: KeylessSigner,
    sigstore_instance: LocalSigstore,
    trust_config: Path,
    small_threshold: None,
) -> None:
    """Nothing lost: bob signs the same notebook with other outputs; alice's signature, kept, still
    verifies with its own manifest, and bob's names a manifest of its own. Re-signing by the same
    signer replaces its own manifest in place (no file left behind)."""
    path = _project(tmp_path, 5)
    (tmp_path / "more").mkdir()
    for i in range(5):
        (tmp_path / "more" / f"m{i}.csv").write_text(f"more,{i}\n")
    _sign(path, signer)
    alices = (tmp_path / "nb.ipynb.outputs.sha256").read_bytes()
    bob = KeylessSigner(Instance.select(trust_config=trust_config),
                        parse_token(sigstore_instance.mint_token("bob@example.com"), "test"))  # fmt: skip
    result = _sign(path, bob, "more", instance=bob.instance)
    assert result.kept == 1
    assert (tmp_path / "nb.ipynb.outputs.sha256").read_bytes() == alices
    assert result.manifest is not None and result.manifest != tmp_path / "nb.ipynb.outputs.sha256"
    assert result.manifest.name.endswith(".outputs.sha256") and b"more/m0.csv" in result.manifest.read_bytes()
    for who in (ALICE, "bob@example.com"):
        policy = TrustPolicy.exact(who, sigstore_instance.issuer_url)
        report = api.verify(path, api.VerifyOptions(policy=policy, instance=bob.instance))
        assert report.status == "verified", (who, report.summary)
        assert all(s.covers_current for s in report.signatures), report.summary
    # bob re-signs: his own signature is replaced, alice's manifest still stands beside his new one
    again = _sign(path, bob, "more", instance=bob.instance)
    assert again.manifest == result.manifest
    assert sorted(p.name for p in tmp_path.glob("*.outputs.sha256")) == sorted(
        ["nb.ipynb.outputs.sha256", result.manifest.name]
    )


def test_an_in_memory_model_gets_its_manifest_written(
    tmp_path: Path, signer: KeylessSigner, options: api.VerifyOptions, small_threshold: None
) -> None:
    path = _project(tmp_path, 5)
    result = api.sign(
        api.NotebookModel(path, dict(NB)), signer, api.SignOptions(outputs=(str(tmp_path / "parts"),))
    )
    assert not result.written and result.manifest == tmp_path / "nb.ipynb.outputs.sha256"
    path.write_text(json.dumps(with_block(NB, result.block)), encoding="utf-8")  # the editor's save
    assert api.verify(path, options).status == "verified"


def test_first_shape_statements_still_verify(
    tmp_path: Path, signer: KeylessSigner, options: api.VerifyOptions
) -> None:
    """A round-1 signature: every output a subject and an entry of predicate.outputs."""
    path = _project(tmp_path, 2)
    nb = json.loads(path.read_text(encoding="utf-8"))
    digest = notebook_digest(nb)
    outputs = [(f"parts/p{i:03d}.csv", f"part,{i}\n".encode()) for i in range(2)]
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": "nb.ipynb", "digest": {"sha256": digest.digest}}]
        + [{"name": p, "digest": {"sha256": hashlib.sha256(b).hexdigest()}} for p, b in outputs],
        "predicateType": PREDICATE_TYPE_V1,
        "predicate": {
            "profile": digest.profile,
            "notebook": {"name": "nb.ipynb", "digest": {"sha256": digest.digest},
                         "metadataDigest": {"sha256": digest.metadata_digest},
                         "widgetsDigest": {"sha256": digest.widgets_digest}},
            "cells": [{"cellType": c.cell_type, "digest": {"sha256": c.digest}, "id": c.cell_id}
                      for c in digest.cells],
            "outputs": [{"path": p, "digest": {"sha256": hashlib.sha256(b).hexdigest()}, "size": len(b)}
                        for p, b in outputs],
        },
    }  # fmt: skip
    bundle = signer.sign_statement(statement)
    path.write_text(json.dumps(with_block(nb, plan_signature(nb, path, bundle, "embedded", []).block)))
    report = api.verify(path, options)
    assert report.status == "verified" and len(report.outputs) == 2
    (tmp_path / "parts" / "p001.csv").write_text("changed\n")
    assert api.verify(path, options).status == "modified"


@pytest.mark.slow
def test_a_signature_over_100000_outputs_adds_less_than_1_mb(
    tmp_path: Path, signer: KeylessSigner, options: api.VerifyOptions
) -> None:
    (tmp_path / "parts").mkdir()
    for i in range(100_000):
        (tmp_path / "parts" / f"part-{i:06d}.bin").write_bytes(b"%d" % i)
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(NB, indent=1), encoding="utf-8")
    before = path.stat().st_size
    _sign(path, signer)
    assert path.stat().st_size - before < 1 << 20
    assert (tmp_path / "nb.ipynb.outputs.sha256").stat().st_size < 100_000 * 100
    report = api.verify(path, options)
    assert report.status == "verified" and len(report.outputs) == 100_000


def test_an_output_replaced_by_a_link_outside_is_caught_in_a_crowded_folder(
    tmp_path: Path, signer: KeylessSigner, options: api.VerifyOptions, small_threshold: None
) -> None:
    """A folder holding many signed outputs is listed once to find links: a link there to a file
    outside the notebook's folder, with the signed bytes, is still not accepted."""
    path = _project(tmp_path / "nb", 300)
    _sign(path, signer)
    victim = tmp_path / "nb" / "parts" / "p123.csv"
    outside = tmp_path / "outside.csv"
    outside.write_bytes(victim.read_bytes())
    victim.unlink()
    victim.symlink_to(outside)
    report = _not_verified(path, options, "modified", "parts/p123.csv")
    [bad] = [o for o in report.outputs if o.status != "ok"]
    assert (bad.path, bad.status, bad.error) == (
        "parts/p123.csv",
        "modified",
        "now a link outside the notebook's folder",
    )


@pytest.mark.parametrize("follow_symlinks", [False, True])
@pytest.mark.parametrize("replaced", ["file", "folder"])
def test_a_signed_output_that_now_leads_outside_is_not_ok_whoever_walked_it(
    tmp_path: Path,
    signer: KeylessSigner,
    options: api.VerifyOptions,
    small_threshold: None,
    follow_symlinks: bool,
    replaced: str,
) -> None:
    """The walk for added files vouches only for what it found inside the folder: a signed file, or
    its folder, replaced by a link to a copy with the signed bytes outside is never read as ok,
    whether the rules follow links or not."""
    path = _project(tmp_path / "nb", 300)
    _sign(path, signer, follow_symlinks=follow_symlinks)
    parts = tmp_path / "nb" / "parts"
    outside = tmp_path / "outside"
    if replaced == "file":
        outside.mkdir()
        (outside / "p123.csv").write_bytes((parts / "p123.csv").read_bytes())
        (parts / "p123.csv").unlink()
        (parts / "p123.csv").symlink_to(outside / "p123.csv")
    else:
        parts.rename(outside)
        parts.symlink_to(outside, target_is_directory=True)
    report = api.verify(path, options)
    assert report.status == "modified", report.summary
    bad = {o.path: o for o in report.outputs if o.status != "ok"}
    assert "parts/p123.csv" in bad and bad["parts/p123.csv"].status == "modified"
    assert bad["parts/p123.csv"].error == "now a link outside the notebook's folder"


def test_a_manifest_link_to_a_hidden_file_is_not_read_and_no_digest_is_told(
    tmp_path: Path, signer: KeylessSigner, options: api.VerifyOptions, small_threshold: None
) -> None:
    """A link could otherwise make a verifier (a server) hash a file it would not show."""
    path = _project(tmp_path, 5)
    _sign(path, signer)
    manifest = tmp_path / "nb.ipynb.outputs.sha256"
    (tmp_path / ".env").write_bytes(manifest.read_bytes())  # even the signed bytes
    manifest.unlink()
    manifest.symlink_to(".env")
    report = _not_verified(path, options, "modified", "nb.ipynb.outputs.sha256")
    assert report.outputs[0].actual_sha256 is None


def test_a_notebook_reached_through_a_link_keeps_its_manifest_in_its_real_folder(
    tmp_path: Path, signer: KeylessSigner, options: api.VerifyOptions, small_threshold: None
) -> None:
    path = _project(tmp_path / "real", 5)
    (tmp_path / "elsewhere").mkdir()
    link = tmp_path / "elsewhere" / "nb.ipynb"
    link.symlink_to(path)
    result = api.sign(link, signer, api.SignOptions(outputs=(str(tmp_path / "real" / "parts"),)))
    assert result.manifest == tmp_path / "real" / "nb.ipynb.outputs.sha256" and result.manifest.is_file()
    assert link.is_symlink() and not (tmp_path / "elsewhere" / "nb.ipynb.outputs.sha256").exists()
    assert api.verify(link, options).status == "verified"
    assert api.verify(path, options).status == "verified"
