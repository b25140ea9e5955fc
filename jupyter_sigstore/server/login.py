"""Identity flows for signing from the browser: ambient credentials, a browser redirect back to the
Jupyter server (authorization code + PKCE), and a device-code or out-of-band flow for remote servers.

Tokens live in this process's memory only, keyed by the Jupyter user; they are never written to disk,
logged, or sent back to the browser. ``c.Sigstore.oidc_client_id`` is the client id sent to the issuer
and the audience every token signed in here must name.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from dataclasses import dataclass, field
from logging import Logger
from typing import TYPE_CHECKING, Any, Literal

from ..errors import IdentityError
from ..oidc import async_transport
from ..oidc.discovery import Discovery, issuer_url
from ..oidc.grants import (
    OOB_REDIRECT_URI,
    AuthorizationRequest,
    DeviceGrant,
    answer_error,
    authorization_request,
    code_exchange_form,
    oauth_error,
    state_matches,
)
from ..oidc.sources import ambient_available, unattended_token
from ..oidc.tokens import Login, read_login

if TYPE_CHECKING:
    from sigstore.oidc import IdentityToken

    from .config import Sigstore

FLOW_LIFETIME = 600.0
FlowKind = Literal["browser", "device", "oob"]
FlowStatus = Literal["pending", "done", "failed", "cancelled"]


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
    # what the flow must match or keep secret: never serialised
    issuer: str = field(default="", repr=False)
    discovery: Discovery | None = field(default=None, repr=False)
    request: AuthorizationRequest | None = field(default=None, repr=False)
    grant: DeviceGrant | None = field(default=None, repr=False)
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    def public(self) -> dict[str, Any]:
        """What the front end may see (no device code, verifier, state or token)."""
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

    def fail(self, message: str) -> None:
        self.status, self.error = "failed", message


class IdentityBroker:
    """Runs login flows and keeps each user's identity token in memory until it expires."""

    def __init__(self, config: Sigstore, log: Logger) -> None:
        self.config = config
        self.log = log
        self._sessions: dict[str, Login] = {}
        self._flows: dict[str, LoginFlow] = {}

    @property
    def client_id(self) -> str:
        """``c.Sigstore.oidc_client_id``: sent to the issuer, and the audience tokens must name."""
        return str(self.config.oidc_client_id)

    # -- sessions -----------------------------------------------------------------------
    def status(self, user: str) -> dict[str, Any]:
        """The user's signed-in identity (if any) and the login methods on offer."""
        session = self._live_session(user)
        return {
            "identity": session.identity if session else None,
            "issuer": session.issuer if session else None,
            "source": session.source if session else None,
            "expires_in": max(0, int(session.seconds_left())) if session else None,
            "methods": {
                "ambient": self.config.ambient_credentials and ambient_available(),
                "browser": True,
                "device": True,
                "oob": True,
            },
        }

    def _live_session(self, user: str) -> Login | None:
        session = self._sessions.get(user)
        if session is not None and session.seconds_left() <= 5:
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

    def _store(
        self, user: str, raw: str, source: str, *, issuer: str | None = None, nonce: str | None = None
    ) -> Login:
        session = read_login(raw, source, client_id=self.client_id, issuer=issuer, nonce=nonce)
        self._sessions[user] = session
        self.log.info("jupyter-sigstore: %s signed in to Sigstore as %s (%s)", user, session.identity, source)
        return session

    def login_ambient(self, user: str) -> Login:
        """Sign the user in with the server's ambient credentials."""
        if not self.config.ambient_credentials:
            raise IdentityError(
                "ambient credentials are disabled on this server (c.Sigstore.ambient_credentials)"
            )
        found = unattended_token(self.client_id)
        if found is None:
            raise IdentityError(
                "this server has no ambient credentials ($SIGSTORE_ID_TOKEN or CI credentials); "
                "sign in with the browser, a device code or a pasted token"
            )
        raw, source = found
        return self._store(user, raw, source)

    def login_token(self, user: str, raw: str) -> Login:
        """Sign the user in with a token they pasted (checked like ``--identity-token``)."""
        return self._store(user, raw, "a pasted identity token")

    # -- flows --------------------------------------------------------------------------
    async def _new_flow(self, user: str, kind: FlowKind) -> LoginFlow:
        """A flow with the issuer's discovery document, read the same way as in the kernel and CLI."""
        instance = self.config.select_instance()
        issuer = await asyncio.to_thread(issuer_url, instance)  # may refresh the trust root over TUF
        discovery = await async_transport.discover(issuer)
        self._prune()
        flow = LoginFlow(secrets.token_urlsafe(16), user, kind, time.time() + FLOW_LIFETIME)
        flow.issuer, flow.discovery = issuer, discovery
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
            flow.fail("the sign-in expired; start again")
        return flow

    def cancel(self, user: str, flow_id: str) -> LoginFlow:
        """Cancel a pending flow; a cancelled login changes nothing."""
        flow = self.flow(user, flow_id)
        if flow.status == "pending":
            flow.status, flow.error = "cancelled", "the sign-in was cancelled"
        if flow.task is not None:
            flow.task.cancel()
        return flow

    async def _start_code_flow(self, user: str, kind: FlowKind, redirect_uri: str) -> LoginFlow:
        flow = await self._new_flow(user, kind)
        assert flow.discovery is not None
        flow.request = authorization_request(
            flow.discovery.authorization_endpoint, client_id=self.client_id, redirect_uri=redirect_uri
        )
        flow.auth_url = flow.request.url
        return flow

    async def start_browser(self, user: str, redirect_uri: str) -> LoginFlow:
        """Start an authorization-code flow whose redirect comes back to this Jupyter server."""
        return await self._start_code_flow(user, "browser", redirect_uri)

    async def finish_browser(self, user: str, params: dict[str, str]) -> LoginFlow:
        """Handle the redirect back: match the state to this user's flow, then redeem the code."""
        state = params.get("state", "")
        flow = next(
            (
                f
                for f in self._flows.values()
                if f.kind == "browser" and f.user == user and f.request and state_matches(f.request, state)
            ),
            None,
        )
        if flow is None:
            raise KeyError("state")
        if flow.status != "pending":
            return flow
        if "error" in params:
            flow.fail(f"the identity provider refused: {oauth_error(params['error'])}")
            return flow
        await self._redeem(flow, params.get("code", ""))
        return flow

    async def start_oob(self, user: str) -> LoginFlow:
        """Start an out-of-band flow: the user opens the URL anywhere and pastes back the code."""
        return await self._start_code_flow(user, "oob", OOB_REDIRECT_URI)

    async def finish_oob(self, user: str, flow_id: str, code: str) -> LoginFlow:
        """Redeem the code the user pasted for an out-of-band flow."""
        flow = self.flow(user, flow_id)
        if flow.kind != "oob" or flow.status != "pending":
            raise IdentityError("this sign-in is not waiting for a code; start again")
        if not code.strip():
            raise IdentityError("paste the code shown by the identity provider")
        await self._redeem(flow, code.strip())
        return flow

    async def _redeem(self, flow: LoginFlow, code: str) -> None:
        assert flow.discovery is not None and flow.request is not None
        form = code_exchange_form(flow.request, code, client_id=self.client_id)
        answer = await async_transport.redeem(flow.discovery, form, client_id=self.client_id)
        if answer.outcome != "ok" or answer.id_token is None:
            flow.fail(answer_error(answer))
            return
        self._finish(flow, answer.id_token, nonce=flow.request.nonce)

    def _finish(self, flow: LoginFlow, raw: str, *, nonce: str | None = None) -> None:
        try:
            session = self._store(flow.user, raw, f"{flow.kind} sign-in", issuer=flow.issuer, nonce=nonce)
        except IdentityError as exc:
            flow.fail(str(exc))
            return
        flow.status, flow.identity = "done", session.identity

    async def start_device(self, user: str) -> LoginFlow:
        """Start an RFC 8628 device flow; a background task polls until the user approves."""
        flow = await self._new_flow(user, "device")
        assert flow.discovery is not None
        try:
            grant = await async_transport.request_device_grant(
                flow.discovery, client_id=self.client_id, fallback_lifetime=FLOW_LIFETIME
            )
        except IdentityError:
            self._flows.pop(flow.id, None)
            raise
        flow.grant = grant
        flow.user_code = grant.user_code
        flow.verification_uri = grant.verification_uri
        flow.verification_uri_complete = grant.verification_uri_complete
        flow.expires_at = time.time() + min(grant.expires_in, FLOW_LIFETIME)
        flow.task = asyncio.ensure_future(self._poll_device(flow))
        return flow

    async def _poll_device(self, flow: LoginFlow) -> None:
        assert flow.discovery is not None and flow.grant is not None
        try:
            raw = await async_transport.poll_device(
                flow.discovery, flow.grant, client_id=self.client_id, timeout=FLOW_LIFETIME
            )
        except IdentityError as exc:
            if flow.status == "pending":
                flow.fail(str(exc))
            return
        except Exception as exc:  # a background task must not die silently
            self.log.warning("jupyter-sigstore: device sign-in failed (%s)", type(exc).__name__)
            if flow.status == "pending":
                flow.fail(f"the sign-in failed ({type(exc).__name__}); start again")
            return
        if flow.status == "pending":
            self._finish(flow, raw)

    def shutdown(self) -> None:
        """Cancel background polls and forget every token."""
        for flow in self._flows.values():
            if flow.task is not None:
                with contextlib.suppress(Exception):
                    flow.task.cancel()
        self._flows.clear()
        self._sessions.clear()
