"""``%sigstore track`` and ``%sigstore sign`` in kernels that no front end acts for: nbconvert and
papermill record the requests in the notebook; ``sign --pending`` completes them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from reproducibility_helpers import Cli, make_notebook

from jupyter_sigstore.headless import REQUEST_MIME, read_requests
from jupyter_sigstore.testing import LocalSigstore

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    trust_config: Path,
    sigstore_instance: LocalSigstore,
    monkeypatch: pytest.MonkeyPatch,
) -> Cli:
    monkeypatch.chdir(tmp_path)
    return Cli(capsys, tmp_path, trust_config, sigstore_instance.issuer_url)


def _env() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{path}" if path else str(ROOT)}


def _texts(nb: dict[str, object]) -> str:
    return json.dumps(nb)


CELLS = [
    ("alpha = 1", ["parameters"]),
    "open('results.csv', 'w').write(f'{alpha}\\n')",
    "%load_ext jupyter_sigstore\n%sigstore track results.csv",
    "%sigstore sign",
]


def test_nbconvert_execute_inplace_records_a_pending_request(cli: Cli, token: Callable[..., str]) -> None:
    path = make_notebook(cli.cwd / "nb.ipynb", CELLS)
    done = subprocess.run(
        [str(BIN / "jupyter"), "nbconvert", "--to", "notebook", "--execute", "--inplace", "nb.ipynb"],
        cwd=cli.cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    nb = json.loads(path.read_text())
    # nothing claims a signature that the client's save would have overwritten
    assert not (nb["metadata"].get("sigstore") or {}).get("signatures")
    text = _texts(nb)
    assert "signing requested, NOT signed yet" in text and "jupyter-sigstore sign --pending" in text
    requests = read_requests(nb)
    assert requests.tracked == ("results.csv",) and len(requests.sign) == 1

    rc, out, err = cli(
        "sign", "nb.ipynb", "--pending", "--trust-config", str(cli.trust_config), "--identity-token", token()
    )
    assert rc == 0, err
    assert "output results.csv" in out
    report = cli.verify("nb.ipynb")
    assert report["status"] == "verified"
    assert [o["path"] for o in report["outputs"]] == ["results.csv"]
    assert json.loads(path.read_text())["metadata"]["sigstore"]["tracked"] == ["results.csv"]


def test_headless_sign_of_a_named_file_refuses_in_one_line(cli: Cli) -> None:
    path = make_notebook(
        cli.cwd / "nb.ipynb",
        ["%load_ext jupyter_sigstore", "%sigstore sign nb.ipynb", "%sigstore login --device --timeout 600"],
    )
    done = subprocess.run(
        [str(BIN / "jupyter"), "nbconvert", "--to", "notebook", "--execute", "--allow-errors", "--inplace"]
        + ["nb.ipynb"],
        cwd=cli.cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    nb = json.loads(path.read_text())
    (error,) = [o for o in nb["cells"][1]["outputs"] if o["output_type"] == "error"]
    assert error["traceback"] == [
        "jupyter-sigstore: this notebook runs without a front end, whose save would overwrite a signature "
        "made now; nothing was signed: sign after execution with `jupyter-sigstore sign --pending NOTEBOOK`"
    ]
    assert not (nb["metadata"].get("sigstore") or {}).get("signatures")
    # a login nobody can answer is refused at once instead of waiting for its timeout
    (login,) = [o for o in nb["cells"][2]["outputs"] if o["output_type"] == "error"]
    assert "runs headless" in login["traceback"][0] and "nothing was stored" in login["traceback"][0]


@pytest.mark.skipif(shutil.which("papermill", path=str(BIN)) is None, reason="papermill is not installed")
def test_papermill_records_requests_and_sign_pending_completes_them(
    cli: Cli, token: Callable[..., str]
) -> None:
    make_notebook(cli.cwd / "nb.ipynb", CELLS)
    done = subprocess.run(
        [str(BIN / "papermill"), "nb.ipynb", "out.ipynb", "-p", "alpha", "7", "--cwd", str(cli.cwd)],
        cwd=cli.cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert (cli.cwd / "results.csv").read_text() == "7\n"
    rc, _, err = cli(
        "sign", "out.ipynb", "--pending", "--trust-config", str(cli.trust_config), "--identity-token", token()
    )
    assert rc == 0, err
    assert cli.verify("out.ipynb")["status"] == "verified"


def test_sign_pending_without_a_request_is_refused(cli: Cli, token: Callable[..., str]) -> None:
    make_notebook(cli.cwd / "nb.ipynb", ["x = 1"])
    rc, _, err = cli(
        "sign", "nb.ipynb", "--pending", "--trust-config", str(cli.trust_config), "--identity-token", token()
    )
    assert rc == 2
    assert "holds no pending signing request" in err


def test_requests_naming_paths_outside_the_folder_are_refused() -> None:
    from jupyter_sigstore.errors import BundleError

    nb = {
        "cells": [
            {
                "cell_type": "code",
                "outputs": [
                    {"output_type": "display_data", "data": {REQUEST_MIME: {"track": ["../secret"]}}}
                ],
            }
        ]
    }
    with pytest.raises(BundleError, match="cell 1 requests '../secret'"):
        read_requests(nb)
