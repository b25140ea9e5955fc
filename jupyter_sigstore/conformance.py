"""``jupyter-sigstore verify-bundle``: verify any Sigstore bundle against an artifact, as the
sigstore-conformance client protocol (docs/cli_protocol.md) specifies::

    verify-bundle [--staging] --bundle FILE --certificate-identity IDENTITY
                  --certificate-oidc-issuer URL [--trusted-root FILE] FILE_OR_DIGEST
    verify-bundle [--staging] --bundle FILE --key PATH_TO_KEY [--trusted-root FILE] FILE_OR_DIGEST

``FILE_OR_DIGEST`` is ``sha256:<64 hex>`` (when no such path exists) or a file. For a DSSE bundle
holding an in-toto statement, the artifact must be one of the statement's subjects.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .bundles import INTOTO_PAYLOAD_TYPE, is_key_bundle, unknown_instance
from .errors import BundleError, TrustConfigError, UsageError, first_line
from .hashing import sha256_file
from .textfiles import read_json

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec
    from sigstore.models import TrustedRoot

_DIGEST = re.compile(r"sha256:[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class Artifact:
    """The thing a bundle is checked against: its SHA-256, and its bytes' path when it is a file."""

    sha256: bytes
    path: Path | None = None

    @classmethod
    def parse(cls, file_or_digest: str) -> Artifact:
        """``sha256:<hex>`` (of the right length, and not a path on disk) is a digest; else a file."""
        if _DIGEST.fullmatch(file_or_digest) and not Path(file_or_digest).exists():
            return cls(bytes.fromhex(file_or_digest.split(":", 1)[1]))
        path = Path(file_or_digest)
        if not path.is_file():
            raise UsageError(f"artifact {file_or_digest} is not a file (or a sha256:<64 hex> digest)")
        return cls(bytes.fromhex(sha256_file(path)), path)


@dataclass(frozen=True)
class BundleVerification:
    """A successful verify-bundle: who signed (identity or key hint) and how the artifact matched."""

    signer: str
    matched: str


def load_trusted_root(path: str | Path | None, *, staging: bool = False) -> TrustedRoot:
    """A trusted root JSON file (or the trusted root of a ClientTrustConfig file), or the
    embedded/cached public-good root (never refreshed here)."""
    from sigstore.models import TrustedRoot

    from .instance import Instance

    if path is None:
        return Instance.select(staging=staging).trusted_root()
    path = Path(path)
    _, data = read_json(path, "trusted root", TrustConfigError)
    if isinstance(data, dict) and "clienttrustconfig" in str(data.get("mediaType", "")):
        return Instance.select(trust_config=path).trusted_root()
    try:
        return TrustedRoot.from_file(str(path))
    except Exception as exc:  # sigstore/pydantic raise assorted errors for a malformed root
        raise TrustConfigError(
            f"trusted root {path} is not a Sigstore trusted root: {first_line(exc)}"
        ) from None


def _subjects_match(payload: bytes, artifact: Artifact) -> str:
    try:
        statement = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BundleError("the signed DSSE payload is not JSON") from None
    subjects = statement.get("subject") if isinstance(statement, dict) else None
    if not isinstance(subjects, list):
        raise BundleError("the signed in-toto statement has no subject list")
    want = artifact.sha256.hex()
    for subject in subjects:
        digest = subject.get("digest") if isinstance(subject, dict) else None
        if isinstance(digest, dict) and str(digest.get("sha256", "")).lower() == want:
            return f"in-toto subject {subject.get('name', '')!r}"
    raise BundleError(f"no subject of the in-toto statement has sha256 {want}")


def _read_bundle(path: Path) -> tuple[str, dict[str, Any]]:
    text, data = read_json(path, "bundle", BundleError)
    if not isinstance(data, dict):
        raise BundleError(f"bundle {path} is not a JSON object")
    return text, data


def verify_bundle_file(
    bundle: str | Path,
    file_or_digest: str,
    *,
    identity: str | None = None,
    issuer: str | None = None,
    key: ec.EllipticCurvePublicKey | None = None,
    trusted_root: TrustedRoot,
) -> BundleVerification:
    """Verify a bundle file against an artifact and either an exact certificate identity + issuer or
    a public key. Raises BundleError (or UsageError) when anything does not hold."""
    from .keys import key_hint, verify_key_bundle

    if (key is None) == (identity is None or issuer is None):
        raise UsageError("give either --certificate-identity with --certificate-oidc-issuer, or --key")
    artifact = Artifact.parse(file_or_digest)
    text, data = _read_bundle(Path(bundle))

    if is_key_bundle(data):
        if key is None:
            raise BundleError(
                "the bundle is signed with a public key, not a certificate: verify it with --key"
            )
        result = verify_key_bundle(text, key, artifact_digest=artifact.sha256, trusted_root=trusted_root)
        if result.payload is not None:
            assert result.payload_type == INTOTO_PAYLOAD_TYPE
            return BundleVerification(f"key {key_hint(key)}", _subjects_match(result.payload, artifact))
        return BundleVerification(f"key {key_hint(key)}", "message signature")
    if key is not None:
        raise BundleError(
            "the bundle carries a signing certificate, not a public-key hint: verify it with an identity"
        )
    assert identity is not None and issuer is not None
    return _verify_certificate_bundle(text, artifact, identity, issuer, trusted_root)


def _verify_certificate_bundle(
    text: str, artifact: Artifact, identity: str, issuer: str, trusted_root: TrustedRoot
) -> BundleVerification:
    from sigstore.errors import Error as SigstoreError
    from sigstore.hashes import Hashed
    from sigstore.models import Bundle
    from sigstore.verify import Verifier
    from sigstore.verify.policy import Identity
    from sigstore_models.common.v1 import HashAlgorithm

    try:
        bundle = Bundle.from_json(text)
    except Exception as exc:  # sigstore raises assorted errors for malformed bundles
        raise BundleError(f"not a valid Sigstore bundle: {first_line(exc)}") from None
    try:
        verifier = Verifier(trusted_root=trusted_root)
        policy = Identity(identity=identity, issuer=issuer)
        if bundle._inner.dsse_envelope is not None:
            payload_type, payload = verifier.verify_dsse(bundle, policy)
            if payload_type != INTOTO_PAYLOAD_TYPE:
                raise BundleError(f"DSSE payload type {payload_type!r} is not an in-toto statement")
            return BundleVerification(identity, _subjects_match(payload, artifact))
        hashed = Hashed(algorithm=HashAlgorithm.SHA2_256, digest=artifact.sha256)
        verifier.verify_artifact(hashed, bundle, policy)
    except BundleError:
        raise
    except Exception as exc:  # sigstore's errors, and assorted ones for malformed inner data
        foreign = unknown_instance(json.loads(text), trusted_root)
        if foreign is not None:
            raise BundleError(f"verification failed: {foreign}") from None
        reason = (
            first_line(exc) if isinstance(exc, SigstoreError) else f"{type(exc).__name__}: {first_line(exc)}"
        )
        raise BundleError(f"verification failed: {reason}") from None
    return BundleVerification(identity, "message signature")
