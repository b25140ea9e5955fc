"""A real IPython kernel driven like a notebook front end, for the magics tests.

``NotebookDriver`` keeps an in-memory notebook model (as an editor does), runs cells in a real
kernel (jupyter_client), appends their outputs to the model, and saves the model to disk on request.
With ``extension=True`` it also plays the front-end side of the ``jupyter_sigstore`` comm as
docs/kernel-protocol.md specifies (hello, wait until settled, send the model, apply the signature,
save); with ``extension=False`` it closes the comm like a front end without the extension.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.manager import KernelManager

TARGET = "jupyter_sigstore"


class NotebookDriver:
    def __init__(
        self,
        notebook: Path,
        *,
        env: dict[str, str],
        extension: bool | None = True,
        session_name: bool = True,
    ) -> None:
        self.path = notebook
        self.extension = extension
        self._pending_shell: list[tuple[str, dict[str, Any]]] = []
        self.model: dict[str, Any] = nbformat.v4.new_notebook(
            metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
        )
        self.messages: list[dict[str, Any]] = []  # every iopub message seen (for leak checks)
        self.log = notebook.parent / "kernel.log"
        self.comm_id: str | None = None
        self.kernel_comm: list[dict[str, Any]] = []  # data of comm messages from the kernel
        self.results: list[dict[str, Any]] = []
        self.ignored: list[dict[str, Any]] = []  # kernel requests not addressed to this front end
        self.displays: dict[str, list[dict[str, Any]]] = {}  # display_id -> outputs showing it
        kernel_env = dict(env)
        if session_name:
            kernel_env["JPY_SESSION_NAME"] = str(notebook)
        self.km = KernelManager(kernel_name="python3")
        self._log_fh = self.log.open("wb")
        self.km.start_kernel(
            env=kernel_env, cwd=str(notebook.parent), stdout=self._log_fh, stderr=self._log_fh
        )
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)
        self._log_fh.close()

    # -- running cells ------------------------------------------------------------------------
    def run(
        self,
        source: str,
        *,
        on_output: Callable[[dict[str, Any]], None] | None = None,
        stdin: Callable[[str], str] | None = None,
        timeout: float = 120,
    ) -> dict[str, Any]:
        """Append a code cell, execute it, record its outputs in the model; return the cell."""
        cell = nbformat.v4.new_code_cell(source)
        self.model["cells"].append(cell)
        msg_id = self.kc.execute(source, allow_stdin=stdin is not None)
        self._collect(msg_id, cell, on_output=on_output, stdin=stdin, timeout=timeout)
        reply = self.kc.get_shell_msg(timeout=timeout)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.kc.get_shell_msg(timeout=timeout)
        cell["execution_count"] = reply["content"].get("execution_count")
        for out in cell["outputs"]:
            if out["output_type"] == "execute_result":
                out["execution_count"] = cell["execution_count"]
        self._settled()
        return cell

    def _collect(
        self,
        parent: str,
        cell: dict[str, Any] | None,
        *,
        on_output: Callable[[dict[str, Any]], None] | None = None,
        stdin: Callable[[str], str] | None = None,
        timeout: float = 120,
    ) -> None:
        deadline = time.monotonic() + timeout
        pending_input: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            if stdin is not None and pending_input is None:
                with contextlib.suppress(queue.Empty):
                    pending_input = self.kc.get_stdin_msg(timeout=0.05)
            try:
                msg = self.kc.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                if pending_input is not None and stdin is not None:
                    # Answer only once iopub is drained: channels are not ordered with each other.
                    self.kc.input(stdin(pending_input["content"]["prompt"]))
                    pending_input = None
                continue
            self.messages.append(msg)
            kind = msg["msg_type"]
            if kind == "comm_open" and msg["content"].get("target_name") == TARGET:
                self._on_comm_open(msg)
            elif kind == "comm_msg" and msg["content"].get("comm_id") == self.comm_id:
                self.kernel_comm.append(msg["content"]["data"])
            if msg["parent_header"].get("msg_id") != parent:
                continue
            if kind == "status" and msg["content"]["execution_state"] == "idle":
                return
            if kind == "update_display_data":
                self._update_display(msg["content"])
            elif cell is not None and kind in ("stream", "display_data", "execute_result", "error"):
                out = nbformat.v4.output_from_msg(msg)
                cell["outputs"].append(out)
                display_id = msg["content"].get("transient", {}).get("display_id")
                if display_id:
                    self.displays.setdefault(display_id, []).append(out)
                if on_output is not None:
                    on_output(out)
        raise TimeoutError("the kernel did not finish in time")

    def _update_display(self, content: dict[str, Any]) -> None:
        """As JupyterLab does: every output showing this display id takes the new data in place."""
        for out in self.displays.get(content.get("transient", {}).get("display_id", ""), []):
            out["data"] = content.get("data", {})
            out["metadata"] = content.get("metadata", {})

    # -- the front-end side of the comm ----------------------------------------------------------
    def _send_comm(self, kind: str, content: dict[str, Any]) -> str:
        msg = self.kc.session.msg(kind, content)
        self.kc.shell_channel.send(msg)
        return str(msg["header"]["msg_id"])

    def _on_comm_open(self, msg: dict[str, Any]) -> None:
        comm_id = msg["content"]["comm_id"]
        if self.extension is None:
            return  # a front end that ignores unknown comms (nbclient-like)
        if not self.extension:
            self._pending_shell.append(("comm_close", {"comm_id": comm_id, "data": {}}))
            return
        self.comm_id = comm_id
        hello = {
            "type": "hello",
            "protocol": 1,
            "frontend_id": "fe-test",
            "frontend": "test-driver",
            "capabilities": ["sign", "track"],
            "notebooks": [self.path.name],
        }
        self._pending_shell.append(("comm_msg", {"comm_id": comm_id, "data": hello}))

    def _settled(self) -> None:
        """Execution settled: deliver queued front-end messages, then act on kernel requests."""
        while self._pending_shell:
            kind, content = self._pending_shell.pop(0)
            self._collect(self._send_comm(kind, content), None)
        while True:
            requests = [d for d in self.kernel_comm if d.get("type") in ("track", "sign")]
            if not requests:
                return
            for data in requests:
                self.kernel_comm.remove(data)
                # as docs/kernel-protocol.md says: a `track` without `to` is for every front end,
                # a `sign` only for the one it names
                if data.get("to") != "fe-test" and not (data["type"] == "track" and data.get("to") is None):
                    self.ignored.append(data)
                    continue
                if data["type"] == "track":
                    block = self.model["metadata"].setdefault("sigstore", {"version": 1, "signatures": []})
                    block["tracked"] = list(data["tracked"])
                else:
                    self._handle_sign(data)

    def _handle_sign(self, data: dict[str, Any]) -> None:
        request_id = data["request_id"]
        if data["signer"] != "kernel":
            self._reply("decline", request_id, message="test driver has no server-side signing")
            return
        snapshot = json.loads(json.dumps(self.model))
        self._collect(
            self._send_comm(
                "comm_msg",
                {
                    "comm_id": self.comm_id,
                    "data": {
                        "type": "model",
                        "protocol": 1,
                        "request_id": request_id,
                        "frontend_id": "fe-test",
                        "path": self.path.name,
                        "content": snapshot,
                    },
                },
            ),
            None,
        )
        answers = [d for d in self.kernel_comm if d.get("request_id") == request_id]
        for d in answers:
            self.kernel_comm.remove(d)
        answer = answers[-1]
        if answer["type"] == "signature":
            self.model["metadata"]["sigstore"] = answer["sigstore"]
            self.save()
            self._reply("result", request_id, status="signed", saved=True, message="signed")
        self.results.append(answer)

    def _reply(self, kind: str, request_id: str, **extra: Any) -> None:
        data = {"type": kind, "protocol": 1, "request_id": request_id, "frontend_id": "fe-test", **extra}
        self._collect(self._send_comm("comm_msg", {"comm_id": self.comm_id, "data": data}), None)

    # -- the editor's save --------------------------------------------------------------------
    def save(self) -> None:
        nbformat.write(nbformat.from_dict(self.model), str(self.path))
        os.utime(self.path)  # a save always moves the modification time forward

    def text(self, cell: dict[str, Any]) -> str:
        """All text of a cell's outputs (stream text, text/plain, error tracebacks)."""
        parts = []
        for out in cell["outputs"]:
            if out["output_type"] == "stream":
                parts.append(out["text"])
            elif out["output_type"] == "error":
                parts.extend(out["traceback"])
            else:
                parts.append(str(out.get("data", {}).get("text/plain", "")))
        return "".join(parts)
