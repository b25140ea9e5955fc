"""An OIDC ID token's claims, checked before it is used to sign: expiry, audience, issuer, nonce.

The signature of the token is not checked here (Fulcio does that, as sigstore-python's own client
assumes); what is checked is whether the token can work and is the one a flow asked for, so the user
learns why before anything is sent to Fulcio. No message here ever holds the token's text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import jwt

from ..errors import IdentityError

if TYPE_CHECKING:
    from sigstore.oidc import IdentityToken

#: The OAuth client id of the public-good instance's issuer, and so the audience its Fulcio accepts.
DEFAULT_CLIENT_ID = "sigstore"
# sigstore-python's IdentityToken allows this much clock skew on iat/exp; use the same for nbf.
_LEEWAY = 5


@dataclass(frozen=True)
class Login:
    """An identity held in memory: who, from which issuer, until when, obtained how (never printed)."""

    token: IdentityToken = field(repr=False)
    identity: str
    issuer: str
    expires_at: datetime
    source: str

    def seconds_left(self, now: datetime | None = None) -> float:
        """Seconds until the token's ``exp`` (negative once it passed)."""
        return (self.expires_at - (now or datetime.now(timezone.utc))).total_seconds()

    def expired(self, now: datetime | None = None) -> bool:
        """True once the token's ``exp`` has passed."""
        return self.seconds_left(now) <= 0

    def describe(self) -> str:
        """One line naming the identity (never the token)."""
        until = self.expires_at.isoformat(timespec="seconds")
        return f"{self.identity} (issuer {self.issuer}; from {self.source}, valid until {until})"

    def __repr__(self) -> str:
        return f"Login({self.describe()})"


def token_claims(raw: str) -> dict[str, Any]:
    """The token's claims, unverified; IdentityError when it is not a JWT."""
    try:
        claims = jwt.decode(raw.strip(), options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise IdentityError(f"the identity token is not a valid JWT ({type(exc).__name__})") from None
    if not isinstance(claims, dict):
        raise IdentityError("the identity token is not a valid JWT (its claims are not an object)")
    return claims


def _shown(value: Any) -> str:
    """A claim's value for an error line: repr (escapes control characters), cut short."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _check_claims(
    claims: dict[str, Any],
    source: str,
    *,
    client_id: str,
    issuer: str | None,
    nonce: str | None,
    now: datetime | None,
) -> None:
    moment = (now or datetime.now(timezone.utc)).timestamp()
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or isinstance(exp, bool):
        raise IdentityError(f"the identity token from {source} has no expiry time (exp)")
    if exp <= moment:
        when = datetime.fromtimestamp(exp, timezone.utc).isoformat(timespec="seconds")
        raise IdentityError(f"the identity token from {source} expired at {when}; get a fresh one")
    nbf = claims.get("nbf")
    if isinstance(nbf, (int, float)) and not isinstance(nbf, bool) and nbf > moment + _LEEWAY:
        when = datetime.fromtimestamp(nbf, timezone.utc).isoformat(timespec="seconds")
        raise IdentityError(
            f"the identity token from {source} is not valid before {when}; check this computer's clock"
        )
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if client_id not in audiences:
        raise IdentityError(
            f"the identity token from {source} is for audience {_shown(aud)}, not {client_id!r}: get a "
            "token for that audience, or set the client id your Sigstore instance's Fulcio expects "
            "($JUPYTER_SIGSTORE_OIDC_CLIENT_ID, c.Sigstore.oidc_client_id)"
        )
    if issuer is not None and str(claims.get("iss", "")).rstrip("/") != issuer.rstrip("/"):
        raise IdentityError(
            f"the identity token from {source} was issued by {_shown(claims.get('iss'))}, not by "
            f"{issuer}, the identity provider this sign-in used; nothing was stored"
        )
    if nonce is not None and claims.get("nonce") != nonce:
        raise IdentityError(
            f"the identity token from {source} does not belong to this sign-in (its nonce differs); "
            "nothing was stored"
        )


def parse_token(
    raw: str,
    source: str,
    *,
    client_id: str = DEFAULT_CLIENT_ID,
    issuer: str | None = None,
    nonce: str | None = None,
    now: datetime | None = None,
) -> IdentityToken:
    """Raw JWT text -> a sigstore IdentityToken, after checking expiry, audience (``client_id``) and,
    for a token a sign-in flow just obtained, its issuer and nonce. One error line, never the token."""
    from sigstore.oidc import IdentityError as SigstoreIdentityError
    from sigstore.oidc import IdentityToken

    raw = raw.strip()
    _check_claims(token_claims(raw), source, client_id=client_id, issuer=issuer, nonce=nonce, now=now)
    try:
        return IdentityToken(raw, client_id=client_id)
    except SigstoreIdentityError as exc:
        raise IdentityError(f"the identity token from {source} is unusable: {exc}") from None


def read_login(
    raw: str,
    source: str,
    *,
    client_id: str = DEFAULT_CLIENT_ID,
    issuer: str | None = None,
    nonce: str | None = None,
    now: datetime | None = None,
) -> Login:
    """:func:`parse_token`, kept with who it names and until when."""
    token = parse_token(raw, source, client_id=client_id, issuer=issuer, nonce=nonce, now=now)
    exp = token_claims(raw)["exp"]
    expires_at = datetime.fromtimestamp(exp, timezone.utc)
    return Login(token, str(token.identity), str(token.issuer), expires_at, source)
