"""``gs://`` and ``az://`` outputs against their emulators: gcp-storage-emulator (PyPI) and Azurite
(npm, installed in tests/emulators by scripts/test.sh). Each is skipped, saying why, when absent.

What the emulators do not have: gcp-storage-emulator keeps one generation per object (a read of an
older generation returns the current bytes), and Azurite has no blob versioning; the version checks
are therefore tested against SeaweedFS's S3 versioning (test_remote_s3.py).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_sigstore import api
from jupyter_sigstore.instance import Instance
from jupyter_sigstore.oidc.tokens import parse_token
from jupyter_sigstore.policy import TrustPolicy
from jupyter_sigstore.testing import LocalSigstore

ROOT = Path(__file__).resolve().parents[2]
AZURITE_KEY = (  # Azurite's documented development account key (public, in Microsoft's docs)
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the emulator exited with code {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - a loopback URL of our own
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"the emulator at {url} did not answer in {timeout:.0f} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(3)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


@pytest.fixture(scope="module")
def gcs_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    beside = Path(sys.executable).parent / "gcp-storage-emulator"
    binary = str(beside) if beside.exists() else shutil.which("gcp-storage-emulator")
    if binary is None:
        pytest.skip("gcp-storage-emulator is not installed (in the test extra)")
    port = free_port()
    data = tmp_path_factory.mktemp("gcs")
    process = subprocess.Popen(
        [
            binary,
            "-d",
            str(data),
            "start",
            "--port",
            str(port),
            "-H",
            "127.0.0.1",
            "--default-bucket",
            "gbucket",
            "-q",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/storage/v1/b", process)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


@pytest.fixture(scope="module")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    local = ROOT / "tests" / "emulators" / "node_modules" / ".bin" / "azurite-blob"
    binary = str(local) if local.exists() else shutil.which("azurite-blob")
    if binary is None or shutil.which("node") is None:
        pytest.skip("Azurite is not installed (scripts/test.sh installs it with npm into tests/emulators)")
    port = free_port()
    data = tmp_path_factory.mktemp("azurite")
    process = subprocess.Popen(
        [
            binary,
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--location",
            str(data),
            "--skipApiVersionCheck",
            "--loose",
            "--silent",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/devstoreaccount1?comp=list", process)
        yield (
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
            f"AccountKey={AZURITE_KEY};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
        )
    finally:
        stop(process)


@pytest.fixture
def gcs(gcs_emulator: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """gcsfs pointed at the emulator through its standard configuration (STORAGE_EMULATOR_HOST, and
    an anonymous token in fsspec's configuration)."""
    pytest.importorskip("gcsfs", reason="gcsfs is not installed (the [gcs] extra)")
    import fsspec.config

    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator)
    for protocol in ("gs", "gcs"):
        monkeypatch.setitem(fsspec.config.conf, protocol, {"token": "anon", "project": "test"})
    return fsspec.filesystem("gs", skip_instance_cache=True)


@pytest.fixture
def azure(azurite: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """adlfs pointed at Azurite through its standard configuration (AZURE_STORAGE_CONNECTION_STRING)."""
    pytest.importorskip("adlfs", reason="adlfs is not installed (the [azure] extra)")
    import fsspec

    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite)
    fs = fsspec.filesystem("az", skip_instance_cache=True)
    if not fs.exists("acont"):
        fs.mkdir("acont")
    return fs


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def round_trip(
    protocol: str, root: str, fs: Any, example: Path, trust_config: Path, sigstore_instance: LocalSigstore
) -> list[Any]:
    """Digest a prefix, sign the notebook with it, verify, change one object, add one, verify again."""
    objects = {f"{root}/run/part-{i}.parquet": os.urandom(10_000 + i) for i in range(5)}
    objects[f"{root}/run/sub/model.bin"] = os.urandom(3 << 20)
    objects[f"{root}/run/tmp/skip.txt"] = b"left out"
    fs.pipe(objects)
    prefix = f"{protocol}://{root}/run/"
    found, _ = api.digest([prefix], exclude=["tmp/"])
    assert [(f.name, h.sha256) for f, h in found] == sorted(
        (f"{protocol}://{key}", sha(data)) for key, data in objects.items() if "/tmp/" not in key
    )
    instance = Instance.select(trust_config=trust_config)
    signer = api.keyless_signer(parse_token(sigstore_instance.mint_token("alice@example.com"), "t"), instance)
    result = api.sign(
        example / "analysis.ipynb",
        signer,
        api.SignOptions(outputs=(prefix,), exclude=("tmp/",), instance=instance, base=example),
    )
    assert len([o for o in result.outputs if o.path.startswith(prefix)]) == 6
    policy = TrustPolicy.exact("alice@example.com", sigstore_instance.issuer_url)
    options = api.VerifyOptions(policy=policy, instance=instance)
    report = api.verify(example / "analysis.ipynb", options)
    assert report.status == "verified", report.summary
    fs.pipe(f"{root}/run/part-0.parquet", b"changed")
    fs.pipe(f"{root}/run/part-9.parquet", b"added")
    report = api.verify(example / "analysis.ipynb", options)
    assert report.status == "modified"
    changed = {o.path: o for o in report.outputs if o.status != "ok"}
    assert set(changed) == {f"{prefix}part-0.parquet", f"{prefix}part-9.parquet"}
    assert changed[f"{prefix}part-0.parquet"].status == "modified"
    assert changed[f"{prefix}part-9.parquet"].status == "added"
    return list(result.outputs)


def test_gcs_outputs_against_the_emulator(
    gcs: Any, example: Path, trust_config: Path, sigstore_instance: LocalSigstore
) -> None:
    outputs = round_trip("gs", "gbucket", gcs, example, trust_config, sigstore_instance)
    remote = [o for o in outputs if o.path.startswith("gs://")]
    assert all(o.version_id and o.version_id.isdigit() for o in remote)  # the GCS generation
    assert all(o.etag for o in remote)


def test_azure_outputs_against_azurite(
    azure: Any, example: Path, trust_config: Path, sigstore_instance: LocalSigstore
) -> None:
    outputs = round_trip("az", "acont", azure, example, trust_config, sigstore_instance)
    remote = [o for o in outputs if o.path.startswith("az://")]
    assert all(o.version_id is None and o.etag for o in remote)  # Azurite keeps no versions


def test_a_gcs_bucket_that_does_not_exist(gcs: Any) -> None:
    from jupyter_sigstore.errors import OutputError

    with pytest.raises(OutputError) as info:
        api.digest(["gs://no-such-gbucket/run/"])
    assert "no-such-gbucket" in str(info.value) and "does not exist" in str(info.value)
