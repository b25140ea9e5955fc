"""Objects that change or vanish while they are hashed, and a store that goes away midway: one clear
error each, never a digest of bytes that did not exist together, never a hang."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from objstore_fixtures import put_objects

from jupyter_sigstore.errors import OutputError
from jupyter_sigstore.remote.listing import RemoteRules, RemoteSpec, confirm_unchanged, select_remote
from jupyter_sigstore.remote.streaming import hash_objects
from jupyter_sigstore.remote.urls import ObjectChangedError, StoreUnreachableError
from jupyter_sigstore.testing.seaweedfs import SeaweedFS


class OnFirstBytes:
    """A progress receiver (what the terminal bar is) that starts ``action`` in a thread when the
    first bytes of an object have been hashed."""

    def __init__(self, action: Callable[[], None]) -> None:
        self.action = action
        self.thread: threading.Thread | None = None
        self.bytes = 0

    def advance(self, n: int) -> None:
        self.bytes += n
        if self.thread is None:
            self.thread = threading.Thread(target=self.action)
            self.thread.start()

    def file_done(self) -> None:
        pass

    def join(self) -> None:
        assert self.thread is not None
        self.thread.join(60)


def test_an_object_deleted_while_it_is_hashed(s3: SeaweedFS, bucket: Callable[..., str]) -> None:
    name = bucket()
    put_objects(s3, {f"{name}/run/big.bin": os.urandom(24 << 20), f"{name}/run/small.bin": b"x"})
    selection = select_remote([f"s3://{name}/run/"])
    hook = OnFirstBytes(lambda: s3.filesystem().rm(f"{name}/run/big.bin"))
    digests = hash_objects(selection.objects, progress=hook, jobs=1)  # type: ignore[arg-type]
    hook.join()
    assert hook.bytes > 0
    with pytest.raises(ObjectChangedError) as info:
        confirm_unchanged(digests, selection.rules)  # type: ignore[arg-type]
    assert str(info.value) == (
        f"output s3://{name}/run/big.bin disappeared while it was being hashed; wait until whatever "
        "writes it has finished, then try again"
    )


def test_an_object_rewritten_while_it_is_hashed(s3: SeaweedFS, bucket: Callable[..., str]) -> None:
    name = bucket()
    url = f"s3://{name}/model.bin"
    put_objects(s3, {f"{name}/model.bin": os.urandom(24 << 20)})
    selection = select_remote([url])
    hook = OnFirstBytes(lambda: s3.filesystem().pipe(url, b"a new model"))
    digests = hash_objects(selection.objects, progress=hook)  # type: ignore[arg-type]
    hook.join()
    with pytest.raises(ObjectChangedError, match="changed while it was being hashed"):
        confirm_unchanged(digests, selection.rules)  # type: ignore[arg-type]


def test_an_unchanged_prefix_is_confirmed(s3: SeaweedFS, bucket: Callable[..., str]) -> None:
    name = bucket()
    put_objects(s3, {f"{name}/p/{i}.bin": os.urandom(1000 + i) for i in range(20)})
    selection = select_remote([f"s3://{name}/p/"])
    assert selection.rules == RemoteRules((RemoteSpec("prefix", f"s3://{name}/p/"),), selection.rules.exclude)  # type: ignore[union-attr]
    digests = hash_objects(selection.objects)
    confirm_unchanged(digests, selection.rules)  # type: ignore[arg-type]


@pytest.mark.slow
def test_a_store_that_goes_away_midway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed while 300 objects are being hashed: one StoreUnreachableError, in bounded time (the
    other objects do not each wait out their retries)."""
    with SeaweedFS(tmp_path / "weed") as server:
        for key, value in server.environment().items():
            monkeypatch.setenv(key, value)
        server.make_bucket("doomed")
        put_objects(server, {f"doomed/run/{i:03d}.bin": os.urandom(256 << 10) for i in range(300)})
        selection = select_remote(["s3://doomed/run/"])
        hook = OnFirstBytes(server.kill)
        started = time.monotonic()
        with pytest.raises(OutputError) as info:
            hash_objects(selection.objects, progress=hook)  # type: ignore[arg-type]
        elapsed = time.monotonic() - started
        hook.join()
    assert isinstance(info.value, StoreUnreachableError), info.value
    message = str(info.value)
    assert message.startswith("output s3://doomed/run/") and "cannot reach the object store" in message
    assert "\n" not in message
    assert elapsed < 120, elapsed  # generous: retries of one object, not of 300
