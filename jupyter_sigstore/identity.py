"""Obtaining an OIDC identity token for keyless signing.

Order: an explicit token, ``$SIGSTORE_ID_TOKEN``, ambient CI credentials, then the interactive OAuth
flow of the instance's issuer (browser, or out-of-band). Token text never appears in an error or log.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .errors import IdentityError

if TYPE_CHECKING:
    from sigstore.oidc import IdentityToken

    from .instance import Instance

ENV_TOKEN = "SIGSTORE_ID_TOKEN"
CLIENT_ID = "sigstore"


def _claims(raw: str) -> dict[str, Any]:
    import jwt

    try:
        claims: dict[str, Any] = jwt.decode(raw, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise IdentityError(f"the identity token is not a valid JWT ({type(exc).__name__})") from None
    return claims


def parse_token(raw: str, source: str) -> IdentityToken:
    """Turn raw JWT text into a sigstore IdentityToken, with a precise error (never the token)."""
    from sigstore.oidc import IdentityError as SigstoreIdentityError
    from sigstore.oidc import IdentityToken

    raw = raw.strip()
    claims = _claims(raw)
    exp = claims.get("exp")
    if isinstance(exp, (int, float)) and exp < datetime.now(timezone.utc).timestamp():
        when = datetime.fromtimestamp(exp, timezone.utc).isoformat(timespec="seconds")
        raise IdentityError(f"the identity token from {source} expired at {when}; get a fresh one")
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if CLIENT_ID not in audiences:
        raise IdentityError(f"the identity token from {source} is for audience {aud!r}, not {CLIENT_ID!r}")
    try:
        return IdentityToken(raw, client_id=CLIENT_ID)
    except SigstoreIdentityError as exc:
        raise IdentityError(f"the identity token from {source} is unusable: {exc}") from None


def unattended_token() -> tuple[str, str] | None:
    """A raw token available without asking anyone, with its source: ``$SIGSTORE_ID_TOKEN``, else
    ambient CI credentials (GitHub Actions, GitLab, Buildkite, cloud metadata...), else None."""
    env = os.environ.get(ENV_TOKEN)
    if env:
        return env, f"${ENV_TOKEN}"

    from sigstore.oidc import IdentityError as SigstoreIdentityError
    from sigstore.oidc import detect_credential

    try:
        ambient = detect_credential(CLIENT_ID)
    except SigstoreIdentityError as exc:
        raise IdentityError(f"ambient CI credentials were found but unusable: {exc}") from None
    return (ambient, "ambient CI credentials") if ambient else None


def obtain_token(
    instance: Instance,
    *,
    explicit: str | None = None,
    force_oob: bool = False,
    interactive: bool | None = None,
) -> IdentityToken:
    """Get an identity token from the first source that has one (see module docstring)."""
    if explicit:
        return parse_token(explicit, "--identity-token")
    found = unattended_token()
    if found is not None:
        return parse_token(*found)

    if interactive is None:
        interactive = sys.stdin.isatty()
    if not interactive:
        raise IdentityError(
            "no identity token: pass --identity-token, set $SIGSTORE_ID_TOKEN, run where ambient "
            "CI credentials exist, or run on a terminal for the interactive login"
        )
    return _interactive_token(instance, force_oob=force_oob)


def _interactive_token(instance: Instance, *, force_oob: bool) -> IdentityToken:
    from sigstore.errors import Error as SigstoreError
    from sigstore.oidc import Issuer

    from .errors import TrustConfigError

    config = instance.client_trust_config(offline=False)
    try:
        issuer = Issuer(config.signing_config.get_oidc_url())
        return issuer.identity_token(client_id=CLIENT_ID, force_oob=force_oob)
    except TrustConfigError:
        raise
    except SigstoreError as exc:
        raise IdentityError(f"interactive login failed: {exc}") from None
