"""Test Fulcio: ``POST /api/v2/signingCert`` issuing short-lived code-signing certificates."""

from __future__ import annotations

import base64
from typing import Any

import jwt
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from . import _der
from ._http import Request, Response, error_response, json_response
from .ca import FulcioCA
from .oidc import OIDCProvider

OIDC_ISSUER_OID = "1.3.6.1.4.1.57264.1.1"
OIDC_ISSUER_V2_OID = "1.3.6.1.4.1.57264.1.8"
# Legacy GitHub workflow extensions (raw string values): claim -> OID.
GITHUB_LEGACY_OIDS = {
    "event_name": "1.3.6.1.4.1.57264.1.2",
    "sha": "1.3.6.1.4.1.57264.1.3",
    "workflow": "1.3.6.1.4.1.57264.1.4",
    "repository": "1.3.6.1.4.1.57264.1.5",
    "ref": "1.3.6.1.4.1.57264.1.6",
}


class FulcioError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _raw_ext(dotted: str, value: str) -> x509.UnrecognizedExtension:
    return x509.UnrecognizedExtension(x509.ObjectIdentifier(dotted), value.encode("utf-8"))


def _utf8_ext(dotted: str, value: str) -> x509.UnrecognizedExtension:
    return x509.UnrecognizedExtension(x509.ObjectIdentifier(dotted), _der.utf8_string(value))


def _github_extensions(claims: dict[str, Any]) -> list[x509.ExtensionType]:
    """Fulcio's GitHub Actions extensions, for the claims the token carries."""
    if not any(name in claims for name in GITHUB_LEGACY_OIDS):
        return []
    extensions: list[x509.ExtensionType] = [
        _raw_ext(oid, str(claims[name])) for name, oid in GITHUB_LEGACY_OIDS.items() if name in claims
    ]
    server = "https://github.com"
    v2: dict[str, str | None] = {
        "1.3.6.1.4.1.57264.1.9": claims.get("job_workflow_ref") and f"{server}/{claims['job_workflow_ref']}",
        "1.3.6.1.4.1.57264.1.11": claims.get("runner_environment"),
        "1.3.6.1.4.1.57264.1.12": claims.get("repository") and f"{server}/{claims['repository']}",
        "1.3.6.1.4.1.57264.1.13": claims.get("sha"),
        "1.3.6.1.4.1.57264.1.14": claims.get("ref"),
        "1.3.6.1.4.1.57264.1.15": claims.get("repository_id"),
        "1.3.6.1.4.1.57264.1.16": claims.get("repository_owner") and f"{server}/{claims['repository_owner']}",
        "1.3.6.1.4.1.57264.1.17": claims.get("repository_owner_id"),
        "1.3.6.1.4.1.57264.1.18": claims.get("workflow_ref") and f"{server}/{claims['workflow_ref']}",
        "1.3.6.1.4.1.57264.1.19": claims.get("workflow_sha"),
        "1.3.6.1.4.1.57264.1.20": claims.get("event_name"),
        "1.3.6.1.4.1.57264.1.22": claims.get("repository_visibility"),
    }
    extensions.extend(_utf8_ext(oid, str(value)) for oid, value in v2.items() if value)
    return extensions


class Fulcio:
    """Verifies the OIDC token and proof of possession, then asks the CA for a certificate."""

    def __init__(self, ca: FulcioCA, oidc: OIDCProvider) -> None:
        self.ca = ca
        self.oidc = oidc

    def handle(self, request: Request) -> Response:
        if (request.method, request.path) == ("GET", "/api/v2/trustBundle"):
            chain = [c.public_bytes(serialization.Encoding.PEM).decode() for c in self.ca.chain]
            return json_response({"chains": [{"certificates": chain}]})
        if (request.method, request.path) != ("POST", "/api/v2/signingCert"):
            return error_response(404, f"no such endpoint: {request.path}")
        try:
            pem_chain = self.signing_cert(request)
        except FulcioError as exc:
            return error_response(exc.status, str(exc))
        return json_response({"signedCertificateEmbeddedSct": {"chain": {"certificates": pem_chain}}}, 201)

    def signing_cert(self, request: Request) -> list[str]:
        try:
            body = request.json()
        except ValueError as exc:
            raise FulcioError(400, "request body is not JSON") from exc
        token = self._token(request, body)
        try:
            claims = self.oidc.verify_token(token)
        except jwt.PyJWTError as exc:
            raise FulcioError(401, f"invalid identity token: {exc}") from exc
        if "email" in claims:
            if claims.get("email_verified") is not True:
                raise FulcioError(400, "email is not verified")
            san: x509.GeneralName = x509.RFC822Name(str(claims["email"]))
            subject = str(claims["email"])
        else:
            san = x509.UniformResourceIdentifier(str(claims["sub"]))
            subject = str(claims["sub"])
        public_key = self._proven_key(body, subject)
        issuer = str(claims["iss"])
        extensions: list[x509.ExtensionType] = [
            _raw_ext(OIDC_ISSUER_OID, issuer),
            _utf8_ext(OIDC_ISSUER_V2_OID, issuer),
            *_github_extensions(claims),
        ]
        cert = self.ca.issue(public_key, san, extensions)
        return [c.public_bytes(serialization.Encoding.PEM).decode() for c in [cert, *self.ca.chain]]

    @staticmethod
    def _token(request: Request, body: dict[str, Any]) -> str:
        auth = request.header("authorization") or ""
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        token = body.get("credentials", {}).get("oidcIdentityToken")
        if not token:
            raise FulcioError(401, "missing identity token")
        return str(token)

    @staticmethod
    def _proven_key(body: dict[str, Any], subject: str) -> ec.EllipticCurvePublicKey:
        """The requested public key, once its holder proved possession of the private key."""
        key: PublicKeyTypes
        if "certificateSigningRequest" in body:
            try:
                pem = base64.b64decode(body["certificateSigningRequest"])
                csr = x509.load_pem_x509_csr(pem)
            except ValueError as exc:
                raise FulcioError(400, "malformed certificateSigningRequest") from exc
            if not csr.is_signature_valid:
                raise FulcioError(400, "CSR signature is invalid (no proof of possession)")
            key = csr.public_key()
        elif "publicKeyRequest" in body:
            request = body["publicKeyRequest"]
            try:
                key = serialization.load_pem_public_key(request["publicKey"]["content"].encode())
                proof = base64.b64decode(request["proofOfPossession"])
            except (KeyError, ValueError) as exc:
                raise FulcioError(400, "malformed publicKeyRequest") from exc
            if not isinstance(key, ec.EllipticCurvePublicKey):
                raise FulcioError(400, "only ECDSA keys are supported")
            try:
                key.verify(proof, subject.encode("utf-8"), ec.ECDSA(hashes.SHA256()))
            except InvalidSignature as exc:
                raise FulcioError(400, "proof of possession is invalid") from exc
        else:
            raise FulcioError(400, "missing certificateSigningRequest or publicKeyRequest")
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in (
            "secp256r1",
            "secp384r1",
        ):
            raise FulcioError(400, "only ECDSA P-256/P-384 keys are supported")
        return key
