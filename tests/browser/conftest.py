"""Browser-test fixtures: a real ``jupyter lab`` on 127.0.0.1 with a temp root, settings and config,
the loopback Sigstore instance, and Debian's headless Chromium driven by Playwright's sync API."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from jupyter_sigstore.testing import LocalSigstore

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
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    trust_config: Path
    policy: Path
    env: dict[str, str]
    sigstore: LocalSigstore

    def open_url(self, path: str) -> str:
        return f"{self.url}lab/tree/{path}?reset&token={self.token}"


@pytest.fixture(scope="session")
def browser_sigstore() -> Iterator[LocalSigstore]:
    with LocalSigstore(rekor_version=1) as inst:
        yield inst


def _sign(path: Path, trust_config: Path, token: str, env: dict[str, str], outputs: list[str]) -> None:
    cli = [sys.executable, "-m", "jupyter_sigstore", "sign", "--trust-config", str(trust_config)]
    for out in outputs:
        cli += ["--output", out]
    signing_env = {**env, "SIGSTORE_ID_TOKEN": token}  # not in argv, where other users could read it
    subprocess.run([*cli, path.name], cwd=path.parent, env=signing_env, check=True, capture_output=True)


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory, browser_sigstore: LocalSigstore) -> Iterator[Lab]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    root.mkdir()
    env = {
        **os.environ,
        "XDG_CACHE_HOME": str(base / "cache"),
        "XDG_DATA_HOME": str(base / "data"),
        "JUPYTER_CONFIG_DIR": str(base / "config"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(base / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
    }
    env.pop("SIGSTORE_ID_TOKEN", None)
    trust_config = browser_sigstore.write_trust_config(base / "trust_config.json")
    policy = root / "sigstore-policy.toml"
    issuer = browser_sigstore.issuer_url
    policy.write_text(
        f'[[trusted]]\nname = "alice"\nidentity = "alice@example.com"\nissuer = "{issuer}"\n',
        encoding="utf-8",
    )
    alice = browser_sigstore.mint_token("alice@example.com")

    # signed/: a notebook and its output, signed with the CLI
    for folder in ("signed", "tampered", "sign", "cancel", "kernel", "kernel2", "disk"):
        shutil.copytree(
            EXAMPLES,
            root / folder,
            ignore=shutil.ignore_patterns(
                "*.py", "*.sigstore.json", "simulation.ipynb", "reproduce-rules.toml"
            ),
        )
    (root / "signed" / "analysis.ipynb").rename(root / "signed" / "report.ipynb")
    _sign(root / "signed" / "report.ipynb", trust_config, alice, env, ["results.csv"])
    _sign(root / "disk" / "analysis.ipynb", trust_config, alice, env, ["results.csv"])
    # tampered/: signed, then a code cell edited by hand
    tampered = root / "tampered" / "edited.ipynb"
    (root / "tampered" / "analysis.ipynb").rename(tampered)
    _sign(tampered, trust_config, alice, env, ["results.csv"])
    nb = json.loads(tampered.read_text(encoding="utf-8"))
    code = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"][1]
    nb["cells"][code]["source"] = "# edited after signing\nresult = 42\n"
    tampered.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    (root / "tampered" / "changed-cell.txt").write_text(str(code), encoding="utf-8")
    # bad input: a garbage signature block (with a metadata claim of "verified"), and a big notebook
    bad = json.loads((EXAMPLES / "analysis.ipynb").read_text(encoding="utf-8"))
    bad["metadata"]["sigstore"] = {"version": 1, "signatures": [{"bundle": "garbage"}], "status": "verified"}
    (root / "garbage.ipynb").write_text(json.dumps(bad), encoding="utf-8")
    big = json.loads((EXAMPLES / "analysis.ipynb").read_text(encoding="utf-8"))
    big["metadata"]["padding"] = "x" * (3 * 1024 * 1024)  # big, yet cheap for the browser to render
    (root / "big.ipynb").write_text(json.dumps(big), encoding="utf-8")

    settings = base / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}), encoding="utf-8"
    )
    config = base / "config"
    config.mkdir()
    (config / "jupyter_server_config.json").write_text(
        json.dumps(
            {
                "ServerApp": {"jpserver_extensions": {"jupyter_sigstore.server": True}},
                "Sigstore": {"trust_config": str(trust_config), "max_notebook_bytes": 2 * 1024 * 1024},
            }
        ),
        encoding="utf-8",
    )
    # the kernels started by this lab hold an identity and the test instance (for `%sigstore sign`)
    env["JUPYTER_SIGSTORE_TRUST_CONFIG"] = str(trust_config)
    env["SIGSTORE_ID_TOKEN"] = browser_sigstore.mint_token("alice@example.com", expires_in=3600)
    port = _free_port()
    token = "browser-test-token"
    lab_cmd = Path(sys.executable).parent / "jupyter-lab"
    cmd = [str(lab_cmd)] if lab_cmd.exists() else [sys.executable, "-m", "jupyterlab"]
    cmd += [
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={token}",
        "--LabApp.news_url=",
        "--LabServerApp.collaborative=False",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = (base / "lab.log").open("wb")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited: {(base / 'lab.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}api/status?token={token}", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("jupyter lab did not start in 120 s") from None
                time.sleep(0.5)
        yield Lab(url, token, root, trust_config, policy, env, browser_sigstore)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: $JUPYTER_SIGSTORE_SCREENSHOTS (e.g. docs/screenshots), else a temp folder."""
    target = os.environ.get("JUPYTER_SIGSTORE_SCREENSHOTS")
    path = Path(target) if target else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path
