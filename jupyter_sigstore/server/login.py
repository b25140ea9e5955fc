"""Identity flows for signing from the browser: ambient credentials, a browser redirect back to the
Jupyter server (authorization code + PKCE), and a device-code or out-of-band flow for remote servers.

Tokens live in this process's memory only, keyed by the Jupyter user; they are never written to disk,
logged, or sent back to the browser.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import secrets
import time
import urllib.parse
from dataclasses import dataclass, field
from logging import Logger
from typing import TYPE_CHECKING, Any, Literal

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from ..errors import IdentityError, TrustConfigError

if TYPE_CHECKING:
    from sigstore.oidc import IdentityToken

    from .config import Sigstore

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
OOB_REDIRECT_URI = "urn:ietf:wg:oauth:2.0:oob"
FLOW_LIFETIME = 600.0
FlowKind = Literal["browser", "device", "oob"]
FlowStatus = Literal["pending", "done", "failed", "cancelled"]


@dataclass
class _Session:
    token: IdentityToken = field(repr=False)
    identity: str
    issuer: str
    expires_at: float
    source: str


@dataclass
class LoginFlow:
    """One login in progress for one Jupyter user. Only :meth:`public` is ever sent to a browser."""

    id: str
    user: str
    kind: FlowKind
    expires_at: float
    status: FlowStatus = "pending"
    error: str | None = None
    identity: str | None = None
    auth_url: str | None = None
    user_code: str | None = None
    verification_uri: str | None = None
    verification_uri_complete: str | None = None
    redirect_uri: str | None = None
    # secrets of the flow: never serialised
    state: str = field(default="", repr=False)
    code_verifier: str = field(default="", repr=False)
    device_code: str = field(default="", repr=False)
    interval: float = 5.0
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    def public(self) -> dict[str, Any]:
        """What the front end may see (no code, verifier or token)."""
        data: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "error": self.error,
            "identity": self.identity,
            "expires_in": max(0, int(self.expires_at - time.time())),
        }
        if self.auth_url:
            data["auth_url"] = self.auth_url
        if self.user_code:
            data.update(
                user_code=self.user_code,
                verification_uri=self.verification_uri,
                verification_uri_complete=self.verification_uri_complete,
            )
        return data


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest())
    return verifier, challenge.rstrip(b"=").decode("ascii")


def _oauth_error(body: bytes | None) -> str:
    try:
        data = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return "the identity provider sent an unreadable answer"
    if not isinstance(data, dict):
        return "the identity provider sent an unreadable answer"
    error = str(data.get("error") or "error")
    description = data.get("error_description")
    return f"{error}: {description}" if description else error


def ambient_available() -> bool:
    """A cheap check for ambient credentials (no network): $SIGSTORE_ID_TOKEN or a CI's token source."""
    return bool(
        os.environ.get("SIGSTORE_ID_TOKEN")
        or os.environ.get("ACTIONS_ID_TOKEN_REQUEST_URL")
        or os.environ.get("GOOGLE_SERVICE_ACCOUNT_NAME")
        or os.environ.get("BUILDKITE")
        or os.environ.get("GITLAB_CI")
        or os.environ.get("CIRCLECI")
    )


class IdentityBroker:
    """Runs login flows and keeps each user's identity token in memory until it expires."""

    def __init__(self, config: Sigstore, log: Logger) -> None:
        self.config = config
        self.log = log
        self._sessions: dict[str, _Session] = {}
        self._flows: dict[str, LoginFlow] = {}
        self._discovery: dict[str, Any] | None = None

    # -- sessions -----------------------------------------------------------------------
    def status(self, user: str) -> dict[str, Any]:
        """The user's signed-in identity (if any) and the login methods on offer."""
        session = self._live_session(user)
        return {
            "identity": session.identity if session else None,
            "issuer": session.issuer if session else None,
            "source": session.source if session else None,
            "expires_in": max(0, int(session.expires_at - time.time())) if session else None,
            "methods": {
                "ambient": self.config.ambient_credentials and ambient_available(),
                "browser": True,
                "device": True,
                "oob": True,
            },
        }

    def _live_session(self, user: str) -> _Session | None:
        session = self._sessions.get(user)
        if session is not None and session.expires_at <= time.time() + 5:
            self._sessions.pop(user, None)
            return None
        return session

    def token_for(self, user: str) -> IdentityToken:
        """The user's identity token, or IdentityError telling them to sign in."""
        session = self._live_session(user)
        if session is None:
            raise IdentityError("not signed in to Sigstore (or the sign-in expired): sign in and try again")
        return session.token

    def logout(self, user: str) -> None:
        """Forget the user's token and cancel their pending flows."""
        self._sessions.pop(user, None)
        for flow in [f for f in self._flows.values() if f.user == user]:
            self.cancel(user, flow.id)

    def _store(self, user: str, raw: str, source: str) -> _Session:
        from ..identity import parse_token

        token = parse_token(raw, source)
        claims = _unverified_claims(raw)
        session = _Session(
            token=token,
            identity=str(token.identity),
            issuer=str(token.issuer),
            expires_at=float(claims.get("exp") or time.time() + 60),
            source=source,
        )
        self._sessions[user] = session
        self.log.info("jupyter-sigstore: %s signed in to Sigstore as %s (%s)", user, session.identity, source)
        return session

    def login_ambient(self, user: str) -> _Session:
        """Sign the user in with the server's ambient credentials."""
        from ..identity import unattended_token

        if not self.config.ambient_credentials:
            raise IdentityError(
                "ambient credentials are disabled on this server (c.Sigstore.ambient_credentials)"
            )
        found = unattended_token()
        if found is None:
            raise IdentityError(
                "this server has no ambient credentials ($SIGSTORE_ID_TOKEN or CI credentials); "
                "sign in with the browser, a device code or a pasted token"
            )
        raw, source = found
        return self._store(user, raw, source)

    def login_token(self, user: str, raw: str) -> _Session:
        """Sign the user in with a token they pasted (checked like ``--identity-token``)."""
        return self._store(user, raw, "a pasted identity token")

    # -- the issuer ---------------------------------------------------------------------
    def issuer_url(self) -> str:
        from sigstore.errors import Error as SigstoreError

        config = self.config.select_instance().client_trust_config(offline=True)
        try:
            return str(config.signing_config.get_oidc_url())
        except SigstoreError as exc:
            raise TrustConfigError(f"the Sigstore instance names no identity provider: {exc}") from None

    async def _fetch(self, request: HTTPRequest) -> dict[str, Any]:
        try:
            response = await AsyncHTTPClient().fetch(request)
        except HTTPClientError as exc:
            body = exc.response.body if exc.response is not None else None
            raise IdentityError(f"the identity provider refused: {_oauth_error(body)}") from None
        except OSError as exc:
            raise IdentityError(f"cannot reach the identity provider ({exc.strerror or exc})") from None
        try:
            data = json.loads(response.body)
        except (ValueError, UnicodeDecodeError):
            raise IdentityError("the identity provider sent an answer that is not JSON") from None
        if not isinstance(data, dict):
            raise IdentityError("the identity provider sent an unexpected answer")
        return data

    async def discovery(self) -> dict[str, Any]:
        """The issuer's OpenID configuration (cached)."""
        if self._discovery is None:
            url = self.issuer_url().rstrip("/") + "/.well-known/openid-configuration"
            self._discovery = await self._fetch(HTTPRequest(url, request_timeout=20))
        return self._discovery

    def _token_request(self, endpoint: str, form: dict[str, str]) -> HTTPRequest:
        client = self.config.oidc_client_id
        basic = base64.b64encode(f"{urllib.parse.quote(client)}:".encode()).decode("ascii")
        return HTTPRequest(
            endpoint,
            method="POST",
            body=urllib.parse.urlencode({**form, "client_id": client}),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Basic {basic}"},
            request_timeout=20,
        )

    async def _redeem(self, flow: LoginFlow, form: dict[str, str]) -> None:
        endpoint = (await self.discovery()).get("token_endpoint")
        if not isinstance(endpoint, str):
            raise IdentityError("the identity provider has no token endpoint")
        data = await self._fetch(self._token_request(endpoint, form))
        raw = data.get("id_token")
        if not isinstance(raw, str):
            raise IdentityError("the identity provider answered without an id_token")
        session = self._store(flow.user, raw, f"{flow.kind} sign-in")
        flow.status, flow.identity = "done", session.identity

    # -- flows --------------------------------------------------------------------------
    def _new_flow(self, user: str, kind: FlowKind) -> LoginFlow:
        self._prune()
        flow = LoginFlow(secrets.token_urlsafe(16), user, kind, time.time() + FLOW_LIFETIME)
        self._flows[flow.id] = flow
        return flow

    def _prune(self) -> None:
        now = time.time()
        for key in [k for k, f in self._flows.items() if f.expires_at + FLOW_LIFETIME < now]:
            self._flows.pop(key, None)

    def flow(self, user: str, flow_id: str) -> LoginFlow:
        """A flow of this user (KeyError for another user's or an unknown flow)."""
        flow = self._flows.get(flow_id)
        if flow is None or flow.user != user:
            raise KeyError(flow_id)
        if flow.status == "pending" and flow.expires_at < time.time():
            flow.status, flow.error = "failed", "the sign-in expired; start again"
        return flow

    def cancel(self, user: str, flow_id: str) -> LoginFlow:
        """Cancel a pending flow; a cancelled login changes nothing."""
        flow = self.flow(user, flow_id)
        if flow.status == "pending":
            flow.status, flow.error = "cancelled", "the sign-in was cancelled"
        if flow.task is not None:
            flow.task.cancel()
        return flow

    async def _authorization_url(self, flow: LoginFlow, redirect_uri: str) -> str:
        endpoint = (await self.discovery()).get("authorization_endpoint")
        if not isinstance(endpoint, str):
            raise IdentityError("the identity provider has no authorization endpoint")
        flow.code_verifier, challenge = _pkce()
        flow.state = secrets.token_urlsafe(24)
        flow.redirect_uri = redirect_uri
        params = {
            "response_type": "code",
            "client_id": self.config.oidc_client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid email",
            "state": flow.state,
            "nonce": secrets.token_urlsafe(16),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        separator = "&" if urllib.parse.urlsplit(endpoint).query else "?"
        return f"{endpoint}{separator}{urllib.parse.urlencode(params)}"

    async def start_browser(self, user: str, redirect_uri: str) -> LoginFlow:
        """Start an authorization-code flow whose redirect comes back to this Jupyter server."""
        flow = self._new_flow(user, "browser")
        flow.auth_url = await self._authorization_url(flow, redirect_uri)
        return flow

    async def finish_browser(self, user: str, params: dict[str, str]) -> LoginFlow:
        """Handle the redirect back: match the state to this user's flow, then redeem the code."""
        state = params.get("state", "")
        flow = next(
            (
                f
                for f in self._flows.values()
                if f.kind == "browser"
                and f.user == user
                and f.state
                and secrets.compare_digest(f.state, state)
            ),
            None,
        )
        if flow is None:
            raise KeyError("state")
        if flow.status != "pending":
            return flow
        if "error" in params:
            flow.status, flow.error = "failed", f"the identity provider refused: {params['error']}"
            return flow
        await self._settle(
            flow,
            {
                "grant_type": "authorization_code",
                "code": params.get("code", ""),
                "redirect_uri": flow.redirect_uri or "",
                "code_verifier": flow.code_verifier,
            },
        )
        return flow

    async def start_oob(self, user: str) -> LoginFlow:
        """Start an out-of-band flow: the user opens the URL anywhere and pastes back the code."""
        flow = self._new_flow(user, "oob")
        flow.auth_url = await self._authorization_url(flow, OOB_REDIRECT_URI)
        return flow

    async def finish_oob(self, user: str, flow_id: str, code: str) -> LoginFlow:
        """Redeem the code the user pasted for an out-of-band flow."""
        flow = self.flow(user, flow_id)
        if flow.kind != "oob" or flow.status != "pending":
            raise IdentityError("this sign-in is not waiting for a code; start again")
        if not code.strip():
            raise IdentityError("paste the code shown by the identity provider")
        await self._settle(
            flow,
            {
                "grant_type": "authorization_code",
                "code": code.strip(),
                "redirect_uri": OOB_REDIRECT_URI,
                "code_verifier": flow.code_verifier,
            },
        )
        return flow

    async def _settle(self, flow: LoginFlow, form: dict[str, str]) -> None:
        try:
            await self._redeem(flow, form)
        except IdentityError as exc:
            flow.status, flow.error = "failed", str(exc)

    async def start_device(self, user: str) -> LoginFlow:
        """Start an RFC 8628 device flow; a background task polls until the user approves."""
        endpoint = (await self.discovery()).get("device_authorization_endpoint")
        if not isinstance(endpoint, str):
            raise IdentityError(
                "this identity provider has no device sign-in; use the out-of-band code instead"
            )
        flow = self._new_flow(user, "device")
        client = self.config.oidc_client_id
        data = await self._fetch(
            HTTPRequest(
                endpoint,
                method="POST",
                body=urllib.parse.urlencode({"client_id": client, "scope": "openid email"}),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                request_timeout=20,
            )
        )
        try:
            flow.device_code = str(data["device_code"])
            flow.user_code = str(data["user_code"])
            flow.verification_uri = str(data.get("verification_uri") or data["verification_url"])
        except KeyError:
            raise IdentityError("the identity provider's device answer lacks a code") from None
        complete = data.get("verification_uri_complete")
        flow.verification_uri_complete = str(complete) if complete else None
        flow.interval = float(data.get("interval") or 5)
        flow.expires_at = time.time() + float(data.get("expires_in") or FLOW_LIFETIME)
        flow.task = asyncio.ensure_future(self._poll_device(flow))
        return flow

    async def _poll_device(self, flow: LoginFlow) -> None:
        endpoint = (await self.discovery()).get("token_endpoint")
        form = {"grant_type": DEVICE_GRANT, "device_code": flow.device_code}
        while flow.status == "pending":
            await asyncio.sleep(flow.interval)
            if flow.status != "pending":
                return
            if flow.expires_at < time.time():
                flow.status, flow.error = "failed", "the device code expired; start again"
                return
            try:
                response = await AsyncHTTPClient().fetch(
                    self._token_request(str(endpoint), form), raise_error=False
                )
            except OSError as exc:
                flow.status, flow.error = "failed", f"cannot reach the identity provider ({exc})"
                return
            if response.code == 200:
                try:
                    raw = json.loads(response.body).get("id_token")
                    if not isinstance(raw, str):
                        raise IdentityError("the identity provider answered without an id_token")
                    session = self._store(flow.user, raw, "device sign-in")
                    flow.status, flow.identity = "done", session.identity
                except (IdentityError, ValueError, AttributeError) as exc:
                    flow.status, flow.error = "failed", str(exc) or "unreadable token answer"
                return
            error = _oauth_error(response.body)
            if error.startswith("authorization_pending"):
                continue
            if error.startswith("slow_down"):
                flow.interval += 5
                continue
            flow.status, flow.error = "failed", f"the identity provider refused: {error}"
            return

    def shutdown(self) -> None:
        """Cancel background polls and forget every token."""
        for flow in self._flows.values():
            if flow.task is not None:
                with contextlib.suppress(Exception):
                    flow.task.cancel()
        self._flows.clear()
        self._sessions.clear()


def _unverified_claims(raw: str) -> dict[str, Any]:
    import jwt

    try:
        claims: dict[str, Any] = jwt.decode(raw, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims
