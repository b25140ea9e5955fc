"""Verify a notebook: every bundle with sigstore's Verifier, the trust policy, and every digest recomputed.

Nothing in the notebook's metadata is believed: a verdict comes only from the bundles' cryptography,
the trusted root, the policy, and the notebook's and outputs' current bytes. Signatures that no longer
cover the notebook as it is are history: the verdict comes from those that cover it.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .bundles import INTOTO_PAYLOAD_TYPE, is_key_bundle, log_index, signing_time, unknown_instance
from .canonical import PROFILE, PROFILE_V1, NotebookDigest, check_nbformat, digest_of
from .certinfo import SignerIdentity, signer_identity
from .errors import BundleError, NotebookError, first_line
from .instance import Instance
from .manifest import ManifestProblem, read_manifest
from .nbfile import read_notebook
from .options import NotebookModel, VerifyOptions
from .outputs import OutputRules, Selected, check_outputs, paused_gc
from .report import (
    AttestationReport,
    CellReport,
    DisplayedFileReport,
    OutputReport,
    SignatureReport,
    Status,
    VerificationReport,
)
from .statement import Attestation, Provenance, parse_signed
from .storage import StoredSignature, read_bundle_file, read_signatures

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
    from sigstore.verify import Verifier

    from .policy import TrustPolicy

_REKOR_SEARCH = "https://search.sigstore.dev/?logIndex={}"


@dataclass(frozen=True)
class VerifiedSignature:
    """A signature whose bundle verified cryptographically: who signed, when, and what it covers."""

    source: str
    signer: SignerIdentity
    provenance: Provenance
    signed_at: str | None = None
    log_index: int | None = None
    log_url: str | None = None


@dataclass(frozen=True)
class VerifiedAttestation:
    """An attestation of another kind (execution provenance, reproduction) whose bundle verified."""

    source: str
    signer: SignerIdentity
    attestation: Attestation
    signed_at: str | None = None
    log_index: int | None = None


class _IdentityJudgedByTrustPolicy:
    """A sigstore verification policy that accepts any certificate identity.

    Only the identity check is deferred: sigstore still checks the chain, SCT, log entry, timestamps
    and signature. The identity is then judged by our TrustPolicy (see :func:`judge`).
    """

    def verify(self, cert: Any) -> None:
        return None


@functools.lru_cache(maxsize=8)
def _verifier(instance: Instance) -> Verifier:
    from sigstore.verify import Verifier

    return Verifier(trusted_root=instance.trusted_root())


def prepare(instance: Instance) -> None:
    """Import sigstore's verifier and load ``instance``'s trusted root now, so that the first
    verification costs what the next ones do (a server calls this at start-up, in the background)."""
    _verifier(instance)


def verify_bundle_text(
    bundle_text: str,
    source: str,
    instance: Instance,
    *,
    allow_outside: bool = False,
    keys: Sequence[EllipticCurvePublicKey] = (),
) -> VerifiedSignature | VerifiedAttestation:
    """Verify one bundle cryptographically (chain, log, timestamps, DSSE) and parse its statement:
    a notebook signature, or another attestation.

    A bundle signed with a local key (public-key hint, no certificate) verifies only with one of
    ``keys``. Raises BundleError with a one-line reason when anything does not hold.
    """
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import Bundle

    try:
        bundle_json = json.loads(bundle_text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise BundleError(f"{source} is not JSON ({exc})") from None
    if not isinstance(bundle_json, dict):
        raise BundleError(f"{source} is not a Sigstore bundle (not a JSON object)")
    if is_key_bundle(bundle_json):
        from .keys import verify_key_signature

        signer, payload, signed_at = verify_key_signature(bundle_text, bundle_json, source, keys, instance)
        statement = parse_signed(_statement_json(payload), allow_parent=allow_outside)
        if isinstance(statement, Attestation):
            return VerifiedAttestation(source, signer, statement, signed_at=signed_at)
        return VerifiedSignature(source, signer, statement, signed_at=signed_at)
    try:
        bundle = Bundle.from_json(bundle_text)
    except Exception as exc:  # sigstore raises assorted errors on malformed bundles
        raise BundleError(f"{source} is not a Sigstore bundle: {first_line(exc)}") from None
    try:
        # Identity is judged separately by the trust policy, so that a valid signature by someone
        # outside the policy reads "untrusted signer", not "invalid".
        payload_type, payload = _verifier(instance).verify_dsse(bundle, _IdentityJudgedByTrustPolicy())
    except Exception as exc:  # sigstore's errors, and assorted ones for malformed inner data
        foreign = unknown_instance(bundle_json, instance.trusted_root())
        if foreign is not None:
            raise BundleError(f"signature does not verify: {foreign}") from None
        reason = (
            first_line(exc) if isinstance(exc, SigstoreError) else f"{type(exc).__name__}: {first_line(exc)}"
        )
        raise BundleError(f"signature does not verify: {reason}") from None
    if payload_type != INTOTO_PAYLOAD_TYPE:
        raise BundleError(f"signed payload has type {payload_type!r}, not an in-toto statement")
    statement = parse_signed(_statement_json(payload), allow_parent=allow_outside)
    index = log_index(bundle_json)
    signer = signer_identity(bundle.signing_certificate)
    if isinstance(statement, Attestation):
        return VerifiedAttestation(source, signer, statement, signing_time(bundle_json), index)
    return VerifiedSignature(
        source,
        signer,
        statement,
        signed_at=signing_time(bundle_json),
        log_index=index,
        log_url=_REKOR_SEARCH.format(index) if instance.is_public_good and index is not None else None,
    )


def diff_cells(signed: Provenance, current: NotebookDigest) -> list[CellReport]:
    """Align signed and current cell digests; name each cell ok, modified, added or removed."""
    from .celldiff import diff_cells as align_cells

    return align_cells(signed.cells, current.cells)


def _statement_json(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise BundleError(f"signed statement is not JSON ({exc})") from None


def verify_notebook(target: Path | NotebookModel, options: VerifyOptions) -> VerificationReport:
    """Verify a notebook (a file, or an editor's in-memory model) and its signed outputs.

    Never raises for a bad signature (the report says so); raises NotebookError only when the
    notebook itself cannot be read, and BundleError for an unreadable ``options.bundles`` file.
    """
    if isinstance(target, NotebookModel):
        path, nb = target.path, check_nbformat(target.content)
    else:
        path, nb = target, read_notebook(target)
    bundles = options.bundles
    stored = [read_bundle_file(b) for b in bundles] if bundles else read_signatures(nb, path)
    if not bundles:
        stored += _provenance_sidecar(path)
    return judge(nb, path, stored, options)


def _provenance_sidecar(path: Path) -> list[StoredSignature]:
    """The SLSA provenance ``run`` writes beside a notebook, found by its name (the notebook cannot
    reference it: it is signed over the notebook's final bytes). Verified like any entry; it can
    only add an attestation to the report, never a signature."""
    from .provenance import provenance_sidecar

    sidecar = provenance_sidecar(path)
    if not sidecar.is_file():
        return []
    try:
        return [StoredSignature(sidecar.name, read_bundle_file(sidecar).bundle_text)]
    except (BundleError, NotebookError) as exc:
        return [StoredSignature(sidecar.name, None, str(exc))]


def judge(
    nb: dict[str, Any], path: Path, stored: list[StoredSignature], options: VerifyOptions
) -> VerificationReport:
    """Verify an in-memory notebook saved, or to be saved, at ``path`` against the given stored
    signatures; outputs are resolved relative to ``path``'s folder.

    Local-key signatures verify with ``options.keys`` and with the keys the policy trusts.
    """
    instance = options.instance or Instance()
    policy = options.policy
    keys = [*options.keys, *(policy.public_keys if policy is not None else ())]
    digests: dict[str, NotebookDigest | None] = {PROFILE: digest_of(nb, path)}

    def current(profile: str) -> NotebookDigest | None:
        if profile not in digests:
            try:
                digests[profile] = digest_of(nb, path, profile)
            except NotebookError:  # e.g. v1 cannot hold what this notebook stores: not covered
                digests[profile] = None
        return digests[profile]

    latest = digests[PROFILE]
    assert latest is not None
    notebook, described = str(path), _describe(policy)
    unchanged = tuple(CellReport(c.index, "ok", c.cell_type, c.cell_id, None) for c in latest.cells)
    if not stored:
        return VerificationReport(
            status="unsigned",
            summary="no signature found; sign it with `jupyter-sigstore sign`",
            cells=unchanged,
            notebook=notebook,
            policy=described,
            instance=instance.name,
        )

    verified = [_verify_stored(s, instance, options.allow_outside, keys) for s in stored]
    problems: dict[str, ManifestProblem] = {}
    selections: dict[OutputRules, Selected] = {}
    with paused_gc():
        verified = [_read_manifest(r, path, options.allow_outside, problems, selections) for r in verified]
    # an unusable provenance sidecar is reported as such, never as an invalid notebook signature
    verified = [r for r in verified if not (isinstance(r, SignatureReport) and _is_sidecar(r.source, path))]
    attested = [r for r in verified if isinstance(r, VerifiedAttestation)]
    results = [r for r in verified if not isinstance(r, VerifiedAttestation)]
    valid = [r for r in results if isinstance(r, VerifiedSignature)]
    invalid = [r for r in results if isinstance(r, SignatureReport)]
    if not results:
        return VerificationReport(
            status="unsigned",
            summary="no signature found (only attestations); sign it with `jupyter-sigstore sign`",
            cells=unchanged,
            attestations=tuple(_attestation_report(a, path, latest, policy) for a in attested),
            notebook=notebook,
            policy=described,
            instance=instance.name,
        )
    if not valid:
        return VerificationReport(
            status="invalid",
            summary=_invalid_summary(invalid, len(results)),
            signatures=tuple(invalid),
            cells=unchanged,
            notebook=notebook,
            policy=described,
            instance=instance.name,
        )

    checked: dict[tuple[Any, ...], list[OutputReport]] = {}
    remote_warnings: list[str] = []

    def outputs_of(sig: VerifiedSignature) -> list[OutputReport]:
        provenance = sig.provenance
        fetch = _reads_urls(sig, options, policy)
        manifest = provenance.manifest
        key = (
            sig.source if sig.source in problems else manifest.sha256 if manifest else provenance.outputs,
            provenance.output_rules,
            provenance.remote_outputs,
            provenance.remote_rules,
            fetch,
        )
        if key not in checked and sig.source in problems:
            assert manifest is not None
            problem = problems[sig.source]
            failed = OutputReport(manifest.path, problem.status, manifest.sha256, None, problem.reason)
            checked[key] = [failed, *_remote_reports(provenance, fetch, options, remote_warnings)]
        if key not in checked:
            reports = check_outputs(
                path,
                provenance.outputs,
                allow_outside=options.allow_outside,
                rules=provenance.output_rules,
                jobs=options.jobs,
                progress=options.progress,
                # taken, not read: the walk's names are not kept while the outputs are hashed
                selected=selections.pop(provenance.output_rules, None) if provenance.output_rules else None,
            )
            checked[key] = reports + _remote_reports(provenance, fetch, options, remote_warnings)
        return checked[key]

    def covers(sig: VerifiedSignature) -> bool:
        now = current(sig.provenance.profile)
        return (
            now is not None
            and sig.provenance.notebook_digest == now.digest
            and all(o.status in ("ok", "not-checked") for o in outputs_of(sig))
        )

    with paused_gc():
        covering = [s for s in valid if covers(s)]
    reference_sig = (covering or valid)[-1]
    reference = reference_sig.provenance
    now = current(reference.profile) or latest
    cells = diff_cells(reference, now) if now.profile == reference.profile else []
    outputs = _merged_outputs([outputs_of(s) for s in covering] or [outputs_of(reference_sig)])
    changes = []
    if reference.metadata_digest != now.metadata_digest:
        changes.append("notebook metadata changed since signing")
    if reference.widgets_digest is not None and reference.widgets_digest != now.widgets_digest:
        changes.append("widget state changed since signing")
    warnings = [
        f"signature {n} uses canonical profile v1, which has known collisions (docs/security.md); "
        "re-sign it with `jupyter-sigstore upgrade NOTEBOOK`"
        for n, r in enumerate(results, 1)
        if isinstance(r, VerifiedSignature) and r.provenance.profile == PROFILE_V1
    ]
    signatures: list[SignatureReport] = []
    for r in results:
        if isinstance(r, SignatureReport):
            signatures.append(r)
            continue
        counts = policy is not None and _counts(r, policy)
        trusted = tuple(policy.matching_names(r.signer)) if policy is not None and counts else ()
        signatures.append(_signature_report(r, trusted_as=trusted, covers_current=r in covering))
    missing: tuple[str, ...] = ()
    status: Status
    if invalid:
        status, summary = "invalid", _invalid_summary(invalid, len(results))
    elif not covering:
        status, summary = "modified", _modified_summary(cells, outputs, changes)
    else:
        checked_outputs = sum(o.status != "not-checked" for o in outputs)
        status, summary, missing = _trust_verdict(
            covering, len(valid) - len(covering), checked_outputs, policy
        )
    unchecked = [o for o in outputs if o.status == "not-checked"]
    if unchecked:
        if status in ("verified", "untrusted-signer"):
            summary += f"; {_plural(len(unchecked), 'remote output')} not checked"
        warnings.append(f"{_plural(len(unchecked), 'remote output')} {unchecked[0].error}")
    warnings += remote_warnings
    displayed, limits = _displayed(nb, path, options.root, outputs)
    shown_unsigned = [d for d in displayed if d.status in ("unsigned", "outside")]
    if shown_unsigned and status in ("verified", "untrusted-signer"):
        what = _shown_summary(shown_unsigned)
        if policy is not None and policy.unsigned_displayed_files == "warn":
            warnings.append(f"{what} (the policy only warns about unsigned displayed files)")
        elif status == "verified":
            status, summary = "modified", f"{what}: what it displays is not all covered by the signature"
    warnings += limits
    attestations = tuple(_attestation_report(a, path, latest, policy) for a in attested)
    if policy is not None and status in ("verified", "untrusted-signer"):
        lacking = _unmet_attestations(policy, attested, attestations)
        if lacking:
            missing = (*missing, *lacking)
            if status == "verified":
                status = "untrusted-signer"
                summary = f"{summary}; but the policy also requires {'; '.join(lacking)}"
            else:
                summary = f"{summary}; also missing {'; '.join(lacking)}"
    return VerificationReport(
        status=status,
        summary=summary,
        signatures=tuple(signatures),
        cells=tuple(cells),
        outputs=tuple(outputs),
        notebook_changes=tuple(changes),
        missing_roles=missing,
        warnings=tuple(warnings) + (policy.warnings if policy is not None else ()),
        displayed=tuple(displayed),
        attestations=attestations,
        notebook=notebook,
        policy=described,
        instance=instance.name,
    )


def _unmet_attestations(
    policy: TrustPolicy, attested: list[VerifiedAttestation], reports: tuple[AttestationReport, ...]
) -> list[str]:
    """The attestations the policy requires (``[[attested]]``) that no verified one provides."""
    from .policy import AttestationFact

    facts = [
        AttestationFact(a.signer, a.attestation.predicate_type, a.attestation.predicate, r.covers_current)
        for a, r in zip(attested, reports, strict=True)
    ]
    return policy.unmet_attestations(facts)


def _is_sidecar(source: str, path: Path) -> bool:
    from .provenance import provenance_sidecar

    return source == provenance_sidecar(path).name


_NOT_READ_ON_OPEN = (
    "not checked on open: the server does not read the URLs a notebook names; check them with "
    '`jupyter-sigstore verify` or "Check remote outputs" in JupyterLab\'s Sigstore sidebar '
    "(the server's verify endpoint with remote=1)"
)
_NOT_READ_UNTRUSTED = (
    "not checked: the signature is not by a signer the trust policy trusts, and URLs named by someone "
    "you do not trust are not read with your credentials"
)


def _reads_urls(sig: VerifiedSignature, options: VerifyOptions, policy: TrustPolicy | None) -> bool:
    """Whether this signature's remote outputs are read: never on open, and by default only for a
    signer the policy trusts (reading a stranger's URLs would send your credentials' requests to
    a store of their choosing)."""
    if options.remote == "always":
        return True
    if options.remote == "never" or policy is None or not _counts(sig, policy):
        return False
    return bool(policy.matching_names(sig.signer))


def _remote_reports(
    provenance: Provenance, fetch: bool, options: VerifyOptions, warnings: list[str]
) -> list[OutputReport]:
    if not provenance.remote_outputs and provenance.remote_rules is None:
        return []
    from .remote.checking import check_remote, not_checked

    if not fetch:
        reason = _NOT_READ_ON_OPEN if options.remote == "never" else _NOT_READ_UNTRUSTED
        return not_checked(provenance.remote_outputs, reason)
    reports, found = check_remote(
        provenance.remote_outputs,
        provenance.remote_rules,
        jobs=options.jobs,
        dask=options.dask,
        progress=options.progress,
    )
    warnings += [w for w in found if w not in warnings]
    return reports


def _signature_report(
    sig: VerifiedSignature, *, trusted_as: tuple[str, ...] = (), covers_current: bool = False
) -> SignatureReport:
    from .provenance import read_execution

    facts = read_execution(sig.provenance.predicate)
    return SignatureReport(
        source=sig.source,
        valid=True,
        identity=sig.signer.identity,
        issuer=sig.signer.issuer,
        github=dict(sig.signer.github),
        signed_at=sig.signed_at,
        log_index=sig.log_index,
        log_url=sig.log_url,
        trusted_as=trusted_as,
        covers_current=covers_current,
        profile=sig.provenance.profile,
        execution=facts.summary() if facts is not None else None,
    )


def _attestation_report(
    att: VerifiedAttestation, path: Path, current: NotebookDigest, policy: TrustPolicy | None
) -> AttestationReport:
    """An attestation covers this version when it names the notebook with its current canonical
    digest (a SLSA provenance by ``run``: records it as a byproduct; its subject is the bytes)."""
    from .provenance import SLSA_PREDICATE_TYPE, canonical_byproduct

    named = [digest for name, digest in att.attestation.subjects if name == path.name]
    if att.attestation.predicate_type == SLSA_PREDICATE_TYPE:
        recorded = canonical_byproduct(att.attestation.predicate, path.name)
        named = [recorded] if recorded is not None else []
    return AttestationReport(
        source=att.source,
        predicate_type=att.attestation.predicate_type,
        identity=att.signer.identity,
        issuer=att.signer.issuer,
        signed_at=att.signed_at,
        log_index=att.log_index,
        trusted_as=tuple(policy.matching_names(att.signer)) if policy is not None else (),
        covers_current=bool(named) and all(d == current.digest for d in named),
        predicate=att.attestation.predicate,
    )


def _displayed(
    nb: dict[str, Any], path: Path, root: Path | None, outputs: list[OutputReport]
) -> tuple[list[DisplayedFileReport], list[str]]:
    """The files and URLs the cells display, each checked against the signed outputs (matched by the
    real file, so links and case-insensitive file systems cannot hide one), and warnings about what
    could not be read exactly."""
    from .references import Kind, displayed_files, resolve_local

    found = displayed_files(nb, path, root)
    folder = Path(os.path.realpath(path.parent))
    signed: dict[str, OutputReport] = {}
    signed_urls: dict[str, OutputReport] = {}
    if found.references:  # resolving every signed output costs a stat per path part: only when needed
        signed = {os.path.realpath(folder / out.path): out for out in outputs if not out.remote}
        signed_urls = {out.path: out for out in outputs if out.remote}
    reports: dict[tuple[int, str], DisplayedFileReport] = {}
    for ref in found.references:
        status: Literal["signed", "modified", "unsigned", "remote", "outside"]
        if ref.kind is Kind.LOCAL:
            real = resolve_local(ref, path, root)
            if real is None:
                continue  # names no file: nothing is shown
            out = signed.get(str(real))
            status = "unsigned" if out is None else "signed" if out.status == "ok" else "modified"
        elif ref.kind is Kind.REMOTE:
            out = signed_urls.get(ref.target)
            if out is None or out.status == "not-checked":
                status = "remote"
            else:
                status = "signed" if out.status == "ok" else "modified"
        elif ref.kind is Kind.OUTSIDE:
            status = "outside"
        else:
            continue  # an attachment or a data: URL is inside the notebook: covered by its digest
        reports.setdefault((ref.cell, ref.target), DisplayedFileReport(ref.cell, ref.target, status))
    limits = [f"cell {limit.cell + 1}: {limit.reason}" for limit in found.limits]
    if found.truncated:
        limits.append("the notebook displays more files than are checked; the rest were not checked")
    return list(reports.values()), limits


def _shown_summary(shown: list[DisplayedFileReport]) -> str:
    first = shown[0]
    where = "outside the notebook's folder" if first.status == "outside" else "which is not signed"
    more = f" (and {_plural(len(shown) - 1, 'other file')})" if len(shown) > 1 else ""
    return f"cell {first.number} shows {first.path}, {where}{more}"


def _merged_outputs(groups: list[list[OutputReport]]) -> list[OutputReport]:
    """The outputs of several signatures, each path once (the first signature's report of it)."""
    seen: dict[str, OutputReport] = {}
    for group in groups:
        for out in group:
            seen.setdefault(out.path, out)
    return list(seen.values())


def _counts(sig: VerifiedSignature, policy: TrustPolicy) -> bool:
    """Whether a signature counts for the policy at all (a policy may refuse profile v1)."""
    return policy.accept_profile_v1 or sig.provenance.profile != PROFILE_V1


def _invalid_summary(invalid: list[SignatureReport], total: int) -> str:
    if len(invalid) == 1:
        prefix = "" if total == 1 else f"1 of {total} signatures invalid: "
        return f"{prefix}{invalid[0].error or 'invalid signature'}"
    return f"{len(invalid)} of {total} signatures invalid"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _people(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _modified_summary(cells: list[CellReport], outputs: list[OutputReport], changes: list[str]) -> str:
    """Why no signature covers the notebook as it is: which cells, outputs and metadata changed."""
    changed_cells = [c for c in cells if c.status != "ok"]
    if changed_cells and all(c.status != "ok" for c in cells):
        return "no cell matches the signature: it was made for another notebook or version"
    parts = []
    if changed_cells:
        parts.append(f"{_plural(len(changed_cells), 'cell')} changed")
    for status, verb in (("modified", "changed"), ("missing", "missing"), ("added", "added")):
        names = [o.path for o in outputs if o.status == status]
        if names:
            shown = ", ".join(names[:3]) + ("…" if len(names) > 3 else "")
            parts.append(f"{'output' if len(names) == 1 else 'outputs'} {shown} {verb}")
    parts += [change.removesuffix(" since signing") for change in changes]
    return f"{'; '.join(parts) or 'the notebook changed'} since signing"


def _trust_verdict(
    covering: list[VerifiedSignature], history: int, n_outputs: int, policy: TrustPolicy | None
) -> tuple[Status, str, tuple[str, ...]]:
    """The verdict from the signatures that cover the notebook as it is: (status, summary, missing roles)."""
    signers = list(dict.fromkeys(s.signer.identity for s in covering))
    who = _people(signers)
    if policy is None:
        return "untrusted-signer", f"valid signature by {who}, but no trust policy was given", ()
    counted = [s.signer for s in covering if _counts(s, policy)]
    shortfall = policy.shortfall(counted)
    if shortfall is not None:
        verb = "does" if len(signers) == 1 else "do"
        if len(counted) < len(covering):
            shortfall += "; the policy refuses signatures made with canonical profile v1"
        summary = f"valid signature by {who}, who {verb} not satisfy the policy: {shortfall}"
        return "untrusted-signer", summary, tuple(policy.unmet(counted))
    earlier = f"; {_plural(history, 'earlier signature')} cover earlier versions" if history else ""
    return "verified", f"signed by {who}; notebook and {_plural(n_outputs, 'output')} unchanged{earlier}", ()


def _describe(policy: TrustPolicy | None) -> str | None:
    return policy.describe() if policy is not None else None


def _read_manifest(
    result: VerifiedSignature | VerifiedAttestation | SignatureReport,
    path: Path,
    allow_outside: bool,
    problems: dict[str, ManifestProblem],
    selections: dict[OutputRules, Selected],
) -> VerifiedSignature | VerifiedAttestation | SignatureReport:
    """A signature whose outputs are in a manifest, with the outputs read from it: when the manifest
    is not the signed file, the signature stays valid and ``problems`` says why (its outputs are then
    reported as that one file changed); signed bytes that are no manifest make the signature invalid.

    The signed folders are walked first (``selections``), so that the walk's listing of every file
    and the many outputs a manifest lists are not in memory at the same time."""
    if not isinstance(result, VerifiedSignature) or result.provenance.manifest is None:
        return result
    from dataclasses import replace

    from .outputs import enumerate_rules

    rules = result.provenance.output_rules
    if rules is not None and rules not in selections:
        selections[rules] = enumerate_rules(path, rules, allow_outside=allow_outside)

    try:
        listed = read_manifest(path, result.provenance.manifest, allow_parent=allow_outside)
    except BundleError as exc:
        return SignatureReport(result.source, False, error=str(exc))
    if isinstance(listed, ManifestProblem):
        problems[result.source] = listed
        return result
    return replace(result, provenance=replace(result.provenance, outputs=listed))


def _verify_stored(
    stored: StoredSignature,
    instance: Instance,
    allow_outside: bool,
    keys: Sequence[EllipticCurvePublicKey],
) -> VerifiedSignature | VerifiedAttestation | SignatureReport:
    if stored.bundle_text is None:
        return SignatureReport(stored.source, False, error=stored.error)
    try:
        return verify_bundle_text(
            stored.bundle_text, stored.source, instance, allow_outside=allow_outside, keys=keys
        )
    except BundleError as exc:
        return SignatureReport(stored.source, False, error=str(exc))
