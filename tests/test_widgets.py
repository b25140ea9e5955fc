"""ProvenancePanel: renders the VerificationReport, re-verifies, signs (in-process, no kernel needed)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from jupyter_sigstore import api
from jupyter_sigstore.instance import Instance
from jupyter_sigstore.kernel.login import KernelIdentity, LoginPrompt
from jupyter_sigstore.policy import TrustPolicy
from jupyter_sigstore.testing import LocalSigstore

widgets = pytest.importorskip("jupyter_sigstore.kernel.widgets")


def _notebook(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_markdown_cell("# results")]
    path = folder / "panel.ipynb"
    nbformat.write(nb, str(path))
    (folder / "results.csv").write_text("a,b\n1,2\n")
    api.set_tracked(path, ["results.csv"])
    return path


def _logged_in(inst: LocalSigstore, instance: Instance) -> KernelIdentity:
    session = KernelIdentity()

    def show(prompt: LoginPrompt) -> None:
        inst.approve_device_code(prompt.user_code or "", identity="alice@example.com")

    session.login(instance, method="device", timeout=30, show=show)
    return session


def test_panel_unsigned_sign_verify_tamper(
    tmp_path: Path, sigstore_instance: LocalSigstore, trust_config: Path
) -> None:
    path = _notebook(tmp_path)
    instance = Instance.select(trust_config=trust_config)
    policy = TrustPolicy.exact("alice@example.com", sigstore_instance.issuer_url)
    session = KernelIdentity()
    panel = widgets.ProvenancePanel(path, policy=policy, instance=instance, identity=session, autostart=False)
    panel.reverify(wait=True)
    assert panel.report is not None and panel.report.status == "unsigned"
    assert "Unsigned" in panel.body.value
    assert panel.progress.layout.display == "none" and not panel.verify_button.disabled

    panel.sign_button.click()  # no identity yet: one error line, nothing written
    panel.wait()
    before = path.read_bytes()
    assert panel.error and "no identity" in panel.error
    assert "no identity" in panel.message.value
    assert path.read_bytes() == before

    panel.identity = _logged_in(sigstore_instance, instance)
    panel.sign(wait=True)
    assert panel.error is None, panel.error
    assert panel.report is not None and panel.report.status == "verified", api.render_text(panel.report)
    assert [o.path for o in panel.report.outputs] == ["results.csv"]
    assert "alice@example.com" in panel.body.value and "Verified" in panel.body.value

    (tmp_path / "results.csv").write_text("a,b\n1,3\n")
    panel.verify_button.click()
    panel.wait()
    assert panel.report.status == "modified"
    assert "results.csv" in panel.body.value and "modified" in panel.body.value.lower()


def test_panel_bad_notebook_shows_error(tmp_path: Path) -> None:
    bad = tmp_path / "broken.ipynb"
    bad.write_text("{not json")
    panel = widgets.ProvenancePanel(bad, autostart=False)
    panel.reverify(wait=True)
    assert panel.report is None
    assert panel.error and "broken.ipynb" in panel.error
    assert "<" not in panel.error  # plain text, escaped into the HTML
