"""Facts read out of Sigstore bundle JSON *without* verifying it: log index, signing time, the claimed
signer and the DSSE payload. Verification (:mod:`verifying`, :mod:`keys`) decides what is true;
these are for display, for ``inspect`` and for choosing which earlier signatures a re-signing
replaces.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime, timezone
from typing import Any

INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
BUNDLE_V03_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
#: The "issuer" recorded for a local-key signature. Not a URL, so no Fulcio certificate can carry it.
KEY_ISSUER = "(public key)"


def _material(bundle: dict[str, Any]) -> dict[str, Any]:
    material = bundle.get("verificationMaterial")
    return material if isinstance(material, dict) else {}


def log_index(bundle: dict[str, Any]) -> int | None:
    """The transparency-log index of the bundle's first log entry, as an integer."""
    entries = _material(bundle).get("tlogEntries")
    if not isinstance(entries, list) or not entries or not isinstance(entries[0], dict):
        return None
    try:
        return int(entries[0]["logIndex"])
    except (KeyError, TypeError, ValueError):
        return None


def signing_time(bundle: dict[str, Any]) -> str | None:
    """When the bundle says it was signed (ISO 8601, UTC): the log's integrated time, else the first
    RFC 3161 timestamp's time."""
    material = _material(bundle)
    for entry in material.get("tlogEntries") or []:
        try:
            seconds = int(entry.get("integratedTime") or 0)
        except (TypeError, ValueError, AttributeError):
            continue
        if seconds > 0:
            return _iso(datetime.fromtimestamp(seconds, timezone.utc))
    stamps = (material.get("timestampVerificationData") or {}).get("rfc3161Timestamps") or []
    for stamp in stamps:
        try:
            from rfc3161_client import decode_timestamp_response

            response = decode_timestamp_response(base64.b64decode(stamp["signedTimestamp"]))
            return _iso(response.tst_info.gen_time.astimezone(timezone.utc))
        except Exception:  # a display nicety only; the verifier checks timestamps
            continue
    return None


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def is_key_bundle(bundle: dict[str, Any]) -> bool:
    """True for a bundle whose verification material is a public-key hint (no certificate)."""
    return "publicKey" in _material(bundle)


def claimed_signer(bundle: dict[str, Any]) -> tuple[str, str] | None:
    """Who the bundle claims signed it, ``(identity, issuer)``, unverified; None if unreadable."""
    if is_key_bundle(bundle):
        hint = (_material(bundle).get("publicKey") or {}).get("hint")
        return (f"key {hint}", KEY_ISSUER) if isinstance(hint, str) else None
    try:
        from sigstore.models import Bundle

        from .certinfo import signer_identity

        signer = signer_identity(Bundle.from_json(json.dumps(bundle)).signing_certificate)
    except Exception:  # sigstore raises assorted errors for malformed bundles
        return None
    return signer.identity, signer.issuer


def statement_claim(bundle: dict[str, Any]) -> dict[str, Any] | None:
    """The in-toto statement in the bundle's DSSE envelope, unverified; None if there is none."""
    envelope = bundle.get("dsseEnvelope")
    if not isinstance(envelope, dict) or envelope.get("payloadType") != INTOTO_PAYLOAD_TYPE:
        return None
    try:
        value = json.loads(base64.b64decode(envelope.get("payload") or "", validate=True))
    except (binascii.Error, ValueError, TypeError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def log_ids(bundle: dict[str, Any]) -> list[bytes]:
    """The key ids of the transparency logs the bundle's entries claim to be in."""
    ids = []
    for entry in _material(bundle).get("tlogEntries") or []:
        key_id = ((entry or {}).get("logId") or {}).get("keyId") if isinstance(entry, dict) else None
        if isinstance(key_id, str):
            try:
                ids.append(base64.b64decode(key_id, validate=True))
            except (binascii.Error, ValueError):
                continue
    return ids


def unknown_instance(bundle: dict[str, Any], trusted_root: Any) -> str | None:
    """Why a bundle that failed to verify was probably made on another Sigstore instance: none of
    the logs it names is in ``trusted_root`` (a sigstore TrustedRoot). None when that is not the case.

    Only an explanation added to an ``invalid`` verdict, never a reason to accept anything.
    """
    claimed = log_ids(bundle)
    try:
        known = {bytes(t.log_id.key_id) for t in trusted_root._inner.tlogs}
    except AttributeError:  # another sigstore-python layout: say nothing rather than guess
        return None
    if not claimed or any(c in known for c in claimed):
        return None
    signer = claimed_signer(bundle)
    issuer = f"issuer {signer[1]}, " if signer else ""
    log = base64.b64encode(claimed[0]).decode("ascii")[:12]
    return (
        f"it was signed on a Sigstore instance this trust root does not know ({issuer}log {log}…): "
        "pass --trust-config FILE for a private instance, or --staging for the public-good staging instance"
    )
