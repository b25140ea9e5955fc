"""``ProvenancePanel``: an ipywidgets view of a notebook's VerificationReport, for front ends
without the JupyterLab extension (Notebook 7, VS Code, Colab-like hosts).

    from jupyter_sigstore.kernel.widgets import ProvenancePanel
    ProvenancePanel("analysis.ipynb", policy="sigstore-policy.toml")

Shows the status (words and colour), signers, data outputs and changed cells, with a Re-verify and a
Sign button. Verification and signing run in a worker thread; a progress bar is shown meanwhile.
Signing uses the kernel's identity (``%sigstore login``) and signs the *saved* file.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from ..errors import SigstoreNotebookError
from ..render import render_html
from .login import SESSION, KernelIdentity

if TYPE_CHECKING:
    from ..instance import Instance
    from ..policy import TrustPolicy
    from ..report import VerificationReport


class ProvenancePanel(w.VBox):  # type: ignore[misc]
    """A provenance panel for one notebook file (re-verify and sign buttons, progress while hashing)."""

    def __init__(
        self,
        notebook_path: str | Path,
        *,
        policy: TrustPolicy | str | Path | None = None,
        instance: Instance | None = None,
        identity: KernelIdentity = SESSION,
        outputs: list[str] | None = None,
        autostart: bool = True,
    ) -> None:
        from ..instance import Instance
        from ..policy import load_policy

        self.notebook = Path(notebook_path)
        self.policy = load_policy(policy) if isinstance(policy, (str, Path)) else policy
        self.instance = instance or Instance()
        self.identity = identity
        self.outputs = outputs
        self.report: VerificationReport | None = None
        self.error: str | None = None
        self._worker: threading.Thread | None = None
        self.body = w.HTML(value="<p>Not verified yet.</p>")
        self.message = w.HTML(value="")
        self.progress = w.IntProgress(
            value=0, min=0, max=100, description="Hashing", layout=w.Layout(display="none")
        )
        self.verify_button = w.Button(description="Re-verify", icon="refresh", tooltip="Verify again")
        self.sign_button = w.Button(description="Sign", icon="pencil", tooltip="Sign the saved notebook")
        self.verify_button.on_click(lambda _: self.reverify())
        self.sign_button.on_click(lambda _: self.sign())
        super().__init__(
            children=[
                w.HTML(value=f"<b>Provenance of</b> <code>{_esc(str(self.notebook))}</code>"),
                self.body,
                self.progress,
                w.HBox([self.verify_button, self.sign_button]),
                self.message,
            ]
        )
        if autostart:
            self.reverify()

    # -- actions ------------------------------------------------------------------------------
    def reverify(self, *, wait: bool = False) -> None:
        """Verify the notebook again (in a worker thread; ``wait`` blocks until done)."""
        self._start(self._verify, "Verifying", wait)

    def sign(self, *, wait: bool = False) -> None:
        """Sign the saved notebook (and its tracked outputs) with the kernel's identity, then verify."""
        self._start(self._sign, "Signing", wait)

    def wait(self, timeout: float | None = None) -> None:
        """Block until the running verification or signing finishes."""
        if self._worker is not None:
            self._worker.join(timeout)

    def _start(self, job: Any, label: str, wait: bool) -> None:
        if self._worker is not None and self._worker.is_alive():
            self.message.value = "<p>Busy; try again when the current run finishes.</p>"
            return
        self.verify_button.disabled = self.sign_button.disabled = True
        self.progress.description = label
        self.progress.value = 0
        self.progress.layout.display = ""
        self._worker = threading.Thread(target=self._run, args=(job,), daemon=True)
        self._worker.start()
        if wait:
            self.wait()

    def _run(self, job: Any) -> None:
        done = threading.Event()
        ticker = threading.Thread(target=self._tick, args=(done,), daemon=True)
        ticker.start()
        try:
            job()
            self.error = None
        except SigstoreNotebookError as exc:
            self.error = str(exc)
            self.message.value = f'<p style="color:#cf222e">{_esc(str(exc))}</p>'
        except Exception as exc:  # the panel must never die silently
            self.error = f"internal error: {type(exc).__name__}: {exc}"
            self.message.value = f'<p style="color:#cf222e">{_esc(self.error)}</p>'
        finally:
            done.set()
            ticker.join()
            self.progress.value = 100
            self.progress.layout.display = "none"
            self.verify_button.disabled = self.sign_button.disabled = False

    def _tick(self, done: threading.Event) -> None:
        """Move the bar while hashing runs (the total is unknown until the report is back)."""
        while not done.wait(0.2):
            self.progress.value = min(95, self.progress.value + max(1, (95 - self.progress.value) // 8))

    def _verify(self) -> None:
        from .. import api

        report = api.verify(self.notebook, api.VerifyOptions(policy=self.policy, instance=self.instance))
        self.show(report)

    def _sign(self) -> None:
        from .. import api

        login = self.identity.require()
        result = api.sign(
            self.notebook,
            api.keyless_signer(login.token, self.instance),
            api.SignOptions(
                outputs=tuple(self.outputs or ()),
                base=self.notebook.parent,
                tracked=self.outputs is None,
                instance=self.instance,
            ),
        )
        self._verify()
        self.message.value = (
            f"<p>Signed {_esc(self.notebook.name)} and {len(result.outputs)} output(s) as "
            f"{_esc(login.identity)}. Reload the notebook from disk if it is open in an editor.</p>"
        )

    def show(self, report: VerificationReport) -> None:
        """Render a report in the panel."""
        self.report = report
        self.body.value = render_html(report)
        self.message.value = ""


def _esc(text: str) -> str:
    from html import escape

    return escape(text)
