"""Hashing remote outputs on a Dask cluster (a LocalCluster of 2 worker processes, against SeaweedFS):
the same results as a local run, only digests travel back, and one clear error when the scheduler
cannot be reached."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from objstore_fixtures import put_objects

from jupyter_sigstore.cli import main
from jupyter_sigstore.remote import cluster
from jupyter_sigstore.testing import LocalSigstore
from jupyter_sigstore.testing.seaweedfs import SeaweedFS

distributed = pytest.importorskip(
    "distributed", reason="dask.distributed is not installed (the [dask] extra)"
)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def scheduler(seaweed: SeaweedFS) -> Iterator[str]:
    """A LocalCluster of 2 worker processes whose environment points at SeaweedFS (workers find their
    credentials as any S3 client does: nothing secret is sent with a task)."""
    env = {
        **seaweed.environment(),
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
    }
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)  # the worker processes inherit it when they start
    try:
        local = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
        )
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    with local:
        yield local.scheduler_address


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def test_digest_on_the_cluster_equals_the_local_digest(
    scheduler: str, s3: SeaweedFS, bucket: Callable[..., str], capsys: pytest.CaptureFixture[str]
) -> None:
    name = bucket()
    objects = {f"{name}/run/{i:03d}.bin": os.urandom(1000 * i + 1) for i in range(120)}
    objects[f"{name}/run/big.bin"] = os.urandom(40 << 20)
    put_objects(s3, objects)
    spec = f"s3://{name}/run/"
    local = run(capsys, "digest", spec)
    spread = run(capsys, "digest", spec, "--dask", scheduler)
    assert local[0] == spread[0] == 0, (local[2], spread[2])
    assert spread[1] == local[1]
    assert len(spread[1].splitlines()) == 121


def test_sign_on_the_cluster_signs_what_a_local_run_signs(
    scheduler: str,
    s3: SeaweedFS,
    bucket: Callable[..., str],
    example: Path,
    trust_config: Path,
    sigstore_instance: LocalSigstore,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = bucket(versioned=True)
    put_objects(s3, {f"{name}/run/{i}.csv": os.urandom(5000 + i) for i in range(40)})
    monkeypatch.chdir(example)
    tc = ["--trust-config", str(trust_config)]

    def sign(*extra: str) -> list[dict[str, Any]]:
        token = sigstore_instance.mint_token("alice@example.com")
        rc, out, err = run(
            capsys,
            "sign",
            "analysis.ipynb",
            "--output",
            f"s3://{name}/run/",
            "--json",
            *tc,
            "--identity-token",
            token,
            *extra,
        )
        assert rc == 0, err
        outputs: list[dict[str, Any]] = json.loads(out)["outputs"]
        return outputs

    assert sign("--dask", scheduler) == sign()  # same digests, sizes, version ids and ETags
    who = ["--cert-identity", "alice@example.com", "--cert-oidc-issuer", sigstore_instance.issuer_url]
    s3.filesystem().pipe(f"{name}/run/3.csv", b"changed")
    for extra in ([], ["--dask", scheduler]):
        rc, out, _ = run(capsys, "verify", "analysis.ipynb", *tc, *who, "--json", *extra)
        report = json.loads(out)
        changed = [
            (o["path"], o["status"], o["signed_version_exists"])
            for o in report["outputs"]
            if o["status"] != "ok"
        ]
        assert changed == [(f"s3://{name}/run/3.csv", "modified", True)]


def test_a_task_sends_back_only_digests(s3: SeaweedFS, bucket: Callable[..., str]) -> None:
    """What a worker returns per object: its sha256, size, version id and ETag (or an error line)."""
    name = bucket()
    put_objects(s3, {f"{name}/a.bin": b"a" * 1000})
    outcomes = cluster.hash_batch(
        [(f"s3://{name}/a.bin", 1000, None, None), (f"s3://{name}/gone.bin", 5, None, None)], None, False
    )
    ok, missing = outcomes
    assert ok[0] == "ok" and len(ok[1]) == 64 and ok[2] == 1000 and ok[3] is None and isinstance(ok[4], str)
    assert missing == ("error", "missing", f"output s3://{name}/gone.bin does not exist")
    assert len(json.dumps(outcomes)) < 400


def test_batches_put_big_objects_first_and_alone() -> None:
    from jupyter_sigstore.remote.objects import RemoteObject

    big = cluster.BATCH_BYTES + 1
    objects = [RemoteObject(f"s3://b/{i}", size) for i, size in enumerate([10, big, 20, 2 * big, 30])]
    assert cluster.batches(objects) == [[3], [1], [0, 2, 4]]
    many = [RemoteObject(f"s3://b/{i}", 1) for i in range(cluster.BATCH_OBJECTS + 1)]
    assert [len(b) for b in cluster.batches(many)] == [cluster.BATCH_OBJECTS, 1]


def test_a_scheduler_that_cannot_be_reached(
    s3: SeaweedFS,
    bucket: Callable[..., str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", "3s")
    name = bucket()
    put_objects(s3, {f"{name}/a.bin": b"a"})
    rc, out, err = run(capsys, "digest", f"s3://{name}/a.bin", "--dask", f"tcp://127.0.0.1:{port}")
    assert rc == 2 and out == ""
    assert err.startswith(f"error: cannot reach the Dask scheduler at tcp://127.0.0.1:{port}")
    assert len(err.strip().splitlines()) == 1
