"""The server never reads the URLs a notebook names when it is opened: remote outputs are reported
"not checked on open" until the user asks (``remote=1``), unless the administrator allows reading on
open (``c.Sigstore.remote_outputs``); even then only for signatures the policy trusts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import test_server
from objstore_fixtures import put_objects
from test_server import Fetch, get_json, post_json, write_policy

from jupyter_sigstore.testing import LocalSigstore
from jupyter_sigstore.testing.seaweedfs import SeaweedFS

# the server, its root and signing as in test_server.py
jp_server_config = test_server.jp_server_config
root = test_server.root
sign_file = test_server.sign_file


@pytest.fixture
def remote_signed(
    root: Path,
    sign_file: Callable[..., None],
    s3: SeaweedFS,
    bucket: Callable[..., str],
    sigstore_instance: LocalSigstore,
) -> str:
    """work/analysis.ipynb signed by alice with an S3 object, which is then deleted; the server's
    policy trusts alice. Returns the object's URL."""
    name = bucket()
    url = f"s3://{name}/run/data.csv"
    put_objects(s3, {f"{name}/run/data.csv": b"a,b\n1,2\n"})
    sign_file(root / "work" / "analysis.ipynb", [url])
    s3.filesystem().rm(url)  # were it read, it would be reported missing
    write_policy(root, sigstore_instance.issuer_url)
    return url


async def approve(jp_fetch: Fetch) -> None:
    pending = (await get_json(jp_fetch, "policy", params={"path": "work/analysis.ipynb"}))["pending"]
    await post_json(
        jp_fetch, "policy", "approval", body={"path": pending["path"], "sha256": pending["sha256"]}
    )


def remote_output(result: dict[str, Any], url: str) -> dict[str, Any]:
    (entry,) = [o for o in result["report"]["outputs"] if o["path"] == url]
    return entry


async def test_opening_a_notebook_reads_no_url_it_names(jp_fetch: Fetch, remote_signed: str) -> None:
    await approve(jp_fetch)
    result = await get_json(jp_fetch, "verify", params={"path": "work/analysis.ipynb"})
    entry = remote_output(result, remote_signed)
    assert entry["status"] == "not-checked" and entry["remote"] is True
    assert entry["error"].startswith("not checked on open")
    report = result["report"]
    assert report["status"] == "verified", report["summary"]
    assert report["summary"].endswith("; 1 remote output not checked")
    assert any("not checked on open" in w for w in report["warnings"])


async def test_the_user_asks_and_the_remote_outputs_are_read(jp_fetch: Fetch, remote_signed: str) -> None:
    await approve(jp_fetch)
    result = await get_json(jp_fetch, "verify", params={"path": "work/analysis.ipynb", "remote": "1"})
    assert remote_output(result, remote_signed)["status"] == "missing"
    assert result["report"]["status"] == "modified"


async def test_an_administrator_chooses_never_or_on_open(
    jp_fetch: Fetch, jp_serverapp: Any, remote_signed: str
) -> None:
    await approve(jp_fetch)
    config = jp_serverapp.web_app.settings["jupyter_sigstore_config"]
    config.remote_outputs = "never"
    asked = await get_json(jp_fetch, "verify", params={"path": "work/analysis.ipynb", "remote": "1"})
    assert remote_output(asked, remote_signed)["status"] == "not-checked"
    config.remote_outputs = "on-open"
    opened = await get_json(jp_fetch, "verify", params={"path": "work/analysis.ipynb"})
    assert remote_output(opened, remote_signed)["status"] == "missing"


async def test_an_untrusted_signers_urls_are_not_read_even_when_asked(
    jp_fetch: Fetch,
    root: Path,
    sign_file: Callable[..., None],
    s3: SeaweedFS,
    bucket: Callable[..., str],
) -> None:
    name = bucket()
    url = f"s3://{name}/x.bin"
    put_objects(s3, {f"{name}/x.bin": b"x"})
    sign_file(root / "work" / "analysis.ipynb", [url])
    s3.filesystem().rm(url)
    result = await get_json(jp_fetch, "verify", params={"path": "work/analysis.ipynb", "remote": "1"})
    assert result["report"]["status"] == "untrusted-signer"  # no policy: nobody is trusted
    entry = remote_output(result, url)
    assert entry["status"] == "not-checked" and "not read with your credentials" in entry["error"]
