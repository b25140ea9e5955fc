"""``%sigstore track s3://...`` in a real kernel: the URL is tracked as written (after checking that it
names something, with the kernel's own credentials), signed with the notebook, and verified."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from kernel_harness import NotebookDriver
from objstore_fixtures import put_objects

from jupyter_sigstore import api
from jupyter_sigstore.instance import Instance
from jupyter_sigstore.policy import TrustPolicy
from jupyter_sigstore.testing import LocalSigstore
from jupyter_sigstore.testing.seaweedfs import SeaweedFS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def driver(trust_config: Path, tmp_path: Path, s3: SeaweedFS) -> Iterator[NotebookDriver]:
    """A kernel (no front-end extension) whose environment points S3 clients at SeaweedFS."""
    env = {**os.environ, "JUPYTER_SIGSTORE_TRUST_CONFIG": str(trust_config)}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    d = NotebookDriver(tmp_path / "analysis.ipynb", env=env, extension=False)
    yield d
    d.close()


def error_line(d: NotebookDriver, cell: dict[str, Any]) -> str:
    errors = [o for o in cell["outputs"] if o["output_type"] == "error"]
    assert len(errors) == 1 and len(errors[0]["traceback"]) == 1, d.text(cell)
    return str(errors[0]["traceback"][0])


@pytest.mark.kernel
def test_track_an_s3_prefix_sign_and_verify(
    driver: NotebookDriver,
    s3: SeaweedFS,
    bucket: Callable[..., str],
    sigstore_instance: LocalSigstore,
    trust_config: Path,
) -> None:
    import re

    name = bucket()
    put_objects(s3, {f"{name}/run-42/a.parquet": b"a" * 100, f"{name}/run-42/b.parquet": b"b" * 200})
    d = driver
    d.run("%load_ext jupyter_sigstore")
    cell = d.run(f"%sigstore track s3://{name}/run-42/")
    assert f"tracked outputs: s3://{name}/run-42/" in d.text(cell)
    cell = d.run(f"%sigstore track s3://{name}/nothing-here/x.bin")
    assert "does not exist" in error_line(d, cell)

    def approve(out: dict[str, Any]) -> None:
        match = re.search(
            r"enter the code ([A-Z]{4}-[A-Z]{4})", str(out.get("data", {}).get("text/plain", ""))
        )
        if match:
            sigstore_instance.approve_device_code(match.group(1), identity="alice@example.com")

    d.run("%sigstore login --device --timeout 60", on_output=approve)
    d.model["cells"].append(nbformat.v4.new_code_cell("%sigstore sign"))
    d.save()
    d.model["cells"].pop()
    cell = d.run("%sigstore sign")
    assert "signed the saved file analysis.ipynb and 2 output(s) as alice@example.com" in d.text(cell)
    options = api.VerifyOptions(
        policy=TrustPolicy.exact("alice@example.com", sigstore_instance.issuer_url),
        instance=Instance.select(trust_config=trust_config),
    )
    report = api.verify(d.path, options)
    assert report.status == "verified", api.render_text(report)
    assert sorted(o.path for o in report.outputs) == [
        f"s3://{name}/run-42/a.parquet",
        f"s3://{name}/run-42/b.parquet",
    ]
    assert api.tracked(d.path) == [f"s3://{name}/run-42/"]
