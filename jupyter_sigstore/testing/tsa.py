"""Test RFC 3161 timestamp authority: TimeStampReq in, CMS-signed TimeStampResp out.

``rfc3161-client`` can build requests and parse/verify responses but not build responses,
so the response DER is assembled here with the small helpers in ``_der``.
"""

from __future__ import annotations

import hashlib
import itertools
import threading

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from . import _der
from ._http import Request, Response, error_response
from .ca import TimestampPKI, utc_now

TSA_POLICY_OID = "1.3.6.1.4.1.57264.2"
_ID_CT_TSTINFO = "1.2.840.113549.1.9.16.1.4"
_ID_SIGNED_DATA = "1.2.840.113549.1.7.2"
_ATTR_CONTENT_TYPE = "1.2.840.113549.1.9.3"
_ATTR_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
_ATTR_SIGNING_CERT_V2 = "1.2.840.113549.1.9.16.2.47"
_SHA256 = "2.16.840.1.101.3.4.2.1"
_ECDSA_SHA256 = "1.2.840.10045.4.3.2"
_DIGEST_SIZES = {
    _der.oid(_SHA256): 32,
    _der.oid("2.16.840.1.101.3.4.2.2"): 48,
    _der.oid("2.16.840.1.101.3.4.2.3"): 64,
}
_GRANTED = 0
_REJECTION = 2


class TimestampRequestError(ValueError):
    pass


class _ParsedRequest:
    """The parts of a TimeStampReq the response echoes back."""

    def __init__(self, der: bytes) -> None:
        try:
            fields = _der.parse_single(der).children()
            if len(fields) < 2 or fields[0].as_int() != 1:
                raise TimestampRequestError("TimeStampReq version must be 1")
            self.imprint = fields[1]
            algorithm, hashed = self.imprint.children()
            algorithm_oid = algorithm.children()[0].raw
        except (ValueError, IndexError) as exc:
            raise TimestampRequestError(f"malformed TimeStampReq: {exc}") from exc
        if _DIGEST_SIZES.get(algorithm_oid) != len(hashed.content):
            raise TimestampRequestError("unsupported hash algorithm or wrong digest length")
        self.nonce: _der.Node | None = None
        self.cert_req = False
        for node in fields[2:]:
            if node.tag == _der.TAG_OID and node.raw != _der.oid(TSA_POLICY_OID):
                raise TimestampRequestError("unsupported reqPolicy")
            if node.tag == _der.TAG_INTEGER:
                self.nonce = node
            elif node.tag == _der.TAG_BOOLEAN:
                self.cert_req = node.content != b"\x00"


class TimestampAuthority:
    """Signs timestamps with the TSA leaf of a :class:`TimestampPKI`."""

    def __init__(self, pki: TimestampPKI) -> None:
        self.pki = pki
        self._serials = itertools.count(1)
        self._lock = threading.Lock()

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        if request.method == "GET" and path.endswith("/certchain"):
            pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in self.pki.chain)
            return Response(200, pem, "application/pem-certificate-chain")
        if request.method != "POST":
            return error_response(405, "POST a TimeStampReq")
        try:
            body = self.timestamp(request.body)
        except TimestampRequestError as exc:
            rejection = _der.sequence(_der.sequence(_der.integer(_REJECTION)))
            return Response(400, rejection, "application/timestamp-reply", {"X-Error": str(exc)})
        return Response(200, body, "application/timestamp-reply")

    def timestamp(self, request_der: bytes) -> bytes:
        """Return a granted TimeStampResp (DER) for ``request_der``."""
        request = _ParsedRequest(request_der)
        with self._lock:
            serial = next(self._serials)
        cert = self.pki.cert
        cert_der = cert.public_bytes(serialization.Encoding.DER)
        tst_info = _der.sequence(
            _der.integer(1),
            _der.oid(TSA_POLICY_OID),
            request.imprint.raw,
            _der.integer(serial),
            _der.generalized_time(utc_now()),
            _der.sequence(_der.integer(1)),  # accuracy: 1 second
            *([request.nonce.raw] if request.nonce else []),
            _der.explicit(0, _der.explicit(4, cert.subject.public_bytes())),
        )
        sha256 = _der.sequence(_der.oid(_SHA256))
        attributes = sorted(
            [
                _der.sequence(_der.oid(_ATTR_CONTENT_TYPE), _der.set_of(_der.oid(_ID_CT_TSTINFO))),
                _der.sequence(
                    _der.oid(_ATTR_MESSAGE_DIGEST),
                    _der.set_of(_der.octet_string(hashlib.sha256(tst_info).digest())),
                ),
                _der.sequence(
                    _der.oid(_ATTR_SIGNING_CERT_V2),
                    _der.set_of(
                        _der.sequence(
                            _der.sequence(_der.sequence(_der.octet_string(hashlib.sha256(cert_der).digest())))
                        )
                    ),
                ),
            ]
        )
        # The signature covers the attributes encoded as a SET (tag 0x31), while the
        # SignerInfo carries them as [0] IMPLICIT.
        signed_attributes = b"".join(attributes)
        signature = self.pki.key.sign(_der.tlv(_der.TAG_SET, signed_attributes), ec.ECDSA(hashes.SHA256()))
        signer_info = _der.sequence(
            _der.integer(1),
            _der.sequence(cert.issuer.public_bytes(), _der.integer(cert.serial_number)),
            sha256,
            _der.tlv(0xA0, signed_attributes),
            _der.sequence(_der.oid(_ECDSA_SHA256)),
            _der.octet_string(signature),
        )
        signed_data = _der.sequence(
            _der.integer(3),
            _der.set_of(sha256),
            _der.sequence(_der.oid(_ID_CT_TSTINFO), _der.explicit(0, _der.octet_string(tst_info))),
            # certificates [0] IMPLICIT: only when asked for (RFC 3161 section 2.4.1)
            *([_der.tlv(0xA0, cert_der)] if request.cert_req else []),
            _der.set_of(signer_info),
        )
        token = _der.sequence(_der.oid(_ID_SIGNED_DATA), _der.explicit(0, signed_data))
        return _der.sequence(_der.sequence(_der.integer(_GRANTED)), token)
