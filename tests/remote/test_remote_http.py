"""``https://`` and ``http://`` outputs name single files, read-only: signed and re-checked like objects,
against a loopback HTTP server."""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from jupyter_sigstore import api
from jupyter_sigstore.errors import UsageError
from jupyter_sigstore.instance import Instance
from jupyter_sigstore.oidc.tokens import parse_token
from jupyter_sigstore.policy import TrustPolicy
from jupyter_sigstore.testing import LocalSigstore

pytest.importorskip("aiohttp", reason="aiohttp is not installed (the [http] extra)")


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    folder = tmp_path / "site"
    folder.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_http_file_is_signed_and_checked(
    site: tuple[Path, str], example: Path, trust_config: Path, sigstore_instance: LocalSigstore
) -> None:
    folder, base = site
    data = b"station,temp\nA,12.5\n" * 1000
    (folder / "data.csv").write_bytes(data)
    url = f"{base}/data.csv"
    found, _ = api.digest([url])
    assert [(f.name, h.sha256) for f, h in found] == [(url, hashlib.sha256(data).hexdigest())]

    instance = Instance.select(trust_config=trust_config)
    signer = api.keyless_signer(parse_token(sigstore_instance.mint_token("alice@example.com"), "t"), instance)
    api.sign(example / "analysis.ipynb", signer, api.SignOptions(outputs=(url,), instance=instance))
    options = api.VerifyOptions(
        policy=TrustPolicy.exact("alice@example.com", sigstore_instance.issuer_url), instance=instance
    )
    assert api.verify(example / "analysis.ipynb", options).status == "verified"
    (folder / "data.csv").write_bytes(b"changed")
    report = api.verify(example / "analysis.ipynb", options)
    assert report.status == "modified"
    assert [(o.path, o.status) for o in report.outputs if o.remote] == [(url, "modified")]
    (folder / "data.csv").unlink()
    assert [o.status for o in api.verify(example / "analysis.ipynb", options).outputs if o.remote] == [
        "missing"
    ]


def test_http_urls_have_no_prefixes_or_patterns(site: tuple[Path, str]) -> None:
    _, base = site
    for spec in (f"{base}/", f"{base}/*.csv"):
        with pytest.raises(UsageError, match="names single files"):
            api.digest([spec])
