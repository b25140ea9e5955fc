"""Browser-test fixtures: a real ``jupyter lab`` on 127.0.0.1 with a temp root, settings and config,
the loopback Sigstore instance, and Debian's headless Chromium driven by Playwright's sync API."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from lab_roundtrip import CHROMIUM, CHROMIUM_ARGS, serve_jupyter

from jupyter_sigstore.testing import LocalSigstore

TOKEN = "browser-test-token"
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    trust_config: Path
    policy: Path
    env: dict[str, str]
    sigstore: LocalSigstore
    base: Path

    def open_url(self, path: str) -> str:
        return f"{self.url}lab/tree/{path}?reset&token={self.token}"


@pytest.fixture(scope="session")
def browser_sigstore() -> Iterator[LocalSigstore]:
    with LocalSigstore(rekor_version=1) as inst:
        yield inst


def _sign(
    path: Path, trust_config: Path, token: str, env: dict[str, str], outputs: list[str], *extra: str
) -> None:
    cli = [sys.executable, "-m", "jupyter_sigstore", "sign", "--trust-config", str(trust_config), *extra]
    for out in outputs:
        cli += ["--output", out]
    signing_env = {**env, "SIGSTORE_ID_TOKEN": token}  # not in argv, where other users could read it
    subprocess.run([*cli, path.name], cwd=path.parent, env=signing_env, check=True, capture_output=True)


def _facts(notebook: Path, inst: LocalSigstore, trust_config: Path, env: dict[str, str]) -> None:
    """A notebook with every fact the sidebar shows beyond a plain signature: alice's signature kept
    as history (bob re-signed after an edit), a reproduction attestation by carol about this
    version, a policy that requires a reviewer nobody fills and has a pattern with a loose dot."""
    from sigstore.oidc import IdentityToken

    from jupyter_sigstore import api
    from jupyter_sigstore.instance import Instance

    _sign(notebook, trust_config, inst.mint_token("alice@example.com"), env, ["results.csv"])
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    nb["cells"][0]["source"] = "# Edited by bob before he signed\n"
    notebook.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    _sign(notebook, trust_config, inst.mint_token("bob@example.com"), env, ["results.csv"])
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": notebook.name, "digest": {"sha256": api.inspect(notebook).notebook_digest}}],
        "predicateType": "https://in-toto.io/attestation/test-result/v0.1",
        "predicate": {
            "result": "FAILED",
            "configuration": [],
            "passedTests": ["cell 1"],
            "failedTests": ["cell 3"],
        },
    }
    signer = api.keyless_signer(
        IdentityToken(inst.mint_token("carol@example.com")), Instance.select(trust_config=trust_config)
    )
    bundle = json.loads(signer.sign_statement(statement))
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    nb["metadata"]["sigstore"]["signatures"].append({"bundle": bundle})
    notebook.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    issuer = inst.issuer_url
    (notebook.parent / "sigstore-policy.toml").write_text(
        f'[[trusted]]\nname = "author"\nidentity_regex = "bob@example.com"\nissuer = "{issuer}"\n\n'
        f'[[trusted]]\nname = "reviewer"\nidentity = "dave@example.com"\nissuer = "{issuer}"\n\n'
        '[policy]\nrequire = ["author", "reviewer"]\n',
        encoding="utf-8",
    )


def _widgets(notebook: Path, trust_config: Path, token: str, env: dict[str, str]) -> None:
    """Signed with widget state in its metadata, which was changed afterwards (a slider moved)."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    state = {"state": {}, "version_major": 2, "version_minor": 0}
    nb["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": state}
    notebook.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    _sign(notebook, trust_config, token, env, ["results.csv"])
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    nb["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["version_minor"] = 1
    notebook.write_text(json.dumps(nb, indent=1), encoding="utf-8")


def _use_tree_build(base: Path, env: dict[str, str]) -> None:
    """Serve the lab extension built in this source tree (``jlpm build`` in labextension/), not the
    copy installed in the environment: JUPYTER_PATH comes first among the labextension folders."""
    built = ROOT / "jupyter_sigstore" / "labextension"
    if not (built / "package.json").exists():
        return
    folder = base / "jupyter-path" / "labextensions"
    folder.mkdir(parents=True)
    (folder / "jupyter-sigstore").symlink_to(built, target_is_directory=True)
    earlier = env.get("JUPYTER_PATH")
    env["JUPYTER_PATH"] = os.pathsep.join([str(base / "jupyter-path"), *([earlier] if earlier else [])])


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
    _use_tree_build(base, env)
    trust_config = browser_sigstore.write_trust_config(base / "trust_config.json")
    policy = root / "sigstore-policy.toml"
    issuer = browser_sigstore.issuer_url
    policy.write_text(
        f'[[trusted]]\nname = "alice"\nidentity = "alice@example.com"\nissuer = "{issuer}"\n',
        encoding="utf-8",
    )
    alice = browser_sigstore.mint_token("alice@example.com")
    # the user approved the root's project policy (as `jupyter-sigstore policy approve` does)
    subprocess.run(
        [sys.executable, "-m", "jupyter_sigstore", "policy", "approve", str(policy)],
        env=env,
        check=True,
        capture_output=True,
    )

    # signed/: a notebook and its output, signed with the CLI
    folders = ("signed", "tampered", "sign", "cancel", "kernel", "kernel2", "disk", "attack", "project")
    folders += ("facts", "widgets", "resign", "shows", "long", "allow")
    for folder in folders:
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
    _sign(root / "resign" / "analysis.ipynb", trust_config, alice, env, ["results.csv"])
    # project/: signed by alice, beside a project policy the user has not approved yet
    _sign(root / "project" / "analysis.ipynb", trust_config, alice, env, ["results.csv"])
    (root / "project" / "sigstore-policy.toml").write_text(
        f'[[trusted]]\nname = "author"\nidentity = "alice@example.com"\nissuer = "{issuer}"\n',
        encoding="utf-8",
    )
    _facts(root / "facts" / "analysis.ipynb", browser_sigstore, trust_config, env)
    _widgets(root / "widgets" / "analysis.ipynb", trust_config, alice, env)
    # shows/: a markdown cell displays figures/summary.png, which the signature leaves out
    shows = root / "shows" / "analysis.ipynb"
    nb = json.loads(shows.read_text(encoding="utf-8"))
    figure = {
        "cell_type": "markdown",
        "id": "figure",
        "metadata": {},
        "source": "![summary](figures/summary.png)",
    }
    nb["cells"].insert(1, figure)
    shows.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    _sign(shows, trust_config, alice, env, ["results.csv"], "--no-displayed-files")
    for approved in (root / "facts" / "sigstore-policy.toml",):
        subprocess.run(
            [sys.executable, "-m", "jupyter_sigstore", "policy", "approve", str(approved)],
            env=env,
            check=True,
            capture_output=True,
        )
    # tampered/: signed, then a code cell edited by hand
    tampered = root / "tampered" / "edited.ipynb"
    (root / "tampered" / "analysis.ipynb").rename(tampered)
    _sign(tampered, trust_config, alice, env, ["results.csv"])
    nb = json.loads(tampered.read_text(encoding="utf-8"))
    code = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"][1]
    nb["cells"][code]["source"] = "# edited after signing\nresult = 42\n"
    tampered.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    (root / "tampered" / "changed-cell.txt").write_text(str(code), encoding="utf-8")
    # long/: 150 cells before the one edited after signing (rendered late in a windowed notebook)
    long = root / "long" / "analysis.ipynb"
    nb = json.loads(long.read_text(encoding="utf-8"))
    nb["cells"][1:1] = [
        {"cell_type": "markdown", "id": f"filler-{n}", "metadata": {}, "source": f"Filler paragraph {n + 1}."}
        for n in range(150)
    ]
    long.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    _sign(long, trust_config, alice, env, ["results.csv"])
    nb = json.loads(long.read_text(encoding="utf-8"))
    nb["cells"][-1]["source"] = "# the last cell, edited after signing\n"
    long.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    (root / "long" / "changed-cell.txt").write_text(str(len(nb["cells"]) - 1), encoding="utf-8")
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
    config.mkdir(exist_ok=True)
    (config / "jupyter_server_config.json").write_text(
        json.dumps(
            {
                "ServerApp": {"jpserver_extensions": {"jupyter_sigstore.server": True}},
                "Sigstore": {"trust_config": str(trust_config), "max_notebook_bytes": 2 * 1024 * 1024},
            }
        ),
        encoding="utf-8",
    )
    # the project policy in the lab's root applies only once the user approved it, as a user would
    approve = [sys.executable, "-m", "jupyter_sigstore", "policy", "approve", str(policy)]
    subprocess.run(approve, env=env, check=True, capture_output=True)
    # the kernels started by this lab hold an identity and the test instance (for `%sigstore sign`)
    env["JUPYTER_SIGSTORE_TRUST_CONFIG"] = str(trust_config)
    env["SIGSTORE_ID_TOKEN"] = browser_sigstore.mint_token("alice@example.com", expires_in=3600)
    with serve_jupyter("lab", root, env, base / "jupyter-lab.log", TOKEN) as url:
        yield Lab(url, TOKEN, root, trust_config, policy, env, browser_sigstore, base)


@pytest.fixture(scope="session")
def notebook7(lab: Lab) -> Iterator[Lab]:
    """The same root, settings and extensions served by ``jupyter notebook`` (Notebook 7)."""
    pytest.importorskip("notebook", minversion="7")
    with serve_jupyter("notebook", lab.root, lab.env, lab.base / "jupyter-notebook.log", TOKEN) as url:
        yield replace(lab, url=url)


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
