"""JupyterLab and Notebook 7 in headless Chromium: verify on open (verified / modified / invalid /
too large), the sidebar and cell markers, approving a project policy, signing from the UI against the
loopback Sigstore instance, and kernel code that tries to sign without the user."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.timeout(300)
# ``lab`` is the conftest's Lab: url, token, root, trust_config, policy, env, sigstore

PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
BADGE = f"{PANEL} .jp-sigstore-badge"


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


def visible_label(marker: Any) -> str:
    """The text a reader sees in a cell marker: shown, not hidden or covered by the front end's own
    cell decorations (a pseudo-element on top of it would be hit instead of the marker)."""
    marker.scroll_into_view_if_needed()
    seen = marker.evaluate(
        """node => {
            const style = getComputedStyle(node);
            const box = node.getBoundingClientRect();
            const x = box.left + Math.min(40, box.width / 2);
            const hit = document.elementFromPoint(x, box.top + box.height / 2);
            return {display: style.display, visibility: style.visibility, opacity: Number(style.opacity),
                    color: style.color, width: box.width, height: box.height, text: node.innerText,
                    onTop: hit === node || node.contains(hit)};
        }"""
    )
    assert seen["display"] != "none" and seen["visibility"] == "visible" and seen["opacity"] > 0, seen
    assert (
        seen["width"] > 0 and seen["height"] > 0 and seen["color"] not in ("transparent", "rgba(0, 0, 0, 0)")
    ), seen
    assert seen["onTop"], seen
    return str(seen["text"]).strip()


def label_above_input(page: Any, n: int) -> None:
    """The label of cell ``n`` sits above the cell's input (not after its outputs)."""
    page.wait_for_function(
        """n => {
            const panel = '.jp-NotebookPanel:not(.lm-mod-hidden)';
            const cell = document.querySelector(`${panel} .jp-Cell[data-windowed-list-index="${n}"]`);
            const label = cell && cell.querySelector('.jp-sigstore-cellMarker');
            const input = cell && cell.querySelector('.jp-Cell-inputWrapper');
            return !!label && !!input
                && label.getBoundingClientRect().bottom <= input.getBoundingClientRect().top + 1;
        }""",
        arg=n,
    )


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
    cells = page.locator(f"{PANEL} .jp-Notebook .jp-Cell")
    marked = page.locator(f"{PANEL} .jp-Cell.jp-sigstore-changedCell")
    marked.first.wait_for()
    assert marked.count() == 1
    assert "jp-sigstore-changedCell" in (cells.nth(changed).get_attribute("class") or "")
    marker = cells.nth(changed).locator(".jp-sigstore-cellMarker")
    assert visible_label(marker) == f"Changed since signing (cell {changed + 1})"
    assert f"Cell {changed + 1} (code)" in (marker.get_attribute("title") or "")
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
    label_above_input(page, changed)
    # a modified notebook's only signature is not "history": nothing covers this version
    assert sidebar.locator('.jp-sigstore-signature[data-history="true"]').count() == 0
    page.screenshot(path=str(screenshots / "modified.png"))


def test_a_cell_rendered_late_gets_its_label_above_its_input(page: Any, lab: Any) -> None:
    """In a long notebook cells render lazily: the changed last cell is labelled once it renders,
    in its header (a label put on the cell before that lands after its outputs)."""
    changed = int((lab.root / "long" / "changed-cell.txt").read_text())
    open_notebook(page, lab, "long/analysis.ipynb")
    wait_status(page, "modified")
    link = open_sidebar(page).locator(".jp-sigstore-cellLink")
    assert link.inner_text() == f"Cell {changed + 1} (markdown): modified"
    link.click()
    label_above_input(page, changed)
    cell = page.locator(f'{PANEL} .jp-Cell[data-windowed-list-index="{changed}"]')
    marker = cell.locator(".jp-sigstore-cellMarker")
    assert visible_label(marker) == f"Changed since signing (cell {changed + 1})"
    assert page.locator(f"{PANEL} .jp-sigstore-cellMarker").count() == 1


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
    dialog = page.locator(".jp-Dialog .jp-sigstore-kernelSign")
    dialog.wait_for()
    assert f"{folder}/analysis.ipynb" in dialog.inner_text()
    assert dialog.locator(".jp-sigstore-kernelSign-output").all_inner_texts() == ["results.csv"]
    if prefix:  # the front end signs: it offers the ways to sign in
        assert dialog.locator("select.jp-sigstore-identity").count() == 1
    else:  # the kernel signs with its own identity, which it names
        assert "the kernel says: alice@example.com" in dialog.inner_text()
    page.locator(".jp-Dialog .jp-mod-accept").click()
    badge = wait_status(page, "verified")
    assert "alice@example.com" in badge.inner_text()
    page.get_by_text("signed by alice@example.com and saved").first.wait_for()
    result = cli_verify(lab, path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "results.csv: ok" in result.stdout


def test_kernel_code_cannot_sign_as_the_user_without_asking(page: Any, lab: Any, screenshots: Path) -> None:
    """The attack: a notebook's cell opens the comm itself, learns the front end's id and asks it to
    sign the notebook and a payload file. A request naming no front end is ignored; the addressed
    one shows a dialog naming every output; Cancel leaves nothing signed, saved or logged."""
    path = lab.root / "attack" / "analysis.ipynb"
    logged = len(lab.sigstore.rekor_v1_log.bodies)
    open_notebook(page, lab, "attack/analysis.ipynb")
    wait_status(page, "unsigned")
    run_magic_cell(
        page,
        "from comm import create_comm\nseen = []\n"
        'c = create_comm(target_name="jupyter_sigstore", data={"type": "hello", "protocol": 1})\n'
        'c.on_msg(lambda m: seen.append(m["content"]["data"]))',
    )
    run_magic_cell(
        page,
        'open("payload.txt", "w").write("attacker payload")\n'
        'fid = next(m["frontend_id"] for m in seen if m.get("type") == "hello")\n'
        'c.send({"type": "sign", "protocol": 1, "request_id": "no-target", "outputs": ["stolen.txt"]})\n'
        'c.send({"type": "sign", "protocol": 1, "request_id": "evil", "to": fid, '
        '"outputs": ["results.csv", "payload.txt"], "signer": "frontend"})',
    )
    # requests are handled one at a time in order: had the first been taken, its dialog came first
    dialog = page.locator(".jp-Dialog .jp-sigstore-kernelSign")
    dialog.wait_for()
    assert page.locator(".jp-Dialog").count() == 1
    text = dialog.inner_text()
    assert "attack/analysis.ipynb" in text
    assert dialog.locator(".jp-sigstore-kernelSign-output").all_inner_texts() == [
        "results.csv",
        "payload.txt",
    ]
    assert "stolen.txt" not in text
    assert dialog.locator("select.jp-sigstore-identity").count() == 1
    page.screenshot(path=str(screenshots / "kernel-sign.png"))
    page.locator(".jp-Dialog .jp-mod-reject").click()
    page.get_by_text("nothing was signed").first.wait_for()
    run_magic_cell(page, 'print([(m["type"], m.get("request_id"), m.get("status")) for m in seen[1:]])')
    out = page.locator(f"{PANEL} .jp-OutputArea-output", has_text="'evil'")
    out.wait_for()
    assert out.inner_text().strip() == "[('result', 'evil', 'cancelled')]"
    assert len(lab.sigstore.rekor_v1_log.bodies) == logged  # nothing was signed
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert not (saved["metadata"].get("sigstore") or {}).get("signatures")
    assert page.locator(BADGE).get_attribute("data-status") == "unsigned"


def test_allow_until_closed_lasts_until_the_notebook_is_closed(page: Any, lab: Any) -> None:
    """ "Allow this notebook ... until I close it" spares the dialog for that open notebook only:
    closed and opened again, the next request asks again."""
    logged = len(lab.sigstore.rekor_v1_log.bodies)
    open_notebook(page, lab, "allow/analysis.ipynb")
    wait_status(page, "unsigned")
    run_magic_cell(
        page,
        'import os; os.environ.pop("SIGSTORE_ID_TOKEN", None)\n%load_ext jupyter_sigstore\n%sigstore sign',
    )
    page.locator(".jp-Dialog .jp-sigstore-kernelSign").wait_for()
    page.locator(".jp-Dialog .jp-sigstore-kernelSign-allow input").check()
    page.locator(".jp-Dialog .jp-mod-accept").click()
    wait_status(page, "verified")
    run_magic_cell(page, "%sigstore sign")  # allowed: signs without a dialog
    page.get_by_text("replaced the earlier signature by alice@example.com").first.wait_for()
    assert page.locator(".jp-Dialog").count() == 0
    assert len(lab.sigstore.rekor_v1_log.bodies) == logged + 2

    page.keyboard.press("Control+s")
    page.wait_for_selector(f"{PANEL} .jp-Notebook-ExecutionIndicator[data-status='idle']")
    page.locator(".lm-TabBar-tab.lm-mod-current .lm-TabBar-tabCloseIcon").first.click()
    page.locator(".jp-NotebookPanel").first.wait_for(state="detached")
    page.locator('.jp-DirListing-item[title*="analysis.ipynb"]').first.dblclick()
    page.wait_for_selector(f"{PANEL} .jp-Cell", state="visible")
    # a new connection to the same kernel: the extension finds the kernel's comm again
    run_magic_cell(page, "%sigstore sign")
    page.locator(".jp-Dialog .jp-sigstore-kernelSign").wait_for()  # asks again
    page.locator(".jp-Dialog .jp-mod-reject").click()
    page.get_by_text("nothing was signed").first.wait_for()
    assert len(lab.sigstore.rekor_v1_log.bodies) == logged + 2


def test_pending_project_policy_is_approved_from_the_sidebar(page: Any, lab: Any, screenshots: Path) -> None:
    """A policy file that came with the notebook counts only once approved, for the exact bytes shown:
    a file swapped after it was shown is refused."""
    policy = lab.root / "project" / "sigstore-policy.toml"
    original = policy.read_bytes()
    sha = hashlib.sha256(original).hexdigest()
    open_notebook(page, lab, "project/analysis.ipynb")
    wait_status(page, "untrusted-signer")
    sidebar = open_sidebar(page)
    pending = sidebar.locator(".jp-sigstore-pending")
    pending.wait_for()
    text = pending.inner_text()
    assert "project/sigstore-policy.toml is not trusted yet" in text
    assert "author: alice@example.com" in text
    assert sha[:12] in text
    page.screenshot(path=str(screenshots / "approve-policy.png"))

    policy.write_bytes(
        original + b'\n[[trusted]]\nname = "mallory"\nidentity = "mallory@example.com"\nissuer = "x"\n'
    )
    try:
        pending.locator(".jp-sigstore-approve").click()
        confirm = page.locator(".jp-Dialog .jp-sigstore-approveDialog")
        assert sha in confirm.inner_text()
        page.locator(".jp-Dialog .jp-mod-accept").click()
        page.get_by_text("changed since it was shown").first.wait_for()
        assert page.locator(BADGE).get_attribute("data-status") == "untrusted-signer"
    finally:
        policy.write_bytes(original)
    pending.locator(".jp-sigstore-approve").click()
    page.locator(".jp-Dialog .jp-mod-accept").click()
    wait_status(page, "verified")
    assert sidebar.locator(".jp-sigstore-pending").count() == 0
    assert "trusted as author" in sidebar.inner_text()


def test_sidebar_shows_history_missing_roles_warnings_and_attestations(
    page: Any, lab: Any, screenshots: Path
) -> None:
    open_notebook(page, lab, "facts/analysis.ipynb")
    wait_status(page, "untrusted-signer")
    sidebar = open_sidebar(page)
    sidebar.locator(".jp-sigstore-attestation").wait_for()
    assert sidebar.locator(".jp-sigstore-missing").inner_text() == "Policy: missing reviewer"
    warnings = sidebar.locator(".jp-sigstore-warning").all_inner_texts()
    assert any("'.' at position" in w for w in warnings), warnings
    cards = sidebar.locator(".jp-sigstore-signature")
    assert cards.count() == 2
    history = sidebar.locator('.jp-sigstore-signature[data-history="true"]')
    assert history.count() == 1
    assert "alice@example.com" in history.inner_text()
    assert "History: covers an earlier version" in history.inner_text()
    assert (
        "bob@example.com" in sidebar.locator('.jp-sigstore-signature:not([data-history="true"])').inner_text()
    )
    attestation = sidebar.locator(".jp-sigstore-attestation").inner_text()
    assert attestation.startswith("Reproduction: FAILED")
    assert "carol@example.com" in attestation
    assert "about this version" in attestation
    assert "cell 3" in attestation
    # no cell changed since bob signed; the reproduction of this version failed cell 3: its own label
    marker = page.locator(f"{PANEL} .jp-sigstore-cellMarker")
    assert marker.count() == 1
    assert marker.get_attribute("data-kind") == "unreproduced"
    assert visible_label(marker) == "Did not reproduce (cell 3)"
    unreproduced = page.locator(f"{PANEL} .jp-Notebook .jp-Cell").nth(2)
    assert "jp-sigstore-unreproducedCell" in (unreproduced.get_attribute("class") or "")
    badge = page.locator(BADGE).inner_text()
    assert "bob@example.com" in badge and "alice@example.com" not in badge  # history is not named
    sidebar.locator(".jp-sigstore-attestation").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "history.png"))


def test_widget_state_change_is_its_own_line_not_a_cell(page: Any, lab: Any) -> None:
    open_notebook(page, lab, "widgets/analysis.ipynb")
    wait_status(page, "modified")
    sidebar = open_sidebar(page)
    line = sidebar.locator(".jp-sigstore-notebookChange")
    line.wait_for()
    assert line.all_inner_texts() == ["Widget state changed since signing"]
    assert sidebar.get_by_text("Changed since signing", exact=True).count() == 1
    assert sidebar.locator(".jp-sigstore-cellLink").count() == 0
    assert page.locator(f"{PANEL} .jp-sigstore-cellMarker").count() == 0


def test_a_displayed_file_no_signature_covers_is_named_and_marked(page: Any, lab: Any) -> None:
    """A markdown image read from disk is content the reader sees: left out of the signature, it is
    named in the sidebar and on its cell (1-based), and the notebook is not Verified."""
    open_notebook(page, lab, "shows/analysis.ipynb")
    wait_status(page, "modified")
    sidebar = open_sidebar(page)
    shown = sidebar.locator(".jp-sigstore-displayed li")
    shown.first.wait_for()
    assert shown.all_inner_texts() == ["Cell 2 shows figures/summary.png: not signed"]
    cell = page.locator(f"{PANEL} .jp-Notebook .jp-Cell").nth(1)
    assert "jp-sigstore-uncoveredCell" in (cell.get_attribute("class") or "")
    assert visible_label(cell.locator(".jp-sigstore-cellMarker")) == "Shows figures/summary.png: not signed"
    assert page.locator(f"{PANEL} .jp-sigstore-cellMarker").count() == 1
    # signing again offers the displayed file, preselected; then nothing is left uncovered
    sidebar.locator(".jp-sigstore-sign").click()
    dialog = page.locator(".jp-Dialog .jp-sigstore-signDialog")
    dialog.wait_for()
    offered = dialog.locator('input[value="shows/figures/summary.png"]')
    assert offered.is_checked()
    assert "figures/summary.png (shown in the notebook)" in dialog.inner_text()
    dialog.locator("select.jp-sigstore-identity").select_option("ambient")
    page.locator(".jp-Dialog .jp-mod-accept").click()
    wait_status(page, "verified")
    assert page.locator(f"{PANEL} .jp-sigstore-cellMarker").count() == 0


def open_in_notebook7(page: Any, nb7: Any, path: str) -> Any:
    page.goto(f"{nb7.url}notebooks/{path}?token={nb7.token}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", state="visible")
    return page.locator(".jp-NotebookPanel .jp-sigstore-badge")


def test_notebook7_verifies_on_open(page: Any, notebook7: Any) -> None:
    """The same extension in Notebook 7 (`jupyter notebook`)."""
    open_in_notebook7(page, notebook7, "signed/report.ipynb")
    badge = page.locator('.jp-NotebookPanel .jp-sigstore-badge[data-status="verified"]')
    badge.wait_for()
    assert "alice@example.com" in badge.inner_text()
    badge.click()
    page.locator("#jupyter-sigstore-sidebar").get_by_text("trusted as alice").wait_for()


def test_notebook7_shows_the_changed_cell_label(page: Any, notebook7: Any, screenshots: Path) -> None:
    """Notebook 7's own cell CSS takes over ::before on cells; our label must still read."""
    changed = int((notebook7.root / "tampered" / "changed-cell.txt").read_text())
    open_in_notebook7(page, notebook7, "tampered/edited.ipynb")
    page.locator('.jp-NotebookPanel .jp-sigstore-badge[data-status="modified"]').wait_for()
    cells = page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell")
    marker = cells.nth(changed).locator(".jp-sigstore-cellMarker")
    marker.wait_for()
    assert page.locator(".jp-NotebookPanel .jp-sigstore-cellMarker").count() == 1
    assert visible_label(marker) == f"Changed since signing (cell {changed + 1})"
    page.screenshot(path=str(screenshots / "notebook7-modified.png"))


def test_signing_over_another_signature_keeps_it_and_says_so(page: Any, lab: Any) -> None:
    """Signing a notebook someone else signed keeps their signature unless "Replace all earlier
    signatures" is ticked (it is not by default); the notification says what happened."""
    path = lab.root / "resign" / "analysis.ipynb"
    open_notebook(page, lab, "resign/analysis.ipynb")
    wait_status(page, "verified")
    open_sidebar(page).locator(".jp-sigstore-sign").click()
    dialog = page.locator(".jp-Dialog .jp-sigstore-signDialog")
    dialog.wait_for()
    countersign = dialog.locator(".jp-sigstore-countersign input")
    replace = dialog.locator(".jp-sigstore-replace input")
    assert not countersign.is_checked() and not replace.is_checked()
    countersign.check()
    replace.check()  # the two exclude each other
    assert not countersign.is_checked()
    replace.uncheck()
    dialog.locator("select.jp-sigstore-identity").select_option("token")
    page.locator(".jp-Dialog .jp-mod-accept").click()
    page.locator(".jp-sigstore-tokenInput").fill(lab.sigstore.mint_token("bob@example.com"))
    try:
        page.locator(".jp-Dialog .jp-mod-accept").click()
        page.get_by_text("Signed by bob@example.com and saved; kept 1 earlier signature").first.wait_for()
    finally:  # sign bob out of the server again
        request = urllib.request.Request(
            f"{lab.url}jupyter-sigstore/login",
            method="DELETE",
            headers={"Authorization": f"token {lab.token}"},
        )
        urllib.request.urlopen(request, timeout=30).close()
    result = cli_verify(lab, path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "alice@example.com" in result.stdout and "bob@example.com" in result.stdout


def test_remote_outputs_are_not_read_on_open_until_the_user_asks(
    page: Any, lab: Any, screenshots: Path, tmp_path: Path
) -> None:
    """A signed output named by URL is listed "not checked" on open (the server fetched nothing);
    "Check remote outputs" reads it with the server's credentials and names what changed."""
    pytest.importorskip("aiohttp", reason="aiohttp is not installed (the [http] extra)")
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    served = tmp_path / "site"
    served.mkdir()
    (served / "data.csv").write_bytes(b"station,temp\nA,12.5\n")
    requests: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            requests.append(self.path)

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(served)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/data.csv"
        folder = lab.root / "remote"
        folder.mkdir()
        notebook = folder / "analysis.ipynb"
        notebook.write_bytes((lab.root / "signed" / "report.ipynb").read_bytes())
        nb = json.loads(notebook.read_text(encoding="utf-8"))
        nb["metadata"].pop("sigstore", None)
        notebook.write_text(json.dumps(nb, indent=1), encoding="utf-8")
        sign = [sys.executable, "-m", "jupyter_sigstore", "sign", "--trust-config", str(lab.trust_config)]
        env = {**lab.env, "SIGSTORE_ID_TOKEN": lab.sigstore.mint_token("alice@example.com")}
        subprocess.run([*sign, "--output", url, notebook.name], cwd=folder, env=env, check=True)
        requests.clear()

        open_notebook(page, lab, "remote/analysis.ipynb")
        badge = wait_status(page, "verified")
        sidebar = open_sidebar(page)
        item = sidebar.locator(".jp-sigstore-outputs li")
        item.first.wait_for()
        assert item.get_attribute("data-status") == "not-checked"
        assert "not checked" in item.inner_text() and url in item.inner_text()
        assert "remote output not checked" in (badge.get_attribute("title") or sidebar.inner_text())
        assert requests == []  # opening fetched nothing
        page.screenshot(path=str(screenshots / "remote-not-checked.png"))

        sidebar.locator(".jp-sigstore-checkRemote").click()
        page.wait_for_selector('.jp-sigstore-outputs li[data-status="ok"]')
        assert requests, "the check read the URL"
        assert sidebar.locator(".jp-sigstore-checkRemote").count() == 0

        (served / "data.csv").write_bytes(b"station,temp\nA,99.9\n")
        # a save or an open verifies again without reading the URL: "not checked" once more
        sidebar.locator(".jp-sigstore-verify").click()
        page.wait_for_selector('.jp-sigstore-outputs li[data-status="not-checked"]')
        sidebar.locator(".jp-sigstore-checkRemote").click()
        wait_status(page, "modified")
        changed = sidebar.locator('.jp-sigstore-outputs li[data-status="modified"]')
        changed.wait_for()
        assert url in changed.inner_text()
        page.screenshot(path=str(screenshots / "remote-modified.png"))
    finally:
        server.shutdown()
        server.server_close()
