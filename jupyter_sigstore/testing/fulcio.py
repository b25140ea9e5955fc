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
GITHUB_SERVER_URL = "https://github.com"
# Deprecated GitHub workflow extensions (raw UTF-8 values): token claim -> OID.
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


def github_actions_claims(
    repository: str = "acme/analysis",
    *,
    workflow_file: str = "sign.yml",
    ref: str = "refs/heads/main",
    sha: str = "0123456789abcdef0123456789abcdef01234567",
    event_name: str = "push",
    environment: str | None = None,
) -> dict[str, Any]:
    """The claims of a GitHub Actions OIDC token for a workflow run in ``repository`` (pass them
    as ``mint_token(identity, github=...)``; the identity Fulcio certifies is
    :func:`github_workflow_identity` of these claims)."""
    owner = repository.split("/")[0]
    workflow_ref = f"{repository}/.github/workflows/{workflow_file}@{ref}"
    claims: dict[str, Any] = {
        "repository": repository,
        "repository_owner": owner,
        "repository_id": str(1000 + sum(map(ord, repository))),
        "repository_owner_id": str(500 + sum(map(ord, owner))),
        "repository_visibility": "public",
        "ref": ref,
        "sha": sha,
        "workflow": workflow_file.rsplit(".", 1)[0],
        "workflow_ref": workflow_ref,
        "workflow_sha": sha,
        "job_workflow_ref": workflow_ref,
        "job_workflow_sha": sha,
        "event_name": event_name,
        "run_id": "4242",
        "run_attempt": "1",
        "runner_environment": "github-hosted",
    }
    if environment is not None:
        claims["environment"] = environment
    return claims


def github_workflow_identity(claims: dict[str, Any]) -> str:
    """The SAN Fulcio gives a GitHub Actions token: the server URL + ``job_workflow_ref``."""
    return f"{GITHUB_SERVER_URL}/{claims['job_workflow_ref']}"


def github_extensions(claims: dict[str, Any], *, legacy: bool = True) -> list[x509.ExtensionType]:
    """The CI extensions Fulcio issues for a GitHub Actions token's claims: the provider-generic
    ones (.1.9-.1.23, DER UTF8String) and, with ``legacy``, the deprecated GitHub-specific ones
    (.1.2-.1.6, raw bytes) that Fulcio still adds. Nothing for a token without GitHub claims."""
    if not any(name in claims for name in GITHUB_LEGACY_OIDS):
        return []
    extensions: list[x509.ExtensionType] = []
    if legacy:
        extensions.extend(
            _raw_ext(oid, str(claims[name])) for name, oid in GITHUB_LEGACY_OIDS.items() if name in claims
        )

    def url(name: str) -> str | None:
        return f"{GITHUB_SERVER_URL}/{claims[name]}" if claims.get(name) else None

    run = None
    if all(claims.get(name) for name in ("repository", "run_id", "run_attempt")):
        run = (
            f"{GITHUB_SERVER_URL}/{claims['repository']}/actions/runs/{claims['run_id']}"
            f"/attempts/{claims['run_attempt']}"
        )
    generic: dict[str, str | None] = {
        "1.3.6.1.4.1.57264.1.9": url("job_workflow_ref"),
        "1.3.6.1.4.1.57264.1.10": claims.get("job_workflow_sha"),
        "1.3.6.1.4.1.57264.1.11": claims.get("runner_environment"),
        "1.3.6.1.4.1.57264.1.12": url("repository"),
        "1.3.6.1.4.1.57264.1.13": claims.get("sha"),
        "1.3.6.1.4.1.57264.1.14": claims.get("ref"),
        "1.3.6.1.4.1.57264.1.15": claims.get("repository_id"),
        "1.3.6.1.4.1.57264.1.16": url("repository_owner"),
        "1.3.6.1.4.1.57264.1.17": claims.get("repository_owner_id"),
        "1.3.6.1.4.1.57264.1.18": url("workflow_ref"),
        "1.3.6.1.4.1.57264.1.19": claims.get("workflow_sha"),
        "1.3.6.1.4.1.57264.1.20": claims.get("event_name"),
        "1.3.6.1.4.1.57264.1.21": run,
        "1.3.6.1.4.1.57264.1.22": claims.get("repository_visibility"),
        "1.3.6.1.4.1.57264.1.23": claims.get("environment"),
    }
    extensions.extend(_utf8_ext(oid, str(value)) for oid, value in generic.items() if value)
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
        if "job_workflow_ref" in claims:  # a GitHub Actions token: the SAN is the workflow
            san: x509.GeneralName = x509.UniformResourceIdentifier(github_workflow_identity(claims))
            subject = str(claims["sub"])
        elif "email" in claims:
            if claims.get("email_verified") is not True:
                raise FulcioError(400, "email is not verified")
            san = x509.RFC822Name(str(claims["email"]))
            subject = str(claims["email"])
        else:
            san = x509.UniformResourceIdentifier(str(claims["sub"]))
            subject = str(claims["sub"])
        public_key = self._proven_key(body, subject)
        issuer = str(claims["iss"])
        extensions: list[x509.ExtensionType] = [
            _raw_ext(OIDC_ISSUER_OID, issuer),
            _utf8_ext(OIDC_ISSUER_V2_OID, issuer),
            *github_extensions(claims, legacy=self.ca.legacy_github_extensions),
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
