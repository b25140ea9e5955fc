"""URL output specs without a server: what a URL may hold, patterns and excludes over object names,
the signed rules and statement entries (and their attacks), using fsspec's in-memory file system."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from jupyter_sigstore import api
from jupyter_sigstore.canonical import digest_of
from jupyter_sigstore.errors import BundleError, OutputError, UsageError
from jupyter_sigstore.remote.listing import RemoteRules, RemoteSpec, _selected, select_remote
from jupyter_sigstore.remote.objects import RemoteDigest, clean_etag, clean_version
from jupyter_sigstore.remote.scheme import is_url
from jupyter_sigstore.remote.urls import check_url
from jupyter_sigstore.render import output_line
from jupyter_sigstore.report import OutputReport
from jupyter_sigstore.statement import build_statement, parse_statement
from jupyter_sigstore.walking import GlobPattern, excludes


@pytest.fixture
def memory() -> Iterator[tuple[Any, str]]:
    """A folder of fsspec's in-memory file system (process-wide, so a fresh one per test)."""
    import fsspec

    fs = fsspec.filesystem("memory")
    root = f"mem-{secrets.token_hex(4)}"
    yield fs, root
    fs.rm(f"/{root}", recursive=True)


@pytest.mark.parametrize(
    ("spec", "url"),
    [
        ("s3://bucket/key", True),
        ("gs://b/p/", True),
        ("az://c/p/**/*.parquet", True),
        ("https://example.org/x.csv", True),
        ("simplecache::s3://b/k", True),
        ("results.csv", False),
        ("figures/*.png", False),
        ("C:\\data\\x.csv", False),
        ("./s3:/x", False),
    ],
)
def test_which_specs_are_urls(spec: str, url: bool) -> None:
    assert is_url(spec) is url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "not accepted"),
        ("local://x/y", "not accepted"),
        ("zip://a.csv::s3://b/a.zip", "chained"),
        ("s3://key:secret@bucket/x", "user name or password"),
        ("https://x.org/a?token=1", "query string"),
        ("s3://bucket/a#1", "query string or fragment"),
        ("s3://bucket/a\nb", "control characters"),
        (" s3://bucket/a", "is not a URL"),
        ("s3:///key", "names no bucket"),
        ("nosuchproto://x/y", "knows no file system"),
        ("s3://b/" + "k" * 3000, "longer than"),
    ],
)
def test_urls_refused(url: str, reason: str) -> None:
    with pytest.raises(UsageError, match=reason):
        check_url(url)


def test_urls_accepted() -> None:
    for url in (
        "s3://bucket/run-42/",
        "gs://b/x.parquet",
        "az://container/p/",
        "memory://x/y",
        "https://h/x.csv",
    ):
        assert check_url(url) == url


@pytest.mark.parametrize(
    ("relative", "segments", "excluded", "selected"),
    [
        ("part-0.parquet", [], [], True),
        ("a/b/c.bin", [], [], True),
        (".git/config", [], [], False),  # the default excludes
        ("run/.ipynb_checkpoints/x.ipynb", [], [], False),
        ("nb.ipynb.sigstore.json", [], [], False),
        ("tmp/x.txt", [], ["tmp/"], False),
        ("a/tmp/x.txt", [], ["tmp/"], False),
        ("a/tmp/x.txt", [], ["/tmp/"], True),  # anchored to the prefix
        ("x.log", [], ["*.log", "!keep.log"], False),
        ("keep.log", [], ["*.log", "!keep.log"], True),
        ("d/p.parquet", ["**", "*.parquet"], [], True),
        ("p.parquet", ["**", "*.parquet"], [], True),
        ("d/p.csv", ["**", "*.parquet"], [], False),
        ("d/.hidden.parquet", ["**", "*.parquet"], [], False),  # wildcards skip dot names
        ("d/e/p.parquet", ["d", "*.parquet"], [], False),
        ("d/e/p.parquet", ["d"], [], True),  # a matched folder takes everything below it
        ("a//b", [], [], False),
    ],
)
def test_patterns_and_excludes_over_object_names(
    relative: str, segments: list[str], excluded: list[str], selected: bool
) -> None:
    pattern = GlobPattern(segments) if segments else None
    assert _selected(relative, excludes(excluded), pattern) is selected


def test_memory_prefix_pattern_and_object(memory: tuple[Any, str]) -> None:
    fs, root = memory
    data = {f"/{root}/run/a.csv": b"a", f"/{root}/run/sub/b.csv": b"bb", f"/{root}/run/sub/c.txt": b"c"}
    fs.pipe(data)
    found, notes = api.digest([f"memory://{root}/run/", f"memory://{root}/run/**/*.txt"])
    assert [(f.name, h.sha256) for f, h in found] == [
        (f"memory://{root}/run/a.csv", hashlib.sha256(b"a").hexdigest()),
        (f"memory://{root}/run/sub/b.csv", hashlib.sha256(b"bb").hexdigest()),
        (f"memory://{root}/run/sub/c.txt", hashlib.sha256(b"c").hexdigest()),
    ]
    selection = select_remote([f"memory://{root}/run/sub/b.csv", f"memory://{root}/run/*.csv"])
    assert [o.url for o in selection.objects] == [
        f"memory://{root}/run/a.csv",
        f"memory://{root}/run/sub/b.csv",
    ]
    assert selection.rules == RemoteRules(
        (RemoteSpec("glob", f"memory://{root}/run/*.csv"),), selection.rules.exclude
    )  # type: ignore[union-attr]
    with pytest.raises(OutputError, match="matches no object"):
        select_remote([f"memory://{root}/run/*.parquet"])
    assert select_remote([f"memory://{root}/empty/"]).notes == [
        f"prefix memory://{root}/empty/ holds no object to sign (after exclusions)"
    ]


def test_local_and_remote_digests_keep_the_order_given(
    memory: tuple[Any, str], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fs, root = memory
    fs.pipe(f"/{root}/x.bin", b"x")
    (tmp_path / "local.txt").write_bytes(b"local")
    monkeypatch.chdir(tmp_path)
    found, _ = api.digest(["local.txt", f"memory://{root}/x.bin", "local.txt"])
    assert [f.name for f, _ in found] == ["local.txt", f"memory://{root}/x.bin", "local.txt"]


def test_control_characters_in_an_object_name_are_refused_when_signing(memory: tuple[Any, str]) -> None:
    fs, root = memory
    fs.pipe(f"/{root}/p/ok.csv", b"1")
    fs.pipe(f"/{root}/p/bad\x1b[2J.csv", b"2")
    with pytest.raises(OutputError, match="control characters"):
        select_remote([f"memory://{root}/p/"])


# --- the signed statement ----------------------------------------------------------------------------

NB: dict[str, Any] = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}},
    "cells": [
        {
            "cell_type": "code",
            "id": "a",
            "source": "1",
            "metadata": {},
            "outputs": [],
            "execution_count": None,
        }
    ],
}


def statement(**kwargs: Any) -> dict[str, Any]:
    from pathlib import Path

    digest = digest_of(NB, Path("nb.ipynb"))
    remote = [
        RemoteDigest("s3://b/run/a.csv", "a" * 64, 3, "v1", "etag1"),
        RemoteDigest("gs://g/x.bin", "b" * 64, 4, None, None),
    ]
    rules = RemoteRules((RemoteSpec("prefix", "s3://b/run/"),), ("*.tmp",))
    return build_statement(
        "nb.ipynb", digest, [], remote_outputs=kwargs.get("remote", remote), remote_rules=rules
    )


def test_statement_round_trip_names_each_object_exactly() -> None:
    signed = statement()
    assert [s["name"] for s in signed["subject"]] == ["nb.ipynb", "s3://b/run/a.csv", "gs://g/x.bin"]
    assert signed["subject"][1] == {"name": "s3://b/run/a.csv", "digest": {"sha256": "a" * 64}}
    assert "outputs" not in signed["predicate"]  # each object once: its digest only in its subject
    assert signed["predicate"]["remoteOutputs"][0] == {
        "url": "s3://b/run/a.csv",
        "size": 3,
        "versionId": "v1",
        "etag": "etag1",
    }
    assert signed["predicate"]["remoteOutputRules"] == {
        "include": [{"prefix": "s3://b/run/"}],
        "exclude": ["*.tmp"],
    }
    parsed = parse_statement(signed)
    assert parsed.remote_outputs == (
        RemoteDigest("s3://b/run/a.csv", "a" * 64, 3, "v1", "etag1"),
        RemoteDigest("gs://g/x.bin", "b" * 64, 4, None, None),
    )
    assert parsed.remote_rules == RemoteRules((RemoteSpec("prefix", "s3://b/run/"),), ("*.tmp",))
    assert parsed.outputs == ()


def _rename(statement: dict[str, Any], url: str) -> None:
    """Name another URL in both places that name the object (its subject and its predicate entry)."""
    statement["subject"][1]["name"] = url
    statement["predicate"]["remoteOutputs"][0]["url"] = url


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: _rename(s, "file:///etc/passwd"), "not accepted"),
        (lambda s: _rename(s, "s3://b/x?versionId=1"), "query string"),
        (lambda s: s["predicate"]["remoteOutputs"][0].update(path="x.csv"), "both a path and a URL"),
        (lambda s: s["predicate"]["remoteOutputs"][0].update(versionId=7), "malformed versionId"),
        (lambda s: s["predicate"]["remoteOutputs"][0].update(size=True), "no valid size"),
        (lambda s: s["predicate"]["remoteOutputs"][0].update(digest={"sha256": "c" * 64}), "two different"),
        (
            lambda s: s["predicate"]["remoteOutputs"].append(dict(s["predicate"]["remoteOutputs"][0])),
            "subject",
        ),
        (lambda s: s["subject"].append(dict(s["subject"][1])), "twice"),
        (lambda s: s["subject"][1].update(name="s3://b/run/other.csv"), "not a subject"),
        (lambda s: s["predicate"]["remoteOutputs"].pop(0), "not a relative POSIX path|escapes"),
        (
            lambda s: s["predicate"]["remoteOutputRules"].update(include=[{"prefix": "s3://b/run"}]),
            "does not end",
        ),
        (
            lambda s: s["predicate"]["remoteOutputRules"].update(include=[{"glob": "s3://*/x"}]),
            "without wildcards",
        ),
        (
            lambda s: s["predicate"]["remoteOutputRules"].update(include=[{"prefix": "https://h/p/"}]),
            "single files",
        ),
        (
            lambda s: s["predicate"]["remoteOutputRules"].update(include=[{"folder": "s3://b/"}]),
            "unknown remote",
        ),
        (lambda s: s["predicate"]["remoteOutputRules"].update(exclude=["a\nb"]), "control character"),
    ],
)
def test_a_tampered_or_malformed_remote_entry_is_refused(change: Any, message: str) -> None:
    signed = statement()
    change(signed)
    with pytest.raises(BundleError, match=message):
        parse_statement(signed)


def test_clean_version_and_etag() -> None:
    assert clean_etag('"abc"') == "abc" and clean_etag("abc") == "abc" and clean_etag(None) is None
    assert clean_version("null") is None and clean_version(123) == "123" and clean_version("") is None


def test_the_report_line_says_whether_the_signed_version_still_exists() -> None:
    changed = OutputReport("s3://b/k", "modified", "a" * 64, "b" * 64, None, True, "v1", True)
    assert output_line(changed) == (
        "output s3://b/k: modified (sha256 was aaaaaaaaaaaa…, now bbbbbbbbbbbb…); "
        "the signed version still exists as version v1"
    )
    gone = OutputReport("s3://b/k", "missing", "a" * 64, None, "object not found", True, "v1", False)
    assert output_line(gone) == (
        "output s3://b/k: missing (object not found); "
        "the signed version v1 no longer exists with the signed bytes"
    )
    unchecked = OutputReport("s3://b/k", "not-checked", "a" * 64, None, "not checked on open: ...", True)
    assert output_line(unchecked) == "output s3://b/k: not checked on open: ..."


def test_verification_without_the_backend_says_missing_and_what_to_install() -> None:
    """Fail closed: an output that cannot be read because its backend is absent is not skipped."""
    from jupyter_sigstore.remote.checking import check_remote

    reports, warnings = check_remote([RemoteDigest("oss://bucket/x.csv", "a" * 64, 3, "v1", None)], None)
    (report,) = reports
    assert (report.status, report.remote, report.signed_version_exists) == ("missing", True, None)
    assert report.error == "oss:// outputs need a file-system package: install the fsspec backend for it"
    assert warnings == []


def test_a_digest_of_a_protocol_without_its_backend_is_one_line() -> None:
    with pytest.raises(OutputError, match="oss:// outputs need a file-system package"):
        api.digest(["oss://bucket/x.csv"])
