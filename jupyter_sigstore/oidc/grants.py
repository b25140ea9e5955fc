"""The OAuth 2.0 grants a sign-in uses, as plain functions without I/O.

Authorization code with PKCE (RFC 7636; the browser and out-of-band flows) and the device authorization
grant (RFC 8628). Builders return what to send; parsers take the HTTP status and body that came back
and return values, so that a transport only does HTTP and waits. Nothing here ever holds a token in an
error message or a repr.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import secrets
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import IdentityError

OOB_REDIRECT_URI = "urn:ietf:wg:oauth:2.0:oob"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SCOPE = "openid email"
#: RFC 8628 section 3.5: a ``slow_down`` answer adds this much to the polling interval, for good.
SLOW_DOWN_STEP = 5.0
DEFAULT_INTERVAL = 5.0
MIN_INTERVAL = 0.2
_DETAIL_LIMIT = 200


# -- authorization code + PKCE ------------------------------------------------------------------------


@dataclass(frozen=True)
class PKCE:
    """A PKCE pair: the verifier stays with the client, the S256 challenge goes in the URL."""

    verifier: str = field(repr=False)
    challenge: str
    method: str = "S256"


def new_pkce() -> PKCE:
    """A fresh PKCE pair (a 64-character verifier, its S256 challenge)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return PKCE(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii"))


@dataclass(frozen=True)
class AuthorizationRequest:
    """Where to send the user, and what the answer must match (``state``, the token's ``nonce``)."""

    url: str
    redirect_uri: str
    state: str = field(repr=False)
    nonce: str = field(repr=False)
    pkce: PKCE = field(repr=False)


def authorization_request(endpoint: str, *, client_id: str, redirect_uri: str) -> AuthorizationRequest:
    """An authorization-code request with PKCE, a fresh ``state`` and a fresh ``nonce``."""
    pkce, state, nonce = new_pkce(), secrets.token_urlsafe(24), secrets.token_urlsafe(16)
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": SCOPE,
        "state": state,
        "nonce": nonce,
        "code_challenge": pkce.challenge,
        "code_challenge_method": pkce.method,
    }
    separator = "&" if urllib.parse.urlsplit(endpoint).query else "?"
    return AuthorizationRequest(
        f"{endpoint}{separator}{urllib.parse.urlencode(params)}", redirect_uri, state, nonce, pkce
    )


def state_matches(request: AuthorizationRequest, state: str) -> bool:
    """Constant-time comparison of a redirect's ``state`` with the one sent."""
    return bool(state) and secrets.compare_digest(request.state.encode(), state.encode())


def code_exchange_form(request: AuthorizationRequest, code: str, *, client_id: str) -> dict[str, str]:
    """The token-endpoint form redeeming an authorization code."""
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": request.redirect_uri,
        "code_verifier": request.pkce.verifier,
        "client_id": client_id,
    }


def token_headers(client_id: str) -> dict[str, str]:
    """Headers of a token-endpoint request from a public client: the form type and, as sigstore-python
    sends it, HTTP Basic with the client id and an empty secret (RFC 6749 section 2.3.1)."""
    basic = base64.b64encode(f"{urllib.parse.quote(client_id, safe='')}:".encode()).decode("ascii")
    return {"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Basic {basic}"}


# -- device authorization (RFC 8628) ------------------------------------------------------------------


def device_authorization_form(client_id: str) -> dict[str, str]:
    """The form posted to the device authorization endpoint."""
    return {"client_id": client_id, "scope": SCOPE}


@dataclass(frozen=True)
class DeviceGrant:
    """The issuer's answer to a device authorization request (the user code is shown to the user)."""

    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: float
    interval: float


def _json_object(body: bytes | str | None) -> dict[str, Any] | None:
    try:
        data = json.loads(body or b"")
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _text(value: Any) -> str:
    """An issuer-supplied string for an error line: printable characters only, cut short."""
    text = "".join(ch if ch.isprintable() else "?" for ch in str(value))
    return text if len(text) <= _DETAIL_LIMIT else text[: _DETAIL_LIMIT - 3] + "..."


def oauth_error(error: str, description: str = "") -> str:
    """``error: description`` from an OAuth error answer, safe to show."""
    error, description = _text(error), _text(description)
    return f"{error}: {description}" if description else error


def _positive(value: Any, default: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return default
    try:
        number = float(value)
    except ValueError:
        return default
    return number if math.isfinite(number) and number > 0 else default


def parse_device_authorization(
    status: int, body: bytes | str | None, *, fallback_lifetime: float
) -> DeviceGrant:
    """The device authorization answer; IdentityError when refused or incomplete."""
    data = _json_object(body)
    if status != 200:
        error = (
            oauth_error(data.get("error") or f"HTTP {status}", data.get("error_description") or "")
            if data
            else f"HTTP {status}"
        )
        raise IdentityError(f"the identity provider refused the device sign-in ({error})")
    if data is None:
        raise IdentityError("the identity provider's device sign-in answer is not a JSON object")
    device_code, user_code = data.get("device_code"), data.get("user_code")
    # "verification_url" is what Google's endpoint calls it
    uri = data.get("verification_uri") or data.get("verification_url")
    if not all(isinstance(v, str) and v for v in (device_code, user_code, uri)):
        raise IdentityError("the identity provider's device sign-in answer lacks a code or a URL")
    complete = data.get("verification_uri_complete")
    return DeviceGrant(
        device_code=str(device_code),
        user_code=str(user_code),
        verification_uri=str(uri),
        verification_uri_complete=complete if isinstance(complete, str) and complete else None,
        expires_in=_positive(data.get("expires_in"), fallback_lifetime),
        interval=max(_positive(data.get("interval"), DEFAULT_INTERVAL), MIN_INTERVAL),
    )


def device_token_form(grant: DeviceGrant, *, client_id: str) -> dict[str, str]:
    """The token-endpoint form that polls for a device grant's token."""
    return {"grant_type": DEVICE_GRANT, "device_code": grant.device_code, "client_id": client_id}


# -- token endpoint answers ---------------------------------------------------------------------------

Outcome = Literal["ok", "pending", "slow_down", "denied", "expired", "unreachable", "error"]


@dataclass(frozen=True)
class TokenAnswer:
    """What the token endpoint said, as a value: ``ok`` carries the ID token."""

    outcome: Outcome
    id_token: str | None = field(default=None, repr=False)
    detail: str = ""


_OUTCOMES: dict[str, Outcome] = {
    "authorization_pending": "pending",
    "slow_down": "slow_down",
    "access_denied": "denied",
    "expired_token": "expired",
}


def parse_token_answer(status: int, body: bytes | str | None) -> TokenAnswer:
    """Classify a token-endpoint answer (RFC 6749 section 5, RFC 8628 section 3.5)."""
    data = _json_object(body)
    if status == 200:
        raw = data.get("id_token") if data else None
        if isinstance(raw, str) and raw.strip():
            return TokenAnswer("ok", raw.strip())
        return TokenAnswer("error", detail="the identity provider answered without an ID token")
    if data is None or not isinstance(data.get("error"), str):
        return TokenAnswer("error", detail=f"the identity provider answered HTTP {status}")
    error = data["error"]
    return TokenAnswer(
        _OUTCOMES.get(error, "error"), detail=oauth_error(error, data.get("error_description") or "")
    )


def unreachable(reason: str) -> TokenAnswer:
    """The answer a transport records when the token endpoint could not be reached."""
    return TokenAnswer("unreachable", detail=f"cannot reach the identity provider ({_text(reason)})")


def answer_error(answer: TokenAnswer) -> str:
    """The one line a failed token answer gives the user."""
    if answer.outcome == "denied":
        return f"login denied at the identity provider ({answer.detail}); nothing was stored"
    if answer.outcome == "expired":
        return f"the login code expired before it was approved ({answer.detail}); start the login again"
    if answer.outcome == "unreachable":
        return f"{answer.detail}; nothing was stored"
    return f"the identity provider refused: {answer.detail}"


# -- polling the device grant -------------------------------------------------------------------------


@dataclass
class DevicePolling:
    """The polling decisions of RFC 8628 section 3.5, bounded by the caller's timeout.

    A transport asks :meth:`wait` how long to sleep, polls once, and hands the answer to :meth:`after`,
    which returns the ID token, raises IdentityError, or returns None to poll again. Times are the
    caller's monotonic clock, in seconds.
    """

    interval: float
    deadline: float
    bound: float = field(default=0.0)
    polls: int = 0

    @classmethod
    def start(cls, grant: DeviceGrant, *, timeout: float, now: float) -> DevicePolling:
        """Polling for ``grant`` that gives up after ``timeout`` seconds or the code's lifetime."""
        bound = min(grant.expires_in, timeout)
        return cls(interval=grant.interval, deadline=now + bound, bound=bound)

    def wait(self, now: float) -> float:
        """Seconds to sleep before the next poll (never past the deadline)."""
        return max(0.0, min(self.interval, self.deadline - now))

    def after(self, answer: TokenAnswer, now: float) -> str | None:
        """The ID token, or None to keep polling; IdentityError when the login has ended without one."""
        self.polls += 1
        if answer.outcome == "ok" and answer.id_token:
            return answer.id_token
        if answer.outcome == "slow_down":
            self.interval += SLOW_DOWN_STEP
        elif answer.outcome not in ("pending", "unreachable"):
            raise IdentityError(answer_error(answer))
        if now >= self.deadline:
            last = f" (last answer: {answer.detail})" if answer.outcome == "unreachable" else ""
            raise IdentityError(
                f"login timed out after {describe_duration(self.bound)}{last}; nothing was stored"
            )
        return None


def describe_duration(seconds: float) -> str:
    """``3 s``, ``1 min``, ``2 min 30 s``: a wait as a person reads it (whole seconds, rounded up)."""
    total = max(1, math.ceil(seconds - 1e-9))
    if total < 60:
        return f"{total} s"
    minutes, rest = divmod(total, 60)
    return f"{minutes} min" if rest == 0 else f"{minutes} min {rest} s"
