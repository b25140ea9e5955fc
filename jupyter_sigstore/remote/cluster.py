"""Hashing remote objects on a Dask cluster: the listing is split into tasks that the workers run
next to the data, and only digests travel back.

Each task is a batch of objects (URL, size, ETag, version) hashed on a worker by the same code as a
local run (:func:`jupyter_sigstore.remote.streaming.hash_objects`), with the worker's own credentials
(its environment and the backends' standard configuration: nothing secret is sent with a task).
Results come back in listing order, so a cluster run and a local run give identical results.
Dask is the engine: any scheduler address works (``tcp://scheduler:8786``, a ``LocalCluster``'s), and
the workers need jupyter-sigstore and the fsspec backends installed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import OutputError
from .objects import RemoteDigest, RemoteObject
from .urls import ObjectChangedError, ObjectMissingError, StoreUnreachableError

BATCH_BYTES = 256 << 20
"""About this many bytes per task (an object larger than this is a task of its own)."""
BATCH_OBJECTS = 256
"""At most this many objects per task."""
CONNECT_TIMEOUT = "20s"

_KINDS: dict[str, type[OutputError]] = {
    "missing": ObjectMissingError,
    "changed": ObjectChangedError,
    "unreachable": StoreUnreachableError,
    "error": OutputError,
}

# What a task sends back per object: ("ok", sha256, size, version id, etag) or ("error", kind, message).
Outcome = tuple[Any, ...]


def batches(objects: Sequence[RemoteObject]) -> list[list[int]]:
    """Object indices grouped into tasks: big objects alone and first, the rest by bytes and count."""
    big = sorted((i for i, o in enumerate(objects) if o.size > BATCH_BYTES), key=lambda i: -objects[i].size)
    out = [[i] for i in big]
    current: list[int] = []
    size = 0
    for i, obj in enumerate(objects):
        if obj.size > BATCH_BYTES:
            continue
        current.append(i)
        size += max(obj.size, 0)
        if len(current) >= BATCH_OBJECTS or size >= BATCH_BYTES:
            out.append(current)
            current, size = [], 0
    if current:
        out.append(current)
    return out


def hash_batch(
    batch: list[tuple[str, int, str | None, str | None]], jobs: int | None, pinned: bool
) -> list[Outcome]:
    """A task: hash a batch of objects on a worker; returns one small outcome per object."""
    from .streaming import hash_objects

    objects = [RemoteObject(url, size, etag, version) for url, size, etag, version in batch]
    try:
        results = hash_objects(objects, jobs=jobs, pinned=pinned, collect_errors=True)
    except StoreUnreachableError as exc:
        return [("error", "unreachable", str(exc))] * len(objects)
    outcomes: list[Outcome] = []
    for result in results:
        if isinstance(result, RemoteDigest):
            outcomes.append(("ok", result.sha256, result.size, result.version_id, result.etag))
        else:
            kind = next((k for k, cls in _KINDS.items() if type(result) is cls), "error")
            outcomes.append(("error", kind, str(result)))
    return outcomes


def hash_on_dask(
    objects: Sequence[RemoteObject],
    address: str,
    *,
    jobs: int | None = None,
    pinned: bool = False,
    collect_errors: bool = False,
) -> list[RemoteDigest | OutputError]:
    """Hash objects on the Dask cluster whose scheduler is at ``address``; same contract as
    :func:`~jupyter_sigstore.remote.streaming.hash_objects`."""
    if not objects:
        return []
    try:
        from distributed import Client
    except ImportError:
        raise OutputError("--dask needs dask.distributed: pip install 'jupyter-sigstore[dask]'") from None
    groups = batches(objects)
    payloads = [[(o.url, o.size, o.etag, o.version) for o in (objects[i] for i in group)] for group in groups]
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError) as exc:
        raise OutputError(f"cannot reach the Dask scheduler at {address} ({exc})") from None
    try:
        futures = client.map(hash_batch, payloads, jobs=jobs, pinned=pinned, pure=False)
        gathered = client.gather(futures)  # type: ignore[no-untyped-call]
    except Exception as exc:  # a worker's failure comes back as the worker's exception
        from ..errors import first_line

        raise OutputError(
            f"a Dask worker failed: {type(exc).__name__}: {first_line(exc)} (the workers need "
            "jupyter-sigstore and the fsspec backends installed)"
        ) from None
    finally:
        client.close()  # type: ignore[no-untyped-call]
    results: list[RemoteDigest | OutputError | None] = [None] * len(objects)
    for group, outcomes in zip(groups, gathered, strict=True):
        for i, outcome in zip(group, outcomes, strict=True):
            if outcome[0] == "ok":
                _, sha256, size, version, etag = outcome
                results[i] = RemoteDigest(objects[i].url, sha256, size, version, etag)
            else:
                _, kind, message = outcome
                results[i] = _KINDS.get(kind, OutputError)(message)
    for result in results:
        if isinstance(result, StoreUnreachableError) or (
            not collect_errors and isinstance(result, OutputError)
        ):
            raise result
    return results  # type: ignore[return-value]
