"""Streaming, parallel hashing: correct digests, bounded buffers, and every bad input named."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from jupyter_sigstore import hashing
from jupyter_sigstore.errors import OutputError
from jupyter_sigstore.hashing import FileChangedError, FileHash, Progress, hash_file, hash_files, sha256_file

SIZES = [0, 1, hashing.CHUNK - 1, hashing.CHUNK, hashing.CHUNK + 1, 3 * hashing.CHUNK + 5]


def _write(path: Path, size: int, seed: int = 0) -> bytes:
    data = (hashlib.sha256(str(seed).encode()).digest() * (size // 32 + 1))[:size]
    path.write_bytes(data)
    return data


@pytest.mark.parametrize("size", SIZES)
def test_digest_matches_hashlib(tmp_path: Path, size: int) -> None:
    data = _write(tmp_path / "f", size)
    assert hash_file(tmp_path / "f") == FileHash(hashlib.sha256(data).hexdigest(), size)
    assert sha256_file(tmp_path / "f") == hashlib.sha256(data).hexdigest()


def test_pipelined_big_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hashing, "BIG_FILE", 100_000)
    data = _write(tmp_path / "big", 37 * hashing.CHUNK + 123)
    expected = hashlib.sha256(data).hexdigest()
    assert hash_file(tmp_path / "big", pipeline=True).sha256 == expected
    assert hash_files([tmp_path / "big"], jobs=2)[0] == FileHash(expected, len(data))


@pytest.mark.parametrize("jobs", [1, 2, 4])
@pytest.mark.parametrize("with_sizes", [True, False])
def test_parallel_results_keep_order(tmp_path: Path, jobs: int, with_sizes: bool) -> None:
    sizes = [(i * 7919) % (3 * hashing.CHUNK) for i in range(150)] + [20 << 20]
    paths, expected = [], []
    for i, size in enumerate(sizes):
        p = tmp_path / f"f{i}"
        expected.append(FileHash(hashlib.sha256(_write(p, size, i)).hexdigest(), size))
        paths.append(p)
    got = hash_files(paths, jobs=jobs, sizes=sizes if with_sizes else None)
    assert got == expected


def test_missing_directory_and_special_files(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="does not exist"):
        hash_file(tmp_path / "nope")
    with pytest.raises(OutputError, match="is a directory"):
        hash_file(tmp_path)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match="not a regular file"):  # and it does not block
        hash_file(fifo)


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("x")
    secret.chmod(0)
    if os.geteuid() == 0:  # root reads anything: make the kernel's refusal happen anyway
        real_open = os.open

        def refusing_open(path: object, *args: object, **kwargs: object) -> int:
            if Path(os.fspath(path)) == secret:  # type: ignore[arg-type]
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(os, "open", refusing_open)
    with pytest.raises(OutputError, match=r"secret\.csv is not readable \(permission denied\)"):
        hash_file(secret, name="secret.csv")
    results = hash_files([secret, tmp_path / "nope"], names=["secret.csv", "nope"], collect_errors=True)
    assert [type(r) for r in results] == [OutputError, OutputError]


class _Meddler(Progress):
    """A progress sink that changes the file under the hasher after its first chunk."""

    def __init__(self, action: object) -> None:
        super().__init__(0, 1, io.StringIO())
        self.action = action
        self.fired = False

    def advance(self, nbytes: int) -> None:
        if not self.fired:
            self.fired = True
            self.action()  # type: ignore[operator]


def test_file_growing_while_hashed(tmp_path: Path) -> None:
    f = tmp_path / "grow.bin"
    _write(f, 4 * hashing.CHUNK)

    def append() -> None:
        with open(f, "ab") as fh:
            fh.write(b"more")

    with pytest.raises(FileChangedError, match="changed while it was being hashed"):
        hash_file(f, progress=_Meddler(append))


def test_file_rewritten_same_size_while_hashed(tmp_path: Path) -> None:
    f = tmp_path / "same.bin"
    _write(f, 4 * hashing.CHUNK)
    before = f.stat().st_mtime_ns

    def rewrite() -> None:
        with open(f, "r+b") as fh:
            fh.seek(3 * hashing.CHUNK)
            fh.write(b"X")
        os.utime(f, ns=(before + 10**9, before + 10**9))  # mtime moves even on coarse clocks

    with pytest.raises(FileChangedError):
        hash_file(f, progress=_Meddler(rewrite))


def test_file_replaced_or_removed_while_hashed(tmp_path: Path) -> None:
    f = tmp_path / "r.bin"
    _write(f, 4 * hashing.CHUNK)

    def replace() -> None:
        (tmp_path / "new").write_bytes(b"other")
        os.replace(tmp_path / "new", f)

    with pytest.raises(FileChangedError, match="changed"):
        hash_file(f, progress=_Meddler(replace))
    _write(f, 4 * hashing.CHUNK)
    with pytest.raises(FileChangedError, match="disappeared"):
        hash_file(f, progress=_Meddler(f.unlink))


def test_small_file_changing_while_hashed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file smaller than a chunk is read in one call; a change is still caught."""
    f = tmp_path / "small.csv"
    _write(f, 4096)
    before = f.stat().st_mtime_ns

    def append() -> None:
        with open(f, "ab") as fh:
            fh.write(b"more")

    def rewrite() -> None:
        with open(f, "r+b") as fh:
            fh.write(b"X")
        os.utime(f, ns=(before + 10**9, before + 10**9))

    with pytest.raises(FileChangedError, match="changed while it was being hashed"):
        hash_file(f, progress=_Meddler(append))  # grew after the read
    _write(f, 4096)
    with pytest.raises(FileChangedError):
        hash_file(f, progress=_Meddler(rewrite))  # rewritten in place after the read
    real_fstat = os.fstat
    for grow in (True, False):  # between the first fstat and the read: more or fewer bytes read
        _write(f, 4096)

        def fstat_then_change(fd: int, grow: bool = grow) -> os.stat_result:
            st = real_fstat(fd)
            if st.st_size == 4096:
                with open(f, "r+b") as fh:
                    if grow:
                        fh.seek(0, os.SEEK_END)
                        fh.write(b"grown")
                    else:
                        fh.truncate(100)
            return st

        monkeypatch.setattr(os, "fstat", fstat_then_change)
        with pytest.raises(FileChangedError):
            hash_file(f)
        monkeypatch.setattr(os, "fstat", real_fstat)


def test_small_file_costs_one_read_and_no_path_lookup_after_opening(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    for name in ("open", "fstat", "read", "readv", "stat", "lstat", "close"):
        real = getattr(os, name)

        def counted(*args: object, _real: object = real, _name: str = name, **kwargs: object) -> object:
            calls.append(_name)
            return _real(*args, **kwargs)  # type: ignore[operator]

        monkeypatch.setattr(os, name, counted)
    for size in (0, 1, 4096, hashing.CHUNK - 1):
        data = _write(tmp_path / "f", size)
        calls.clear()
        assert hash_file(tmp_path / "f") == FileHash(hashlib.sha256(data).hexdigest(), size)
        assert calls == ["open", "fstat", "read", "fstat", "close"], size


def test_first_error_is_raised_in_path_order(tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.write_text("ok")
    paths = [good] * 20 + [tmp_path / "missing-a"] + [good] * 20 + [tmp_path / "missing-b"]
    with pytest.raises(OutputError, match="missing-a"):
        hash_files(paths, jobs=3)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal(tmp_path: Path) -> None:
    assert Progress.for_terminal(10, 1, io.StringIO()) is None
    stream = _Tty()
    bar = Progress.for_terminal(3 * hashing.CHUNK, 1, stream, delay=0.0, interval=0.001)
    assert bar is not None
    _write(tmp_path / "f", 3 * hashing.CHUNK)
    with bar:
        hash_files([tmp_path / "f"], progress=bar)
        bar._stop.wait(0.05)
    text = stream.getvalue()
    assert "hashing [" in text and "100.0%" in bar.line()
    assert text.endswith("\r\x1b[K")  # the line is erased at the end
    assert bar.done_files == 1 and bar.done_bytes == 3 * hashing.CHUNK


def test_forked_workers_agree_with_threads(tmp_path: Path) -> None:
    sizes = [(i * 104729) % (2 * hashing.CHUNK) for i in range(120)]
    paths: list[Path] = []
    for i, size in enumerate(sizes):
        _write(tmp_path / f"f{i}", size, i)
        paths.append(tmp_path / f"f{i}")
    odd = tmp_path / "tab\tand\nnewline \\ name"
    odd.write_bytes(b"odd")
    paths += [tmp_path / "missing-1", odd, tmp_path / "missing-2"]
    all_sizes = [*sizes, -1, 3, -1]
    names = [p.name for p in paths]
    threaded = hash_files(paths, names=names, jobs=2, collect_errors=True)
    bar = Progress(0, len(paths), io.StringIO())
    forked = hashing._hash_forked(paths, names, all_sizes, 3, bar, True)
    assert [r if isinstance(r, FileHash) else str(r) for r in forked] == [
        r if isinstance(r, FileHash) else str(r) for r in threaded
    ]
    assert isinstance(forked[-3], OutputError) and "missing-1 does not exist" in str(forked[-3])
    assert forked[-2] == FileHash(hashlib.sha256(b"odd").hexdigest(), 3)
    assert bar.done_files == len(sizes) + 1 and bar.done_bytes == sum(sizes) + 3
    with pytest.raises(OutputError, match="missing-1"):
        hashing._hash_forked(paths, names, None, 2, None, False)


def test_fork_is_used_only_without_other_threads() -> None:
    import threading

    stop = threading.Event()
    other = threading.Thread(target=stop.wait, name="someone-else")
    other.start()
    try:
        assert not hashing._can_fork()
    finally:
        stop.set()
        other.join()


def test_forked_workers_share_more_batches_than_a_pipe_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 20,000 one-file batches are 80,000 bytes of batch numbers, more than a pipe buffer (64 KiB):
    # the parent must keep feeding the shared pipe while it reads the workers' reports.
    monkeypatch.setattr(hashing, "_BATCH_UNKNOWN", 1)
    data = _write(tmp_path / "f", 10)
    results = hashing._hash_forked([tmp_path / "f"] * 20_000, None, None, 2, None, False)
    assert results == [FileHash(hashlib.sha256(data).hexdigest(), 10)] * 20_000


def test_a_worker_that_dies_is_an_error_not_a_hang(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path / "f", 10)

    def die(*args: object) -> None:
        os._exit(9)

    monkeypatch.setattr(hashing, "_child", die)
    with pytest.raises(OutputError, match="hashing worker failed before finishing 100 file"):
        hashing._hash_forked([tmp_path / "f"] * 100, None, None, 2, None, True)


def test_forked_worker_reports_progress_within_a_big_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hashing, "_REPORT_BYTES", hashing.CHUNK)
    data = _write(tmp_path / "big", 5 * hashing.CHUNK + 7)
    work_r, work_w = os.pipe()
    out_r, out_w = os.pipe()
    os.write(work_w, (0).to_bytes(4, "little"))
    os.close(work_w)
    hashing._child([(0,)], [tmp_path / "big"], None, work_r, out_w, True)
    os.close(out_w)
    with os.fdopen(out_r, "rb") as fh:
        sent = fh.read()
    os.close(work_r)
    reports = []
    while sent[:8] == hashing._PROGRESS.to_bytes(8, "little"):  # the progress reports come first
        reports.append(hashing._HEADER.unpack_from(sent)[2])
        sent = sent[hashing._HEADER.size :]
    assert len(reports) >= 5 and sum(reports) == len(data)
    bar = Progress(len(data), 1, io.StringIO())
    results: list[FileHash | OutputError | None] = [None]
    assert hashing._take_blocks(sent, [(0,)], results, bar) == b""
    assert results == [FileHash(hashlib.sha256(data).hexdigest(), len(data))] and bar.done_files == 1


def test_worker_blocks_are_taken_only_when_whole(tmp_path: Path) -> None:
    # A block split across pipe reads waits for its end; a failed file's error keeps its kind.
    (tmp_path / "a").write_bytes(b"a")
    work_r, work_w = os.pipe()
    out_r, out_w = os.pipe()
    os.write(work_w, (0).to_bytes(4, "little"))
    os.close(work_w)
    paths = [tmp_path / "a", tmp_path / "gone\tand\nodd"]
    hashing._child([(0, 1)], paths, ["a", "gone\tand\nodd"], work_r, out_w, False)
    os.close(out_w)
    with os.fdopen(out_r, "rb") as fh:
        sent = fh.read()
    os.close(work_r)
    results: list[FileHash | OutputError | None] = [None, None]
    for cut in (1, hashing._HEADER.size, len(sent) - 1):
        assert hashing._take_blocks(sent[:cut], [(0, 1)], results, None) == sent[:cut]
        assert results == [None, None]
    assert hashing._take_blocks(sent + b"\0" * 5, [(0, 1)], results, None) == b"\0" * 5
    assert results[0] == FileHash(hashlib.sha256(b"a").hexdigest(), 1)
    assert isinstance(results[1], OutputError) and "gone\tand\nodd does not exist" in str(results[1])


def test_records_behave_like_the_tuples_they_replace() -> None:
    import copy
    import pickle

    from jupyter_sigstore.walking import OutputFile

    cases: list[tuple[tuple[object, ...], tuple[object, ...]]] = [
        (FileHash("ab" * 32, 3), ("ab" * 32, 3)),
        (OutputFile("a", "/x/a"), ("a", "/x/a", -1)),
    ]
    for record, fields in cases:
        assert record == fields and tuple(record) == fields and hash(record) == hash(fields)
        assert pickle.loads(pickle.dumps(record)) == record and type(copy.deepcopy(record)) is type(record)
    assert (FileHash("ab", 3).sha256, FileHash("ab", 3).size) == ("ab", 3)
    assert repr(OutputFile("a", "/x/a", 2)) == "OutputFile(name='a', path='/x/a', size=2)"


@pytest.mark.parametrize("count", [1, 5, 40])  # serial, threads, forked workers
def test_paths_relative_to_a_root_are_read_from_there_whatever_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count: int
) -> None:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    names = [f"sub/f{i}" for i in range(count)]
    sizes = [(i * 7919) % (3 * hashing.CHUNK) for i in range(count)]
    data = [_write(root / name, size, i) for i, (name, size) in enumerate(zip(names, sizes, strict=True))]
    (tmp_path / "sub").mkdir()  # the same names from the working directory hold other bytes
    for name in names:
        (tmp_path / name).write_bytes(b"decoy")
    monkeypatch.chdir(tmp_path)
    expected = [FileHash(hashlib.sha256(d).hexdigest(), len(d)) for d in data]
    for jobs in (1, 2):
        assert hash_files(names, names=names, jobs=jobs, root=str(root)) == expected
    missing = hash_files([*names, "sub/gone"], jobs=2, collect_errors=True, root=str(root))
    assert isinstance(missing[-1], OutputError) and "sub/gone does not exist" in str(missing[-1])
    with pytest.raises(OutputError, match="cannot be opened"):
        hash_files(names, root=str(tmp_path / "no-such-folder"))


@pytest.mark.parametrize("known_sizes", [False, True])
def test_threads_beyond_the_first_wait_for_a_file_big_enough_to_gain_from_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, known_sizes: bool
) -> None:
    # small files: one thread hashes them all (two would be slower); a big one lets the others start
    monkeypatch.setattr(hashing, "FORK_MIN_FILES", 10**9)  # threads, as in a server or a kernel
    hashed_by: dict[str, str] = {}
    real = hashing._sha256

    def recording(path: object, name: str, *args: object) -> object:
        import threading

        hashed_by[name] = threading.current_thread().name
        return real(path, name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(hashing, "_sha256", recording)
    small = [tmp_path / f"s{i}" for i in range(300)]
    for i, path in enumerate(small):
        _write(path, 100, i)
    sizes = [100] * len(small) if known_sizes else None
    results = hash_files(small, sizes=sizes, jobs=4, collect_errors=True)
    assert all(isinstance(r, FileHash) for r in results)
    assert set(hashed_by.values()) == {"sha256-0"}
    big = tmp_path / "big"
    data = _write(big, hashing.THREADS_FROM, 7)
    with_big = hash_files([big, *small], sizes=[len(data), *sizes] if sizes else None, jobs=4)
    assert with_big[0] == FileHash(hashlib.sha256(data).hexdigest(), len(data))
    assert with_big[1:] == results
