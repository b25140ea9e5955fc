"""Which identity provider a sign-in uses, and what its discovery document says.

The issuer comes from the instance's signing config, read **online** (a TUF refresh for the public-good
instances; a trust config file is read as it is) by the CLI, the kernel and the server alike. Signing
reads the same config online to choose Fulcio, so the token is obtained from the issuer that Fulcio will
be asked to trust; a login needs the network anyway, and a failing refresh is better reported before the
user spends time in a browser than after.
"""

from __future__ import annotations

import ipaddress
import json
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import IdentityError, TrustConfigError

if TYPE_CHECKING:
    from ..instance import Instance

WELL_KNOWN = "/.well-known/openid-configuration"


def issuer_url(instance: Instance) -> str:
    """The OIDC issuer the instance's signing config names (read online; see the module docstring)."""
    from sigstore.errors import Error as SigstoreError

    config = instance.client_trust_config(offline=False)
    try:
        return str(config.signing_config.get_oidc_url())
    except SigstoreError as exc:
        raise TrustConfigError(
            f"the {instance.name} Sigstore instance names no identity provider: {exc}"
        ) from None


def discovery_url(issuer: str) -> str:
    """Where the issuer's OpenID configuration lives (OpenID Connect Discovery section 4)."""
    return issuer.rstrip("/") + WELL_KNOWN


@dataclass(frozen=True)
class Discovery:
    """The parts of an issuer's discovery document that the sign-in flows use."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    device_authorization_endpoint: str | None = None


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _endpoint(doc: dict[str, Any], name: str, issuer: str, *, required: bool) -> str | None:
    value = doc.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise IdentityError(f"identity provider {issuer}: its discovery document has no {name}")
    parts = urllib.parse.urlsplit(value)
    # codes, verifiers and tokens travel to these endpoints: TLS, except on this machine
    if not (parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts.hostname))):
        raise IdentityError(
            f"identity provider {issuer}: its {name} is not an https URL; refusing to send a sign-in there"
        )
    return value


def parse_discovery(issuer: str, status: int, body: bytes | str | None) -> Discovery:
    """Check a discovery answer: JSON, for this issuer, with https endpoints. IdentityError otherwise."""
    if status != 200:
        raise IdentityError(f"identity provider {issuer}: discovery failed (HTTP {status})")
    try:
        doc = json.loads(body or b"")
    except (ValueError, UnicodeDecodeError):
        doc = None
    if not isinstance(doc, dict):
        raise IdentityError(f"identity provider {issuer}: its discovery document is not a JSON object")
    named = doc.get("issuer")
    if not isinstance(named, str) or named.rstrip("/") != issuer.rstrip("/"):
        # OpenID Connect Discovery section 4.3: the document must be for the issuer that was asked
        raise IdentityError(f"identity provider {issuer}: its discovery document is for another issuer")
    return Discovery(
        issuer=issuer,
        authorization_endpoint=str(_endpoint(doc, "authorization_endpoint", issuer, required=True)),
        token_endpoint=str(_endpoint(doc, "token_endpoint", issuer, required=True)),
        device_authorization_endpoint=_endpoint(doc, "device_authorization_endpoint", issuer, required=False),
    )
