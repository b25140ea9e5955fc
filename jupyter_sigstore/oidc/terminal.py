"""The CLI's way to an identity token.

Order: an explicit token, ``$SIGSTORE_ID_TOKEN``, ambient CI credentials, then the interactive OAuth
flow of the instance's issuer through sigstore-python's ``Issuer`` (a browser with a local redirect, or
out-of-band). Token text never appears in an error or log.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from ..errors import IdentityError
from .discovery import issuer_url
from .sources import configured_client_id, unattended_token
from .tokens import parse_token

if TYPE_CHECKING:
    from sigstore.oidc import IdentityToken

    from ..instance import Instance


def obtain_token(
    instance: Instance,
    *,
    explicit: str | None = None,
    explicit_source: str = "--identity-token",
    force_oob: bool = False,
    interactive: bool | None = None,
    client_id: str | None = None,
) -> IdentityToken:
    """An identity token from the first source that has one (see the module docstring).

    ``client_id`` defaults to ``$JUPYTER_SIGSTORE_OIDC_CLIENT_ID``, else ``sigstore``: it is sent to the
    issuer and must be the token's audience.
    """
    client = client_id or configured_client_id()
    if explicit:
        return parse_token(explicit, explicit_source, client_id=client)
    found = unattended_token(client)
    if found is not None:
        return parse_token(found[0], found[1], client_id=client)

    if interactive is None:
        interactive = sys.stdin.isatty()
    if not interactive:
        raise IdentityError(
            "no identity token: set $SIGSTORE_ID_TOKEN, pass --identity-token, run where ambient "
            "CI credentials exist, or run on a terminal for the interactive login"
        )
    return _interactive_token(instance, client_id=client, force_oob=force_oob)


def _interactive_token(instance: Instance, *, client_id: str, force_oob: bool) -> IdentityToken:
    from id import IdentityError as IdIdentityError
    from sigstore.errors import Error as SigstoreError
    from sigstore.oidc import Issuer, IssuerError

    issuer = issuer_url(instance)
    try:
        token = Issuer(issuer).identity_token(client_id=client_id, force_oob=force_oob)
    except (SigstoreError, IssuerError, IdIdentityError) as exc:
        raise IdentityError(f"interactive login failed: {exc}") from None
    return parse_token(str(token), "the interactive login", client_id=client_id, issuer=issuer)
