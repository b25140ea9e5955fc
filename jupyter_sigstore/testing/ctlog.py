"""A test certificate-transparency log: it only signs embedded precertificate SCTs (RFC 6962)."""

from __future__ import annotations

import hashlib
import struct
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtensionOID

from . import _der

_SCT_VERSION_V1 = 0
_SIGNATURE_TYPE_CERTIFICATE_TIMESTAMP = 0
_ENTRY_TYPE_PRECERT = 1
_HASH_SHA256 = 4
_SIGNATURE_ECDSA = 3


def spki_der(key: ec.EllipticCurvePublicKey) -> bytes:
    """DER SubjectPublicKeyInfo of a public key."""
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_id(key: ec.EllipticCurvePublicKey) -> bytes:
    """RFC 6962 key/log id: SHA-256 over the DER SubjectPublicKeyInfo."""
    return hashlib.sha256(spki_der(key)).digest()


def _u24(length: int) -> bytes:
    return struct.pack("!I", length)[1:]


class CTLog:
    """Holds the CT log key and turns a to-be-signed certificate into an SCT extension."""

    def __init__(self) -> None:
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.public_key = self.private_key.public_key()
        self.log_id = key_id(self.public_key)

    def sct_extension(
        self, tbs_precertificate: bytes, issuer_key: ec.EllipticCurvePublicKey
    ) -> x509.UnrecognizedExtension:
        """Sign ``tbs_precertificate`` and return the SCT-list extension to embed.

        The timestamp is a whole second: sigstore-python recomputes it from a float and
        sub-second values may round differently.
        """
        timestamp_ms = int(time.time()) * 1000
        extensions = b""
        signed = (
            struct.pack(
                "!BBQH",
                _SCT_VERSION_V1,
                _SIGNATURE_TYPE_CERTIFICATE_TIMESTAMP,
                timestamp_ms,
                _ENTRY_TYPE_PRECERT,
            )
            + key_id(issuer_key)
            + _u24(len(tbs_precertificate))
            + tbs_precertificate
            + struct.pack("!H", len(extensions))
            + extensions
        )
        signature = self.private_key.sign(signed, ec.ECDSA(hashes.SHA256()))
        sct = (
            struct.pack("!B32sQH", _SCT_VERSION_V1, self.log_id, timestamp_ms, len(extensions))
            + extensions
            + struct.pack("!BBH", _HASH_SHA256, _SIGNATURE_ECDSA, len(signature))
            + signature
        )
        sct_list = struct.pack("!H", len(sct)) + sct
        blob = struct.pack("!H", len(sct_list)) + sct_list
        return x509.UnrecognizedExtension(
            ExtensionOID.PRECERT_SIGNED_CERTIFICATE_TIMESTAMPS, _der.octet_string(blob)
        )
