"""The execution provenance (SLSA v1) and the reproduction's test result verify with stock tools:
sigstore-js (``@sigstore/verify``, checking the subject against the file's bytes) and the
``@sigstore/cli`` command (signature and identity, trusted root through a local TUF cache).

Install with ``npm ci --prefix tests/js``; without node or the packages these tests are skipped.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from reproducibility_helpers import ALICE, Cli, entries, make_notebook
from tuf_cache import MIRROR, write_tuf_cache

from jupyter_sigstore.testing import LocalSigstore

JS = Path(__file__).resolve().parent / "js"
CLI = JS / "node_modules" / ".bin" / "sigstore"


def _missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not (JS / "node_modules" / "@sigstore" / "verify").is_dir() or not CLI.exists():
        return "sigstore-js is not installed: run `npm ci --prefix tests/js`"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=_missing() or "")


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    trust_config: Path,
    sigstore_instance: LocalSigstore,
    monkeypatch: pytest.MonkeyPatch,
) -> Cli:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return Cli(capsys, work, trust_config, sigstore_instance.issuer_url)


def test_stock_js_tools_verify_the_provenance_and_the_test_result(
    cli: Cli, token: Callable[..., str], sigstore_instance: LocalSigstore, tmp_path: Path
) -> None:
    make_notebook(cli.cwd / "nb.ipynb", ["open('out.csv', 'w').write('1,2\\n')"])
    assert cli.run("nb.ipynb", token(), "--output", "out.csv")[0] == 0
    provenance = cli.cwd / "nb.ipynb.provenance.sigstore.json"
    root_json = json.dumps(sigstore_instance.trusted_root()).encode()
    root = tmp_path / "trusted_root.json"
    root.write_bytes(root_json)

    def js_verify(bundle: Path, artifact: Path, identity: str = ALICE) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["node", str(JS / "verify.js"), "--bundle", str(bundle), "--trusted-root", str(root)]
            + ["--identity", identity, "--issuer", cli.issuer, str(artifact)],
            capture_output=True,
            text=True,
            timeout=120,
        )

    # sigstore-js matches the executed notebook's bytes and the output against the SLSA subjects
    for artifact in ("nb.ipynb", "out.csv"):
        result = js_verify(provenance, cli.cwd / artifact)
        assert result.returncode == 0, result.stderr
        assert f"in-toto subject {artifact}" in result.stdout
    assert js_verify(provenance, cli.cwd / "out.csv", "bob@example.com").returncode == 1

    # the reproduction's test result, signed by CI, covers the same output
    rc, _, err = cli(
        "reproduce", "nb.ipynb", *cli.trust(), "--sign", "--identity-token", token("ci@example.com")
    )
    assert rc == 0, err
    test_result = tmp_path / "test-result.sigstore.json"
    test_result.write_text(json.dumps(entries(cli.cwd / "nb.ipynb")[-1]))
    assert js_verify(test_result, cli.cwd / "out.csv", "ci@example.com").returncode == 0

    # the @sigstore/cli command, with the loopback root served from a local TUF cache
    cache = write_tuf_cache(tmp_path / "tuf", root_json)

    def stock(bundle: Path, identity: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CLI), "verify", str(bundle), "--tuf-mirror-url", MIRROR, "--tuf-cache-path", str(cache)]
            + [
                "--tuf-force-cache",
                "--certificate-identity-email",
                identity,
                "--certificate-issuer",
                cli.issuer,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )

    for bundle, identity in ((provenance, ALICE), (test_result, "ci@example.com")):
        result = stock(bundle, identity)
        assert result.returncode == 0, result.stderr
        assert "Verification succeeded" in result.stderr
    assert stock(provenance, "bob@example.com").returncode != 0
