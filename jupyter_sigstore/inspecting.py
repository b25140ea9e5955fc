"""Show what a notebook's stored signatures claim, without judging them (``verify`` judges)."""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .canonical import notebook_digest
from .errors import first_line
from .storage import load_notebook, read_signatures


@dataclass
class ClaimedSignature:
    """What one stored bundle says, unverified."""

    source: str
    identity: str | None = None
    issuer: str | None = None
    log_index: int | None = None
    subjects: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


@dataclass
class Inspection:
    """The notebook's current canonical digests and its stored signatures' claims."""

    notebook: str
    profile: str
    notebook_digest: str
    cell_digests: list[str]
    signatures: list[ClaimedSignature]

    def to_dict(self) -> dict[str, Any]:
        """JSON form; ``verified`` is always false: nothing here was checked."""
        return {**asdict(self), "verified": False}

    def render_text(self) -> str:
        """Plain text for the terminal."""
        lines = [
            f"{self.notebook} (contents below are NOT verified; run `jupyter-sigstore verify`)",
            f"  canonical digest ({self.profile}): sha256:{self.notebook_digest}",
            f"  cells: {len(self.cell_digests)}",
        ]
        if not self.signatures:
            lines.append("  no signatures stored")
        for n, sig in enumerate(self.signatures, 1):
            if sig.error:
                lines.append(f"  signature {n} ({sig.source}): unreadable - {sig.error}")
                continue
            lines.append(f"  signature {n} ({sig.source}): claims {sig.identity} via {sig.issuer}")
            if sig.log_index is not None:
                lines.append(f"    log index {sig.log_index}")
            for subject in sig.subjects:
                digest = subject.get("digest", {}).get("sha256", "?")
                lines.append(f"    subject {subject.get('name')}: sha256:{digest}")
        return "\n".join(lines)


def _claims(source: str, text: str) -> ClaimedSignature:
    from sigstore.models import Bundle

    from .certinfo import signer_identity

    claim = ClaimedSignature(source)
    try:
        bundle = Bundle.from_json(text)
        signer = signer_identity(bundle.signing_certificate)
        claim.identity, claim.issuer = signer.identity, signer.issuer
        raw = json.loads(text)
        entries = raw.get("verificationMaterial", {}).get("tlogEntries") or []
        claim.log_index = int(entries[0]["logIndex"]) if entries else None
        payload = raw.get("dsseEnvelope", {}).get("payload")
        if payload:
            claim.subjects = json.loads(base64.b64decode(payload)).get("subject", [])
    except Exception as exc:  # inspect shows whatever it can; verify is where errors matter
        claim.error = first_line(exc)
    return claim


def inspect_notebook(path: Path) -> Inspection:
    """Read a notebook's canonical digests and stored signatures' claims."""
    loaded = load_notebook(path)
    digest = notebook_digest(loaded.nb)
    sigs = [
        _claims(s.source, s.bundle_text)
        if s.bundle_text is not None
        else ClaimedSignature(s.source, error=s.error)
        for s in read_signatures(loaded.nb, path)
    ]
    return Inspection(str(path), digest.profile, digest.digest, [c.digest for c in digest.cells], sigs)
