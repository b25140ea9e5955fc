"""REST API under ``<base_url>/jupyter-sigstore/``: verify, sign, policy, and the sign-in flows.

Every handler requires an authenticated user *and* jupyter_server's authorization for the
``sigstore`` resource (GET = read, POST/DELETE = write). Paths are contents-API paths and never
reach outside the server's root.
"""

from __future__ import annotations

import asyncio
import html
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.utils import url_path_join

from ..canonical import check_nbformat
from ..errors import IdentityError, NotebookError, PolicyError, SigstoreNotebookError, TrustConfigError
from ..policy import TrustPolicy, load_policy
from .config import Sigstore
from .login import IdentityBroker
from .paths import api_path_of, contents_root, nearest_policy_file, resolve_api_path

NAMESPACE = "jupyter-sigstore"
AUTH_RESOURCE = "sigstore"


class _Base(APIHandler):
    auth_resource = AUTH_RESOURCE

    @property
    def sigstore(self) -> Sigstore:
        return self.settings["jupyter_sigstore_config"]  # type: ignore[no-any-return]

    @property
    def broker(self) -> IdentityBroker:
        return self.settings["jupyter_sigstore_broker"]  # type: ignore[no-any-return]

    @property
    def user_key(self) -> str:
        user = self.current_user
        return str(getattr(user, "username", user))

    def json_body(self) -> dict[str, Any]:
        try:
            body = json.loads(self.request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise tornado.web.HTTPError(400, "the request body is not JSON") from None
        if not isinstance(body, dict):
            raise tornado.web.HTTPError(400, "the request body must be a JSON object")
        return body

    def fail(self, status: int, message: str) -> None:
        """Answer with one actionable error line (never a traceback)."""
        self.set_status(status)
        self.finish(json.dumps({"message": message}))

    def effective_policy(self, notebook: Path | None) -> dict[str, Any]:
        """Which policy applies to ``notebook``: the server's own, narrowed by the nearest project
        policy file the user approved. A project file not (or no longer) approved is ignored and
        offered for approval; a broken server policy fails closed (no policy: nobody trusted)."""
        from ..approvals import load_approved_policy
        from ..errors import PolicyNotApprovedError
        from ..policy import narrow

        root = contents_root(self.contents_manager)
        admin, source, error = self.sigstore.server_policy(root)
        result: dict[str, Any] = {"policy": admin, "source": source, "error": error, "pending": None}
        found = nearest_policy_file(root, notebook) if notebook and self.sigstore.project_policies else None
        if found is None or error is not None:
            return result
        where = api_path_of(self.contents_manager, found.resolve())
        try:
            project = load_approved_policy(found, source=f"project policy {where}")
        except PolicyNotApprovedError as exc:
            pending = {"path": where, "sha256": exc.sha256, "message": _relative(str(exc), root)}
            try:  # what approving it would trust, for the user to review (not honoured yet)
                pending["description"] = load_policy(found).describe()
            except PolicyError as problem:
                pending["error"] = _relative(str(problem), root)
            result["pending"] = pending
        except PolicyError as exc:
            result["error"] = _relative(str(exc), root)
        else:
            policy = narrow(replace(admin, source=source or admin.source) if admin else None, project)
            result.update(policy=policy, source=policy.source)
        return result


def _policy_json(effective: dict[str, Any]) -> dict[str, Any]:
    policy: TrustPolicy | None = effective["policy"]
    return {
        "source": effective["source"],
        "error": effective["error"],
        "pending": effective["pending"],
        "description": policy.describe() if policy else None,
        "warnings": list(policy.warnings) if policy else [],
        "signers": [
            {
                "name": s.name,
                "identity": s.identity,
                "identity_regex": s.identity_regex,
                "issuer": s.issuer,
                "issuer_regex": s.issuer_regex,
                "github": dict(s.github),
                "description": s.describe(),
            }
            for s in (policy.signers if policy else ())
        ],
        "require": list(policy.require) if policy else [],
    }


class VerifyHandler(_Base):
    """GET ?path=<contents path>[&remote=1]: verify the notebook as saved on disk.

    Outputs named by URL are not read (reported ``not-checked``) unless the request asks with
    ``remote=1`` (the user's "Check remote outputs") and ``c.Sigstore.remote_outputs`` allows it, or
    the administrator set it to ``on-open``; even then only for signatures the policy trusts.
    """

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        api_path = self.get_query_argument("path", "")
        real = resolve_api_path(self.contents_manager, api_path)
        effective = self.effective_policy(real)
        result: dict[str, Any] = {
            "path": api_path_of(self.contents_manager, real),
            "report": None,
            "error": None,
            "policy": _policy_json(effective),
        }
        limit = self.sigstore.max_notebook_bytes
        size = real.stat().st_size
        if limit and size > limit:
            result["error"] = (
                f"too large to verify here ({size / 1e6:.1f} MB; the server's limit is {limit / 1e6:.1f} MB, "
                "c.Sigstore.max_notebook_bytes); verify it with the jupyter-sigstore CLI"
            )
            self.finish(json.dumps(result))
            return
        try:
            instance = self.sigstore.select_instance(self.get_query_argument("instance", None))
            root = contents_root(self.contents_manager)
            remote = self.sigstore.remote_checks(self.get_query_argument("remote", "") in ("1", "true"))
            report = await asyncio.to_thread(
                _verify,
                real,
                effective["policy"],
                instance,
                root,
                remote,
                self.sigstore.dask_scheduler or None,
            )
        except (NotebookError, TrustConfigError) as exc:
            result["error"] = _relative(str(exc), contents_root(self.contents_manager))
        except SigstoreNotebookError as exc:
            result["error"] = _relative(str(exc), contents_root(self.contents_manager))
        else:
            data = report.to_dict()
            data["notebook"] = result["path"]
            result["report"] = data
        self.finish(json.dumps(result))


def _verify(
    path: Path, policy: TrustPolicy | None, instance: Any, root: Path, remote: Any, dask: str | None
) -> Any:
    from .. import api

    options = api.VerifyOptions(policy=policy, instance=instance, root=root, remote=remote, dask=dask)
    return api.verify(path, options)


def _relative(message: str, root: Path) -> str:
    """Errors name files by their contents path, not the server's absolute path."""
    return message.replace(str(root) + "/", "").replace(str(root), ".")


class PolicyHandler(_Base):
    """GET [?path=<notebook>]: the effective trust policy (for that notebook, or the server's)."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        api_path = self.get_query_argument("path", "")
        real = resolve_api_path(self.contents_manager, api_path) if api_path else None
        effective = self.effective_policy(real)
        instance = self.sigstore.select_instance()
        self.finish(
            json.dumps(
                {
                    **_policy_json(effective),
                    "instance": instance.name,
                    "public_good": instance.is_public_good,
                    "auto_verify": self.sigstore.auto_verify,
                    "signing": self.sigstore.allow_signing,
                }
            )
        )


class PolicyApprovalHandler(_Base):
    """POST {path, sha256}: approve the project policy file at ``path`` (a contents path) as shown to
    the user (refused if its hash changed since). DELETE ?path=: revoke that approval."""

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        from ..approvals import approve

        body = self.json_body()
        api_path, sha256 = body.get("path"), body.get("sha256")
        if not isinstance(api_path, str) or not isinstance(sha256, str):
            self.fail(400, "give 'path' (the policy file's contents path) and 'sha256' (its hash, as shown)")
            return
        real = resolve_api_path(self.contents_manager, api_path)
        try:
            approval = approve(real, sha256=sha256)
        except PolicyError as exc:
            self.fail(422, _relative(str(exc), contents_root(self.contents_manager)))
            return
        self.log.info("jupyter-sigstore: %s approved project policy %s", self.user_key, api_path)
        self.finish(
            json.dumps({"path": api_path, "sha256": approval.sha256, "approved_at": approval.approved_at})
        )

    @tornado.web.authenticated
    @authorized
    async def delete(self) -> None:
        from ..approvals import revoke

        real = resolve_api_path(self.contents_manager, self.get_query_argument("path", ""))
        try:
            revoked = revoke(real)
        except PolicyError as exc:
            self.fail(422, _relative(str(exc), contents_root(self.contents_manager)))
            return
        self.finish(json.dumps({"revoked": revoked}))


class SignHandler(_Base):
    """POST {path, content, outputs?, countersign?, identity?}: sign the editor's notebook model in memory.

    The signer is the user's signed-in identity (see the login endpoints); ``identity: "ambient"``
    signs in with the server's ambient credentials first.

    Nothing is written: the answer holds the ``metadata.sigstore`` block that the front end puts
    into the open notebook's model and saves through the normal save.
    """

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        if not self.sigstore.allow_signing:
            self.fail(403, "signing through the server is disabled (c.Sigstore.allow_signing)")
            return
        body = self.json_body()
        api_path = body.get("path")
        content = body.get("content")
        outputs = body.get("outputs") or []
        if not isinstance(api_path, str) or not api_path.endswith(".ipynb"):
            self.fail(400, "give 'path', the notebook's contents path (*.ipynb)")
            return
        if not isinstance(content, dict):
            self.fail(400, "give 'content', the notebook as the editor has it (a JSON object)")
            return
        if not isinstance(outputs, list) or not all(isinstance(o, str) for o in outputs):
            self.fail(400, "'outputs' must be a list of contents paths or URLs")
            return
        from ..remote.scheme import is_url

        if any(is_url(o) for o in outputs) and self.sigstore.remote_outputs == "never":
            self.fail(403, "outputs named by URL are not read by this server (c.Sigstore.remote_outputs)")
            return
        real = resolve_api_path(self.contents_manager, api_path, must_exist=False)
        output_files = [o if is_url(o) else resolve_api_path(self.contents_manager, o) for o in outputs]
        try:
            content = check_nbformat(content)
        except NotebookError as exc:
            self.fail(422, f"{api_path}: {exc}")
            return
        user = self.user_key
        try:
            if body.get("identity") == "ambient":  # sign in with the server's credentials on the way
                await asyncio.to_thread(self.broker.login_ambient, user)
            token = self.broker.token_for(user)
            override = body.get("instance")
            instance = self.sigstore.select_instance(override if isinstance(override, str) else None)
            result = await asyncio.to_thread(
                _sign,
                content,
                real,
                output_files,
                token,
                instance,
                bool(body.get("countersign")),
                bool(body.get("replace")),
                self.sigstore.dask_scheduler or None,
            )
        except IdentityError as exc:
            self.fail(401, str(exc))
            return
        except SigstoreNotebookError as exc:
            self.fail(422, _relative(str(exc), contents_root(self.contents_manager)))
            return
        self.log.info("jupyter-sigstore: %s signed %s", user, api_path)
        self.finish(json.dumps(result))


def _sign(
    content: dict[str, Any],
    path: Path,
    outputs: list[Path | str],
    token: Any,
    instance: Any,
    countersign: bool,
    replace: bool,
    dask: str | None,
) -> dict[str, Any]:
    from .. import api

    result = api.sign(
        api.NotebookModel(path, content),
        api.keyless_signer(token, instance),
        api.SignOptions(
            outputs=tuple(str(o) for o in outputs),
            base=path.parent,
            countersign=countersign,
            replace=replace,
            instance=instance,
            dask=dask,
        ),
    )
    return {
        "identity": result.identity,
        "sigstore": result.block,
        "notebook_digest": result.notebook_digest,
        "outputs": result.outputs_json(),
        "log_index": result.log_index,
        "kept": result.kept,
        "replaced": list(result.dropped),
    }


class LoginHandler(_Base):
    """GET: who is signed in and which sign-in methods exist. DELETE: sign out (forget the token)."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        self.finish(json.dumps(self.broker.status(self.user_key)))

    @tornado.web.authenticated
    @authorized
    async def delete(self) -> None:
        self.broker.logout(self.user_key)
        self.set_status(204)
        self.finish()


class LoginStartHandler(_Base):
    """POST /login/<method>: ambient | token | browser | device | oob."""

    @tornado.web.authenticated
    @authorized
    async def post(self, method: str) -> None:
        user = self.user_key
        try:
            if method == "ambient":
                await asyncio.to_thread(self.broker.login_ambient, user)
                self.finish(json.dumps(self.broker.status(user)))
                return
            if method == "token":
                raw = self.json_body().get("token")
                if not isinstance(raw, str) or not raw.strip():
                    self.fail(400, "give 'token', an OIDC identity token")
                    return
                self.broker.login_token(user, raw)
                self.finish(json.dumps(self.broker.status(user)))
                return
            if method == "browser":
                callback = url_path_join(self.base_url, NAMESPACE, "login", "callback")
                redirect_uri = f"{self.request.protocol}://{self.request.host}{callback}"
                flow = await self.broker.start_browser(user, redirect_uri)
            elif method == "device":
                flow = await self.broker.start_device(user)
            elif method == "oob":
                flow = await self.broker.start_oob(user)
            else:
                raise tornado.web.HTTPError(404, f"no such sign-in method: {method}")
        except (IdentityError, TrustConfigError) as exc:
            self.fail(400, str(exc))
            return
        self.set_status(201)
        self.finish(json.dumps(flow.public()))


class LoginFlowHandler(_Base):
    """GET: a flow's state. POST {code}: finish an out-of-band flow. DELETE: cancel it."""

    def _flow(self, flow_id: str) -> Any:
        try:
            return self.broker.flow(self.user_key, flow_id)
        except KeyError:
            raise tornado.web.HTTPError(404, "no such sign-in") from None

    @tornado.web.authenticated
    @authorized
    async def get(self, flow_id: str) -> None:
        self.finish(json.dumps(self._flow(flow_id).public()))

    @tornado.web.authenticated
    @authorized
    async def post(self, flow_id: str) -> None:
        self._flow(flow_id)
        code = self.json_body().get("code")
        try:
            flow = await self.broker.finish_oob(self.user_key, flow_id, code if isinstance(code, str) else "")
        except IdentityError as exc:
            self.fail(400, str(exc))
            return
        self.finish(json.dumps(flow.public()))

    @tornado.web.authenticated
    @authorized
    async def delete(self, flow_id: str) -> None:
        self._flow(flow_id)
        self.finish(json.dumps(self.broker.cancel(self.user_key, flow_id).public()))


class LoginCallbackHandler(JupyterHandler):
    """The browser flow's redirect target: redeems the code and tells the user to return."""

    auth_resource = AUTH_RESOURCE

    @tornado.web.authenticated
    @authorized("write")  # type: ignore[untyped-decorator]  # it stores a token: a write
    async def get(self) -> None:
        broker: IdentityBroker = self.settings["jupyter_sigstore_broker"]
        user = str(getattr(self.current_user, "username", self.current_user))
        params = {
            k: self.get_query_argument(k) for k in ("state", "code", "error") if self.get_argument(k, None)
        }
        try:
            flow = await broker.finish_browser(user, params)
        except KeyError:
            self.set_status(400)
            self._page("Sign-in not recognised", "This sign-in was not started here, or it expired.")
            return
        if flow.status == "done":
            self._page("Signed in", f"Signed in to Sigstore as {flow.identity}. You can close this tab.")
        else:
            self._page("Sign-in failed", f"{flow.error}. Nothing was signed; you can close this tab.")

    def _page(self, title: str, text: str) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(
            "<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>jupyter-sigstore: {html.escape(title)}</title></head>"
            f"<body><h1>{html.escape(title)}</h1><p id='message'>{html.escape(text)}</p></body></html>"
        )


def handlers(base_url: str) -> list[tuple[str, type[JupyterHandler]]]:
    """The URL routes of the REST API."""

    def route(*parts: str) -> str:
        return url_path_join(base_url, NAMESPACE, *parts)

    return [
        (route("verify"), VerifyHandler),
        (route("sign"), SignHandler),
        (route("policy"), PolicyHandler),
        (route("policy", "approval"), PolicyApprovalHandler),
        (route("login"), LoginHandler),
        (route("login", "callback"), LoginCallbackHandler),
        (route("login", "flows", r"([A-Za-z0-9_\-]+)"), LoginFlowHandler),
        (route("login", r"(ambient|token|browser|device|oob)"), LoginStartHandler),
    ]
