"""A prefix of 10,000 objects: sign and verify it (and name the one added since) in bounded work,
with digests equal to the bytes uploaded."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from jupyter_sigstore.cli import main
from jupyter_sigstore.testing import LocalSigstore
from jupyter_sigstore.testing.seaweedfs import SeaweedFS

N = 10_000


@pytest.mark.slow
def test_a_prefix_of_ten_thousand_objects(
    s3: SeaweedFS,
    bucket: Callable[..., str],
    example: Path,
    trust_config: Path,
    sigstore_instance: LocalSigstore,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = bucket()
    objects = {f"{name}/many/{i // 100:03d}/{i:05d}.csv": os.urandom(64 + i % 512) for i in range(N)}
    s3.filesystem().pipe(objects, batch_size=64)
    monkeypatch.chdir(example)

    capsys.readouterr()
    assert main(["digest", f"s3://{name}/many/"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"sha256:{hashlib.sha256(data).hexdigest()}  s3://{key}" for key, data in sorted(objects.items())
    ]

    token = sigstore_instance.mint_token("alice@example.com")
    tc = str(trust_config)
    assert (
        main(
            [
                "sign",
                "analysis.ipynb",
                "--output",
                f"s3://{name}/many/",
                "--trust-config",
                tc,
                "--identity-token",
                token,
            ]
        )
        == 0
    )
    s3.filesystem().pipe(f"{name}/many/050/extra.csv", b"added later")
    capsys.readouterr()
    who = ["--cert-identity", "alice@example.com", "--cert-oidc-issuer", sigstore_instance.issuer_url]
    assert main(["verify", "analysis.ipynb", "--trust-config", tc, *who, "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    statuses = [o["status"] for o in report["outputs"]]
    assert statuses.count("ok") == N
    assert [o["path"] for o in report["outputs"] if o["status"] != "ok"] == [
        f"s3://{name}/many/050/extra.csv"
    ]
    assert report["summary"] == f"output s3://{name}/many/050/extra.csv added since signing"
