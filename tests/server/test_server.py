"""The server extension's REST API, through a real Jupyter Server (pytest-jupyter) and the loopback
Sigstore instance: authentication, path confinement, verify/sign/policy and the sign-in flows."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.auth.identity import IdentityProvider, User
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPResponse
from traitlets.config import Config

from jupyter_sigstore import api
from jupyter_sigstore.errors import IdentityError
from jupyter_sigstore.instance import Instance
from jupyter_sigstore.kernel.login import KernelIdentity
from jupyter_sigstore.oidc.tokens import parse_token
from jupyter_sigstore.signing import KeylessSigner
from jupyter_sigstore.testing import LocalSigstore
from jupyter_sigstore.testing.oidc import oob_code_in

ISSUER_POLICY = """
[[trusted]]
name = "alice"
identity = "alice@example.com"
issuer = "{issuer}"
"""

Fetch = Callable[..., Any]


class OneUser(IdentityProvider):  # type: ignore[misc]
    """Token requests normally get a fresh anonymous user each (a browser keeps one by cookie)."""

    def generate_anonymous_user(self, handler: Any) -> User:
        return User("tester", "Tester", "Tester", "T", None, None)


@pytest.fixture
def jp_server_config(trust_config: Path) -> Config:
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"jupyter_sigstore.server": True},
                "identity_provider_class": OneUser,
            },
            "Sigstore": {"trust_config": str(trust_config)},
        }
    )


@pytest.fixture
def root(jp_root_dir: Path, example: Path) -> Path:
    """The server root holds a signed copy of the example (notebook + outputs) in work/."""
    work = jp_root_dir / "work"
    shutil.copytree(example, work)
    return jp_root_dir


@pytest.fixture
def sign_file(trust_config: Path, token: Callable[..., str]) -> Callable[..., None]:
    def sign(path: Path, outputs: list[str] | None = None, identity: str = "alice@example.com") -> None:
        signer = KeylessSigner(Instance.select(trust_config=trust_config), parse_token(token(identity), "t"))
        api.sign(path, signer, api.SignOptions(outputs=tuple(outputs or ()), base=path.parent))

    return sign


@pytest.fixture
def signed(root: Path, sign_file: Callable[..., None]) -> Path:
    nb = root / "work" / "analysis.ipynb"
    sign_file(nb, ["results.csv"])
    return nb


async def get_json(jp_fetch: Fetch, *parts: str, **kwargs: Any) -> Any:
    response = await jp_fetch("jupyter-sigstore", *parts, **kwargs)
    return json.loads(response.body) if response.body else None


async def post_json(jp_fetch: Fetch, *parts: str, body: Any) -> Any:
    response = await jp_fetch("jupyter-sigstore", *parts, method="POST", body=json.dumps(body))
    return json.loads(response.body) if response.body else None


async def error_of(coro: Any) -> tuple[int, str]:
    with pytest.raises(HTTPClientError) as info:
        await coro
    body = info.value.response.body if info.value.response is not None else b"{}"
    try:
        message = json.loads(body).get("message", "")
    except ValueError:
        message = body.decode("utf-8", "replace")
    return info.value.code, message


def write_policy(folder: Path, issuer: str) -> None:
    (folder / "sigstore-policy.toml").write_text(ISSUER_POLICY.format(issuer=issuer), encoding="utf-8")


async def approve_pending(jp_fetch: Fetch, notebook: str = "work/analysis.ipynb") -> dict[str, Any]:
    """Approve the project policy the server offers for ``notebook``, as the sidebar's button does."""
    pending = (await get_json(jp_fetch, "policy", params={"path": notebook}))["pending"]
    assert pending is not None
    response = await jp_fetch(
        "jupyter-sigstore",
        "policy",
        "approval",
        method="POST",
        body=json.dumps({"path": pending["path"], "sha256": pending["sha256"]}),
    )
    approved: dict[str, Any] = json.loads(response.body)
    return approved


# -- authentication and authorization --------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "verify?path=work/analysis.ipynb"),
        ("GET", "policy"),
        ("GET", "login"),
        ("DELETE", "login"),
        ("POST", "sign"),
        ("POST", "login/device"),
        ("POST", "login/token"),
        ("GET", "login/callback?state=x&code=y"),
    ],
)
async def test_every_endpoint_refuses_requests_without_credentials(
    jp_fetch: Fetch, root: Path, method: str, path: str
) -> None:
    endpoint, _, query = path.partition("?")
    params = dict(urllib.parse.parse_qsl(query))
    body = json.dumps({"path": "work/analysis.ipynb", "content": {}}) if method == "POST" else None
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(
            "jupyter-sigstore",
            *endpoint.split("/"),
            method=method,
            body=body,
            params=params,
            headers={"Authorization": ""},
            follow_redirects=False,
        )
    assert info.value.code in (403, 302)  # pages redirect to the login page, APIs answer 403
    if info.value.code == 302:
        assert "/login" in info.value.response.headers["Location"]


async def test_authorizer_denial_is_403(jp_fetch: Fetch, jp_serverapp: Any, signed: Path) -> None:
    class DenySigstore:
        def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
            return resource != "sigstore"

    original = jp_serverapp.web_app.settings["authorizer"]
    jp_serverapp.web_app.settings["authorizer"] = DenySigstore()
    try:
        code, _ = await error_of(get_json(jp_fetch, "verify", params={"path": "work/analysis.ipynb"}))
    finally:
        jp_serverapp.web_app.settings["authorizer"] = original
    assert code == 403


# -- verify -------------------------------------------------------------------------------------------


async def test_verify_signed_notebook_without_policy_is_untrusted_signer(
    jp_fetch: Fetch, signed: Path
) -> None:
    result = await get_json(jp_fetch, "verify", params={"path": "work/analysis.ipynb"})
    assert result["error"] is None
    report = result["report"]
    assert report["status"] == "untrusted-signer"
    assert report["notebook"] == "work/analysis.ipynb"
    assert report["signatures"][0]["identity"] == "alice@example.com"
    assert report["outputs"][0] == {
        **report["outputs"][0],
        "path": "results.csv",
        "status": "ok",
    }
    assert result["policy"]["source"] is None


@pytest.fixture
def no_prepared_verifier() -> None:
    """Forget the verifiers earlier tests built in this process (before the server starts)."""
    from jupyter_sigstore.verifying import _verifier

    _verifier.cache_clear()


async def test_the_server_prepares_the_verifier_at_start_up(
    no_prepared_verifier: None, jp_serverapp: Any, jp_fetch: Fetch, signed: Path
) -> None:
    from jupyter_sigstore.verifying import _verifier

    for _ in range(600):  # the background preparation, with no request made (bounded wait)
        if _verifier.cache_info().currsize:
            break
        await asyncio.sleep(0.1)
    assert _verifier.cache_info().currsize == 1
    result = await get_json(jp_fetch, "verify", params={"path": "work/analysis.ipynb"})
    assert result["report"]["status"] == "untrusted-signer"
    assert _verifier.cache_info().misses == 1  # the request used the prepared verifier


async def test_verify_uses_nearest_project_policy(
    jp_fetch: Fetch, signed: Path, root: Path, sigstore_instance: LocalSigstore
) -> None:
    write_policy(root, sigstore_instance.issuer_url)
    result = await get_json(jp_fetch, "verify", params={"path": "work/analysis.ipynb"})
    # a policy that arrived with the notebook is not honoured until the user approves that file
    assert result["report"]["status"] == "untrusted-signer"
    pending = result["policy"]["pending"]
    assert pending["path"] == "sigstore-policy.toml" and "alice@example.com" in pending["description"]
    await approve_pending(jp_fetch)
    result = await get_json(jp_fetch, "verify", params={"path": "work/analysis.ipynb"})
    assert result["report"]["status"] == "verified"
    assert result["policy"]["source"] == "project policy sigstore-policy.toml (approved)"
    assert result["report"]["signatures"][0]["trusted_as"] == ["alice"]
    # a nearer policy that trusts someone else wins, once approved
    (root / "work" / "sigstore-policy.toml").write_text(
        ISSUER_POLICY.format(issuer=sigstore_instance.issuer_url).replace("alice@", "bob@"), encoding="utf-8"
    )
    result = await get_json(jp_fetch, "verify", params={"path": "work/analysis.ipynb"})
    assert result["policy"]["pending"]["path"] == "work/sigstore-policy.toml"
    await approve_pending(jp_fetch)
    result = await get_json(jp_fetch, "verify", params={"path": "work/analysis.ipynb"})
    assert result["policy"]["source"] == "project policy work/sigstore-policy.toml (approved)"
    assert result["report"]["status"] == "untrusted-signer"
    # editing an approved file withdraws its effect until it is approved again
    path = root / "work" / "sigstore-policy.toml"
    path.write_text(path.read_text().replace("bob@", "alice@"), encoding="utf-8")
    result = await get_json(jp_fetch, "verify", params={"path": "work/analysis.ipynb"})
    assert result["report"]["status"] == "untrusted-signer" and result["policy"]["pending"]


async def test_project_policy_cannot_widen_the_administrators(
    jp_fetch: Fetch,
    jp_serverapp: Any,
    signed: Path,
    root: Path,
    tmp_path: Path,
    sigstore_instance: LocalSigstore,
) -> None:
    """The administrator trusts only bob; a cloned project's approved policy trusts its own author
    (alice): she still does not count."""
    admin = tmp_path / "admin"
    admin.mkdir()
    (admin / "sigstore-policy.toml").write_text(
        ISSUER_POLICY.format(issuer=sigstore_instance.issuer_url).replace("alice@", "bob@"), encoding="utf-8"
    )
    jp_serverapp.web_app.settings["jupyter_sigstore_config"].policy_file = str(admin / "sigstore-policy.toml")
    write_policy(root / "work", sigstore_instance.issuer_url)
    await approve_pending(jp_fetch)
    result = await get_json(jp_fetch, "verify", params={"path": "work/analysis.ipynb"})
    assert result["report"]["status"] == "untrusted-signer"
    assert "narrowed by server config" in result["policy"]["source"]
    assert result["report"]["signatures"][0]["trusted_as"] == []


async def test_verify_key_signed_notebook_with_a_policy_naming_the_key(jp_fetch: Fetch, root: Path) -> None:
    from jupyter_sigstore.keys import KeySigner, generate_keypair, load_private_key

    private, _ = generate_keypair(root / "team", None)
    api.sign(root / "work" / "analysis.ipynb", KeySigner(load_private_key(private)))
    result = await get_json(jp_fetch, "verify", params={"path": "work/analysis.ipynb"})
    assert result["report"]["status"] == "invalid"  # no policy names the key: it cannot be checked
    (root / "sigstore-policy.toml").write_text('[[trusted]]\nname = "team"\nkey = "team.pub"\n')
    await approve_pending(jp_fetch)
    result = await get_json(jp_fetch, "verify", params={"path": "work/analysis.ipynb"})
    assert result["report"]["status"] == "verified", result["report"]["summary"]
    assert result["report"]["signatures"][0]["trusted_as"] == ["team"]


async def test_verify_uses_server_policy_file(
    jp_fetch: Fetch, jp_serverapp: Any, signed: Path, tmp_path: Path, sigstore_instance: LocalSigstore
) -> None:
    write_policy(tmp_path, sigstore_instance.issuer_url)
    config = jp_serverapp.web_app.settings["jupyter_sigstore_config"]
    config.policy_file = str(tmp_path / "sigstore-policy.toml")
    result = await get_json(jp_fetch, "verify", params={"path": "work/analysis.ipynb"})
    assert result["report"]["status"] == "verified"
    assert result["policy"]["source"].startswith("server config")
    policy = await get_json(jp_fetch, "policy")
    assert [s["name"] for s in policy["signers"]] == ["alice"]
    assert policy["instance"] == "custom"


async def test_broken_project_policy_is_reported_not_fatal(jp_fetch: Fetch, signed: Path, root: Path) -> None:
    (root / "work" / "sigstore-policy.toml").write_text("[[trusted]\nname=", encoding="utf-8")
    result = await get_json(jp_fetch, "verify", params={"path": "work/analysis.ipynb"})
    assert "not valid TOML" in result["policy"]["pending"]["error"]
    assert str(root) not in result["policy"]["pending"]["error"]
    assert result["report"]["status"] == "untrusted-signer"


async def test_verify_tampered_notebook_names_changed_cell_and_output(
    jp_fetch: Fetch, signed: Path, root: Path
) -> None:
    nb = json.loads(signed.read_text(encoding="utf-8"))
    code = next(i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code")
    nb["cells"][code]["source"] = "print('edited after signing')\n"
    signed.write_text(json.dumps(nb), encoding="utf-8")
    (root / "work" / "results.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    result = await get_json(jp_fetch, "verify", params={"path": "work/analysis.ipynb"})
    report = result["report"]
    assert report["status"] == "modified"
    changed = [c for c in report["cells"] if c["status"] != "ok"]
    assert [(c["index"], c["status"]) for c in changed] == [(code, "modified")]
    assert report["outputs"][0]["status"] == "modified"


async def test_verify_unsigned(jp_fetch: Fetch, root: Path) -> None:
    result = await get_json(jp_fetch, "verify", params={"path": "work/analysis.ipynb"})
    assert result["report"]["status"] == "unsigned"


@pytest.mark.parametrize(
    "bad_path",
    [
        "",
        "../outside.ipynb",
        "work/../../outside.ipynb",
        "/etc/passwd",
        "//etc/passwd",
        "work/missing.ipynb",
        "link-out.ipynb",
        "linkdir/outside.ipynb",
        ".hidden/secret.ipynb",
        "work\\..\\..\\outside.ipynb",
        "work/\x00.ipynb",
    ],
)
async def test_paths_outside_the_root_are_not_found(
    jp_fetch: Fetch, root: Path, tmp_path_factory: pytest.TempPathFactory, bad_path: str
) -> None:
    outside = tmp_path_factory.mktemp("outside")
    secret = outside / "outside.ipynb"
    shutil.copy(root / "work" / "analysis.ipynb", secret)
    shutil.copy(secret, root.parent / "outside.ipynb")
    (root / "link-out.ipynb").symlink_to(secret)
    (root / "linkdir").symlink_to(outside, target_is_directory=True)
    (root / ".hidden").mkdir()
    shutil.copy(secret, root / ".hidden" / "secret.ipynb")
    for endpoint in ("verify", "policy"):
        if endpoint == "policy" and not bad_path:
            continue
        code, message = await error_of(get_json(jp_fetch, endpoint, params={"path": bad_path}))
        assert code == 404
        assert str(outside) not in message


async def test_invalid_json_notebook_reports_why(jp_fetch: Fetch, root: Path) -> None:
    (root / "work" / "broken.ipynb").write_text('{"cells": [', encoding="utf-8")
    result = await get_json(jp_fetch, "verify", params={"path": "work/broken.ipynb"})
    assert result["report"] is None
    assert "not valid JSON" in result["error"]
    assert str(root) not in result["error"]


async def test_huge_notebook_is_not_verified_and_says_why(jp_fetch: Fetch, root: Path) -> None:
    huge = root / "work" / "huge.ipynb"
    with huge.open("wb") as fh:  # 100 MB, sparse: nothing is read
        fh.truncate(100 * 1024 * 1024)
    result = await get_json(jp_fetch, "verify", params={"path": "work/huge.ipynb"})
    assert result["report"] is None
    assert "too large to verify" in result["error"]
    assert "104.9 MB" in result["error"]


async def test_garbage_signature_block_is_invalid(jp_fetch: Fetch, root: Path) -> None:
    path = root / "work" / "analysis.ipynb"
    for n, block in enumerate(
        [
            "garbage",
            {"version": 1, "signatures": "nope"},
            {"version": 1, "signatures": [{"bundle": {"mediaType": "x", "junk": True}}]},
            {"version": 1, "signatures": [{"bundle": "AAAA"}, 42]},
        ]
    ):
        nb = json.loads(path.read_text(encoding="utf-8"))
        nb["metadata"]["sigstore"] = block
        target = root / "work" / f"garbage{n}.ipynb"
        target.write_text(json.dumps(nb), encoding="utf-8")
        result = await get_json(jp_fetch, "verify", params={"path": f"work/garbage{n}.ipynb"})
        assert result["report"]["status"] == "invalid", block


async def test_metadata_claiming_verified_changes_nothing(jp_fetch: Fetch, signed: Path, root: Path) -> None:
    path = root / "work" / "analysis.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["metadata"]["sigstore"]["status"] = "verified"
    nb["metadata"]["sigstore"]["verified"] = True
    nb["metadata"]["sigstore"]["trusted_as"] = ["alice"]
    nb["metadata"]["provenance"] = {"status": "verified"}
    path.write_text(json.dumps(nb), encoding="utf-8")
    result = await get_json(jp_fetch, "verify", params={"path": "work/analysis.ipynb"})
    # claims inside metadata.sigstore change nothing; metadata.provenance is covered metadata: a change
    assert result["report"]["status"] == "modified"
    assert result["report"]["notebook_changes"] == ["notebook metadata changed since signing"]
    nb["metadata"].pop("provenance")
    path.write_text(json.dumps(nb), encoding="utf-8")
    result = await get_json(jp_fetch, "verify", params={"path": "work/analysis.ipynb"})
    assert result["report"]["status"] == "untrusted-signer"  # no policy: never "verified"
    unsigned = json.loads((root / "work" / "analysis.ipynb").read_text(encoding="utf-8"))
    unsigned["metadata"]["sigstore"] = {"version": 1, "signatures": [], "status": "verified"}
    (root / "work" / "claims.ipynb").write_text(json.dumps(unsigned), encoding="utf-8")
    result = await get_json(jp_fetch, "verify", params={"path": "work/claims.ipynb"})
    assert result["report"]["status"] == "unsigned"


# -- sign ---------------------------------------------------------------------------------------------


async def save_and_verify(
    jp_fetch: Fetch, root: Path, content: dict[str, Any], instance: LocalSigstore
) -> dict[str, Any]:
    """Save ``content`` as work/analysis.ipynb through the contents API, as the front end does with a
    model it signed, trust alice there, and return the server's verification report."""
    await jp_fetch(
        "api",
        "contents",
        "work",
        "analysis.ipynb",
        method="PUT",
        body=json.dumps({"type": "notebook", "format": "json", "content": content}),
    )
    write_policy(root, instance.issuer_url)
    await approve_pending(jp_fetch)
    verified = await get_json(jp_fetch, "verify", params={"path": "work/analysis.ipynb"})
    report: dict[str, Any] = verified["report"]
    return report


async def test_sign_requires_a_sign_in(jp_fetch: Fetch, root: Path) -> None:
    content = json.loads((root / "work" / "analysis.ipynb").read_text(encoding="utf-8"))
    code, message = await error_of(
        post_json(jp_fetch, "sign", body={"path": "work/analysis.ipynb", "content": content})
    )
    assert code == 401
    assert "sign in" in message


async def test_sign_in_memory_then_save_verifies(
    jp_fetch: Fetch,
    root: Path,
    token: Callable[..., str],
    sigstore_instance: LocalSigstore,
    jp_logging_stream: Any,
) -> None:
    raw = token("alice@example.com")
    status = await post_json(jp_fetch, "login", "token", body={"token": raw})
    assert status["identity"] == "alice@example.com"
    path = root / "work" / "analysis.ipynb"
    before = path.read_bytes()
    content = json.loads(before)
    content["cells"][0]["source"] = "# typed in the editor, not saved yet\n"
    result = await post_json(
        jp_fetch,
        "sign",
        body={"path": "work/analysis.ipynb", "content": content, "outputs": ["work/results.csv"]},
    )
    assert path.read_bytes() == before  # the server writes nothing
    assert result["identity"] == "alice@example.com"
    assert result["outputs"][0]["path"] == "results.csv"
    assert len(result["sigstore"]["signatures"]) == 1 and "bundle" in result["sigstore"]["signatures"][0]
    # the front end puts the block into its model and saves it through the contents API
    content["metadata"]["sigstore"] = result["sigstore"]
    report = await save_and_verify(jp_fetch, root, content, sigstore_instance)
    assert report["status"] == "verified", report["summary"]
    assert raw not in jp_logging_stream.getvalue()
    assert raw not in json.dumps(result)


async def test_sign_in_memory_above_the_threshold_writes_the_manifest_in_the_root(
    jp_fetch: Fetch,
    root: Path,
    token: Callable[..., str],
    sigstore_instance: LocalSigstore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from jupyter_sigstore import signing

    monkeypatch.setattr(signing, "MANIFEST_THRESHOLD", 1)  # two outputs take the manifest path
    await post_json(jp_fetch, "login", "token", body={"token": token("alice@example.com")})
    path = root / "work" / "analysis.ipynb"
    content = json.loads(path.read_text(encoding="utf-8"))
    outputs = ["work/results.csv", "work/figures/summary.png"]
    result = await post_json(
        jp_fetch, "sign", body={"path": "work/analysis.ipynb", "content": content, "outputs": outputs}
    )
    manifest = root / "work" / "analysis.ipynb.outputs.sha256"
    assert [line.split("  ")[1] for line in manifest.read_text().splitlines()] == [
        "figures/summary.png",
        "results.csv",
    ]
    content["metadata"]["sigstore"] = result["sigstore"]
    report = await save_and_verify(jp_fetch, root, content, sigstore_instance)
    assert report["status"] == "verified", report["summary"]
    assert sorted(o["path"] for o in report["outputs"]) == ["figures/summary.png", "results.csv"]
    manifest.write_text(manifest.read_text().replace("results.csv", "results.csv.bak"))
    report = (await get_json(jp_fetch, "verify", params={"path": "work/analysis.ipynb"}))["report"]
    assert report["status"] == "modified" and "analysis.ipynb.outputs.sha256" in report["summary"]
    assert [(o["path"], o["status"]) for o in report["outputs"]] == [
        ("analysis.ipynb.outputs.sha256", "modified")
    ]


async def test_sign_refuses_bad_requests(jp_fetch: Fetch, root: Path, token: Callable[..., str]) -> None:
    await post_json(jp_fetch, "login", "token", body={"token": token()})
    content = json.loads((root / "work" / "analysis.ipynb").read_text(encoding="utf-8"))
    cases = [
        ({"path": "work/analysis.ipynb"}, 400),
        ({"path": "work/analysis.txt", "content": content}, 400),
        ({"path": "work/analysis.ipynb", "content": content, "outputs": "results.csv"}, 400),
        ({"path": "work/analysis.ipynb", "content": content, "outputs": ["../../etc/passwd"]}, 404),
        ({"path": "../analysis.ipynb", "content": content}, 404),
        ({"path": "work/analysis.ipynb", "content": {"cells": "nope"}}, 422),
        ({"path": "work/analysis.ipynb", "content": content, "outputs": ["analysis.ipynb"]}, 404),
    ]
    for body, expected in cases:
        code, message = await error_of(post_json(jp_fetch, "sign", body=body))
        assert code == expected, (body, message)
        assert message
    response = await jp_fetch("jupyter-sigstore", "sign", method="POST", body="not json", raise_error=False)
    assert response.code == 400


async def test_signing_can_be_disabled(jp_fetch: Fetch, jp_serverapp: Any, root: Path) -> None:
    jp_serverapp.web_app.settings["jupyter_sigstore_config"].allow_signing = False
    code, message = await error_of(post_json(jp_fetch, "sign", body={}))
    assert code == 403
    assert "allow_signing" in message


# -- sign-in flows ------------------------------------------------------------------------------------


async def _poll(jp_fetch: Fetch, flow_id: str) -> dict[str, Any]:
    for _ in range(100):
        flow = await get_json(jp_fetch, "login", "flows", flow_id)
        if flow["status"] != "pending":
            return flow  # type: ignore[no-any-return]
        await asyncio.sleep(0.1)
    raise AssertionError("the flow never settled")


async def test_device_flow_approved(jp_fetch: Fetch, root: Path, sigstore_instance: LocalSigstore) -> None:
    flow = await post_json(jp_fetch, "login", "device", body={})
    assert flow["status"] == "pending" and flow["user_code"]
    assert "device_code" not in flow
    sigstore_instance.approve_device_code(flow["user_code"], "carol@example.com")
    flow = await _poll(jp_fetch, flow["id"])
    assert flow["status"] == "done" and flow["identity"] == "carol@example.com"
    status = await get_json(jp_fetch, "login")
    assert status["identity"] == "carol@example.com"
    await jp_fetch("jupyter-sigstore", "login", method="DELETE")
    assert (await get_json(jp_fetch, "login"))["identity"] is None


async def test_device_flow_denied_or_cancelled_leaves_no_identity(
    jp_fetch: Fetch, root: Path, sigstore_instance: LocalSigstore
) -> None:
    flow = await post_json(jp_fetch, "login", "device", body={})
    sigstore_instance.deny_device_code(flow["user_code"])
    flow = await _poll(jp_fetch, flow["id"])
    assert flow["status"] == "failed" and "access_denied" in flow["error"]
    flow = await post_json(jp_fetch, "login", "device", body={})
    cancelled = json.loads(
        (await jp_fetch("jupyter-sigstore", "login", "flows", flow["id"], method="DELETE")).body
    )
    assert cancelled["status"] == "cancelled"
    assert (await get_json(jp_fetch, "login"))["identity"] is None
    code, _ = await error_of(get_json(jp_fetch, "login", "flows", "no-such-flow"))
    assert code == 404


async def _follow_authorization(auth_url: str) -> HTTPResponse:
    return await AsyncHTTPClient().fetch(auth_url, follow_redirects=False, raise_error=False)


async def test_browser_flow_redirects_back_to_jupyter(jp_fetch: Fetch, root: Path, jp_base_url: str) -> None:
    flow = await post_json(jp_fetch, "login", "browser", body={})
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(flow["auth_url"]).query))
    assert query["code_challenge_method"] == "S256"
    assert query["redirect_uri"].endswith(f"{jp_base_url}jupyter-sigstore/login/callback")
    answer = await _follow_authorization(flow["auth_url"])
    assert answer.code in (302, 303)
    back = urllib.parse.urlsplit(answer.headers["Location"])
    params = dict(urllib.parse.parse_qsl(back.query))
    page = await jp_fetch("jupyter-sigstore", "login", "callback", params=params)
    assert b"Signed in to Sigstore as alice@example.com" in page.body
    assert (await get_json(jp_fetch, "login", "flows", flow["id"]))["status"] == "done"
    assert (await get_json(jp_fetch, "login"))["identity"] == "alice@example.com"
    # replaying the redirect, or a forged state, signs nobody in
    again = await jp_fetch("jupyter-sigstore", "login", "callback", params=params)
    assert b"Signed in" in again.body
    forged = await jp_fetch(
        "jupyter-sigstore", "login", "callback", params={**params, "state": "forged"}, raise_error=False
    )
    assert forged.code == 400


async def test_browser_flow_refused_leaves_no_identity(
    jp_fetch: Fetch, root: Path, sigstore_instance: LocalSigstore
) -> None:
    sigstore_instance.set_login_identity(None)
    try:
        flow = await post_json(jp_fetch, "login", "browser", body={})
        answer = await _follow_authorization(flow["auth_url"])
    finally:
        sigstore_instance.set_login_identity("alice@example.com")
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(answer.headers["Location"]).query))
    assert params["error"] == "access_denied"
    page = await jp_fetch("jupyter-sigstore", "login", "callback", params=params)
    assert b"Sign-in failed" in page.body
    flow = await get_json(jp_fetch, "login", "flows", flow["id"])
    assert flow["status"] == "failed"
    assert (await get_json(jp_fetch, "login"))["identity"] is None


async def test_out_of_band_flow(jp_fetch: Fetch, root: Path) -> None:
    flow = await post_json(jp_fetch, "login", "oob", body={})
    page = await _follow_authorization(flow["auth_url"])
    assert oob_code_in(page.body.decode())
    failed = await post_json(jp_fetch, "login", "flows", flow["id"], body={"code": "wrong"})
    assert failed["status"] == "failed" and "invalid_grant" in failed["error"]
    code, message = await error_of(post_json(jp_fetch, "login", "flows", flow["id"], body={"code": "x"}))
    assert code == 400 and "not waiting" in message
    assert (await get_json(jp_fetch, "login"))["identity"] is None
    flow2 = await post_json(jp_fetch, "login", "oob", body={})
    page = await _follow_authorization(flow2["auth_url"])
    code = oob_code_in(page.body.decode())
    assert code is not None
    done = await post_json(jp_fetch, "login", "flows", flow2["id"], body={"code": code})
    assert done["status"] == "done" and done["identity"] == "alice@example.com"


async def test_ambient_credentials(
    jp_fetch: Fetch, root: Path, token: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, message = await error_of(post_json(jp_fetch, "login", "ambient", body={}))
    assert code == 400 and "no ambient credentials" in message
    assert (await get_json(jp_fetch, "login"))["methods"]["ambient"] is False
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", token("ci@example.com"))
    assert (await get_json(jp_fetch, "login"))["methods"]["ambient"] is True
    status = await post_json(jp_fetch, "login", "ambient", body={})
    assert status["identity"] == "ci@example.com"
    assert status["source"] == "$SIGSTORE_ID_TOKEN"
    await jp_fetch("jupyter-sigstore", "login", method="DELETE")
    content = json.loads((root / "work" / "analysis.ipynb").read_text(encoding="utf-8"))
    signed = await post_json(
        jp_fetch, "sign", body={"path": "work/analysis.ipynb", "content": content, "identity": "ambient"}
    )
    assert signed["identity"] == "ci@example.com"


async def test_bad_pasted_tokens(jp_fetch: Fetch, root: Path, token: Callable[..., str]) -> None:
    for raw, words in [
        ("", "give 'token'"),
        ("not-a-jwt", "not a valid JWT"),
        (token(expires_in=-60), "expired"),
        (token(audience="other"), "audience"),
    ]:
        code, message = await error_of(post_json(jp_fetch, "login", "token", body={"token": raw}))
        assert code == 400 and words in message
        if raw:
            assert raw not in message
    assert (await get_json(jp_fetch, "login"))["identity"] is None


def test_extension_points() -> None:
    import jupyter_sigstore
    from jupyter_sigstore.server import _jupyter_server_extension_points

    assert _jupyter_server_extension_points() == [{"module": "jupyter_sigstore.server"}]
    assert jupyter_sigstore._jupyter_labextension_paths()[0]["dest"] == "jupyter-sigstore"
    config = Path(__file__).resolve().parents[2] / "jupyter-config" / "jupyter_server_config.d"
    data = json.loads((config / "jupyter_sigstore.json").read_text(encoding="utf-8"))
    assert data["ServerApp"]["jpserver_extensions"]["jupyter_sigstore.server"] is True
    assert os.path.basename(str(config)) == "jupyter_server_config.d"


async def test_sign_ins_are_per_user(
    jp_fetch: Fetch, jp_serverapp: Any, root: Path, token: Callable[..., str]
) -> None:
    await post_json(jp_fetch, "login", "token", body={"token": token()})
    broker = jp_serverapp.web_app.settings["jupyter_sigstore_broker"]
    assert broker.token_for("tester").identity == "alice@example.com"
    with pytest.raises(IdentityError):
        broker.token_for("someone-else")
    assert broker.status("someone-else")["identity"] is None


async def test_device_flow_with_unusable_tokens(
    jp_fetch: Fetch, root: Path, sigstore_instance: LocalSigstore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token the issuer minted for another audience, or already expired, signs nobody in."""
    for setting, value, words in [
        ("token_audience", "someone-else", "audience 'someone-else', not 'sigstore'"),
        ("token_lifetime", -30, "expired at"),
    ]:
        with monkeypatch.context() as patch:
            patch.setattr(sigstore_instance.oidc, setting, value)
            flow = await post_json(jp_fetch, "login", "device", body={})
            sigstore_instance.approve_device_code(flow["user_code"])
            flow = await _poll(jp_fetch, flow["id"])
        assert flow["status"] == "failed" and words in flow["error"], flow
        assert (await get_json(jp_fetch, "login"))["identity"] is None


async def test_browser_flow_refuses_a_token_for_another_client(
    jp_fetch: Fetch, root: Path, sigstore_instance: LocalSigstore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sigstore_instance.oidc, "token_audience", "someone-else")
    flow = await post_json(jp_fetch, "login", "browser", body={})
    answer = await _follow_authorization(flow["auth_url"])
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(answer.headers["Location"]).query))
    page = await jp_fetch("jupyter-sigstore", "login", "callback", params=params)
    assert b"Sign-in failed" in page.body and b"audience" in page.body
    assert (await get_json(jp_fetch, "login"))["identity"] is None


async def test_a_hostile_discovery_document_is_refused_as_in_the_kernel(
    jp_fetch: Fetch, jp_serverapp: Any, root: Path, tmp_path: Path, trust_config: Path
) -> None:
    """The server reads the issuer and checks its discovery document exactly as the kernel does."""
    issuer, stop = _serve_discovery({"token_endpoint": "http://collector.example/token"})
    try:
        config = json.loads(trust_config.read_text())
        config["signingConfig"]["oidcUrls"][0]["url"] = issuer
        hostile = tmp_path / "hostile.json"
        hostile.write_text(json.dumps(config))
        jp_serverapp.web_app.settings["jupyter_sigstore_config"].trust_config = str(hostile)
        messages = []
        for method in ("device", "browser", "oob"):
            code, message = await error_of(post_json(jp_fetch, "login", method, body={}))
            assert code == 400
            messages.append(message)
        with pytest.raises(IdentityError) as kernel:
            KernelIdentity().login(
                Instance.select(trust_config=hostile), method="device", show=lambda p: None
            )
        assert set(messages) == {str(kernel.value)}
        assert "token_endpoint is not an https URL" in str(kernel.value)
    finally:
        stop()


def _serve_discovery(changes: dict[str, Any]) -> tuple[str, Callable[[], None]]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
            doc = {
                "issuer": issuer,
                "authorization_endpoint": f"{issuer}/auth",
                "token_endpoint": f"{issuer}/t",
            }
            body = json.dumps({**doc, **changes}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return f"http://127.0.0.1:{server.server_address[1]}", stop


# -- c.Sigstore.oidc_client_id, end to end -----------------------------------------------------------

PRIVATE_CLIENT = "jupyter-private"


@pytest.fixture(scope="module")
def private_instance() -> Iterator[LocalSigstore]:
    """An instance whose Fulcio accepts tokens for the client id ``jupyter-private`` only."""
    with LocalSigstore() as inst:
        inst.oidc.client_id = PRIVATE_CLIENT
        yield inst


class TestClientId:
    @pytest.fixture
    def jp_server_config(
        self, private_instance: LocalSigstore, tmp_path_factory: pytest.TempPathFactory
    ) -> Config:
        trust = private_instance.write_trust_config(tmp_path_factory.mktemp("private") / "trust_config.json")
        return Config(
            {
                "ServerApp": {
                    "jpserver_extensions": {"jupyter_sigstore.server": True},
                    "identity_provider_class": OneUser,
                },
                "Sigstore": {"trust_config": str(trust), "oidc_client_id": PRIVATE_CLIENT},
            }
        )

    async def test_sign_in_and_sign_with_the_configured_client(
        self, jp_fetch: Fetch, root: Path, private_instance: LocalSigstore
    ) -> None:
        browser = await post_json(jp_fetch, "login", "browser", body={})
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(browser["auth_url"]).query))
        assert query["client_id"] == PRIVATE_CLIENT
        flow = await post_json(jp_fetch, "login", "device", body={})
        private_instance.approve_device_code(flow["user_code"], "frank@example.com")
        flow = await _poll(jp_fetch, flow["id"])
        assert flow["status"] == "done" and flow["identity"] == "frank@example.com", flow
        content = json.loads((root / "work" / "analysis.ipynb").read_text(encoding="utf-8"))
        signed = await post_json(jp_fetch, "sign", body={"path": "work/analysis.ipynb", "content": content})
        assert signed["identity"] == "frank@example.com"  # Fulcio took the token for its client id

    async def test_a_token_for_the_default_client_is_refused(
        self, jp_fetch: Fetch, root: Path, private_instance: LocalSigstore
    ) -> None:
        raw = private_instance.mint_token("frank@example.com", audience="sigstore")
        code, message = await error_of(post_json(jp_fetch, "login", "token", body={"token": raw}))
        assert code == 400 and f"not '{PRIVATE_CLIENT}'" in message and raw not in message
        fitting = private_instance.mint_token("frank@example.com", audience=PRIVATE_CLIENT)
        assert (await post_json(jp_fetch, "login", "token", body={"token": fitting}))["identity"]
