"""Non-blocking HTTP for the sign-in flows (tornado's AsyncHTTPClient), for the Jupyter server:
HTTP and the polling loop only."""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from collections.abc import Awaitable, Callable

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest, HTTPResponse

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

HTTP_TIMEOUT = 20.0


async def _fetch(request: HTTPRequest) -> HTTPResponse:
    """The answer, whatever its status; OSError (and tornado's own errors) when there is none."""
    try:
        return await AsyncHTTPClient().fetch(request, raise_error=False)
    except HTTPClientError as exc:  # 599: timeout or connection trouble
        raise OSError(str(exc)) from None


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


async def discover(issuer: str) -> Discovery:
    """Fetch and check the issuer's discovery document."""
    try:
        response = await _fetch(HTTPRequest(discovery_url(issuer), request_timeout=HTTP_TIMEOUT))
    except OSError as exc:
        raise IdentityError(f"cannot reach the identity provider {issuer} ({_reason(exc)})") from None
    return parse_discovery(issuer, response.code, response.body)


def _post(url: str, form: dict[str, str], headers: dict[str, str]) -> HTTPRequest:
    return HTTPRequest(
        url,
        method="POST",
        body=urllib.parse.urlencode(form),
        headers=headers,
        request_timeout=HTTP_TIMEOUT,
        follow_redirects=False,
    )


async def request_device_grant(
    discovery: Discovery, *, client_id: str, fallback_lifetime: float
) -> DeviceGrant:
    """Ask for a device code and a user code (RFC 8628 section 3.1)."""
    endpoint = discovery.device_authorization_endpoint
    if endpoint is None:
        raise IdentityError("this identity provider has no device sign-in; use the out-of-band code instead")
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    try:
        response = await _fetch(_post(endpoint, device_authorization_form(client_id), headers))
    except OSError as exc:
        raise IdentityError(f"cannot reach the identity provider ({_reason(exc)})") from None
    return parse_device_authorization(response.code, response.body, fallback_lifetime=fallback_lifetime)


async def redeem(discovery: Discovery, form: dict[str, str], *, client_id: str) -> TokenAnswer:
    """One token-endpoint request; an unreachable endpoint is an answer too."""
    try:
        response = await _fetch(_post(discovery.token_endpoint, form, token_headers(client_id)))
    except OSError as exc:
        return unreachable(_reason(exc))
    return parse_token_answer(response.code, response.body)


async def poll_device(
    discovery: Discovery,
    grant: DeviceGrant,
    *,
    client_id: str,
    timeout: float,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """Poll until the user approves: the raw ID token, or IdentityError (denied, expired, timed out).
    Cancelling the task stops the polling."""
    polling = DevicePolling.start(grant, timeout=timeout, now=clock())
    form = device_token_form(grant, client_id=client_id)
    while True:
        await sleep(polling.wait(clock()))
        token = polling.after(await redeem(discovery, form, client_id=client_id), clock())
        if token is not None:
            return token
