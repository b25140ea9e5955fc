"""Local signing keys for teams without an OIDC provider: key generation, a signing backend, and a
careful verifier for Sigstore bundles whose verification material is a public-key hint.

Only ECDSA over NIST P-256 with SHA-256 is accepted, for keys and signatures alike. A keyed bundle
made here is a Sigstore bundle v0.3 holding a DSSE envelope and ``verificationMaterial.publicKey.hint``
(base64 of the SHA-256 of the key's DER SubjectPublicKeyInfo, as cosign and model_signing write it),
with no certificate and no transparency-log entry. Keyed bundles made elsewhere that do carry log
entries or RFC 3161 timestamps (cosign ``--key``) are verified against a trusted root as well.
"""

from __future__ import annotations

import base64
import binascii
import getpass
import hashlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from .bundles import BUNDLE_V03_MEDIA_TYPE, INTOTO_PAYLOAD_TYPE, KEY_ISSUER, is_key_bundle
from .errors import BundleError, KeyFileError, validation_summary

if TYPE_CHECKING:
    from sigstore.models import TrustedRoot

    from .certinfo import SignerIdentity
    from .instance import Instance

PASSWORD_ENV = "JUPYTER_SIGSTORE_PASSWORD"


# --------------------------------------------------------------------------------------------- keys


def key_hint(public_key: ec.EllipticCurvePublicKey) -> str:
    """The key hint: base64 of SHA-256 over the DER SubjectPublicKeyInfo."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode("ascii")


def key_identity(public_key: ec.EllipticCurvePublicKey) -> str:
    """How a key signer is named in reports and policies: ``key <hint>``."""
    return f"key {key_hint(public_key)}"


def _check_p256(key: object, path: Path, what: str) -> None:
    if isinstance(key, (ec.EllipticCurvePublicKey, ec.EllipticCurvePrivateKey)):
        if not isinstance(key.curve, ec.SECP256R1):
            raise KeyFileError(
                f"{what} {path} is on curve {key.curve.name}; only EC P-256 (secp256r1) keys are supported"
            )
        return
    kind = type(key).__name__.removeprefix("_").replace("PublicKey", "").replace("PrivateKey", "")
    raise KeyFileError(
        f"{what} {path} is a {kind or 'non-EC'} key; only EC P-256 (secp256r1) keys are supported"
    )


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{what} {path}: cannot read ({exc.strerror})") from None


def load_public_key(path: str | Path) -> ec.EllipticCurvePublicKey:
    """Load a PEM SubjectPublicKeyInfo (``-----BEGIN PUBLIC KEY-----``) EC P-256 public key."""
    path = Path(path)
    data = _read(path, "public key")
    if b"-----BEGIN PUBLIC KEY-----" not in data:
        hint = ""
        if b"PRIVATE KEY-----" in data:
            hint = " (this is a private key: pass the .pub file)"
        elif b"CERTIFICATE-----" in data:
            hint = " (this is a certificate, not a public key)"
        elif data.startswith((b"ssh-", b"ecdsa-sha2-")):
            hint = " (this is an OpenSSH key; convert it with `ssh-keygen -e -m PKCS8`)"
        raise KeyFileError(f"public key {path} is not a PEM public key (-----BEGIN PUBLIC KEY-----){hint}")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"public key {path} cannot be parsed: {exc}") from None
    _check_p256(key, path, "public key")
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


def read_password(*, confirm: bool = False, prompt: str = "Passphrase: ") -> bytes:
    """The key passphrase: ``$JUPYTER_SIGSTORE_PASSWORD``, else a prompt on a terminal."""
    env = os.environ.get(PASSWORD_ENV)
    if env is not None:
        if not env:
            raise KeyFileError(
                f"${PASSWORD_ENV} is empty; set a passphrase (or use --no-password for keygen)"
            )
        return env.encode("utf-8")
    if not sys.stdin.isatty():
        raise KeyFileError(f"no passphrase: set ${PASSWORD_ENV} (no terminal to prompt on)")
    first = getpass.getpass(prompt)
    if not first:
        raise KeyFileError("empty passphrase (use --no-password for an unencrypted key)")
    if confirm and getpass.getpass("Repeat passphrase: ") != first:
        raise KeyFileError("the passphrases do not match")
    return first.encode("utf-8")


def load_private_key(
    path: str | Path, password: Callable[[], bytes] = read_password
) -> ec.EllipticCurvePrivateKey:
    """Load a PEM EC P-256 private key, asking ``password()`` only when the key is encrypted."""
    path = Path(path)
    data = _read(path, "private key")
    if b"PRIVATE KEY-----" not in data:
        hint = " (this is a public key: sign with the .key file)" if b"PUBLIC KEY-----" in data else ""
        raise KeyFileError(f"private key {path} is not a PEM private key{hint}")
    encrypted = b"ENCRYPTED" in data
    try:
        key = serialization.load_pem_private_key(data, password() if encrypted else None)
    except ValueError as exc:
        if encrypted and ("password" in str(exc).lower() or "decrypt" in str(exc).lower()):
            raise KeyFileError(f"wrong passphrase for private key {path}") from None
        raise KeyFileError(f"private key {path} cannot be parsed: {exc}") from None
    except TypeError as exc:
        raise KeyFileError(f"private key {path} cannot be loaded: {exc}") from None
    _check_p256(key, path, "private key")
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def _write_new(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def generate_keypair(prefix: str | Path, password: bytes | None) -> tuple[Path, Path]:
    """Write ``PREFIX.key`` (PKCS#8 PEM, encrypted unless ``password`` is None) and ``PREFIX.pub``.

    Never overwrites: refuses when either file exists. Returns (private, public) paths.
    """
    prefix = Path(prefix)
    private_path = prefix.with_name(prefix.name + ".key")
    public_path = prefix.with_name(prefix.name + ".pub")
    for existing in (private_path, public_path):
        if existing.exists():
            raise KeyFileError(
                f"{existing} already exists; refusing to overwrite a key (choose another --output)"
            )
    if not private_path.parent.is_dir():
        raise KeyFileError(f"folder {private_path.parent} does not exist")
    key = ec.generate_private_key(ec.SECP256R1())
    encryption: serialization.KeySerializationEncryption
    # PKCS#8 PBES2: PBKDF2-HMAC-SHA256 and AES-256-CBC (what cosign-era tools and OpenSSL 3 read)
    encryption = (
        serialization.NoEncryption() if password is None else serialization.BestAvailableEncryption(password)
    )
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    try:
        _write_new(private_path, private_pem, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{private_path} already exists; refusing to overwrite a key") from None
    try:
        _write_new(public_path, public_pem, 0o644)
    except BaseException:
        private_path.unlink(missing_ok=True)
        raise
    return private_path, public_path


# ------------------------------------------------------------------------------------------ signing


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass
class KeySigner:
    """Signs statements with a local EC P-256 key: a bundle v0.3 with a DSSE envelope and a key hint
    (no certificate, no transparency-log entry)."""

    private_key: ec.EllipticCurvePrivateKey

    @property
    def identity(self) -> str | None:
        return key_identity(self.private_key.public_key())

    @property
    def issuer(self) -> str | None:
        return KEY_ISSUER

    def sign_statement(self, statement: dict[str, Any]) -> str:
        payload = rfc8785.dumps(statement)
        signature = self.private_key.sign(pae(INTOTO_PAYLOAD_TYPE, payload), ec.ECDSA(hashes.SHA256()))
        bundle = {
            "mediaType": BUNDLE_V03_MEDIA_TYPE,
            "verificationMaterial": {
                "publicKey": {"hint": key_hint(self.private_key.public_key())},
                "tlogEntries": [],
            },
            "dsseEnvelope": {
                "payload": _b64(payload),
                "payloadType": INTOTO_PAYLOAD_TYPE,
                "signatures": [{"sig": _b64(signature)}],
            },
        }
        return json.dumps(bundle)


# ------------------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class KeyVerified:
    """What a verified keyed bundle signed: a DSSE payload, or (for a message signature) nothing more
    than the artifact digest the caller gave."""

    payload_type: str | None
    payload: bytes | None
    hint: str
    integrated_time: int | None = None


def _unb64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise BundleError(f"{what} is missing or not a string")
    try:
        if "-" in value or "_" in value:  # protobuf JSON also allows the URL-safe alphabet
            return base64.b64decode(value.translate(_URLSAFE), validate=True)
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BundleError(f"{what} is not valid base64") from None


_URLSAFE = str.maketrans("-_", "+/")


def _check_base64_fields(raw: dict[str, Any]) -> None:
    """The schema parser decodes base64 leniently (skipping stray characters): insist on clean base64
    for every field whose bytes are checked here."""
    envelope = raw.get("dsseEnvelope")
    if isinstance(envelope, dict):
        _unb64(envelope.get("payload"), "DSSE payload")
        for n, sig in enumerate(envelope.get("signatures") or []):
            _unb64(sig.get("sig") if isinstance(sig, dict) else None, f"DSSE signature {n + 1}")
    message = raw.get("messageSignature")
    if isinstance(message, dict):
        _unb64(message.get("signature"), "message signature")
        digest = message.get("messageDigest")
        if isinstance(digest, dict):
            _unb64(digest.get("digest"), "message digest")


def _ecdsa_verify(key: ec.EllipticCurvePublicKey, signature: bytes, data: bytes, prehashed: bool) -> None:
    algorithm = ec.ECDSA(Prehashed(hashes.SHA256()) if prehashed else hashes.SHA256())
    try:
        key.verify(signature, data, algorithm)
    except InvalidSignature:
        raise BundleError("signature does not verify with the given public key") from None


def verify_key_bundle(
    bundle_text: str,
    public_key: ec.EllipticCurvePublicKey,
    *,
    artifact_digest: bytes | None = None,
    trusted_root: TrustedRoot | None = None,
) -> KeyVerified:
    """Verify a public-key Sigstore bundle against ``public_key`` (EC P-256, ECDSA-SHA256 only).

    DSSE bundles: exactly one signature over the DSSE PAE. Message-signature bundles need
    ``artifact_digest`` (SHA-256). Log entries and RFC 3161 timestamps, when present, are verified
    against ``trusted_root`` (required then) and must be consistent with the bundle. Raises
    BundleError with a one-line reason for anything else.
    """
    if not isinstance(public_key.curve, ec.SECP256R1):
        raise BundleError("only EC P-256 keys are supported")
    try:
        raw = json.loads(bundle_text)
    except json.JSONDecodeError as exc:
        raise BundleError(f"bundle is not JSON ({exc})") from None
    if not isinstance(raw, dict) or not is_key_bundle(raw):
        raise BundleError("bundle is not a public-key bundle")
    from sigstore_models.bundle.v1 import Bundle as BundleModel

    _check_base64_fields(raw)
    try:
        model = BundleModel.from_json(bundle_text)
    except Exception as exc:  # pydantic reports schema problems with its own exception types
        raise BundleError(f"not a valid Sigstore bundle: {validation_summary(exc)}") from None
    if model.media_type not in (
        BUNDLE_V03_MEDIA_TYPE,
        "application/vnd.dev.sigstore.bundle+json;version=0.3",
    ):
        raise BundleError(f"public-key bundles must be bundle v0.3, not {model.media_type}")
    material = model.verification_material
    assert material.public_key is not None
    hint = material.public_key.hint or ""
    expected = key_hint(public_key)
    if hint != expected:
        raise BundleError(
            f"bundle's key hint {hint or '(none)'} does not match the given public key ({expected})"
        )

    envelope = model.dsse_envelope
    if envelope is not None:
        if envelope.payload_type != INTOTO_PAYLOAD_TYPE:
            raise BundleError(f"DSSE payload type {envelope.payload_type!r} is not an in-toto statement")
        if len(envelope.signatures) != 1:
            raise BundleError(
                f"DSSE envelope must hold exactly one signature, not {len(envelope.signatures)}"
            )
        signature = bytes(envelope.signatures[0].sig)
        if not signature:
            raise BundleError("DSSE signature is empty")
        payload = bytes(envelope.payload)
        _ecdsa_verify(public_key, signature, pae(envelope.payload_type, payload), prehashed=False)
    else:
        message = model.message_signature
        assert message is not None
        if artifact_digest is None:
            raise BundleError("a message-signature bundle needs the artifact to verify against")
        if message.message_digest is not None:
            if message.message_digest.algorithm.value != "SHA2_256":
                raise BundleError(
                    f"message digest algorithm {message.message_digest.algorithm.value} is not SHA2_256"
                )
            if bytes(message.message_digest.digest) != artifact_digest:
                raise BundleError("the bundle's message digest does not match the artifact")
        signature = bytes(message.signature)
        _ecdsa_verify(public_key, signature, artifact_digest, prehashed=True)
        payload = None

    integrated = _verify_log_and_time(
        model, raw, public_key, signature, payload, artifact_digest, trusted_root
    )
    return KeyVerified(envelope.payload_type if envelope else None, payload, hint, integrated)


def _verify_log_and_time(
    model: Any,
    raw: dict[str, Any],
    public_key: ec.EllipticCurvePublicKey,
    signature: bytes,
    payload: bytes | None,
    artifact_digest: bytes | None,
    trusted_root: TrustedRoot | None,
) -> int | None:
    material = model.verification_material
    entries = material.tlog_entries
    stamps = (
        material.timestamp_verification_data.rfc3161_timestamps
        if material.timestamp_verification_data
        else []
    )
    if not entries and not stamps:
        return None  # an offline key signature: the key alone vouches for it
    if trusted_root is None:
        raise BundleError("bundle carries log entries or timestamps but no trusted root was given")
    if len(entries) > 1:
        raise BundleError("expected at most one transparency log entry")
    for stamp in stamps:
        _verify_timestamp(bytes(stamp.signed_timestamp), signature, trusted_root)
    if not entries:
        return None

    from sigstore._internal.trust import KeyringPurpose
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import TransparencyLogEntry

    try:
        entry = TransparencyLogEntry(entries[0])
        # Merkle inclusion proof, signed checkpoint, and the signed entry timestamp when present.
        entry._verify(trusted_root.rekor_keyring(KeyringPurpose.VERIFY))
    except SigstoreError as exc:
        raise BundleError(f"invalid log entry: {exc}") from None
    except Exception as exc:
        raise BundleError(f"invalid log entry: {type(exc).__name__}: {str(exc).splitlines()[0]}") from None
    if not entry._inner.inclusion_promise and not stamps:
        raise BundleError("log entry has no inclusion promise and the bundle no signed timestamp")
    _check_entry_body(
        bytes(entries[0].canonicalized_body),
        entries[0].kind_version.kind,
        entries[0].kind_version.version,
        public_key,
        signature,
        payload,
        artifact_digest,
        raw,
    )
    integrated = entry._inner.integrated_time
    return int(integrated) if integrated else None


def _verify_timestamp(response_der: bytes, signature: bytes, trusted_root: TrustedRoot) -> None:
    from rfc3161_client import VerificationError as TimestampError
    from rfc3161_client import VerifierBuilder, decode_timestamp_response

    try:
        response = decode_timestamp_response(response_der)
    except Exception as exc:
        raise BundleError(f"signed timestamp is malformed: {exc}") from None
    for authority in trusted_root.get_timestamp_authorities():
        certs = authority.certificates(allow_expired=True)
        if len(certs) < 2:
            continue
        builder = VerifierBuilder().tsa_certificate(certs[0]).add_root_certificate(certs[-1])
        for cert in certs[1:-1]:
            builder = builder.add_intermediate_certificate(cert)
        try:
            builder.build().verify_message(response, signature)
        except TimestampError:
            continue
        when = response.tst_info.gen_time
        start, end = authority.validity_period_start, authority.validity_period_end
        if start <= when and (end is None or when <= end):
            return
    raise BundleError("signed timestamp does not verify against the trusted root's timestamp authorities")


def _same_key(candidate: bytes, public_key: ec.EllipticCurvePublicKey, pem: bool) -> bool:
    try:
        key = (
            serialization.load_pem_public_key(candidate)
            if pem
            else serialization.load_der_public_key(candidate)
        )
    except (ValueError, TypeError):
        return False
    fmt = serialization.PublicFormat.SubjectPublicKeyInfo
    return key.public_bytes(serialization.Encoding.DER, fmt) == public_key.public_bytes(
        serialization.Encoding.DER, fmt
    )


def _check_entry_body(
    body_bytes: bytes,
    kind: str,
    version: str,
    public_key: ec.EllipticCurvePublicKey,
    signature: bytes,
    payload: bytes | None,
    artifact_digest: bytes | None,
    raw: dict[str, Any],
) -> None:
    """The log entry must record this very signature, key and content (CVE-2022-36056 variants)."""
    try:
        body = json.loads(body_bytes)
        if body.get("kind") != kind or body.get("apiVersion") != version:
            raise BundleError("log entry body does not match its kind and version")
        spec = body["spec"]
        if payload is not None and kind == "dsse" and version == "0.0.1":
            if spec["payloadHash"] != {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()}:
                raise BundleError("log entry payload hash does not match the bundle")
            sigs = spec["signatures"]
            if len(sigs) != 1 or base64.b64decode(sigs[0]["signature"]) != signature:
                raise BundleError("log entry signature does not match the bundle")
            if not _same_key(base64.b64decode(sigs[0]["verifier"]), public_key, pem=True):
                raise BundleError("log entry was made with another key")
            return
        if kind != "hashedrekord":
            raise BundleError(f"unsupported log entry type {kind}/{version}")
        if payload is not None:
            envelope = raw["dsseEnvelope"]
            digest = hashlib.sha256(pae(envelope["payloadType"], payload)).digest()
        else:
            assert artifact_digest is not None
            digest = artifact_digest
        if version == "0.0.1":
            if payload is not None:
                raise BundleError("a DSSE bundle cannot be recorded as hashedrekord 0.0.1")
            if spec["data"]["hash"] != {"algorithm": "sha256", "value": digest.hex()}:
                raise BundleError("log entry records another artifact digest")
            if base64.b64decode(spec["signature"]["content"]) != signature:
                raise BundleError("log entry records another signature")
            if not _same_key(
                base64.b64decode(spec["signature"]["publicKey"]["content"]), public_key, pem=True
            ):
                raise BundleError("log entry was made with another key")
            return
        if version == "0.0.2":
            inner = spec["hashedRekordV002"]
            if inner["data"] != {"algorithm": "SHA2_256", "digest": _b64(digest)}:
                raise BundleError("log entry records another artifact digest")
            if base64.b64decode(inner["signature"]["content"]) != signature:
                raise BundleError("log entry records another signature")
            verifier = inner["signature"]["verifier"]
            if verifier.get("keyDetails") != "PKIX_ECDSA_P256_SHA_256" or not _same_key(
                base64.b64decode(verifier["publicKey"]["rawBytes"]), public_key, pem=False
            ):
                raise BundleError("log entry was made with another key or algorithm")
            return
        raise BundleError(f"unsupported log entry type {kind}/{version}")
    except BundleError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, binascii.Error) as exc:
        raise BundleError(f"log entry body is malformed ({type(exc).__name__}: {exc})") from None


def verify_key_signature(
    bundle_text: str,
    bundle_json: dict[str, Any],
    source: str,
    keys: Sequence[ec.EllipticCurvePublicKey],
    instance: Instance,
) -> tuple[SignerIdentity, bytes, str | None]:
    """Verify a stored keyed notebook signature with whichever of ``keys`` its hint names.

    Returns (signer, in-toto payload, signing time or None). A keyed bundle verifies only with a
    key the caller gave: without one it is invalid, never trusted on its own say-so.
    """
    from .certinfo import SignerIdentity

    hint = str(((bundle_json.get("verificationMaterial") or {}).get("publicKey") or {}).get("hint") or "")
    if not keys:
        raise BundleError(
            f"{source} is signed with a local key (hint {hint or 'none'}), not a certificate; "
            "pass the signer's public key with --key to verify it"
        )
    matching = [k for k in keys if key_hint(k) == hint]
    if not matching:
        raise BundleError(
            f"{source} is signed with key hint {hint or '(none)'}, which matches none of the given keys"
        )
    if "dsseEnvelope" not in bundle_json:
        raise BundleError(f"{source}: a notebook signature must be a DSSE envelope")
    material = bundle_json.get("verificationMaterial") or {}
    root = (
        instance.trusted_root()
        if material.get("tlogEntries") or material.get("timestampVerificationData")
        else None
    )
    key = matching[0]
    result = verify_key_bundle(bundle_text, key, trusted_root=root)
    assert result.payload is not None
    signed_at = None
    if result.integrated_time:
        from datetime import datetime, timezone

        signed_at = (
            datetime.fromtimestamp(result.integrated_time, timezone.utc).isoformat().replace("+00:00", "Z")
        )
    return SignerIdentity(key_identity(key), KEY_ISSUER), result.payload, signed_at
