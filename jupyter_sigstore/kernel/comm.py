"""The kernel's end of the ``jupyter_sigstore`` comm: the protocol in docs/kernel-protocol.md, mirrored
by ``labextension/src/comm.ts``.

The kernel never signs the open notebook on its own: it asks the front end for a snapshot of the model
once execution has settled, and the front end saves the signature through the editor's normal save.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..errors import NotebookError, SigstoreNotebookError
from .login import SESSION, KernelIdentity

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey

    from ..instance import Instance

COMM_TARGET = "jupyter_sigstore"
PROTOCOL = 1


@dataclass
class SignRequest:
    """A signing request sent to the front end, kept until it answers."""

    request_id: str
    notebook: Path
    outputs: list[str]
    countersign: bool
    signer: str
    instance: Instance
    earlier_keys: list[EllipticCurvePublicKey] = field(default_factory=list)
    replace: bool = False
    status: str = "sent"
    message: str = ""
    #: the ``sign`` message's content, and the front end it was addressed to (None: nobody yet)
    payload: dict[str, Any] = field(default_factory=dict)
    to: str | None = None


@dataclass
class FrontendLink:
    """The kernel's end of the ``jupyter_sigstore`` comm (docs/kernel-protocol.md)."""

    state: str = "none"  # none | unknown | present | absent
    frontend_id: str | None = None
    frontend: str | None = None
    notebooks: list[str] = field(default_factory=list)
    requests: dict[str, SignRequest] = field(default_factory=dict)
    last_result: str | None = None
    comm: Any = None
    identity: KernelIdentity = SESSION

    def open(self, notebook: Path | None) -> None:
        """Open the comm with a hello (no-op outside a Jupyter kernel)."""
        from comm import create_comm

        data = _msg("hello", package_version=__version__, notebook=notebook_hint(notebook))
        self.comm = create_comm(target_name=COMM_TARGET, data=data)
        self.comm.on_msg(self._on_msg)
        self.comm.on_close(self._on_close)
        self.state = "unknown"

    def close(self) -> None:
        if self.comm is not None and self.state in ("unknown", "present"):
            self.comm.close()
        self.comm, self.state = None, "none"

    def send(self, kind: str, **content: Any) -> None:
        if self.comm is None:
            return
        if self.frontend_id is not None:
            content.setdefault("to", self.frontend_id)
        self.comm.send(_msg(kind, **content))

    def request_signature(self, request: SignRequest) -> None:
        """Send ``sign`` to the front end that said hello. Front ends act only on a ``sign`` addressed
        to them, so a request made before any hello arrived is sent again, addressed, on the first one."""
        self.requests[request.request_id] = request
        request.to = self.frontend_id
        self.send("sign", request_id=request.request_id, **request.payload)

    # incoming ------------------------------------------------------------------------------
    def _on_close(self, msg: dict[str, Any]) -> None:
        if self.state != "present":
            self.state = "absent"
        self.comm = None

    def _on_msg(self, msg: dict[str, Any]) -> None:
        data = msg.get("content", {}).get("data") or {}
        if not isinstance(data, dict):
            return
        kind = data.get("type")
        if kind == "hello":
            self.state = "present"
            self.frontend_id = str(data.get("frontend_id") or "") or None
            self.frontend = str(data.get("frontend") or "front end")
            notebooks = data.get("notebooks")
            self.notebooks = [str(n) for n in notebooks] if isinstance(notebooks, list) else []
            for waiting in self.requests.values():
                if waiting.status == "sent" and waiting.to is None and self.frontend_id is not None:
                    self.request_signature(waiting)
            return
        request = self.requests.get(str(data.get("request_id")))
        if request is None:
            return
        if kind == "model":
            self._sign_model(request, data)
        elif kind == "result":
            request.status = str(data.get("status") or "failed")
            request.message = str(data.get("message") or request.status)
            self.last_result = f"{request.notebook.name}: {request.status} - {request.message}"
        elif kind == "decline":
            request.status = "declined"
            request.message = str(data.get("message") or "the front end declined")
            self.last_result = f"{request.notebook.name}: declined - {request.message}"

    def _sign_model(self, request: SignRequest, data: dict[str, Any]) -> None:
        """Sign the front end's snapshot with the kernel's identity; answer signature or error."""
        if request.status != "sent":
            return  # another front end already answered
        request.status = "signing"
        try:
            content = data.get("content")
            if not isinstance(content, dict):
                raise NotebookError("the front end sent no notebook content")
            result = _sign_snapshot(content, request, self.identity)
        except SigstoreNotebookError as exc:
            request.status, request.message = "failed", str(exc)
            self.last_result = f"{request.notebook.name}: failed - {exc}"
            self.send("error", request_id=request.request_id, message=str(exc))
            return
        except Exception as exc:  # report, never crash the kernel's comm handler
            request.status, request.message = "failed", f"internal error: {type(exc).__name__}"
            self.send("error", request_id=request.request_id, message=request.message)
            return
        request.status = "signature-sent"
        self.send("signature", request_id=request.request_id, **result)


def _msg(kind: str, **content: Any) -> dict[str, Any]:
    return {"type": kind, "protocol": PROTOCOL, **content}


def notebook_hint(notebook: Path | None) -> dict[str, str | None]:
    return {"path": str(notebook) if notebook else None, "name": notebook.name if notebook else None}


def _sign_snapshot(content: dict[str, Any], request: SignRequest, identity: KernelIdentity) -> dict[str, Any]:
    """Sign the front end's snapshot of the open notebook with the kernel's identity."""
    from .. import api

    login = identity.require()
    result = api.sign(
        api.NotebookModel(request.notebook, content),
        api.keyless_signer(login.token, request.instance),
        api.SignOptions(
            outputs=tuple(request.outputs),
            base=request.notebook.parent,
            countersign=request.countersign,
            replace=request.replace,
            earlier_keys=tuple(request.earlier_keys),
            instance=request.instance,
        ),
    )
    return {
        "sigstore": result.block,
        "identity": login.identity,
        "issuer": login.issuer,
        "notebook_digest": result.notebook_digest,
        "outputs": [{"path": o.path, "sha256": o.sha256, "size": o.size} for o in result.outputs],
        "log_index": result.log_index,
        "kept": result.kept,
        "replaced": list(result.dropped),
    }
