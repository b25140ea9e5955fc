"""``LocalSigstore``: Fulcio, Rekor (v1 or v2 + TSA), CT log and OIDC issuer on 127.0.0.1."""

from __future__ import annotations

import base64
import contextlib
import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ._http import Request, Response, error_response, json_response
from .ca import FulcioCA, TimestampPKI, utc_now
from .ctlog import CTLog, spki_der
from .fulcio import Fulcio
from .oidc import OIDCProvider, oob_code_in
from .rekor import RekorV1, RekorV2
from .server import LoopbackServer
from .tlog import MerkleLog
from .tsa import TimestampAuthority

CLIENT_TRUST_CONFIG_MEDIA_TYPE = "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json"
TRUSTED_ROOT_MEDIA_TYPE = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
SIGNING_CONFIG_MEDIA_TYPE = "application/vnd.dev.sigstore.signingconfig.v0.2+json"
OPERATOR = "jupyter-sigstore-testing"
#: ``POST`` here (form fields ``identity``, optional ``issuer`` and ``expires_in``) mints a token, so that
#: a separate process (``python -m jupyter_sigstore.testing token``) can get one for any identity.
MINT_PATH = "/testing/token"


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _der(cert: x509.Certificate) -> str:
    return _b64(cert.public_bytes(serialization.Encoding.DER))


class LocalSigstore:
    """A loopback Sigstore instance for tests and the offline demo (never for real signing).

    ``rekor_version=1`` signs into a Rekor v1 log (inclusion promise + proof); ``2`` into
    a Rekor v2 log plus an RFC 3161 timestamp (``tsa`` defaults to ``rekor_version == 2``).
    Both logs and the TSA are always served and trusted; the signing config picks one.
    """

    def __init__(
        self,
        rekor_version: int = 1,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        login_identity: str | None = "alice@example.com",
        intermediate: bool = True,
        tsa: bool | None = None,
        token_lifetime: int = 300,
        device_code_ttl: int = 600,
        poll_interval: int = 1,
    ) -> None:
        if rekor_version not in (1, 2):
            raise ValueError("rekor_version must be 1 or 2")
        self.rekor_version = rekor_version
        self.use_tsa = rekor_version == 2 if tsa is None else tsa
        self._host, self._port = host, port
        self.created = utc_now()
        self.ctlog = CTLog()
        self.ca = FulcioCA(self.ctlog, intermediate=intermediate)
        self.tsa_pki = TimestampPKI()
        self.oidc = OIDCProvider(
            login_identity=login_identity,
            token_lifetime=token_lifetime,
            device_code_ttl=device_code_ttl,
            poll_interval=poll_interval,
        )
        self.rekor_v1_log = MerkleLog("jupyter-sigstore-testing.rekor-v1")
        self.rekor_v2_log = MerkleLog("jupyter-sigstore-testing.rekor-v2")
        self._server: LoopbackServer | None = None

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> LocalSigstore:
        if self._server is not None:
            return self
        server = LoopbackServer(self._host, self._port)
        self.oidc.issuer_url = f"{server.url}/oidc"
        server.routes = [
            ("", Fulcio(self.ca, self.oidc).handle),  # clients use the absolute /api/v2 path
            ("/oidc", self.oidc.handle),
            ("/rekor", RekorV1(self.rekor_v1_log).handle),
            ("/rekor2", RekorV2(self.rekor_v2_log).handle),
            ("/tsa", TimestampAuthority(self.tsa_pki).handle),
            (MINT_PATH, self._mint_endpoint),
        ]
        server.start()
        for log in (self.rekor_v1_log, self.rekor_v2_log):
            log.signer_name = self._host  # occurs in the tlog base URLs, as real Rekor's name does
        self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> LocalSigstore:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- URLs ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("LocalSigstore is not started")
        return self._server.url

    @property
    def fulcio_url(self) -> str:
        return self.url

    @property
    def rekor_v1_url(self) -> str:
        return f"{self.url}/rekor"

    @property
    def rekor_v2_url(self) -> str:
        return f"{self.url}/rekor2"

    @property
    def rekor_url(self) -> str:
        return self.rekor_v1_url if self.rekor_version == 1 else self.rekor_v2_url

    @property
    def tsa_url(self) -> str:
        return f"{self.url}/tsa/api/v1/timestamp"

    @property
    def issuer_url(self) -> str:
        self.url  # noqa: B018 - raises when not started
        return self.oidc.issuer_url

    # -- identities ---------------------------------------------------------------------
    def mint_token(
        self,
        identity: str = "alice@example.com",
        *,
        issuer: str | None = None,
        audience: str = "sigstore",
        expires_in: int = 300,
        issued_at: int | None = None,
        github: dict[str, Any] | None = None,
    ) -> str:
        """An ES256 OIDC token from the test issuer (``iss`` overridable for negative tests)."""
        return self.oidc.mint_token(
            identity,
            issuer=issuer or self.issuer_url,
            audience=audience,
            expires_in=expires_in,
            issued_at=issued_at,
            github=github,
        )

    def _mint_endpoint(self, request: Request) -> Response:
        if request.method != "POST" or request.path != "/":
            return error_response(404, f"POST {MINT_PATH} with identity=... mints a token")
        form = request.form()
        identity = form.get("identity", "").strip()
        if not identity:
            return error_response(400, "identity is required")
        try:
            expires_in = int(form.get("expires_in") or 3600)
        except ValueError:
            return error_response(400, "expires_in must be a whole number of seconds")
        token = self.mint_token(identity, issuer=form.get("issuer") or None, expires_in=expires_in)
        return json_response({"token": token, "identity": identity, "expires_in": expires_in})

    def set_login_identity(self, identity: str | None) -> None:
        """Whom the authorization endpoint auto-approves (``None``: deny every request)."""
        self.oidc.login_identity = identity

    @contextlib.contextmanager
    def login_as(self, identity: str | None) -> Iterator[None]:
        """Auto-approve sign-ins as ``identity`` (``None``: deny them) inside the block only."""
        before = self.oidc.login_identity
        self.oidc.login_identity = identity
        try:
            yield
        finally:
            self.oidc.login_identity = before

    def oob_code(self, auth_url: str) -> str:
        """Open an out-of-band authorization URL as a person's browser would and read the code shown."""
        import requests

        page = requests.get(auth_url, timeout=30).text
        code = oob_code_in(page)
        if code is None:
            raise AssertionError(f"no verification code on the sign-in page: {page[:200]}")
        return code

    def approve_device_code(self, user_code: str, identity: str | None = None) -> None:
        self.oidc.approve_device_code(user_code, identity)

    def deny_device_code(self, user_code: str) -> None:
        self.oidc.deny_device_code(user_code)

    # -- trust material -----------------------------------------------------------------
    def _tlog(self, log: MerkleLog, url: str) -> dict[str, Any]:
        return {
            "baseUrl": url,
            "hashAlgorithm": "SHA2_256",
            "publicKey": {
                "rawBytes": _b64(spki_der(log.public_key)),
                "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                "validFor": {"start": _time(self.ca.root.cert.not_valid_before_utc)},
            },
            "logId": {"keyId": _b64(log.log_id)},
        }

    def trusted_root(self) -> dict[str, Any]:
        start = {"start": _time(self.ca.root.cert.not_valid_before_utc)}
        logs = [(self.rekor_v1_log, self.rekor_v1_url), (self.rekor_v2_log, self.rekor_v2_url)]
        if self.rekor_version == 2:
            logs.reverse()  # Verifier builds its (unused) client from the first tlog
        ct = self._tlog_ct()
        return {
            "mediaType": TRUSTED_ROOT_MEDIA_TYPE,
            "tlogs": [self._tlog(log, url) for log, url in logs],
            "certificateAuthorities": [
                {
                    "subject": {"organization": "jupyter-sigstore test", "commonName": "sigstore"},
                    "uri": self.fulcio_url,
                    "certChain": {"certificates": [{"rawBytes": _der(c)} for c in self.ca.chain]},
                    "validFor": start,
                }
            ],
            "ctlogs": [ct],
            "timestampAuthorities": [
                {
                    "subject": {"organization": "jupyter-sigstore test", "commonName": "tsa"},
                    "uri": self.tsa_url,
                    "certChain": {"certificates": [{"rawBytes": _der(c)} for c in self.tsa_pki.chain]},
                    "validFor": start,
                }
            ],
        }

    def _tlog_ct(self) -> dict[str, Any]:
        return {
            "baseUrl": f"{self.url}/ct",
            "hashAlgorithm": "SHA2_256",
            "publicKey": {
                "rawBytes": _b64(spki_der(self.ctlog.public_key)),
                "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                "validFor": {"start": _time(self.ca.root.cert.not_valid_before_utc)},
            },
            "logId": {"keyId": _b64(self.ctlog.log_id)},
        }

    def signing_config(self) -> dict[str, Any]:
        start = {"start": _time(self.ca.root.cert.not_valid_before_utc)}

        def service(url: str, version: int = 1) -> dict[str, Any]:
            return {"url": url, "majorApiVersion": version, "validFor": start, "operator": OPERATOR}

        return {
            "mediaType": SIGNING_CONFIG_MEDIA_TYPE,
            "caUrls": [service(self.fulcio_url)],
            "oidcUrls": [service(self.issuer_url)],
            "rekorTlogUrls": [service(self.rekor_url, self.rekor_version)],
            "tsaUrls": [service(self.tsa_url)] if self.use_tsa else [],
            "rekorTlogConfig": {"selector": "ANY"},
            "tsaConfig": {"selector": "ANY"},
        }

    def trust_config(self) -> dict[str, Any]:
        """A ClientTrustConfig for ``sigstore --trust-config`` / ``ClientTrustConfig.from_json``."""
        return {
            "mediaType": CLIENT_TRUST_CONFIG_MEDIA_TYPE,
            "trustedRoot": self.trusted_root(),
            "signingConfig": self.signing_config(),
        }

    def write_trust_config(self, path: str | os.PathLike[str]) -> Path:
        target = Path(path)
        target.write_text(json.dumps(self.trust_config(), indent=2) + "\n", encoding="utf-8")
        return target
