"""Show what a notebook's stored signatures claim, without judging them (``verify`` judges)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .bundles import claimed_signer, log_index, signing_time, statement_claim
from .canonical import digest_of
from .errors import SigstoreNotebookError
from .nbfile import read_notebook
from .provenance import provenance_sidecar
from .storage import StoredSignature, read_bundle_file, read_signatures


@dataclass(frozen=True)
class ClaimedSignature:
    """What one stored bundle says, unverified."""

    source: str
    identity: str | None = None
    issuer: str | None = None
    signed_at: str | None = None
    log_index: int | None = None
    subjects: tuple[dict[str, Any], ...] = ()
    error: str | None = None
    predicate_type: str | None = None


@dataclass(frozen=True)
class Inspection:
    """The notebook's current canonical digests and its stored signatures' claims."""

    notebook: str
    profile: str
    notebook_digest: str
    cell_digests: tuple[str, ...]
    signatures: tuple[ClaimedSignature, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form; ``verified`` is always false: nothing here was checked."""
        return {**asdict(self), "verified": False}


def _claims(stored: StoredSignature) -> ClaimedSignature:
    if stored.bundle_text is None:
        return ClaimedSignature(stored.source, error=stored.error)
    try:
        bundle = json.loads(stored.bundle_text)
    except (json.JSONDecodeError, RecursionError):
        bundle = None
    if not isinstance(bundle, dict):
        return ClaimedSignature(stored.source, error="not a JSON bundle")
    claim = claimed_signer(bundle)
    statement = statement_claim(bundle) or {}
    subjects = statement.get("subject")
    return ClaimedSignature(
        stored.source,
        identity=claim[0] if claim else None,
        issuer=claim[1] if claim else None,
        signed_at=signing_time(bundle),
        log_index=log_index(bundle),
        subjects=tuple(s for s in subjects if isinstance(s, dict)) if isinstance(subjects, list) else (),
        error=None if claim else "no readable signing certificate or key hint",
        predicate_type=str(statement["predicateType"]) if "predicateType" in statement else None,
    )


def inspect_notebook(path: Path) -> Inspection:
    """Read a notebook's canonical digests and stored signatures' claims."""
    nb = read_notebook(path)
    digest = digest_of(nb, path)
    stored = read_signatures(nb, path)
    sidecar = provenance_sidecar(path)
    if sidecar.is_file():  # the SLSA provenance `run` writes beside the notebook
        try:
            stored.append(read_bundle_file(sidecar))
        except SigstoreNotebookError as exc:
            stored.append(StoredSignature(sidecar.name, None, str(exc)))
    sigs = tuple(_claims(s) for s in stored)
    return Inspection(str(path), digest.profile, digest.digest, tuple(c.digest for c in digest.cells), sigs)
