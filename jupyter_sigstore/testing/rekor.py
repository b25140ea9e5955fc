"""Test Rekor logs: v1 (hashedrekord/dsse 0.0.1, SETs) and v2 (hashedrekord 0.0.2)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from typing import Any

import rfc8785
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from ._http import Request, Response, error_response, json_response
from .tlog import MerkleLog, leaf_hash

_PREHASH: dict[str, hashes.HashAlgorithm] = {
    "sha256": hashes.SHA256(),
    "SHA2_256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "SHA2_384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
    "SHA2_512": hashes.SHA512(),
}
_V2_KEY_HASH = {"PKIX_ECDSA_P256_SHA_256": "SHA2_256", "PKIX_ECDSA_P384_SHA_384": "SHA2_384"}


class EntryError(Exception):
    """A proposed entry was rejected (HTTP 400 unless ``status`` says otherwise)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _b64decode(value: Any) -> bytes:
    text = str(value)
    padded = text + "=" * (-len(text) % 4)
    try:
        if "-" in text or "_" in text:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EntryError("invalid base64") from exc


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _load_key(pem: bytes) -> ec.EllipticCurvePublicKey:
    key: PublicKeyTypes
    try:
        if b"CERTIFICATE" in pem:
            key = x509.load_pem_x509_certificate(pem).public_key()
        else:
            key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise EntryError("unparseable verifier (PEM certificate or public key expected)") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise EntryError("only ECDSA verifiers are supported")
    return key


def _verify_prehashed(
    key: ec.EllipticCurvePublicKey, signature: bytes, digest: bytes, algorithm: hashes.HashAlgorithm
) -> None:
    if len(digest) != algorithm.digest_size:
        raise EntryError("digest length does not match its algorithm")
    try:
        key.verify(signature, digest, ec.ECDSA(utils.Prehashed(algorithm)))
    except InvalidSignature as exc:
        raise EntryError("signature does not verify against the supplied key") from exc


def _pae(payload_type: str, payload: bytes) -> bytes:
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def hashedrekord_v001_body(spec: dict[str, Any]) -> dict[str, Any]:
    try:
        signature = _b64decode(spec["signature"]["content"])
        pem = _b64decode(spec["signature"]["publicKey"]["content"])
        algorithm = spec["data"]["hash"]["algorithm"]
        digest = bytes.fromhex(spec["data"]["hash"]["value"])
    except (KeyError, TypeError, ValueError) as exc:
        raise EntryError(f"malformed hashedrekord spec: {exc}") from exc
    if algorithm not in ("sha256", "sha384", "sha512"):
        raise EntryError(f"unsupported hash algorithm {algorithm!r}")
    _verify_prehashed(_load_key(pem), signature, digest, _PREHASH[algorithm])
    return {
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": algorithm, "value": digest.hex()}},
            "signature": {"content": _b64(signature), "publicKey": {"content": _b64(pem)}},
        },
    }


def dsse_v001_body(spec: dict[str, Any]) -> dict[str, Any]:
    try:
        raw_envelope = spec["proposedContent"]["envelope"]
        verifiers = [_b64decode(v) for v in spec["proposedContent"]["verifiers"]]
        envelope = json.loads(raw_envelope)
        payload = _b64decode(envelope["payload"])
        payload_type = str(envelope["payloadType"])
        sigs = [_b64decode(s["sig"]) for s in envelope["signatures"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise EntryError(f"malformed dsse spec: {exc}") from exc
    if not sigs or not verifiers:
        raise EntryError("dsse entries need at least one signature and one verifier")
    pae = _pae(payload_type, payload)
    signatures = []
    for sig in sigs:
        for pem in verifiers:
            try:
                _load_key(pem).verify(sig, pae, ec.ECDSA(hashes.SHA256()))
            except InvalidSignature:
                continue
            signatures.append({"signature": _b64(sig), "verifier": _b64(pem)})
            break
        else:
            raise EntryError("a DSSE signature does not verify against any verifier")
    envelope_hash = hashlib.sha256(rfc8785.dumps(envelope)).hexdigest()
    return {
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "envelopeHash": {"algorithm": "sha256", "value": envelope_hash},
            "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()},
            "signatures": sorted(signatures, key=lambda s: s["signature"]),
        },
    }


def hashedrekord_v002_body(request: dict[str, Any]) -> dict[str, Any]:
    try:
        digest = _b64decode(request["digest"])
        signature = _b64decode(request["signature"]["content"])
        verifier = request["signature"]["verifier"]
        key_details = str(verifier["keyDetails"])
        der = _b64decode(verifier["x509Certificate"]["rawBytes"])
        cert = x509.load_der_x509_certificate(der)
    except (KeyError, TypeError, ValueError) as exc:
        raise EntryError(f"malformed hashedRekordRequestV002: {exc}") from exc
    if key_details not in _V2_KEY_HASH:
        raise EntryError(f"unsupported keyDetails {key_details!r}")
    algorithm = _V2_KEY_HASH[key_details]
    key = _load_key(cert.public_bytes(serialization.Encoding.PEM))
    _verify_prehashed(key, signature, digest, _PREHASH[algorithm])
    return {
        "apiVersion": "0.0.2",
        "kind": "hashedrekord",
        "spec": {
            "hashedRekordV002": {
                "data": {"algorithm": algorithm, "digest": _b64(digest)},
                "signature": {
                    "content": _b64(signature),
                    "verifier": {"keyDetails": key_details, "x509Certificate": {"rawBytes": _b64(der)}},
                },
            }
        },
    }


class RekorV1:
    """``/api/v1/log`` and ``/api/v1/log/entries`` over a :class:`MerkleLog`."""

    def __init__(self, log: MerkleLog) -> None:
        self.log = log
        self.integrated: list[int] = []

    def handle(self, request: Request) -> Response:
        route = (request.method, request.path.rstrip("/"))
        try:
            if route == ("POST", "/api/v1/log/entries"):
                return json_response(self._create(request.json()), 201)
            if route == ("GET", "/api/v1/log"):
                return json_response(self._log_info())
            if route == ("GET", "/api/v1/log/entries") and "logIndex" in request.query:
                return json_response(self._entry(int(request.query["logIndex"][0])))
            if request.method == "GET" and request.path.startswith("/api/v1/log/entries/"):
                uuid = request.path.rsplit("/", 1)[1]
                index = self.log.leaf_hashes.index(bytes.fromhex(uuid[-64:]))
                return json_response(self._entry(index))
        except EntryError as exc:
            return error_response(exc.status, str(exc))
        except (ValueError, IndexError):
            return error_response(404, "entry not found")
        return error_response(404, f"no such endpoint: {request.path}")

    def _create(self, proposed: Any) -> dict[str, Any]:
        if not isinstance(proposed, dict) or proposed.get("apiVersion") != "0.0.1":
            raise EntryError("only apiVersion 0.0.1 entries are supported")
        kind = proposed.get("kind")
        if kind == "hashedrekord":
            body = hashedrekord_v001_body(proposed.get("spec", {}))
        elif kind == "dsse":
            body = dsse_v001_body(proposed.get("spec", {}))
        else:
            raise EntryError(f"unsupported entry kind {kind!r}")
        canonical = rfc8785.dumps(body)
        with self.log.lock:
            if leaf_hash(canonical) in self.log.leaf_hashes:
                raise EntryError("an equivalent entry already exists in the log", 409)
            index = self.log.append(canonical)
            self.integrated.append(int(time.time()))
            return self._entry(index)

    def _entry(self, index: int) -> dict[str, Any]:
        body = self.log.bodies[index]
        size = len(self.log.bodies)
        integrated_time = self.integrated[index]
        log_id = self.log.log_id.hex()
        promise: dict[str, str | int] = {
            "body": _b64(body),
            "integratedTime": integrated_time,
            "logID": log_id,
            "logIndex": index,
        }
        return {
            self.log.leaf_hashes[index].hex(): {
                **promise,
                "verification": {
                    "inclusionProof": {
                        "checkpoint": self.log.checkpoint(size),
                        "hashes": [h.hex() for h in self.log.proof(index, size)],
                        "logIndex": index,
                        "rootHash": self.log.root(size).hex(),
                        "treeSize": size,
                    },
                    "signedEntryTimestamp": _b64(self.log.sign(rfc8785.dumps(promise))),
                },
            }
        }

    def _log_info(self) -> dict[str, Any]:
        with self.log.lock:
            size = len(self.log.bodies)
            return {
                "rootHash": self.log.root(size).hex(),
                "treeSize": size,
                "signedTreeHead": self.log.checkpoint(size),
                "treeID": str(int.from_bytes(self.log.log_id[:7], "big")),
                "inactiveShards": [],
            }


class RekorV2:
    """``POST /api/v2/log/entries``: synchronous inclusion, no integrated time, no SET."""

    def __init__(self, log: MerkleLog) -> None:
        self.log = log

    def handle(self, request: Request) -> Response:
        if (request.method, request.path.rstrip("/")) != ("POST", "/api/v2/log/entries"):
            return error_response(404, f"no such endpoint: {request.path}")
        try:
            proposed = request.json()
            if not isinstance(proposed, dict) or "hashedRekordRequestV002" not in proposed:
                raise EntryError("only hashedRekordRequestV002 entries are supported")
            body = rfc8785.dumps(hashedrekord_v002_body(proposed["hashedRekordRequestV002"]))
        except EntryError as exc:
            return error_response(exc.status, str(exc))
        except ValueError:
            return error_response(400, "request body is not JSON")
        with self.log.lock:
            index = self.log.append(body)
            size = len(self.log.bodies)
            entry = {
                "logIndex": str(index),
                "logId": {"keyId": _b64(self.log.log_id)},
                "kindVersion": {"kind": "hashedrekord", "version": "0.0.2"},
                "inclusionProof": {
                    "logIndex": str(index),
                    "rootHash": _b64(self.log.root(size)),
                    "treeSize": str(size),
                    "hashes": [_b64(h) for h in self.log.proof(index, size)],
                    "checkpoint": {"envelope": self.log.checkpoint(size)},
                },
                "canonicalizedBody": _b64(body),
            }
        return json_response(entry, 201)
