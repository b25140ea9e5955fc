"""Verify a notebook: every bundle with sigstore's Verifier, the trust policy, and every digest recomputed.

Nothing in the notebook's metadata is believed: a verdict comes only from the bundles' cryptography,
the trusted root, the policy, and the notebook's and outputs' current bytes.
"""

from __future__ import annotations

import base64
import difflib
import functools
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .canonical import NotebookDigest
from .certinfo import SignerIdentity, signer_identity
from .errors import BundleError, first_line
from .instance import Instance
from .outputs import check_outputs
from .policy import TrustPolicy
from .report import CellReport, OutputReport, SignatureReport, Status, VerificationReport
from .statement import Provenance, parse_statement
from .storage import StoredSignature, digest_of, load_notebook, read_signatures
from .textfiles import read_text

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
    from sigstore.verify import Verifier

INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
_REKOR_SEARCH = "https://search.sigstore.dev/?logIndex={}"


@dataclass
class VerifiedSignature:
    """A signature whose bundle verified cryptographically, with what it covers."""

    report: SignatureReport
    signer: SignerIdentity
    provenance: Provenance


class _IdentityJudgedByTrustPolicy:
    """A sigstore verification policy that accepts any certificate identity.

    Only the identity check is deferred: sigstore still checks the chain, SCT, log entry, timestamps
    and signature. The identity is then judged by our TrustPolicy (see ``verify_notebook_content``).
    """

    def verify(self, cert: Any) -> None:
        return None


@functools.lru_cache(maxsize=8)
def _verifier(instance: Instance) -> Verifier:
    from sigstore.verify import Verifier

    return Verifier(trusted_root=instance.trusted_root())


def _signing_time(bundle_json: dict[str, Any]) -> str | None:
    material = bundle_json.get("verificationMaterial") or {}
    for entry in material.get("tlogEntries") or []:
        seconds = int(entry.get("integratedTime") or 0)
        if seconds:
            return datetime.fromtimestamp(seconds, timezone.utc).isoformat().replace("+00:00", "Z")
    stamps = (material.get("timestampVerificationData") or {}).get("rfc3161Timestamps") or []
    for stamp in stamps:
        try:
            from rfc3161_client import decode_timestamp_response

            response = decode_timestamp_response(base64.b64decode(stamp["signedTimestamp"]))
            gen = response.tst_info.gen_time
            return gen.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
        except Exception:  # a display nicety only; the verifier already checked the timestamp
            continue
    return None


def _log_index(bundle_json: dict[str, Any]) -> int | None:
    entries = (bundle_json.get("verificationMaterial") or {}).get("tlogEntries") or []
    try:
        return int(entries[0]["logIndex"]) if entries else None
    except (KeyError, TypeError, ValueError):
        return None


def verify_bundle_text(
    bundle_text: str,
    source: str,
    instance: Instance,
    *,
    allow_outside: bool = False,
    keys: Sequence[EllipticCurvePublicKey] = (),
) -> VerifiedSignature:
    """Verify one bundle cryptographically (chain, log, timestamps, DSSE) and parse its statement.

    A bundle signed with a local key (public-key hint, no certificate) verifies only with one of
    ``keys``. Raises BundleError with a one-line reason when anything does not hold.
    """
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import Bundle

    try:
        bundle_json = json.loads(bundle_text)
    except json.JSONDecodeError as exc:
        raise BundleError(f"{source} is not JSON ({exc})") from None
    if not isinstance(bundle_json, dict):
        raise BundleError(f"{source} is not a Sigstore bundle (not a JSON object)")
    from .keys import is_key_bundle

    if is_key_bundle(bundle_json):
        from .keys import verify_key_signature

        signer, payload, signed_at = verify_key_signature(bundle_text, bundle_json, source, keys, instance)
        key_report = SignatureReport(source, True, signer.identity, signer.issuer, signed_at=signed_at)
        provenance = parse_statement(_statement_json(payload), allow_parent=allow_outside)
        return VerifiedSignature(key_report, signer, provenance)
    try:
        bundle = Bundle.from_json(bundle_text)
    except Exception as exc:  # sigstore raises assorted errors on malformed bundles
        raise BundleError(f"{source} is not a Sigstore bundle: {first_line(exc)}") from None
    try:
        # Identity is judged separately by the trust policy, so that a valid signature by someone
        # outside the policy reads "untrusted signer", not "invalid".
        payload_type, payload = _verifier(instance).verify_dsse(bundle, _IdentityJudgedByTrustPolicy())
    except SigstoreError as exc:
        raise BundleError(f"signature does not verify: {first_line(exc)}") from None
    except Exception as exc:
        raise BundleError(f"signature does not verify: {type(exc).__name__}: {first_line(exc)}") from None
    if payload_type != INTOTO_PAYLOAD_TYPE:
        raise BundleError(f"signed payload has type {payload_type!r}, not an in-toto statement")
    try:
        statement = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(f"signed statement is not JSON ({exc})") from None
    provenance = parse_statement(statement, allow_parent=allow_outside)
    signer = signer_identity(bundle.signing_certificate)
    log_index = _log_index(bundle_json)
    report = SignatureReport(
        source=source,
        valid=True,
        identity=signer.identity,
        issuer=signer.issuer,
        github=dict(signer.github),
        signed_at=_signing_time(bundle_json),
        log_index=log_index,
        log_url=_REKOR_SEARCH.format(log_index)
        if instance.is_public_good and log_index is not None
        else None,
    )
    return VerifiedSignature(report, signer, provenance)


def diff_cells(signed: Provenance, current: NotebookDigest) -> list[CellReport]:
    """Align signed and current cell digests; name each cell ok, modified, added or removed."""
    old = [c.digest for c in signed.cells]
    new = [c.digest for c in current.cells]
    reports: list[CellReport] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for i, j in zip(range(i1, i2), range(j1, j2), strict=False):
                c = current.cells[j]
                reports.append(CellReport(j, "ok", c.cell_type, c.cell_id, i))
            continue
        paired = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        for k in range(paired):
            c = current.cells[j1 + k]
            reports.append(CellReport(j1 + k, "modified", c.cell_type, c.cell_id, i1 + k))
        for j in range(j1 + paired, j2):
            c = current.cells[j]
            reports.append(CellReport(j, "added", c.cell_type, c.cell_id, None))
        for i in range(i1 + paired, i2):
            s = signed.cells[i]
            reports.append(CellReport(i, "removed", s.cell_type, s.cell_id, i))
    return reports


def _statement_json(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(f"signed statement is not JSON ({exc})") from None


def _verify_stored(
    stored: StoredSignature,
    instance: Instance,
    allow_outside: bool,
    keys: Sequence[EllipticCurvePublicKey] = (),
) -> VerifiedSignature | SignatureReport:
    if stored.bundle_text is None:
        return SignatureReport(stored.source, False, error=stored.error)
    try:
        return verify_bundle_text(
            stored.bundle_text, stored.source, instance, allow_outside=allow_outside, keys=keys
        )
    except BundleError as exc:
        return SignatureReport(stored.source, False, error=str(exc))


def verify_notebook(
    path: str | Path,
    *,
    policy: TrustPolicy | None = None,
    instance: Instance | None = None,
    bundles: list[Path] | None = None,
    allow_outside: bool = False,
    keys: Sequence[EllipticCurvePublicKey] = (),
    jobs: int | None = None,
    progress: bool = False,
) -> VerificationReport:
    """Verify a notebook file and its signed outputs; return the report (never raises for a bad
    signature; raises NotebookError only when the notebook itself cannot be read). ``keys`` are
    public keys that local-key signatures may verify with, besides those the policy trusts;
    ``jobs`` and ``progress`` control
    how outputs are re-hashed (workers; a progress bar on a terminal)."""
    path = Path(path)
    loaded = load_notebook(path)
    stored = [_read_bundle_file(b) for b in bundles] if bundles else read_signatures(loaded.nb, path)
    return verify_notebook_content(
        loaded.nb,
        path,
        stored,
        policy=policy,
        instance=instance,
        allow_outside=allow_outside,
        keys=keys,
        jobs=jobs,
        progress=progress,
    )


def verify_notebook_content(
    nb: dict[str, Any],
    path: Path,
    stored: list[StoredSignature],
    *,
    policy: TrustPolicy | None = None,
    instance: Instance | None = None,
    allow_outside: bool = False,
    keys: Sequence[EllipticCurvePublicKey] = (),
    jobs: int | None = None,
    progress: bool = False,
) -> VerificationReport:
    """Verify an in-memory notebook (e.g. an editor's model) saved, or to be saved, at ``path``
    against the given stored signatures; outputs are resolved relative to ``path``'s folder.

    Local-key signatures verify with ``keys`` and with the keys the policy trusts."""
    instance = instance or Instance()
    if policy is not None and policy.public_keys:
        keys = [*keys, *policy.public_keys]
    current = digest_of(nb, path)
    report = VerificationReport(
        notebook=str(path),
        status="unsigned",
        summary="no signature found",
        policy=_describe(policy),
        instance=instance.name,
    )
    if not stored:
        report.cells = [CellReport(c.index, "ok", c.cell_type, c.cell_id, None) for c in current.cells]
        report.summary = "no signature found; sign it with `jupyter-sigstore sign`"
        return report

    results = [_verify_stored(s, instance, allow_outside, keys) for s in stored]
    valid = [r for r in results if isinstance(r, VerifiedSignature)]
    report.signatures = [r.report if isinstance(r, VerifiedSignature) else r for r in results]
    invalid = [r for r in results if isinstance(r, SignatureReport)]

    if not valid:
        report.status = "invalid"
        report.summary = invalid[0].error or "invalid signature"
        report.cells = [CellReport(c.index, "ok", c.cell_type, c.cell_id, None) for c in current.cells]
        return report

    checked: dict[tuple[Any, ...], list[OutputReport]] = {}

    def outputs_of(provenance: Provenance) -> list[OutputReport]:
        key = (provenance.outputs, provenance.output_rules)
        if key not in checked:
            checked[key] = check_outputs(
                path,
                provenance.outputs,
                allow_outside=allow_outside,
                rules=provenance.output_rules,
                jobs=jobs,
                progress=progress,
            )
        return checked[key]

    reference = valid[-1].provenance
    report.cells = diff_cells(reference, current)
    report.outputs = outputs_of(reference)
    if reference.metadata_digest != current.metadata_digest:
        report.notebook_changes.append("kernel, language, title or authors changed since signing")
    for sig in valid:
        sig.report.covers_current = sig.provenance.notebook_digest == current.digest and all(
            o.status == "ok" for o in outputs_of(sig.provenance)
        )
        if policy is not None:
            sig.report.trusted_as = policy.matching_names(sig.signer)

    report.status, report.summary = _verdict(report, valid, invalid, policy)
    return report


def _verdict(
    report: VerificationReport,
    valid: list[VerifiedSignature],
    invalid: list[SignatureReport],
    policy: TrustPolicy | None,
) -> tuple[Status, str]:
    if invalid:
        return "invalid", f"{len(invalid)} of {len(report.signatures)} signatures invalid: {invalid[0].error}"
    changed_cells = report.changed_cells()
    changed_outputs = [o for o in report.outputs if o.status != "ok"]
    if not all(s.report.covers_current for s in valid):
        parts = []
        if changed_cells:
            parts.append(f"{len(changed_cells)} cell{'s' if len(changed_cells) != 1 else ''}")
        if changed_outputs:
            names = ", ".join(o.path for o in changed_outputs[:3])
            more = "…" if len(changed_outputs) > 3 else ""
            parts.append(f"output{'s' if len(changed_outputs) != 1 else ''} {names}{more}")
        if report.notebook_changes:
            parts.append("notebook metadata")
        if not parts:
            parts.append("the notebook")
        if changed_cells and all(c.status != "ok" for c in report.cells):
            return "modified", "no cell matches the signature: it was made for another notebook or version"
        return "modified", f"{' and '.join(parts)} changed since signing"
    signers = ", ".join(dict.fromkeys(s.signer.identity for s in valid))
    if policy is None:
        return "untrusted-signer", f"valid signature by {signers}, but no trust policy was given"
    if not policy.is_satisfied([s.signer for s in valid]):
        return "untrusted-signer", f"valid signature by {signers}, who does not satisfy the policy"
    return "verified", f"signed by {signers}; notebook and {len(report.outputs)} output(s) unchanged"


def _describe(policy: TrustPolicy | None) -> str | None:
    if policy is None:
        return None
    return "; ".join(f"{s.name}: {s.describe()}" for s in policy.signers)


def _read_bundle_file(path: Path) -> StoredSignature:
    return StoredSignature(str(path), read_text(path, "bundle", BundleError))
