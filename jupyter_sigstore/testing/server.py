"""One loopback HTTP server dispatching path prefixes to the test services."""

from __future__ import annotations

import json
import logging
import threading
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ._http import Request, Response, error_response

Handler = Callable[[Request], Response]
_logger = logging.getLogger(__name__)


class LoopbackServer:
    """A :class:`ThreadingHTTPServer` in a daemon thread; routes are ``(prefix, handler)``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.routes: list[tuple[str, Handler]] = []
        self._httpd = ThreadingHTTPServer((host, port), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="jupyter-sigstore-testing", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._httpd.server_close()

    def dispatch(self, request: Request) -> Response:
        """Route to the handler with the longest matching prefix; strip the prefix."""
        for prefix, handler in sorted(self.routes, key=lambda r: len(r[0]), reverse=True):
            if request.path == prefix or request.path.startswith(prefix + "/"):
                request.path = request.path[len(prefix) :] or "/"
                return handler(request)
        return error_response(404, f"no service at {request.path}")


def _make_handler(server: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "jupyter-sigstore-testing"

        def log_message(self, format: str, *args: object) -> None:
            _logger.debug("%s " + format, self.address_string(), *args)

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            url = urllib.parse.urlsplit(self.path)
            request = Request(
                method=self.command,
                path=url.path,
                query=urllib.parse.parse_qs(url.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            try:
                response = server.dispatch(request)
            except Exception as exc:  # a test double should report, not hang the client
                _logger.exception("test service failed")
                response = Response(500, json.dumps({"code": 500, "message": str(exc)}).encode())
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

    return _Handler
