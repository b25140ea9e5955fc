"""A test OpenID Connect issuer: discovery, JWKS, ES256 tokens, PKCE code flow, device flow."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from ._http import Request, Response, html_response, json_response, redirect

OOB_REDIRECT_URI = "urn:ietf:wg:oauth:2.0:oob"


def oob_code_in(page: str) -> str | None:
    """The verification code on this issuer's out-of-band approval page (what a person would copy)."""
    found = _OOB_CODE.search(page)
    return html.unescape(found.group(1)) if found else None


DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
_CODE_LIFETIME = 120
_OOB_CODE = re.compile(r'<pre id="code">([^<]+)</pre>')


def identity_claims(identity: str) -> dict[str, Any]:
    """Claims naming ``identity``: an e-mail identity gets ``email`` (+ verified) too."""
    if "@" in identity:
        return {"sub": identity, "email": identity, "email_verified": True}
    return {"sub": identity}


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    return json_response({"error": error, "error_description": description}, status)


@dataclass
class _CodeGrant:
    client_id: str
    redirect_uri: str
    challenge: str
    method: str
    identity: str
    nonce: str | None
    expires_at: float


@dataclass
class _DeviceGrant:
    user_code: str
    client_id: str
    expires_at: float
    interval: float
    last_poll: float
    status: str = "pending"  # pending | approved | denied
    identity: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class OIDCProvider:
    """Mints and verifies tokens; serves the endpoints below the issuer URL.

    Settings a test may change while the issuer runs:

    - ``client_id``: the audience the test Fulcio accepts from this issuer (a real Fulcio is configured
      with one client id per issuer and refuses tokens for any other audience).
    - ``token_audience``: mint sign-in tokens for this audience instead of the requesting client's id
      (an issuer that answers for the wrong client).
    - ``enforce_poll_interval``: answer ``slow_down`` to a device-token poll that comes sooner than the
      grant's interval after the previous one, and add 5 s to that interval (RFC 8628 section 3.5).
    - ``clock``: the time (seconds) used for device-code lifetimes and poll spacing.
    """

    def __init__(
        self,
        *,
        login_identity: str | None = "alice@example.com",
        token_lifetime: int = 300,
        device_code_ttl: int = 600,
        poll_interval: int = 1,
    ) -> None:
        self.issuer_url = ""
        self._key = ec.generate_private_key(ec.SECP256R1())
        self.public_key = self._key.public_key()
        self.kid = secrets.token_hex(8)
        self.login_identity = login_identity
        self.token_lifetime = token_lifetime
        self.device_code_ttl = device_code_ttl
        self.poll_interval = poll_interval
        self.client_id = "sigstore"
        self.token_audience: str | None = None
        self.enforce_poll_interval = False
        self.clock: Callable[[], float] = time.time
        self._lock = threading.Lock()
        self._codes: dict[str, _CodeGrant] = {}
        self._devices: dict[str, _DeviceGrant] = {}

    # -- tokens ---------------------------------------------------------------------------
    def mint_token(
        self,
        identity: str = "alice@example.com",
        *,
        issuer: str | None = None,
        audience: str | None = None,
        expires_in: int = 300,
        issued_at: int | None = None,
        github: dict[str, Any] | None = None,
        nonce: str | None = None,
    ) -> str:
        """An ES256 JWT signed by this issuer's key for ``audience`` (default: ``client_id``;
        ``expires_in`` may be negative)."""
        now = int(time.time()) if issued_at is None else issued_at
        # An already-expired token must not claim to be issued after it expired.
        iat = min(now, now + expires_in - 1)
        claims: dict[str, Any] = dict(github or {})
        claims.update(identity_claims(identity))
        claims.update(
            iss=issuer or self.issuer_url,
            aud=self.client_id if audience is None else audience,
            iat=iat,
            nbf=iat,
            exp=now + expires_in,
            jti=secrets.token_hex(8),
        )
        if nonce:
            claims["nonce"] = nonce
        return jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": self.kid})

    def verify_token(self, token: str, audience: str | None = None) -> dict[str, Any]:
        """Check signature, ``aud`` (default: ``client_id``), ``exp``/``nbf``/``iat``; return the claims."""
        claims: dict[str, Any] = jwt.decode(
            token,
            self.public_key,
            algorithms=["ES256"],
            audience=self.client_id if audience is None else audience,
            options={"require": ["iss", "sub", "aud", "exp", "iat"]},
        )
        return claims

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.public_key))
        jwk.update(kid=self.kid, alg="ES256", use="sig")
        return {"keys": [jwk]}

    def discovery(self) -> dict[str, Any]:
        base = self.issuer_url
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/auth",
            "token_endpoint": f"{base}/token",
            "jwks_uri": f"{base}/keys",
            "device_authorization_endpoint": f"{base}/device/code",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "grant_types_supported": ["authorization_code", DEVICE_GRANT],
            "code_challenge_methods_supported": ["S256", "plain"],
            "scopes_supported": ["openid", "email"],
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "email", "email_verified"],
        }

    def _token_response(self, client_id: str, identity: str, nonce: str | None) -> Response:
        audience = self.token_audience or client_id
        token = self.mint_token(identity, audience=audience, expires_in=self.token_lifetime, nonce=nonce)
        return json_response(
            {
                "access_token": token,
                "id_token": token,
                "token_type": "Bearer",
                "expires_in": self.token_lifetime,
                "scope": "openid email",
            }
        )

    # -- device flow helpers --------------------------------------------------------------
    def _find_device(self, user_code: str) -> _DeviceGrant | None:
        wanted = user_code.strip().upper().replace(" ", "")
        for grant in self._devices.values():
            if grant.user_code == wanted:
                return grant
        return None

    def approve_device_code(self, user_code: str, identity: str | None = None) -> None:
        """Approve a pending device authorization as ``identity`` (default: login identity)."""
        with self._lock:
            grant = self._find_device(user_code)
            chosen = identity or self.login_identity
            if grant is None or grant.status != "pending" or not chosen:
                raise KeyError(f"no pending device authorization for {user_code!r}")
            grant.status, grant.identity = "approved", chosen

    def deny_device_code(self, user_code: str) -> None:
        with self._lock:
            grant = self._find_device(user_code)
            if grant is None or grant.status != "pending":
                raise KeyError(f"no pending device authorization for {user_code!r}")
            grant.status = "denied"

    # -- HTTP -----------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        route = (request.method, request.path.rstrip("/") or "/")
        if route == ("GET", "/.well-known/openid-configuration"):
            return json_response(self.discovery())
        if route == ("GET", "/keys"):
            return json_response(self.jwks())
        if route == ("GET", "/auth"):
            return self._authorize(request)
        if route == ("POST", "/token"):
            return self._token(request)
        if route == ("POST", "/device/code"):
            return self._device_authorization(request)
        if route in (("GET", "/device"), ("POST", "/device")):
            return self._device_page(request)
        return _oauth_error("not_found", f"no such endpoint: {request.path}", 404)

    def _authorize(self, request: Request) -> Response:
        params = request.form()
        redirect_uri = params.get("redirect_uri", "")
        if params.get("response_type") != "code" or not redirect_uri:
            return _oauth_error("invalid_request", "response_type=code and redirect_uri needed")
        challenge = params.get("code_challenge", "")
        method = params.get("code_challenge_method", "plain")
        if not challenge or method not in ("S256", "plain"):
            return _oauth_error("invalid_request", "PKCE code_challenge (S256/plain) required")
        state = params.get("state")
        identity = self.login_identity
        if identity is None:
            return self._redirect_back(redirect_uri, {"error": "access_denied"}, state)
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _CodeGrant(
                client_id=params.get("client_id", ""),
                redirect_uri=redirect_uri,
                challenge=challenge,
                method=method,
                identity=identity,
                nonce=params.get("nonce"),
                expires_at=time.time() + _CODE_LIFETIME,
            )
        if redirect_uri == OOB_REDIRECT_URI:
            return html_response(
                "<html><body><h1>Test sign-in approved</h1>"
                f"<p>Signed in as {html.escape(identity)}. Your verification code:</p>"
                f'<pre id="code">{html.escape(code)}</pre></body></html>'
            )
        return self._redirect_back(redirect_uri, {"code": code}, state)

    @staticmethod
    def _redirect_back(uri: str, params: dict[str, str], state: str | None) -> Response:
        if state is not None:
            params["state"] = state
        separator = "&" if urllib.parse.urlsplit(uri).query else "?"
        return redirect(f"{uri}{separator}{urllib.parse.urlencode(params)}")

    @staticmethod
    def _client_id(request: Request, form: dict[str, str]) -> str:
        auth = request.header("authorization") or ""
        if auth.lower().startswith("basic "):
            decoded = base64.b64decode(auth[6:]).decode("utf-8")
            return urllib.parse.unquote(decoded.partition(":")[0])
        return form.get("client_id", "")

    def _token(self, request: Request) -> Response:
        form = request.form()
        client_id = self._client_id(request, form)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._redeem_code(form, client_id)
        if grant_type == DEVICE_GRANT:
            return self._redeem_device(form, client_id)
        return _oauth_error("unsupported_grant_type", f"unsupported grant_type {grant_type!r}")

    def _redeem_code(self, form: dict[str, str], client_id: str) -> Response:
        with self._lock:
            grant = self._codes.pop(form.get("code", ""), None)
        if grant is None or grant.expires_at < time.time():
            return _oauth_error("invalid_grant", "unknown, used or expired code")
        if grant.client_id and client_id and grant.client_id != client_id:
            return _oauth_error("invalid_grant", "code was issued to another client")
        if form.get("redirect_uri") != grant.redirect_uri:
            return _oauth_error("invalid_grant", "redirect_uri does not match")
        verifier = form.get("code_verifier", "")
        if grant.method == "S256":
            digest = hashlib.sha256(verifier.encode("ascii")).digest()
            computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
        else:
            computed = verifier
        if not verifier or not secrets.compare_digest(computed, grant.challenge):
            return _oauth_error("invalid_grant", "PKCE verification failed")
        return self._token_response(client_id or grant.client_id, grant.identity, grant.nonce)

    def _device_authorization(self, request: Request) -> Response:
        form = request.form()
        device_code = secrets.token_urlsafe(32)
        letters = "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(8))
        user_code = f"{letters[:4]}-{letters[4:]}"
        now = self.clock()
        with self._lock:
            self._devices[device_code] = _DeviceGrant(
                user_code=user_code,
                client_id=self._client_id(request, form),
                expires_at=now + self.device_code_ttl,
                interval=self.poll_interval,
                last_poll=now,
            )
        page = f"{self.issuer_url}/device"
        return json_response(
            {
                "device_code": device_code,
                "user_code": user_code,
                "verification_uri": page,
                "verification_uri_complete": f"{page}?user_code={user_code}",
                "expires_in": self.device_code_ttl,
                "interval": self.poll_interval,
            }
        )

    def _redeem_device(self, form: dict[str, str], client_id: str) -> Response:
        device_code = form.get("device_code", "")
        with self._lock:
            grant = self._devices.get(device_code)
            if grant is None:
                return _oauth_error("invalid_grant", "unknown device_code")
            now = self.clock()
            if grant.expires_at < now:
                self._devices.pop(device_code)
                return _oauth_error("expired_token", "the device code has expired")
            too_soon = now - grant.last_poll < grant.interval
            grant.last_poll = now
            if self.enforce_poll_interval and too_soon:
                grant.interval += 5
                return _oauth_error("slow_down", f"poll at most every {grant.interval:g} s")
            if grant.status == "denied":
                self._devices.pop(device_code)
                return _oauth_error("access_denied", "the user denied the request")
            if grant.status == "pending" or grant.identity is None:
                return _oauth_error("authorization_pending", "waiting for the user")
            self._devices.pop(device_code)
        return self._token_response(client_id or grant.client_id or "sigstore", grant.identity, None)

    def _device_page(self, request: Request) -> Response:
        form = request.form()
        user_code = form.get("user_code", "")
        if request.method == "GET":
            return html_response(_device_form(user_code, self.login_identity or ""))
        identity = form.get("identity") or self.login_identity
        try:
            if form.get("action", "approve") == "deny":
                self.deny_device_code(user_code)
                message = "Request denied."
            else:
                self.approve_device_code(user_code, identity)
                message = f"Approved as {identity}. You may return to your device."
        except KeyError:
            return html_response("<html><body><p>Unknown or used code.</p></body></html>", 404)
        return html_response(f"<html><body><p>{html.escape(message)}</p></body></html>")


def _device_form(user_code: str, identity: str) -> str:
    return (
        "<html><body><h1>Test device sign-in</h1>"
        '<form method="post" action="device">'
        f'<label>Code <input name="user_code" value="{html.escape(user_code)}"></label>'
        f'<label>Identity <input name="identity" value="{html.escape(identity)}"></label>'
        '<button name="action" value="approve">Approve</button>'
        '<button name="action" value="deny">Deny</button>'
        "</form></body></html>"
    )
