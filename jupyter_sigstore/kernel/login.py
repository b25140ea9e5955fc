"""Getting an OIDC identity inside a kernel, which may run on a machine with no browser.

Order (``method="auto"``): ``$SIGSTORE_ID_TOKEN``, ambient CI credentials, then the issuer's
device-authorization grant (RFC 8628) when its discovery document offers one, else the out-of-band
authorization-code flow (PKCE). The interactive flows show a URL and a code, wait with a timeout, and
stop on the kernel interrupt. The token lives in this process's memory only: it is never returned to
the user namespace, printed, logged, or put in an error message.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

from ..errors import IdentityError
from ..identity import CLIENT_ID, parse_token, unattended_token

if TYPE_CHECKING:
    from sigstore.oidc import IdentityToken

    from ..instance import Instance

Method = Literal["auto", "device", "oob"]
OOB_REDIRECT_URI = "urn:ietf:wg:oauth:2.0:oob"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_TIMEOUT = 300.0
_HTTP_TIMEOUT = 30.0


@dataclass(frozen=True)
class LoginPrompt:
    """What the user must do to finish an interactive login (safe to show: no secret in it)."""

    flow: Literal["device", "oob"]
    url: str
    user_code: str | None
    expires_in: float


@dataclass(frozen=True)
class Login:
    """An identity held in memory: who, from which issuer, until when, obtained how."""

    token: IdentityToken
    identity: str
    issuer: str
    expires_at: datetime | None
    source: str

    def expired(self, now: datetime | None = None) -> bool:
        """True once the token's ``exp`` has passed."""
        if self.expires_at is None:
            return not self.token.in_validity_period()
        return (now or datetime.now(timezone.utc)) >= self.expires_at

    def describe(self) -> str:
        """One line for ``%sigstore whoami`` (never the token)."""
        until = f", valid until {self.expires_at.isoformat(timespec='seconds')}" if self.expires_at else ""
        return f"{self.identity} (issuer {self.issuer}; from {self.source}{until})"

    def __repr__(self) -> str:  # keep the token out of any accidental repr
        return f"Login({self.describe()})"


def _login_from_raw(raw: str, source: str) -> Login:
    from ..identity import _claims

    token = parse_token(raw, source)
    exp = _claims(raw).get("exp")
    expires = datetime.fromtimestamp(exp, timezone.utc) if isinstance(exp, (int, float)) else None
    return Login(token, str(token.identity), str(token.issuer), expires, source)


def _oauth_error(response: Any) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    return str(body.get("error") or f"HTTP {response.status_code}"), str(body.get("error_description") or "")


class KernelIdentity:
    """The kernel's identity session: ``login``, ``current``, ``require``, ``logout``."""

    def __init__(self) -> None:
        self._login: Login | None = None

    @property
    def login_state(self) -> Login | None:
        """The in-memory login, if any (possibly expired)."""
        return self._login

    def logout(self) -> bool:
        """Forget the in-memory token; True if there was one."""
        had = self._login is not None
        self._login = None
        return had

    def ambient(self) -> Login | None:
        """An identity available without asking the user: ``$SIGSTORE_ID_TOKEN`` or CI credentials."""
        found = unattended_token()
        return _login_from_raw(*found) if found else None

    def current(self) -> Login | None:
        """The identity signing would use now (in-memory login first, then ambient), or None."""
        if self._login is not None:
            return self._login
        return self.ambient()

    def require(self) -> Login:
        """The identity to sign with; one actionable error line when there is none or it expired."""
        login = self.current()
        if login is None:
            raise IdentityError("no identity: run `%sigstore login` first; nothing was signed")
        if login.expired():
            when = login.expires_at.isoformat(timespec="seconds") if login.expires_at else "already"
            raise IdentityError(
                f"your identity token ({login.identity}) expired at {when}; run `%sigstore login` again; "
                "nothing was signed"
            )
        return login

    def login(
        self,
        instance: Instance,
        *,
        method: Method = "auto",
        timeout: float = DEFAULT_TIMEOUT,
        show: Callable[[LoginPrompt], None],
        ask_code: Callable[[str], str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Login:
        """Obtain and keep a token. ``show`` displays the URL/code; ``ask_code`` reads an OOB code.

        Raises IdentityError (timeout, denial, bad token) and lets KeyboardInterrupt (the kernel
        interrupt) through for the caller to report as a cancellation.
        """
        if method == "auto":
            found = self.ambient()
            if found is not None:
                self._login = found
                return found
        issuer_url = _issuer_url(instance)
        discovery = _discover(issuer_url)
        use_device = method == "device" or (
            method == "auto" and bool(discovery.get("device_authorization_endpoint"))
        )
        if use_device:
            raw = device_flow(discovery, timeout=timeout, show=show, sleep=sleep)
            source = "device login"
        else:
            if ask_code is None:
                raise IdentityError("the out-of-band login needs a way to type the code; use --device")
            raw = oob_flow(discovery, timeout=timeout, show=show, ask_code=ask_code)
            source = "out-of-band login"
        login = _login_from_raw(raw, source)
        self._login = login
        return login


def _issuer_url(instance: Instance) -> str:
    from sigstore.errors import Error as SigstoreError

    config = instance.client_trust_config(offline=False)
    try:
        return str(config.signing_config.get_oidc_url())
    except SigstoreError as exc:
        raise IdentityError(f"the {instance.name} instance names no OIDC issuer: {exc}") from None


def _discover(issuer_url: str) -> dict[str, Any]:
    import requests

    url = issuer_url.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=_HTTP_TIMEOUT)
    except requests.RequestException as exc:
        reason = type(exc).__name__
        raise IdentityError(f"cannot reach the identity provider {issuer_url} ({reason})") from None
    if response.status_code != 200:
        raise IdentityError(f"identity provider {issuer_url}: discovery failed (HTTP {response.status_code})")
    try:
        doc = response.json()
    except ValueError:
        doc = None
    if not isinstance(doc, dict) or not doc.get("token_endpoint"):
        raise IdentityError(f"identity provider {issuer_url}: discovery document is unusable")
    return doc


def device_flow(
    discovery: dict[str, Any],
    *,
    timeout: float,
    show: Callable[[LoginPrompt], None],
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """RFC 8628: get a user code, show it, poll the token endpoint; return the raw ID token."""
    import requests

    endpoint = discovery.get("device_authorization_endpoint")
    if not endpoint:
        raise IdentityError("the identity provider offers no device login; use `%sigstore login --oob`")
    try:
        response = requests.post(
            endpoint, data={"client_id": CLIENT_ID, "scope": "openid email"}, timeout=_HTTP_TIMEOUT
        )
    except requests.RequestException as exc:
        reason = type(exc).__name__
        raise IdentityError(f"device login: cannot reach the identity provider ({reason})") from None
    if response.status_code != 200:
        error, detail = _oauth_error(response)
        raise IdentityError(f"device login refused by the identity provider: {error} {detail}".strip())
    grant = response.json()
    device_code, user_code = grant.get("device_code"), grant.get("user_code")
    if not isinstance(device_code, str) or not isinstance(user_code, str):
        raise IdentityError("device login: the identity provider's answer lacks a device or user code")
    expires_in = float(grant.get("expires_in") or timeout)
    interval = max(float(grant.get("interval") or 5), 0.2)
    show(
        LoginPrompt(
            "device",
            str(grant.get("verification_uri_complete") or grant.get("verification_uri")),
            user_code,
            min(expires_in, timeout),
        )
    )
    deadline = time.monotonic() + min(expires_in, timeout)
    while True:
        sleep(interval)
        if time.monotonic() > deadline:
            raise IdentityError(f"login timed out after {min(expires_in, timeout):.0f} s; nothing was stored")
        try:
            response = requests.post(
                discovery["token_endpoint"],
                data={"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": CLIENT_ID},
                timeout=_HTTP_TIMEOUT,
            )
        except requests.RequestException:
            continue  # transient; the deadline bounds the wait
        if response.status_code == 200:
            return _id_token(response)
        error, detail = _oauth_error(response)
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval += 5
            continue
        if error == "access_denied":
            raise IdentityError("login denied at the identity provider; nothing was stored")
        if error == "expired_token":
            raise IdentityError("the login code expired before it was approved; run `%sigstore login` again")
        raise IdentityError(f"device login failed: {error} {detail}".strip())


def oob_flow(
    discovery: dict[str, Any],
    *,
    timeout: float,
    show: Callable[[LoginPrompt], None],
    ask_code: Callable[[str], str],
) -> str:
    """Out-of-band authorization code flow with PKCE: show a URL, read the code, redeem it."""
    import requests

    endpoint = discovery.get("authorization_endpoint")
    if not endpoint:
        raise IdentityError("the identity provider has no authorization endpoint")
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": OOB_REDIRECT_URI,
        "scope": "openid email",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": secrets.token_urlsafe(16),
        "nonce": secrets.token_urlsafe(16),
    }
    url = f"{endpoint}{'&' if '?' in endpoint else '?'}{urllib.parse.urlencode(params)}"
    started = time.monotonic()
    show(LoginPrompt("oob", url, None, timeout))
    code = ask_code("Paste the verification code from the browser: ").strip()
    if not code:
        raise IdentityError("login cancelled: no code was entered; nothing was stored")
    if time.monotonic() - started > timeout:
        raise IdentityError(f"login timed out after {timeout:.0f} s; run `%sigstore login` again")
    try:
        response = requests.post(
            discovery["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": OOB_REDIRECT_URI,
                "code_verifier": verifier,
                "client_id": CLIENT_ID,
            },
            auth=(CLIENT_ID, ""),
            timeout=_HTTP_TIMEOUT,
        )
    except requests.RequestException as exc:
        raise IdentityError(f"login: cannot reach the identity provider ({type(exc).__name__})") from None
    if response.status_code != 200:
        error, _ = _oauth_error(response)
        raise IdentityError(f"the code was not accepted ({error}); run `%sigstore login` again")
    return _id_token(response)


def _id_token(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    token = body.get("id_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise IdentityError("the identity provider answered without an ID token")
    return token


#: The kernel-wide identity session used by the magics and the widget.
SESSION = KernelIdentity()
