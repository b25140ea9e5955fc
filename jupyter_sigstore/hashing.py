"""Streaming, parallel SHA-256 digests of data-output files, with bounded read buffers.

Each worker (a forked process where the process has no other threads, as in the CLI; a thread
elsewhere) owns one reusable buffer and reads files in 64 KiB chunks; ``hashlib`` (OpenSSL, using the
CPU's SHA instructions where present) releases the GIL while it hashes a chunk and the kernel read
releases it too. The buffers take ``jobs x chunk`` whatever the number or size of the files; the
list of files and their results grow with their number.

A file is fingerprinted (size, mtime, inode) when it is opened and again, through the same
descriptor, after its last byte was read; any difference, or a byte count other than the size, means
it changed while it was being hashed, and hashing fails with :class:`FileChangedError` rather than
produce a digest of bytes that never existed together. A file smaller than :data:`CHUNK` is read in
one call asking for a byte more than its size, so the count shows the end was reached (open, fstat,
read, fstat, close); a bigger one, read over many calls, is also looked up by its path at the end,
so that a file replaced or removed meanwhile is an error too.

This module is deliberately light to import (no ``typing``, no ``concurrent.futures``; ``threading``
and ``select`` only when used) so that ``jupyter-sigstore digest`` starts about as fast as
``openssl dgst``.
"""

from __future__ import annotations

import gc
import hashlib
import os
import stat as _stat
import struct
import sys
import time

from .errors import OutputError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import IO

CHUNK = 64 << 10
"""Read size (64 KiB). Measured on Linux: reads into a buffer that stays in the CPU's L2 cache cost a
third of the kernel time of 1 MiB reads, which is what makes hashing match ``openssl dgst``."""
BIG_FILE = 64 << 20
"""Files larger than this, hashed alone with 2+ threads allowed, are read by one thread and hashed by
another (a pipeline that overlaps the kernel copy with the hashing)."""
_SLOTS = 4
THREADS_FROM = 16 << 10
"""Where threads (in servers and kernels: no forked workers there) hash files of this size or more,
two beat one; smaller files go slower in two, since the Python around each file holds the GIL and
the threads fight over it (`benchmarks/workers.py`, two threads against one: 4 KiB files 0.78x,
16 KiB 1.15x, 256 KiB 1.77x). So threads beyond the first start only once such a file is known or met."""
FORK_MIN_FILES = 32
"""With at least this many files, 2+ jobs, on Linux and in a process with no other threads (the CLI),
hashing runs in forked worker processes: measured 1.8x on 2 cores for 5,000 files of 256 KiB, where
threads reach 1.5x (the per-file Python work holds the GIL). Elsewhere (servers, kernels: threads
are running, and forking a threaded process is unsafe) it runs in threads."""
_PROGRESS_THREAD = "jupyter-sigstore-progress"
_BATCH_FILES = 64
_BATCH_BYTES = 16 << 20
_BATCH_UNKNOWN = 16  # files per batch when their sizes are not known
_REPORT_BYTES = 32 << 20  # how often a forked worker tells a progress bar how far it got
_PIPE_BUF = 4096  # POSIX guarantees writes of up to 512 bytes are atomic; Linux, 4096
# O_NONBLOCK: never block opening a FIFO; it is refused after fstat.
_O_FLAGS = (
    os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_NONBLOCK", 0)
)


class FileHash(tuple[str, int]):
    """The SHA-256 (hex) of a file and the number of bytes hashed; compares as a ``(sha256, size)``
    tuple."""

    __slots__ = ()

    def __new__(cls, sha256: str, size: int) -> FileHash:
        return tuple.__new__(cls, (sha256, size))

    @property
    def sha256(self) -> str:
        """The SHA-256 of the file's bytes, in hex."""
        return self[0]

    @property
    def size(self) -> int:
        """The number of bytes hashed."""
        return self[1]

    def __getnewargs__(self) -> tuple[object, ...]:  # for pickle and copy, as a NamedTuple has
        return tuple(self)

    def __repr__(self) -> str:
        return f"FileHash(sha256={self[0]!r}, size={self[1]})"


class FileChangedError(OutputError):
    """A file changed, was replaced or disappeared while it was being hashed."""


def default_jobs() -> int:
    """The number of hashing threads to use by default: the CPUs this process may run on."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    return max(1, min(n, 32))


def _fingerprint(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)


def _open_error(name: str, exc: OSError) -> OutputError:
    if isinstance(exc, FileNotFoundError):
        return OutputError(f"output {name} does not exist")
    if isinstance(exc, PermissionError):
        return OutputError(f"output {name} is not readable (permission denied)")
    if isinstance(exc, IsADirectoryError):
        return OutputError(f"output {name} is a directory, not a file")
    return OutputError(f"output {name} could not be read: {exc.strerror or exc}")


def _changed(name: str) -> FileChangedError:
    return FileChangedError(
        f"output {name} changed while it was being hashed (size or modification time differ); "
        "wait until whatever writes it has finished, then try again"
    )


def hash_file(
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    buffer: bytearray | None = None,
    progress: Progress | _ByteReport | None = None,
    pipeline: bool = False,
    dir_fd: int | None = None,
) -> FileHash:
    """Hash one regular file in chunks; ``name`` is how errors refer to it (default: the path), a
    relative path is relative to the folder open as ``dir_fd`` (default: the working directory).

    ``pipeline`` lets a big file be read and hashed by two threads. Raises :class:`OutputError` when
    it cannot be read or is not a regular file, :class:`FileChangedError` when it changed while read.
    """
    h, total = _sha256(path, os.fspath(path) if name is None else name, buffer, progress, pipeline, dir_fd)
    return tuple.__new__(FileHash, (h.hexdigest(), total))  # skips FileHash.__new__'s Python frame


def _sha256(
    path: str | os.PathLike[str],
    name: str,
    buffer: bytearray | None,
    progress: Progress | _ByteReport | None,
    pipeline: bool,
    dir_fd: int | None,
) -> tuple[hashlib._Hash, int]:
    """:func:`hash_file`'s work: the file's hash object and its size (a worker sends the raw digest)."""
    try:
        fd = os.open(path, _O_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        raise _open_error(name, exc) from None
    try:
        before = os.fstat(fd)
        if not _stat.S_ISREG(before.st_mode):
            if _stat.S_ISDIR(before.st_mode):
                raise OutputError(f"output {name} is a directory, not a file")
            raise OutputError(f"output {name} is not a regular file (a device, FIFO or socket)")
        size = before.st_size
        if size < CHUNK:
            # Asking for a byte more than the file holds: getting exactly its size reached the end.
            data = os.read(fd, size + 1)
            h = hashlib.sha256(data)
            total = len(data)
            if progress is not None:
                progress.advance(total)
        else:
            h = hashlib.sha256()
            total = 0
        in_one_read = size < CHUNK and total == size
        if not in_one_read and pipeline and size > BIG_FILE:
            if hasattr(os, "posix_fadvise"):
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
            total += _pipelined(fd, h, progress)
        elif not in_one_read:  # CHUNK or more, or a small file whose size changed since fstat
            total += _serial(fd, h, buffer if buffer is not None else bytearray(CHUNK), progress)
        if progress is not None:
            progress.file_done()
        after = os.fstat(fd)
    except OutputError:
        raise
    except OSError as exc:
        raise _open_error(name, exc) from None
    finally:
        os.close(fd)
    # The same descriptor: the same inode; the path is looked at below.
    if total != size or after.st_size != size or after.st_mtime_ns != before.st_mtime_ns:
        raise _changed(name)
    if not in_one_read:
        # Read over several calls: the path must still name the file that was read.
        try:
            now = os.stat(path, dir_fd=dir_fd)
        except FileNotFoundError:
            raise FileChangedError(
                f"output {name} disappeared while it was being hashed; wait until whatever writes it "
                "has finished, then try again"
            ) from None
        except OSError as exc:
            raise _open_error(name, exc) from None
        if _fingerprint(now) != _fingerprint(before):
            raise _changed(name)
    return h, total


def _readinto(fd: int) -> Callable[[bytearray], int]:
    if hasattr(os, "readv"):

        def read(buffer: bytearray) -> int:
            return os.readv(fd, [buffer])

        return read
    fh = open(fd, "rb", buffering=0, closefd=False)  # noqa: SIM115 - the caller closes fd
    return fh.readinto


def _serial(fd: int, h: hashlib._Hash, buffer: bytearray, progress: Progress | _ByteReport | None) -> int:
    view = memoryview(buffer)
    readinto = _readinto(fd)
    update = h.update
    total = 0
    while n := readinto(buffer):
        update(view[:n])
        total += n
        if progress is not None:
            progress.advance(n)
    return total


def _pipelined(fd: int, h: hashlib._Hash, progress: Progress | _ByteReport | None) -> int:
    """Read in one thread and hash in this one, through a ring of small (cache-resident) buffers."""
    import threading
    from queue import SimpleQueue

    buffers = [bytearray(CHUNK) for _ in range(_SLOTS)]
    views = [memoryview(b) for b in buffers]
    free: SimpleQueue[int] = SimpleQueue()
    full: SimpleQueue[tuple[int, int, BaseException | None]] = SimpleQueue()
    for i in range(_SLOTS):
        free.put(i)
    stop = threading.Event()

    def reader() -> None:
        readinto = _readinto(fd)
        while not stop.is_set():
            i = free.get()
            if i < 0:
                return
            try:
                n = readinto(buffers[i]) or 0
            except BaseException as exc:
                full.put((i, 0, exc))
                return
            full.put((i, n, None))
            if not n:
                return

    thread = threading.Thread(target=reader, name="sha256-reader", daemon=True)
    thread.start()
    total = 0
    update = h.update
    try:
        while True:
            i, n, exc = full.get()
            if exc is not None:
                raise exc
            if not n:
                break
            update(views[i][:n])
            total += n
            if progress is not None:
                progress.advance(n)
            free.put(i)
    finally:
        stop.set()
        free.put(-1)
        thread.join()
    return total


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Return the hex SHA-256 of a file's bytes, read in chunks."""
    return hash_file(path, name=str(path)).sha256


def _plan(n: int, sizes: Sequence[int] | None) -> list[tuple[int, ...]]:
    """Split file indices into work batches: big files alone and first, small files in groups."""
    if sizes is None:
        step = _BATCH_UNKNOWN
        return [tuple(range(i, min(i + step, n))) for i in range(0, n, step)]
    big = sorted((i for i in range(n) if sizes[i] > _BATCH_BYTES), key=lambda i: -sizes[i])
    batches: list[tuple[int, ...]] = [(i,) for i in big]
    current: list[int] = []
    acc = 0
    for i in range(n):
        if sizes[i] > _BATCH_BYTES:
            continue
        current.append(i)
        acc += max(sizes[i], 0)
        if len(current) >= _BATCH_FILES or acc >= _BATCH_BYTES:
            batches.append(tuple(current))
            current, acc = [], 0
    if current:
        batches.append(tuple(current))
    return batches


def hash_files(
    paths: Sequence[str | os.PathLike[str]],
    *,
    names: Sequence[str] | None = None,
    sizes: Sequence[int] | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
    collect_errors: bool = False,
    root: str | None = None,
) -> list[FileHash | OutputError]:
    """Hash many files in parallel threads; results are in the order of ``paths``.

    ``names`` are used in error messages, ``sizes`` (when known, e.g. from a directory walk) let
    big files start first so the threads finish together. Relative paths are relative to ``root``
    when given (opened once: no path is joined per file, and each is looked up from there). The
    first error is raised, unless ``collect_errors`` is set: then each failed file's entry is its
    :class:`OutputError`.
    """
    if root is None:
        return _hash_files(paths, names, sizes, jobs, progress, collect_errors, None)
    try:
        dir_fd = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise OutputError(f"folder {root} cannot be opened: {exc.strerror or exc}") from None
    try:
        return _hash_files(paths, names, sizes, jobs, progress, collect_errors, dir_fd)
    finally:
        os.close(dir_fd)


def _hash_files(
    paths: Sequence[str | os.PathLike[str]],
    names: Sequence[str] | None,
    sizes: Sequence[int] | None,
    jobs: int | None,
    progress: Progress | None,
    collect_errors: bool,
    dir_fd: int | None,
) -> list[FileHash | OutputError]:
    n = len(paths)
    results: list[FileHash | OutputError | None] = [None] * n
    allowed = max(1, jobs or default_jobs())
    pipeline = n == 1 and allowed >= 2
    jobs = min(allowed, n or 1)
    if jobs >= 2 and n >= FORK_MIN_FILES and _can_fork():
        return _hash_forked(paths, names, sizes, jobs, progress, collect_errors, dir_fd)

    def run_one(i: int, buf: bytearray) -> int:
        """Hash file ``i`` into ``results``; its size (0 if it failed)."""
        try:
            done = results[i] = hash_file(
                paths[i],
                name=names[i] if names is not None else None,
                buffer=buf,
                progress=progress,
                pipeline=pipeline,
                dir_fd=dir_fd,
            )
        except OutputError as exc:
            if not collect_errors:
                raise
            results[i] = exc
            return 0
        return done[1]

    if jobs == 1:
        buf = bytearray(CHUNK)
        for i in range(n):
            run_one(i, buf)
        return results  # type: ignore[return-value]

    import threading

    batches = _plan(n, sizes)
    lock = threading.Lock()
    cursor = [0]
    failures: list[tuple[int, BaseException]] = []
    # The lowest index that failed so far (-1: stop everything). Files before it are still hashed,
    # so the error raised is always the first one in path order, whichever thread meets it first.
    first_failure = [n]

    big_met = threading.Event()  # a file of THREADS_FROM bytes or more was hashed

    def worker() -> None:
        buf = bytearray(CHUNK)
        while first_failure[0] >= 0:
            with lock:
                k = cursor[0]
                cursor[0] = k + 1
            if k >= len(batches):
                return
            for i in batches[k]:
                if i >= first_failure[0]:
                    continue  # batches are not in path order (big files first): look at the rest
                try:
                    if run_one(i, buf) >= THREADS_FROM:
                        big_met.set()
                except BaseException as exc:  # handed to the caller's thread below
                    with lock:
                        failures.append((i, exc))
                        first_failure[0] = min(first_failure[0], i)

    threads = [threading.Thread(target=worker, name=f"sha256-{t}", daemon=True) for t in range(jobs)]
    # All threads at once when a file is known to be big enough to gain from them; otherwise one,
    # and the others once such a file is met.
    started = threads if sizes is not None and max(sizes) >= THREADS_FROM else threads[:1]
    for t in started:
        t.start()
    try:
        while True:
            if len(started) < jobs and big_met.wait(0.05):
                for t in threads[len(started) :]:
                    t.start()
                started = threads
            alive = [t for t in started if t.is_alive()]
            if not alive:
                break
            if len(started) == jobs:
                alive[0].join(0.25)  # a timed join keeps Ctrl-C responsive
    except BaseException:
        first_failure[0] = -1
        raise
    if failures:
        raise min(failures, key=lambda f: f[0])[1]
    return results  # type: ignore[return-value]


def _can_fork() -> bool:
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return False
    threading = sys.modules.get("threading")
    if threading is None:
        return True  # no thread was ever started through the threading module
    main = threading.main_thread()
    return threading.current_thread() is main and all(
        t is main or t.name == _PROGRESS_THREAD for t in threading.enumerate()
    )


# What a forked worker sends the parent, in blocks of its own: a header of three little-endian
# 64-bit numbers, then the block's data. A batch's block: (batch number, bytes of error text, bytes of
# records), the error text, then a 40-byte record per file in batch order (the raw SHA-256 and the size;
# the size _FAILED for a file that failed, its error being the next line of the text, "kind<TAB>message").
# A progress report: (_PROGRESS, 0, bytes hashed since the last one). Binary records cost the parent a
# third of the CPU of text lines (it parses them while the workers hash, on the same cores).
_HEADER = struct.Struct("<QQQ")
_RECORD = struct.Struct("<32sQ")
_PROGRESS = (1 << 64) - 1
_FAILED = (1 << 64) - 1
_FAILED_RECORD = _RECORD.pack(bytes(32), _FAILED)


class _ByteReport:
    """A worker's stand-in for the progress bar: sends the parent the bytes hashed, every
    ``_REPORT_BYTES`` within a big file and at the end of each batch."""

    def __init__(self, out: int) -> None:
        self.out = out
        self.pending = 0

    def advance(self, nbytes: int) -> None:
        self.pending += nbytes
        if self.pending >= _REPORT_BYTES:
            self.flush()

    def file_done(self) -> None:
        pass

    def flush(self) -> None:
        if self.pending:
            _write_all(self.out, _HEADER.pack(_PROGRESS, 0, self.pending))
            self.pending = 0


def _child(
    batches: list[tuple[int, ...]],
    paths: Sequence[str | os.PathLike[str]],
    names: Sequence[str] | None,
    work: int,
    out: int,
    report_bytes: bool,
    dir_fd: int | None = None,
) -> None:
    """Take batch numbers from the shared ``work`` pipe until it ends; for each batch write a block
    to ``out`` with each file's digest and size or error (and with ``report_bytes``, blocks counting
    the bytes hashed, for a progress bar)."""
    buf = bytearray(CHUNK)
    report = _ByteReport(out) if report_bytes else None
    pack = _RECORD.pack
    while head := os.read(work, 4):
        if len(head) != 4:
            raise OSError("short read from the work pipe")
        number = int.from_bytes(head, "little")
        records, errors = [], []
        for i in batches[number]:
            try:
                path = paths[i]
                name = names[i] if names is not None else os.fspath(path)
                h, size = _sha256(path, name, buf, report, False, dir_fd)
                records.append(pack(h.digest(), size))
            except OutputError as exc:
                kind = "changed" if isinstance(exc, FileChangedError) else "error"
                records.append(_FAILED_RECORD)
                errors.append(f"{kind}\t{_escape(str(exc))}\n")
        if report is not None:
            report.flush()
        text = "".join(errors).encode("utf-8", "surrogateescape")
        data = b"".join(records)
        _write_all(out, _HEADER.pack(number, len(text), len(data)) + text + data)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")


def _unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append({"n": "\n", "t": "\t"}.get(text[i + 1], text[i + 1]))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _hash_forked(
    paths: Sequence[str | os.PathLike[str]],
    names: Sequence[str] | None,
    sizes: Sequence[int] | None,
    jobs: int,
    progress: Progress | None,
    collect_errors: bool,
    dir_fd: int | None = None,
) -> list[FileHash | OutputError]:
    """Hash in ``jobs`` forked processes; same contract as hash_files.

    The workers take batch numbers from one shared pipe (4-byte records, written in atomic
    ``PIPE_BUF`` pieces), so whichever is free takes the next batch and they finish together
    whatever the file sizes. Each reports through a pipe of its own.
    """
    import select

    n = len(paths)
    batches = _plan(n, sizes)
    results: list[FileHash | OutputError | None] = [None] * n
    children: dict[int, int] = {}  # report pipe's read end -> pid
    work_r, work_w = os.pipe()
    # Collection off while the workers run: this process only gathers results (no cycles to find),
    # and the workers, forked with it off, do not copy the parent's pages by collecting.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for _ in range(min(jobs, len(batches))):
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:  # the worker: hash, report, and leave without running the parent's cleanup
                code = 0
                try:
                    os.close(read_end)
                    os.close(work_w)
                    _child(batches, paths, names, work_r, write_end, progress is not None, dir_fd)
                except BaseException:
                    code = 70
                finally:
                    os._exit(code)
            os.close(write_end)
            children[read_end] = pid
        os.close(work_r)
        work_r = -1
        pending = b"".join(k.to_bytes(4, "little") for k in range(len(batches)))
        os.set_blocking(work_w, False)
        poller = select.poll()
        for fd in children:
            poller.register(fd, select.POLLIN)
        poller.register(work_w, select.POLLOUT)
        partial = dict.fromkeys(children, b"")
        while partial:
            for fd, _ in poller.poll():
                if fd == work_w:
                    try:
                        while pending:  # a write of at most PIPE_BUF bytes is all or nothing
                            pending = pending[os.write(work_w, pending[:_PIPE_BUF]) :]
                    except BlockingIOError:
                        continue
                    except OSError:  # every worker is gone: reported as unfinished files below
                        pending = b""
                    poller.unregister(work_w)
                    os.close(work_w)
                    work_w = -1
                    continue
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    poller.unregister(fd)
                    del partial[fd]
                    continue
                partial[fd] = _take_blocks(partial[fd] + chunk, batches, results, progress)
    except BaseException:
        import contextlib
        import signal

        for pid in children.values():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
        raise
    finally:
        for fd in (work_r, work_w):
            if fd >= 0:
                os.close(fd)
        for fd, pid in children.items():
            os.close(fd)
            os.waitpid(pid, 0)
        if collecting:
            gc.enable()
    missing = [i for i, r in enumerate(results) if r is None]
    if missing:
        raise OutputError(f"hashing worker failed before finishing {len(missing)} file(s)")
    if not collect_errors:
        for r in results:
            if isinstance(r, OutputError):
                raise r
    return results  # type: ignore[return-value]


def _take_blocks(
    data: bytes,
    batches: list[tuple[int, ...]],
    results: list[FileHash | OutputError | None],
    progress: Progress | None,
) -> bytes:
    """Record the results of a worker's complete blocks in ``data``; return what is left of it."""
    new = tuple.__new__  # skips FileHash.__new__'s Python frame: this runs once per file
    pos, head = 0, _HEADER.size
    while len(data) - pos >= head:
        number, text_size, data_size = _HEADER.unpack_from(data, pos)
        if number == _PROGRESS:
            if progress is not None:
                progress.advance(data_size)
            pos += head
            continue
        end = pos + head + text_size + data_size
        if len(data) < end:
            break
        errors = data[pos + head : pos + head + text_size].decode("utf-8", "surrogateescape").split("\n")
        failed = 0
        records = _RECORD.iter_unpack(data[pos + head + text_size : end])
        for i, (digest, size) in zip(batches[number], records, strict=True):
            if size == _FAILED:
                kind, message = errors[failed].split("\t", 1)
                failed += 1
                results[i] = (FileChangedError if kind == "changed" else OutputError)(_unescape(message))
                continue
            results[i] = new(FileHash, (digest.hex(), size))
            if progress is not None:
                progress.file_done()
        pos = end
    return data[pos:]


def _human(nbytes: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if nbytes < 1024 or unit == "GiB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.1f} TiB"  # pragma: no cover - unreachable


class Progress:
    """A one-line progress bar on a terminal (stderr), shown only when hashing takes a while.

    Use :meth:`for_terminal`, which returns None when the stream is not a terminal so that logs
    and pipes stay clean. Counting is approximate under threads; the line is erased at the end.
    """

    def __init__(
        self,
        total_bytes: int,
        total_files: int,
        stream: IO[str],
        *,
        label: str = "hashing",
        delay: float = 1.0,
        interval: float = 0.2,
    ) -> None:
        import threading  # here, not at the top: digest loads it only for a bar on a terminal

        self.total_bytes = max(total_bytes, 0)
        self.total_files = total_files
        self.done_bytes = 0
        self.done_files = 0
        self._stream = stream
        self._label = label
        self._delay = delay
        self._interval = interval
        self._stop = threading.Event()
        self._drawn = False
        self._start = time.monotonic()
        self._thread: threading.Thread | None = None

    @classmethod
    def for_terminal(
        cls, total_bytes: int, total_files: int, stream: IO[str] | None = None, **kwargs: float | str
    ) -> Progress | None:
        """A Progress on ``stream`` (default stderr) if it is a terminal, else None."""
        stream = stream if stream is not None else sys.stderr
        if not cls.shown_on(stream):
            return None
        return cls(total_bytes, total_files, stream, **kwargs)  # type: ignore[arg-type]

    @staticmethod
    def shown_on(stream: IO[str] | None = None) -> bool:
        """Whether a progress bar would be drawn on ``stream`` (default stderr): is it a terminal."""
        stream = stream if stream is not None else sys.stderr
        try:
            return bool(stream.isatty())
        except (AttributeError, ValueError):
            return False

    def advance(self, nbytes: int) -> None:
        """Count bytes hashed."""
        self.done_bytes += nbytes

    def file_done(self) -> None:
        """Count one file finished."""
        self.done_files += 1

    def line(self) -> str:
        """The current progress line (without control characters)."""
        elapsed = max(time.monotonic() - self._start, 1e-6)
        pct = 100.0 * self.done_bytes / self.total_bytes if self.total_bytes else 100.0
        width = 24
        filled = min(width, int(width * pct / 100))
        bar = "#" * filled + "-" * (width - filled)
        rate = _human(self.done_bytes / elapsed)
        files = f"  {self.done_files}/{self.total_files} files" if self.total_files > 1 else ""
        return (
            f"{self._label} [{bar}] {pct:5.1f}%  {_human(self.done_bytes)} / {_human(self.total_bytes)}"
            f"  {rate}/s{files}"
        )

    def _run(self) -> None:
        if self._stop.wait(self._delay):
            return
        while not self._stop.is_set():
            self._stream.write("\r" + self.line() + "\x1b[K")
            self._stream.flush()
            self._drawn = True
            self._stop.wait(self._interval)

    def __enter__(self) -> Progress:
        import threading

        self._start = time.monotonic()
        self._thread = threading.Thread(target=self._run, name=_PROGRESS_THREAD, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._drawn:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
