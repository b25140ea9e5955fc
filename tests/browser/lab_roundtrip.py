"""Open a notebook in JupyterLab or Notebook 7 in headless Chromium, save it through the front end's own
save (Ctrl+S), and return the bytes the server wrote.

Used by ``test_lab_roundtrip.py`` and usable by hand::

    python tests/browser/lab_roundtrip.py NB.ipynb [--frontend lab|notebook] [--kernel] > SAVED.ipynb

``jupyter_server()`` starts ``jupyter lab`` or ``jupyter notebook`` on 127.0.0.1 with a temp root and
its own config, data, runtime and settings folders (so the notary's trust database is fresh) and
jupyter-sigstore's own extensions switched off (plain JupyterLab). With ``kernels=False`` it offers no
kernel at all, so opening a notebook starts none: the front end asks which kernel to use and
``open_notebook`` answers "No Kernel". The page functions also work with the browser tests' ``lab``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
FRONTENDS = ("lab", "notebook")
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"


@dataclass
class JupyterServer:
    url: str
    token: str
    root: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def isolated_env(base: Path) -> dict[str, str]:
    """An environment whose Jupyter config, data, runtime and lab settings live under ``base``, with
    jupyter-sigstore's extensions switched off."""
    env = {
        **os.environ,
        "XDG_CACHE_HOME": str(base / "cache"),
        "XDG_DATA_HOME": str(base / "data"),
        "JUPYTER_DATA_DIR": str(base / "data" / "jupyter"),
        "JUPYTER_CONFIG_DIR": str(base / "config"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(base / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
    }
    env.pop("SIGSTORE_ID_TOKEN", None)
    # plain JupyterLab: jupyter-sigstore's own server and lab extensions are switched off
    config = base / "config"
    (config / "labconfig").mkdir(parents=True, exist_ok=True)
    (config / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"jupyter_sigstore.server": False}}}),
        encoding="utf-8",
    )
    (config / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"jupyter-sigstore": True}}), encoding="utf-8"
    )
    settings = base / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}), encoding="utf-8"
    )
    return env


@contextmanager
def jupyter_server(base: Path, *, app: str = "lab", kernels: bool = True) -> Iterator[JupyterServer]:
    """Run ``jupyter lab`` (app="lab") or ``jupyter notebook`` (app="notebook") with root ``base/root``."""
    root = base / "root"
    root.mkdir(parents=True, exist_ok=True)
    token = "roundtrip-token"
    extra = [] if kernels else ["--KernelSpecManager.allowed_kernelspecs=no-kernel-offered"]
    with serve_jupyter(app, root, isolated_env(base), base / f"{app}.log", token, extra) as url:
        yield JupyterServer(url, token, root)


@contextmanager
def serve_jupyter(
    app: str, root: Path, env: dict[str, str], log_path: Path, token: str, extra: Sequence[str] = ()
) -> Iterator[str]:
    """Start ``jupyter lab`` (app="lab") or ``jupyter notebook`` on a free port of 127.0.0.1 with
    ``root`` as its root and ``token`` as its token, its output in ``log_path``; yield its URL once
    it answers; shut it down."""
    port = _free_port()
    script = Path(sys.executable).parent / f"jupyter-{app}"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "jupyterlab" if app == "lab" else app]
    cmd += [
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={token}",
        "--LabServerApp.collaborative=False",
        *(["--LabApp.news_url="] if app == "lab" else []),
        *extra,
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/"
        try:
            deadline = time.monotonic() + 120
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"jupyter {app} exited: {log_path.read_text()[-3000:]}")
                try:
                    with urllib.request.urlopen(f"{url}api/status?token={token}", timeout=2):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"jupyter {app} did not start in 120 s") from None
                    time.sleep(0.5)
            yield url
        finally:
            _stop(proc, url, token)


def _stop(proc: subprocess.Popen[bytes], url: str, token: str) -> None:
    """Shut the server down through its API (SIGTERM can wait on open websockets), then signals."""
    try:
        request = urllib.request.Request(f"{url}api/shutdown?token={token}", method="POST")
        urllib.request.urlopen(request, timeout=5).close()
        proc.wait(timeout=10)
        return
    except (OSError, subprocess.TimeoutExpired):
        pass
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def notebook_url(server: Any, relpath: str, frontend: str) -> str:
    if frontend == "lab":
        return f"{server.url}lab/tree/{relpath}?reset&token={server.token}"
    if frontend == "notebook":
        return f"{server.url}notebooks/{relpath}?token={server.token}"
    raise ValueError(f"unknown front end {frontend!r}: use one of {FRONTENDS}")


def _answer_kernel_dialog(page: Any) -> None:
    """Answer the "Select Kernel" dialog (a server without kernels always shows it) with "No Kernel"."""
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(state="visible", timeout=30_000)
    select = dialog.locator("select")
    if select.count():
        select.first.select_option(label="No Kernel")
    dialog.locator(".jp-mod-accept").click()
    dialog.wait_for(state="detached")


def open_notebook(
    page: Any, server: Any, relpath: str, *, frontend: str = "lab", kernel: bool = False
) -> None:
    """Open ``relpath`` in ``page``. With ``kernel=True`` this waits until the notebook's kernel is idle;
    with ``kernel=False`` (for a server started with ``kernels=False``) it answers "No Kernel"."""
    page.goto(notebook_url(server, relpath, frontend))
    page.wait_for_selector(f"{PANEL} .jp-Cell", state="visible")
    if kernel:
        page.wait_for_selector(f"{PANEL} .jp-Notebook-ExecutionIndicator[data-status='idle']")
    else:
        _answer_kernel_dialog(page)


def save_notebook(page: Any, server: Any, relpath: str, *, kernel: bool = False) -> bytes:
    """Save the open notebook with Ctrl+S and return the bytes the server wrote.

    With ``kernel=True`` the save is repeated until what the started kernel tells the front end has
    reached the file: its language_info (kernel info, with a mimetype and file_extension) and its
    kernelspec (the server's display name), which arrive separately and asynchronously after the kernel
    is idle, and two saves in a row agree."""
    path = server.root / relpath
    specs = _kernel_specs(server) if kernel else {}
    previous = b""
    for _attempt in range(40):
        page.locator(f"{PANEL} .jp-Cell").first.click()
        page.keyboard.press("Escape")
        with page.expect_response(
            lambda r: r.request.method == "PUT" and "/api/contents/" in r.url, timeout=30_000
        ) as response:
            page.keyboard.press("Control+s")
        if response.value.status != 200:
            raise RuntimeError(
                f"saving {relpath} failed: HTTP {response.value.status} {response.value.text()}"
            )
        saved = _read_settled(page, path)
        if not kernel:
            return saved
        metadata = json.loads(saved)["metadata"]
        spec = specs.get(metadata.get("kernelspec", {}).get("name"), {})
        language_info = metadata.get("language_info", {})
        if (
            saved == previous
            and {"mimetype", "file_extension"} <= language_info.keys()
            and metadata["kernelspec"].get("display_name") == spec.get("display_name")
        ):
            return saved
        previous = saved
        page.wait_for_timeout(250)
    raise RuntimeError(f"the kernel's language_info and kernelspec never reached {relpath}")


def _kernel_specs(server: Any) -> dict[str, dict[str, Any]]:
    with urllib.request.urlopen(f"{server.url}api/kernelspecs?token={server.token}", timeout=10) as response:
        specs = json.loads(response.read())["kernelspecs"]
    return {name: entry["spec"] for name, entry in specs.items()}


def _read_settled(page: Any, path: Path) -> bytes:
    """The file once no save is writing it. jupyter_server writes a notebook in place (after a backup
    copy), so a read while another save is in flight ("Trust Notebook" saves too, and the response
    awaited may be that one's) can find it empty or cut short: read until the bytes parse and two
    reads 100 ms apart agree."""
    previous = None
    for _attempt in range(100):
        data = path.read_bytes()
        try:
            json.loads(data)
        except ValueError:
            data = b""
        if data and data == previous:
            return data
        previous = data
        page.wait_for_timeout(100)
    raise RuntimeError(f"{path.name} never settled into a whole notebook after saving")


def open_and_save(
    page: Any, server: Any, relpath: str, *, frontend: str = "lab", kernel: bool = False
) -> bytes:
    """Open ``relpath`` (under ``server.root``), save it through the front end, return the saved bytes."""
    open_notebook(page, server, relpath, frontend=frontend, kernel=kernel)
    return save_notebook(page, server, relpath, kernel=kernel)


def trust_notebook(page: Any) -> None:
    """Run "Trust Notebook" from the command palette and confirm it: every cell's outputs are re-created
    from the front end's output model and written back to the shared model that is saved."""
    page.locator(f"{PANEL} .jp-Cell").first.click()
    page.keyboard.press("Escape")
    page.keyboard.press("Control+Shift+c")
    palette = page.locator(".lm-CommandPalette-input:visible")
    palette.fill("Trust Notebook")
    page.locator(".lm-CommandPalette-item:visible", has_text="Trust Notebook").first.click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(state="visible")
    dialog.locator(".jp-mod-accept").click()
    dialog.wait_for(state="detached")


def shown_texts(page: Any, cell: int) -> list[str]:
    """The text of each output of the open notebook's cell ``cell`` (0-based) as the page shows it."""
    outputs = page.locator(f"{PANEL} .jp-Notebook .jp-Cell").nth(cell).locator(".jp-OutputArea-output")
    outputs.first.scroll_into_view_if_needed()
    return [outputs.nth(i).text_content() or "" for i in range(outputs.count())]


@contextmanager
def chromium_page() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1366, "height": 768})
            page = context.new_page()
            page.set_default_timeout(60_000)
            yield page
        finally:
            browser.close()


def roundtrip(notebook: bytes, *, frontend: str = "lab", kernel: bool = False) -> bytes:
    """Start a server and a browser, open and save ``notebook`` once, and return the saved bytes."""
    app = "lab" if frontend == "lab" else "notebook"
    with tempfile.TemporaryDirectory() as tmp, jupyter_server(Path(tmp), app=app, kernels=kernel) as server:
        (server.root / "roundtrip.ipynb").write_bytes(notebook)
        with chromium_page() as page:
            return open_and_save(page, server, "roundtrip.ipynb", frontend=frontend, kernel=kernel)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--frontend", choices=FRONTENDS, default="lab")
    parser.add_argument("--kernel", action="store_true", help="let the notebook's kernel start on open")
    args = parser.parse_args()
    sys.stdout.buffer.write(roundtrip(args.notebook.read_bytes(), frontend=args.frontend, kernel=args.kernel))


if __name__ == "__main__":
    main()
