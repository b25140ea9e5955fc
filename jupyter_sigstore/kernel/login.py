"""Getting an OIDC identity inside a kernel, which may run on a machine with no browser.

Order (``method="auto"``): ``$SIGSTORE_ID_TOKEN``, ambient CI credentials, then the issuer's
device-authorization grant (RFC 8628) when its discovery document offers one, else the out-of-band
authorization-code flow (PKCE). The interactive flows show a URL and a code, wait with a timeout, and
stop on the kernel interrupt. The token lives in this process's memory only: it is never returned to
the user namespace, printed, logged, or put in an error message.

The OAuth client id is ``$JUPYTER_SIGSTORE_OIDC_CLIENT_ID`` (default ``sigstore``), as for the CLI.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Literal

from ..errors import IdentityError
from ..oidc import sync_transport
from ..oidc.discovery import issuer_url
from ..oidc.grants import OOB_REDIRECT_URI, authorization_request, code_exchange_form, describe_duration
from ..oidc.sources import configured_client_id, unattended_token
from ..oidc.tokens import Login, read_login

if TYPE_CHECKING:
    from ..instance import Instance

__all__ = ["DEFAULT_TIMEOUT", "SESSION", "KernelIdentity", "Login", "LoginPrompt", "Method"]

Method = Literal["auto", "device", "oob"]
DEFAULT_TIMEOUT = 300.0


@dataclass(frozen=True)
class LoginPrompt:
    """What the user must do to finish an interactive login (safe to show: no secret in it)."""

    flow: Literal["device", "oob"]
    url: str
    user_code: str | None
    expires_in: float

    def wait_text(self) -> str:
        """How long the login waits, as a person reads it (``3 s``, ``5 min``)."""
        return describe_duration(self.expires_in)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class KernelIdentity:
    """The kernel's identity session: ``login``, ``current``, ``require``, ``logout``."""

    def __init__(self, client_id: str | None = None, *, now: Callable[[], datetime] = _utc_now) -> None:
        self._client_id = client_id
        self._login: Login | None = None
        #: The clock that expiry is judged by (a test moves it instead of waiting for a token to expire).
        self.now = now

    @property
    def client_id(self) -> str:
        """The OAuth client id: as given, else ``$JUPYTER_SIGSTORE_OIDC_CLIENT_ID``, else ``sigstore``."""
        return self._client_id or configured_client_id()

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
        found = unattended_token(self.client_id)
        return read_login(*found, client_id=self.client_id) if found else None

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
        if login.expired(self.now()):
            when = login.expires_at.isoformat(timespec="seconds")
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
        clock: Callable[[], float] = time.monotonic,
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
        issuer = issuer_url(instance)
        discovery = sync_transport.discover(issuer)
        client_id = self.client_id
        use_device = method == "device" or (
            method == "auto" and bool(discovery.device_authorization_endpoint)
        )
        if use_device:
            grant = sync_transport.request_device_grant(
                discovery, client_id=client_id, fallback_lifetime=timeout
            )
            show(
                LoginPrompt(
                    "device",
                    grant.verification_uri_complete or grant.verification_uri,
                    grant.user_code,
                    min(grant.expires_in, timeout),
                )
            )
            raw = sync_transport.poll_device(
                discovery, grant, client_id=client_id, timeout=timeout, sleep=sleep, clock=clock
            )
            login = read_login(raw, "device login", client_id=client_id, issuer=issuer)
        else:
            if ask_code is None:
                raise IdentityError("the out-of-band login needs a way to type the code; use --device")
            request = authorization_request(
                discovery.authorization_endpoint, client_id=client_id, redirect_uri=OOB_REDIRECT_URI
            )
            started = clock()
            show(LoginPrompt("oob", request.url, None, timeout))
            code = ask_code("Paste the verification code from the browser: ").strip()
            if not code:
                raise IdentityError("login cancelled: no code was entered; nothing was stored")
            if clock() - started > timeout:
                raise IdentityError(
                    f"login timed out after {describe_duration(timeout)}; run `%sigstore login` again"
                )
            answer = sync_transport.redeem(
                discovery, code_exchange_form(request, code, client_id=client_id), client_id=client_id
            )
            if answer.outcome != "ok" or answer.id_token is None:
                raise IdentityError(
                    f"the code was not accepted ({answer.detail}); run `%sigstore login` again"
                )
            login = read_login(
                answer.id_token, "out-of-band login", client_id=client_id, issuer=issuer, nonce=request.nonce
            )
        self._login = login
        return login


#: The kernel-wide identity session used by the magics and the widget.
SESSION = KernelIdentity()
