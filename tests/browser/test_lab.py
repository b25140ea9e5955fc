"""JupyterLab in headless Chromium: verify on open (verified / modified / invalid / too large),
the sidebar and cell markers, and signing from the UI against the loopback Sigstore instance."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.timeout(300)
# ``lab`` is the conftest's Lab: url, token, root, trust_config, policy, env, sigstore

BADGE = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-sigstore-badge"


def open_notebook(page: Any, lab: Any, path: str) -> Any:
    page.goto(lab.open_url(path))
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", state="visible")
    return page.locator(BADGE)


def wait_status(page: Any, status: str) -> Any:
    page.wait_for_selector(f'{BADGE}[data-status="{status}"]')
    return page.locator(BADGE)


def open_sidebar(page: Any) -> Any:
    page.locator(BADGE).click()
    sidebar = page.locator("#jupyter-sigstore-sidebar")
    sidebar.wait_for(state="visible")
    return sidebar


def cli_verify(lab: Any, notebook: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_sigstore", "verify", "--trust-config", str(lab.trust_config)]
        + ["--policy", str(lab.policy), str(notebook)],
        env=lab.env,
        capture_output=True,
        text=True,
    )


def test_signed_notebook_shows_verified_with_signer(page: Any, lab: Any, screenshots: Path) -> None:
    open_notebook(page, lab, "signed/report.ipynb")
    badge = wait_status(page, "verified")
    assert "alice@example.com" in badge.inner_text()
    assert "Verified" in badge.get_attribute("aria-label")
    sidebar = open_sidebar(page)
    sidebar.get_by_text("alice@example.com").first.wait_for()
    text = sidebar.inner_text()
    assert lab.sigstore.issuer_url in text
    assert "trusted as alice" in text
    assert "results.csv" in text
    assert "project policy sigstore-policy.toml" in text
    assert page.locator(".jp-sigstore-changedCell").count() == 0
    page.screenshot(path=str(screenshots / "verified.png"))


def test_tampered_notebook_shows_modified_and_marks_the_cell(page: Any, lab: Any, screenshots: Path) -> None:
    changed = int((lab.root / "tampered" / "changed-cell.txt").read_text())
    open_notebook(page, lab, "tampered/edited.ipynb")
    badge = wait_status(page, "modified")
    assert "Modified" in badge.inner_text()
    cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")
    marked = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell.jp-sigstore-changedCell")
    marked.first.wait_for()
    assert marked.count() == 1
    assert "jp-sigstore-changedCell" in (cells.nth(changed).get_attribute("class") or "")
    sidebar = open_sidebar(page)
    link = sidebar.locator(".jp-sigstore-cellLink")
    assert link.count() == 1
    assert link.inner_text() == f"Cell {changed + 1} (code): modified"
    link.click()
    page.wait_for_function(
        "n => document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell')[n]"
        ".classList.contains('jp-mod-active')",
        arg=changed,
    )
    page.screenshot(path=str(screenshots / "modified.png"))


def test_change_on_disk_is_verified_again(page: Any, lab: Any) -> None:
    path = lab.root / "disk" / "analysis.ipynb"
    open_notebook(page, lab, "disk/analysis.ipynb")
    wait_status(page, "verified")
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["cells"][0]["source"] = "# rewritten on disk by another program\n"
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    wait_status(page, "modified")  # the extension polls the file's modification time


def test_garbage_signature_shows_invalid_despite_verified_claim(page: Any, lab: Any) -> None:
    open_notebook(page, lab, "garbage.ipynb")
    badge = wait_status(page, "invalid")
    assert badge.inner_text().strip().endswith("Invalid signature")


def test_too_large_notebook_opens_and_says_why(page: Any, lab: Any) -> None:
    open_notebook(page, lab, "big.ipynb")
    badge = wait_status(page, "error")
    assert "Not verified" in badge.inner_text()
    assert "too large to verify" in badge.get_attribute("aria-label")


def test_cancelled_login_leaves_the_notebook_as_it_was(page: Any, lab: Any) -> None:
    path = lab.root / "cancel" / "analysis.ipynb"
    before = path.read_bytes()
    open_notebook(page, lab, "cancel/analysis.ipynb")
    wait_status(page, "unsigned")
    open_sidebar(page).locator(".jp-sigstore-sign").click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator("select.jp-sigstore-identity").select_option("device")
    dialog.locator(".jp-mod-accept").click()
    code = page.locator(".jp-sigstore-userCode")
    code.wait_for()
    assert code.inner_text().strip()
    page.locator(".jp-Dialog .jp-mod-reject").click()
    page.get_by_text("Signing cancelled").first.wait_for()
    assert path.read_bytes() == before
    assert page.locator(BADGE).get_attribute("data-status") == "unsigned"


def test_sign_from_the_ui_then_the_cli_verifies(page: Any, lab: Any, screenshots: Path) -> None:
    path = lab.root / "sign" / "analysis.ipynb"
    assert cli_verify(lab, path).returncode != 0
    open_notebook(page, lab, "sign/analysis.ipynb")
    wait_status(page, "unsigned")
    open_sidebar(page).locator(".jp-sigstore-sign").click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator(".jp-sigstore-signDialog").wait_for()
    dialog.locator('input[value="sign/results.csv"]').check()
    dialog.locator("select.jp-sigstore-identity").select_option("browser")
    page.screenshot(path=str(screenshots / "signing.png"))
    with page.context.expect_page() as popup_info:
        dialog.locator(".jp-mod-accept").click()
    popup = popup_info.value
    popup.wait_for_load_state()
    popup.get_by_text("Signed in to Sigstore as alice@example.com").wait_for()
    badge = wait_status(page, "verified")
    assert "alice@example.com" in badge.inner_text()
    result = cli_verify(lab, path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "VERIFIED" in result.stdout
    assert "results.csv: ok" in result.stdout
    page.screenshot(path=str(screenshots / "signed.png"))


def run_magic_cell(page: Any, source: str) -> None:
    """Add a code cell at the end of the open notebook, type ``source`` and run it."""
    panel = ".jp-NotebookPanel:not(.lm-mod-hidden)"
    page.wait_for_selector(f"{panel} .jp-Notebook-ExecutionIndicator[data-status='idle']")
    page.locator(f"{panel} .jp-Cell").last.click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    page.keyboard.press("Enter")
    page.keyboard.type(source)
    page.keyboard.press("Shift+Enter")


@pytest.mark.parametrize(
    ("folder", "prefix"),
    [
        ("kernel", ""),  # the kernel holds an identity ($SIGSTORE_ID_TOKEN): signer "kernel"
        # the kernel has none: signer "frontend", the extension signs through the server
        ("kernel2", 'import os; os.environ.pop("SIGSTORE_ID_TOKEN", None)\n'),
    ],
)
def test_sigstore_sign_magic_signs_the_open_notebook_through_the_comm(
    page: Any, lab: Any, folder: str, prefix: str
) -> None:
    """`%sigstore sign` in the kernel asks the extension (comm "jupyter_sigstore") to sign the model
    once execution settles; the extension applies the signature and saves through the normal save."""
    path = lab.root / folder / "analysis.ipynb"
    open_notebook(page, lab, f"{folder}/analysis.ipynb")
    wait_status(page, "unsigned")
    run_magic_cell(page, f"{prefix}%load_ext jupyter_sigstore\n%sigstore sign --output results.csv")
    badge = wait_status(page, "verified")
    assert "alice@example.com" in badge.inner_text()
    page.get_by_text("signed by alice@example.com and saved").first.wait_for()
    result = cli_verify(lab, path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "results.csv: ok" in result.stdout


def test_notebook7_verifies_on_open(page: Any, lab: Any) -> None:
    """The same extension in Notebook 7 (served by the same Jupyter server)."""
    pytest.importorskip("notebook", minversion="7")
    page.goto(f"{lab.url}notebooks/signed/report.ipynb?token={lab.token}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", state="visible")
    badge = page.locator('.jp-NotebookPanel .jp-sigstore-badge[data-status="verified"]')
    badge.wait_for()
    assert "alice@example.com" in badge.inner_text()
    badge.click()
    page.locator("#jupyter-sigstore-sidebar").get_by_text("trusted as alice").wait_for()
