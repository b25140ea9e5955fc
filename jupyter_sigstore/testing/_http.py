"""Tiny request/response types shared by the test services and the HTTP server."""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Request:
    """An HTTP request as a service sees it (``path`` is relative to the service prefix)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    def form(self) -> dict[str, str]:
        """URL-encoded body fields merged over query fields (first value wins)."""
        fields = {key: values[0] for key, values in self.query.items() if values}
        if self.body:
            parsed = urllib.parse.parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
            fields.update({key: values[0] for key, values in parsed.items() if values})
        return fields


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(status, json.dumps(payload).encode("utf-8"))


def error_response(status: int, message: str) -> Response:
    """Error body in the ``{"code", "message"}`` shape Fulcio and Rekor use."""
    return json_response({"code": status, "message": message}, status)


def html_response(html: str, status: int = 200) -> Response:
    return Response(status, html.encode("utf-8"), "text/html; charset=utf-8")


def redirect(location: str) -> Response:
    return Response(302, b"", "text/plain", {"Location": location})
