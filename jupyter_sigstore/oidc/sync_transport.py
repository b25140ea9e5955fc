"""Blocking HTTP for the sign-in flows (requests), for the kernel: HTTP and the polling loop only."""

from __future__ import annotations

import time
from collections.abc import Callable

import requests

from ..errors import IdentityError
from .discovery import Discovery, discovery_url, parse_discovery
from .grants import (
    DeviceGrant,
    DevicePolling,
    TokenAnswer,
    device_authorization_form,
    device_token_form,
    parse_device_authorization,
    parse_token_answer,
    token_headers,
    unreachable,
)

HTTP_TIMEOUT = 30.0


def _unreachable(issuer: str, exc: requests.RequestException) -> IdentityError:
    return IdentityError(f"cannot reach the identity provider {issuer} ({type(exc).__name__})")


def discover(issuer: str) -> Discovery:
    """Fetch and check the issuer's discovery document."""
    try:
        response = requests.get(discovery_url(issuer), timeout=HTTP_TIMEOUT)
    except requests.RequestException as exc:
        raise _unreachable(issuer, exc) from None
    return parse_discovery(issuer, response.status_code, response.content)


def request_device_grant(discovery: Discovery, *, client_id: str, fallback_lifetime: float) -> DeviceGrant:
    """Ask for a device code and a user code (RFC 8628 section 3.1)."""
    endpoint = discovery.device_authorization_endpoint
    if endpoint is None:
        raise IdentityError("the identity provider offers no device login; use the out-of-band login")
    try:
        response = requests.post(
            endpoint,
            data=device_authorization_form(client_id),
            timeout=HTTP_TIMEOUT,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        raise _unreachable(discovery.issuer, exc) from None
    return parse_device_authorization(
        response.status_code, response.content, fallback_lifetime=fallback_lifetime
    )


def redeem(discovery: Discovery, form: dict[str, str], *, client_id: str) -> TokenAnswer:
    """One token-endpoint request; an unreachable endpoint is an answer too."""
    try:
        response = requests.post(
            discovery.token_endpoint,
            data=form,
            headers=token_headers(client_id),
            timeout=HTTP_TIMEOUT,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        return unreachable(type(exc).__name__)
    return parse_token_answer(response.status_code, response.content)


def poll_device(
    discovery: Discovery,
    grant: DeviceGrant,
    *,
    client_id: str,
    timeout: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """Poll until the user approves: the raw ID token, or IdentityError (denied, expired, timed out).
    A KeyboardInterrupt (the kernel's interrupt) while sleeping goes through to the caller."""
    polling = DevicePolling.start(grant, timeout=timeout, now=clock())
    form = device_token_form(grant, client_id=client_id)
    while True:
        sleep(polling.wait(clock()))
        token = polling.after(redeem(discovery, form, client_id=client_id), clock())
        if token is not None:
            return token
