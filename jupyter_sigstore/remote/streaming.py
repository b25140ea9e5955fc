"""Remote objects streamed and hashed in parallel, in bounded memory, never written to local disk.

S3 (s3fs): one ``GetObject`` per object, its body read in chunks on s3fs's event loop,
:data:`DEFAULT_CONCURRENCY` requests in flight. The version id and ETag recorded are the ones the
response carries, so they name exactly the bytes hashed. Other fsspec back ends: worker threads
read each object through the file system's own file object, in blocks. Memory is about
``concurrency x (chunk + the HTTP client's buffer)`` whatever the number or size of the objects.

A read of the current object can race a writer: callers confirm afterwards that what they hashed is
still the current object (:func:`jupyter_sigstore.remote.listing.confirm_unchanged`). A read of a
given version (``pinned``) needs no such check: versions do not change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import OutputError
from .objects import RemoteDigest, RemoteObject, clean_etag, clean_version, etag_of, version_of
from .urls import FileSystems, ObjectChangedError, StoreUnreachableError, object_error, path_of, protocol_of

if TYPE_CHECKING:
    from ..hashing import Progress

CHUNK = 1 << 20
"""Bytes asked for per read of a response body (the HTTP client hands over what it has, up to this)."""
BLOCK = 8 << 20
"""Block size of the generic back ends' ranged reads (one request per block)."""
DEFAULT_CONCURRENCY = 16
"""Objects read at once: enough to hide a store's latency, few enough to bound memory."""

_S3 = frozenset({"s3", "s3a"})
_GENERATION = frozenset({"gs", "gcs"})
_VERSION_ID = frozenset({"az", "abfs", "abfss"})

Result = RemoteDigest | OutputError


def hash_objects(
    objects: Sequence[RemoteObject],
    *,
    jobs: int | None = None,
    progress: Progress | None = None,
    pinned: bool = False,
    collect_errors: bool = False,
    fss: FileSystems | None = None,
) -> list[Result]:
    """Hash objects' bytes; results are in the order of ``objects``.

    ``pinned`` reads each object's recorded ``version`` (verification of a signed version) instead
    of the current object. The first error is raised unless ``collect_errors`` is set, in which
    case each failed object's entry is its :class:`OutputError`; a store that cannot be reached
    (:class:`StoreUnreachableError`) always stops everything, raised. ``fss`` shares file systems
    (and their connections) with the rest of an operation.
    """
    results: list[Result | None] = [None] * len(objects)
    concurrency = max(1, jobs or DEFAULT_CONCURRENCY)
    fss = fss or FileSystems()
    by_protocol: dict[str, list[int]] = {}
    for i, obj in enumerate(objects):
        by_protocol.setdefault(protocol_of(obj.url), []).append(i)
    for protocol, indices in by_protocol.items():
        fs = fss.get(objects[indices[0]].url)
        chosen = [objects[i] for i in indices]
        if protocol in _S3 and hasattr(fs, "_call_s3"):
            from fsspec.asyn import sync

            found = sync(fs.loop, _s3_all, fs, chosen, concurrency, progress, pinned, collect_errors)
        else:
            found = _threaded(fs, protocol, chosen, concurrency, progress, pinned, collect_errors)
        for i, result in zip(indices, found, strict=True):
            results[i] = result
    if not collect_errors:
        for result in results:
            if isinstance(result, OutputError):
                raise result
    return results  # type: ignore[return-value]


def _checked_total(obj: RemoteObject, total: int, expected: Any, pinned: bool) -> None:
    """A body shorter or longer than announced was cut off or replaced midway."""
    if isinstance(expected, int) and expected != total:
        raise ObjectChangedError(
            f"output {obj.url} ended after {total} of {expected} bytes; it changed or the connection "
            "was cut while it was being hashed"
        )
    if pinned and obj.size >= 0 and total != obj.size:
        raise OutputError(f"output {obj.url}: version {obj.version} has {total} bytes, not {obj.size}")


async def _s3_all(
    fs: Any,
    objects: list[RemoteObject],
    concurrency: int,
    progress: Progress | None,
    pinned: bool,
    collect: bool,
) -> list[Result]:
    import asyncio

    results: list[Result | None] = [None] * len(objects)
    queue = iter(range(len(objects)))
    failed: list[BaseException] = []

    async def worker() -> None:
        for i in queue:
            if failed:
                return
            try:
                results[i] = await _s3_one(fs, objects[i], progress, pinned)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = object_error(objects[i].url, exc)
                if isinstance(error, StoreUnreachableError) or not collect:
                    failed.append(error)
                    return
                results[i] = error

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(objects)))))
    if failed:
        raise failed[0]
    return results  # type: ignore[return-value]


async def _s3_one(fs: Any, obj: RemoteObject, progress: Progress | None, pinned: bool) -> RemoteDigest:
    bucket, key, _ = fs.split_path(path_of(fs, obj.url))
    extra = {"VersionId": obj.version} if pinned and obj.version else {}
    response = await fs._call_s3("get_object", Bucket=bucket, Key=key, **extra)
    body = response["Body"]
    h = hashlib.sha256()
    total = 0
    try:
        while chunk := await body.read(CHUNK):
            h.update(chunk)
            total += len(chunk)
            if progress is not None:
                progress.advance(len(chunk))
    finally:
        body.close()
    _checked_total(obj, total, response.get("ContentLength"), pinned)
    if progress is not None:
        progress.file_done()
    return RemoteDigest(
        obj.url,
        h.hexdigest(),
        total,
        clean_version(response.get("VersionId")) or (obj.version if pinned else None),
        clean_etag(response.get("ETag")),
    )


def _pin(protocol: str, obj: RemoteObject) -> dict[str, Any]:
    if not obj.version:
        raise OutputError(f"output {obj.url}: no version was recorded to read")
    if protocol in _GENERATION:
        return {"generation": obj.version}
    if protocol in _VERSION_ID:
        return {"version_id": obj.version}
    raise OutputError(f"output {obj.url}: reading a past version is not supported for {protocol}://")


def _generic_one(
    fs: Any, protocol: str, obj: RemoteObject, progress: Progress | None, pinned: bool
) -> RemoteDigest:
    path = path_of(fs, obj.url)
    kwargs = _pin(protocol, obj) if pinned else {}
    if pinned and protocol in _VERSION_ID and not getattr(fs, "version_aware", False):
        from .urls import filesystem

        fs = filesystem(protocol, version_aware=True)
    h = hashlib.sha256()
    total = 0
    with fs.open(path, "rb", block_size=BLOCK, cache_type="none", **kwargs) as f:
        details = getattr(f, "details", None) or {}
        while chunk := f.read(BLOCK):
            h.update(chunk)
            total += len(chunk)
            if progress is not None:
                progress.advance(len(chunk))
    _checked_total(obj, total, details.get("size"), pinned)
    if progress is not None:
        progress.file_done()
    version = obj.version if pinned else version_of(details) or obj.version
    return RemoteDigest(obj.url, h.hexdigest(), total, version, etag_of(details) or obj.etag)


def _threaded(
    fs: Any,
    protocol: str,
    objects: list[RemoteObject],
    concurrency: int,
    progress: Progress | None,
    pinned: bool,
    collect: bool,
) -> list[Result]:
    import threading

    results: list[Result | None] = [None] * len(objects)
    lock = threading.Lock()
    cursor = [0]
    failed: list[OutputError] = []

    def worker() -> None:
        while not failed:
            with lock:
                i = cursor[0]
                cursor[0] += 1
            if i >= len(objects):
                return
            try:
                results[i] = _generic_one(fs, protocol, objects[i], progress, pinned)
            except Exception as exc:
                error = object_error(objects[i].url, exc)
                if isinstance(error, StoreUnreachableError) or not collect:
                    with lock:
                        failed.append(error)
                    return
                results[i] = error

    threads = [
        threading.Thread(target=worker, name=f"remote-sha256-{n}", daemon=True)
        for n in range(min(concurrency, len(objects)))
    ]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(0.25)  # a timed join keeps Ctrl-C responsive
    if failed:
        raise failed[0]
    return results  # type: ignore[return-value]
