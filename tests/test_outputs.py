"""Choosing outputs (files, folders, patterns, excludes, symlinks), the recorded rules, `digest`, and
verification naming modified / missing / added files -- including every bad input of issue 3."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_sigstore import api, hashing, walking
from jupyter_sigstore.canonical import notebook_digest
from jupyter_sigstore.cli import main
from jupyter_sigstore.errors import BundleError, OutputError, UsageError
from jupyter_sigstore.instance import Instance
from jupyter_sigstore.outputs import (
    IncludeSpec,
    OutputOptions,
    OutputRules,
    check_outputs,
    hash_outputs,
    select_outputs,
)
from jupyter_sigstore.signing import KeylessSigner
from jupyter_sigstore.statement import build_statement, parse_statement
from jupyter_sigstore.walking import DEFAULT_EXCLUDES, ExcludeMatcher, GlobPattern, expand_paths, split_glob

EMPTY = hashlib.sha256(b"").hexdigest()
NB = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "cells": [
        {
            "cell_type": "code",
            "id": "c1",
            "source": "1+1",
            "metadata": {},
            "outputs": [],
            "execution_count": None,
        }
    ],
}


def _tree(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "nb.ipynb").write_text(json.dumps(NB), encoding="utf-8")
    _tree(
        root,
        {
            "results.csv": "a,b\n1,2\n",
            "data/part-0.parquet": "p0",
            "data/part-1.parquet": "p1",
            "data/deep/x.bin": b"\x00\x01",
            "data/.hidden": "h",
            "data/.git/config": "[core]",
            "data/.ipynb_checkpoints/x-checkpoint.ipynb": "{}",
            "data/old.sigstore.json": "{}",
            "data/cache/tmp.bin": "c",
            "figures/a.png": "A",
            "figures/b.png": "B",
            "figures/c.svg": "C",
            "figures/sub/d.png": "D",
        },
    )
    monkeypatch.chdir(root)
    return root


def _names(root: Path, specs: list[str], **kw: Any) -> list[str]:
    return [f.name for f in select_outputs(root / "nb.ipynb", specs, **kw).files]


# --- choosing outputs ------------------------------------------------------------------------


def test_directory_is_recursive_with_default_excludes(project: Path) -> None:
    sel = select_outputs(project / "nb.ipynb", ["data"])
    assert [f.name for f in sel.files] == [
        "data/.hidden",
        "data/cache/tmp.bin",
        "data/deep/x.bin",
        "data/part-0.parquet",
        "data/part-1.parquet",
    ]
    assert sel.rules == OutputRules((("directory", "data"),), DEFAULT_EXCLUDES, False)


def test_user_excludes_are_gitignore_style_and_recorded(project: Path) -> None:
    options = OutputOptions(exclude=("cache/", "*.bin", "!keep.bin"))
    (project / "data/deep/keep.bin").write_text("k")
    sel = select_outputs(project / "nb.ipynb", ["data"], options=options)
    assert [f.name for f in sel.files] == [
        "data/.hidden",
        "data/deep/keep.bin",
        "data/part-0.parquet",
        "data/part-1.parquet",
    ]
    assert sel.rules is not None
    assert sel.rules.exclude == (*DEFAULT_EXCLUDES, "cache/", "*.bin", "!keep.bin")
    # anchored patterns are relative to the notebook's folder
    assert "data/deep/x.bin" not in _names(project, ["data"], options=OutputOptions(exclude=("/data/deep/",)))
    assert "data/deep/x.bin" in _names(project, ["data"], options=OutputOptions(exclude=("/deep/",)))


def test_glob_patterns(project: Path) -> None:
    assert _names(project, ["figures/*.png"]) == ["figures/a.png", "figures/b.png"]
    assert _names(project, ["figures/**/*.png"]) == ["figures/a.png", "figures/b.png", "figures/sub/d.png"]
    assert _names(project, ["data/*"]) == [  # a matched folder counts whole; dot files only by '.*'
        "data/cache/tmp.bin",
        "data/deep/x.bin",
        "data/part-0.parquet",
        "data/part-1.parquet",
    ]
    assert _names(project, ["data/.h*"]) == ["data/.hidden"]
    sel = select_outputs(project / "nb.ipynb", ["figures/*.png", "results.csv"])
    assert sel.rules is not None and sel.rules.include == (("glob", "figures/*.png"),)


def test_glob_agrees_with_python_glob(project: Path) -> None:
    for pattern in ["*.csv", "figures/*", "**/*.png", "data/**", "data/**/*.bin", "fig*/?.png", "*/[ab].png"]:
        prefix, segments = split_glob(pattern)
        expected = set()
        for hit in glob.glob(pattern, recursive=True):
            if os.path.isdir(hit):
                expected |= {
                    os.path.relpath(os.path.join(d, f)).replace(os.sep, "/")
                    for d, _, fs in os.walk(hit)
                    for f in fs
                    if not any(
                        p.startswith(".") for p in os.path.relpath(os.path.join(d, f), hit).split(os.sep)
                    )
                }
            else:
                expected.add(hit.replace(os.sep, "/"))
        got = set(_names(project, [pattern]))
        expected.discard("nb.ipynb")
        expected = {e for e in expected if not any(p in (".git", ".ipynb_checkpoints") for p in e.split("/"))}
        expected = {e for e in expected if not e.endswith(".sigstore.json")}
        assert got == expected, pattern
        assert GlobPattern(segments).segments == tuple(segments)
        assert prefix


def test_fast_default_excludes_match_pathspec() -> None:
    import pathspec

    fast = ExcludeMatcher(DEFAULT_EXCLUDES)
    spec = pathspec.GitIgnoreSpec.from_lines(DEFAULT_EXCLUDES)
    names = [
        ".git",
        "a/.git",
        ".gitx",
        "x.git",
        "a.sigstore.json",
        "b/.sigstore.json",
        "c.sigstore.jsonx",
        ".ipynb_checkpoints",
        "d/.ipynb_checkpoints",
        "plain.csv",
        "sigstore.json",
    ]
    for name in names:
        for is_dir in (True, False):
            expected = spec.match_file(name + "/" if is_dir else name)
            assert fast.excluded(name, is_dir) == expected, (name, is_dir)


def test_whole_folder_skips_the_notebook_itself(project: Path) -> None:
    names = _names(project, ["."])
    assert "nb.ipynb" not in names and "results.csv" in names and "data/.git/config" not in names
    sel = select_outputs(project / "nb.ipynb", ["."])
    assert sel.rules is not None and sel.rules.include == (("directory", "."),)


def test_names_with_spaces_unicode_and_newlines(project: Path) -> None:
    odd = ["with space.csv", "résumé ü.csv", "new\nline.csv", "tab\tand\\back.csv"]
    _tree(project, {f"odd/{n}": n for n in odd})
    files = select_outputs(project / "nb.ipynb", ["odd"]).files
    assert sorted(f.name for f in files) == sorted(f"odd/{n}" for n in odd)
    digests = {d.path: d.sha256 for d in hash_outputs(files)}
    assert digests["odd/new\nline.csv"] == hashlib.sha256(b"new\nline.csv").hexdigest()


def test_non_utf8_name_is_refused(project: Path) -> None:
    bad = os.path.join(os.fsencode(project / "data"), b"caf\xe9.csv")
    with open(bad, "wb") as fh:
        fh.write(b"x")
    with pytest.raises(OutputError, match="not valid UTF-8"):
        select_outputs(project / "nb.ipynb", ["data"])


def test_refused_specs(project: Path, tmp_path: Path) -> None:
    (tmp_path / "outside.csv").write_text("o")
    nb = project / "nb.ipynb"
    with pytest.raises(OutputError, match="does not exist"):
        select_outputs(nb, ["nope.csv"])
    with pytest.raises(OutputError, match="matches no file"):
        select_outputs(nb, ["figures/*.jpg"])
    with pytest.raises(UsageError, match="outside the notebook's folder"):
        select_outputs(nb, ["../outside.csv"])
    with pytest.raises(UsageError, match="outside the notebook's folder"):
        select_outputs(nb, [str(tmp_path / "outside.csv")])
    with pytest.raises(UsageError, match="outside the notebook's folder"):
        select_outputs(nb, ["data/../../outside.csv"])
    with pytest.raises(UsageError, match="outside the notebook's folder"):
        select_outputs(nb, ["../*.csv"])
    with pytest.raises(UsageError, match="may not follow a wildcard"):
        select_outputs(nb, ["figures/*/../../x"])
    with pytest.raises(UsageError, match="the notebook itself"):
        select_outputs(nb, ["nb.ipynb"])
    (project / "nb.ipynb.sigstore.json").write_text("{}")
    with pytest.raises(UsageError, match="own signature bundle"):
        select_outputs(nb, ["nb.ipynb.sigstore.json"])
    with pytest.raises(UsageError, match="exclude pattern"):
        select_outputs(nb, ["data"], options=OutputOptions(exclude=("",)))
    # absolute paths inside the folder are fine and named relatively
    assert _names(project, [str(project / "results.csv")]) == ["results.csv"]
    # outside is allowed only when asked, and named with ../
    assert _names(project, ["../outside.csv"], allow_outside=True) == ["../outside.csv"]


def test_symlinks(project: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    nb = project / "nb.ipynb"
    os.symlink(secret, project / "escape.txt")
    with pytest.raises(UsageError, match="outside the notebook's folder"):
        select_outputs(nb, ["escape.txt"])
    os.symlink(secret, project / "data" / "escape.txt")
    os.symlink("../figures", project / "data" / "figs")
    os.symlink(".", project / "data" / "loop")
    # links are not followed by default, and a signed folder holding them is refused: signing would
    # leave them out while verification names them (decide: follow, exclude, or replace them)
    with pytest.raises(
        UsageError, match=r"holds data/\w+(\.txt)? \(and 2 more\): a symbolic link, not followed"
    ):
        select_outputs(nb, ["data"])
    links = ("data/escape.txt", "data/figs", "data/loop")
    sel = select_outputs(nb, ["data"], options=OutputOptions(exclude=links))
    assert not any(n.startswith(links) for n in (f.name for f in sel.files))
    with pytest.raises(UsageError, match="escape.txt is a symbolic link to .* outside"):
        select_outputs(nb, ["data"], options=OutputOptions(follow_symlinks=True))
    (project / "data" / "escape.txt").unlink()
    sel = select_outputs(nb, ["data"], options=OutputOptions(follow_symlinks=True))
    names = [f.name for f in sel.files]
    assert "data/figs/a.png" in names  # a link inside the root is followed when asked
    assert any("loop" in note for note in sel.notes)  # ... and a loop is walked once, not forever
    assert sel.rules is not None and sel.rules.follow_symlinks
    # an explicitly named link to a file inside the folder is taken (its content is signed)
    os.symlink("results.csv", project / "alias.csv")
    assert _names(project, ["alias.csv"]) == ["alias.csv"]
    os.symlink("missing-target", project / "dangling.csv")
    with pytest.raises(OutputError, match="broken symbolic link"):
        select_outputs(nb, ["dangling.csv"])


def test_unreadable_folder(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = project / "data" / "deep"
    real_scandir = os.scandir

    def refusing(path: Any = ".") -> Any:
        if Path(os.fsdecode(path)) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", refusing)
    with pytest.raises(OutputError, match="data/deep cannot be listed"):
        select_outputs(project / "nb.ipynb", ["data"])


# --- bounded walks and what they skip (issue 11.9) --------------------------------------------


def _link_dag(folder: Path, levels: int) -> None:
    """``levels`` folders, each holding two links to the next: 2**levels paths lead to the last."""
    for k in range(levels + 1):
        (folder / f"l{k:02d}").mkdir(parents=True)
    for k in range(levels):
        for link in ("a", "b"):
            os.symlink(f"../l{k + 1:02d}", folder / f"l{k:02d}" / link)
    (folder / f"l{levels:02d}" / "leaf.csv").write_text("leaf")


def _count_listings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    listed: list[str] = []
    real_scandir = os.scandir

    def counting(path: Any = ".") -> Any:
        listed.append(os.fsdecode(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", counting)
    return listed


def test_symlink_dag_is_walked_once_per_folder(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The attack: 24 levels of two links each make 2**24 paths; each real folder is listed once."""
    nb = project / "nb.ipynb"
    options = OutputOptions(follow_symlinks=True)
    sel = select_outputs(nb, ["data"], options=options)
    signed = tuple(hash_outputs(sel.files))
    levels = 24
    _link_dag(project / "dag", levels)
    os.symlink("../dag/l00", project / "data" / "entry")
    leaf = "data/entry/" + "a/" * levels + "leaf.csv"  # fewest links, then the first name

    listed = _count_listings(monkeypatch)
    reports = check_outputs(nb, signed, rules=sel.rules)
    assert len(listed) == len(set(listed)) <= levels + 10  # data, deep, cache and one per level
    assert [(r.path, r.status) for r in reports if r.status != "ok"] == [(leaf, "added")]

    listed.clear()
    chosen = select_outputs(nb, ["data"], options=options)
    assert len(listed) <= levels + 10
    assert [f.name for f in chosen.files if f.name.endswith("leaf.csv")] == [leaf]
    assert any("did not walk 24 folder(s) again" in note for note in chosen.notes)

    listed.clear()  # digest's walk, from the project: the real path of each level wins
    files, _ = expand_paths(["."], follow_symlinks=True)
    assert len(listed) <= 2 * levels + 10
    assert [f.name for f in files if f.name.endswith("leaf.csv")] == [f"dag/l{levels}/leaf.csv"]

    listed.clear()  # a pattern walks the same way
    files, _ = expand_paths(["**/leaf.csv"], follow_symlinks=True)
    assert len(listed) <= 2 * levels + 10 and [f.name for f in files] == [f"dag/l{levels}/leaf.csv"]


def test_a_folder_reached_twice_is_named_one_way(project: Path) -> None:
    nb = project / "nb.ipynb"
    os.symlink("deep", project / "data" / "aa")  # before "deep" by name, but through a link
    os.symlink("../figures", project / "data" / "figs2")
    os.symlink("../figures", project / "data" / "figs")
    options = OutputOptions(follow_symlinks=True)
    sel = select_outputs(nb, ["data"], options=options)
    names = [f.name for f in sel.files]
    assert "data/deep/x.bin" in names and not any(n.startswith("data/aa") for n in names)
    assert "data/figs/a.png" in names and not any(n.startswith("data/figs2") for n in names)
    whole = [f.name for f in select_outputs(nb, ["."], options=options).files]
    assert "figures/a.png" in whole and not any(n.startswith("data/figs") for n in whole)
    # verification walks the same tree the same way: nothing added, nothing missing
    for specs in (["data"], ["."]):
        sel = select_outputs(nb, specs, options=options)
        assert {r.status for r in check_outputs(nb, tuple(hash_outputs(sel.files)), rules=sel.rules)} == {
            "ok"
        }


def test_links_and_special_files_in_a_signed_folder_are_named(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    nb = project / "nb.ipynb"
    for follow in (False, True):
        options = OutputOptions(follow_symlinks=follow, exclude=("cache/",))
        sel = select_outputs(nb, ["data", "figures/*.png"], options=options, base=project)
        signed = tuple(hash_outputs(sel.files))
        os.symlink("../results.csv", project / "data" / "link.csv")
        os.mkfifo(project / "data" / "deep" / "pipe")
        monkeypatch.chdir(project / "figures")  # a socket's path must be short
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind("sock.png")
            os.mkfifo("pipe.txt")  # not matched by the signed pattern: not named
            os.mkfifo(project / "data" / "cache" / "pipe")  # excluded by the signed rules: not named
            reports = {r.path: r for r in check_outputs(nb, signed, rules=sel.rules)}
        assert {path: (r.status, r.error) for path, r in reports.items() if r.status != "ok"} == {
            "data/deep/pipe": ("added", "FIFO, not a regular file"),
            "data/link.csv": ("added", "not in the signature" if follow else "symbolic link, not followed"),
            "figures/sock.png": ("added", "socket, not a regular file"),
        }
        for path in (
            "data/link.csv",
            "data/deep/pipe",
            "figures/sock.png",
            "figures/pipe.txt",
            "data/cache/pipe",
        ):
            os.unlink(project / path)


def test_a_link_a_signed_pattern_could_enter_is_named(project: Path) -> None:
    nb = project / "nb.ipynb"
    sel = select_outputs(nb, ["figures/**/*.png", "figures/*.svg"])
    signed = tuple(hash_outputs(sel.files))
    os.symlink("sub", project / "figures" / "linked")  # **/*.png could match files below it
    os.symlink("../results.csv", project / "figures" / "z.txt")  # matched by neither pattern
    os.symlink("../results.csv", project / "figures" / "z.svg")  # matched as it is
    reports = [(r.path, r.status, r.error) for r in check_outputs(nb, signed, rules=sel.rules)]
    assert [r for r in reports if r[1] != "ok"] == [
        ("figures/linked", "added", "symbolic link, not followed"),
        ("figures/z.svg", "added", "symbolic link, not followed"),
    ]


def test_walks_stop_at_the_entry_limit(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = project / "nb.ipynb"
    sel = select_outputs(nb, ["data"])
    signed = tuple(hash_outputs(sel.files))
    monkeypatch.setattr(walking, "MAX_ENTRIES", 4)  # data/ alone holds 9 entries
    with pytest.raises(OutputError, match="walk stopped in data/: more than 4 files, folders and links"):
        select_outputs(nb, ["data"])
    with pytest.raises(OutputError, match="more than 4"):
        expand_paths(["data"])
    reports = [r for r in check_outputs(nb, signed, rules=sel.rules) if r.status != "ok"]
    assert [(r.path, r.status) for r in reports] == [("data/", "added")]
    assert "walk stopped" in (reports[0].error or "")
    walk = walking.Walk(
        ExcludeMatcher(DEFAULT_EXCLUDES), follow_symlinks=False, boundary=None, max_entries=20
    )
    walk.walk(str(project), "")
    assert walk.entries_seen <= 20 and walk.files


def test_one_entry_limit_for_all_the_signed_specs(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A signature naming the same tree many ways does not multiply the limit."""
    for k in range(40):
        (project / "data" / f"f{k:02d}.csv").write_text(str(k))
    specs = [("directory", "data"), ("glob", "data/*.csv"), ("glob", "data/**/*"), ("glob", "data/f*")]
    rules = OutputRules(tuple(IncludeSpec(kind, path) for kind, path in specs * 50))
    seen = [0]
    real_scandir = os.scandir

    class Counting:
        def __init__(self, path: Any) -> None:
            self.it = real_scandir(path)

        def __enter__(self) -> Counting:
            return self

        def __exit__(self, *exc: object) -> None:
            self.it.close()

        def __iter__(self) -> Counting:
            return self

        def __next__(self) -> os.DirEntry[str]:
            entry = next(self.it)
            seen[0] += 1
            return entry

    monkeypatch.setattr(os, "scandir", Counting)
    monkeypatch.setattr(walking, "MAX_ENTRIES", 150)  # data/ holds 49 entries, data/deep 1, ...
    reports = check_outputs(project / "nb.ipynb", (), rules=rules)
    assert seen[0] <= 150 + 1
    assert [r.path for r in reports if "walk stopped" in (r.error or "")] == ["data/"]


def test_pattern_matching_costs_are_bounded(project: Path) -> None:
    deep = "data/" + "**/*/" * 20 + "*.csv"  # one matcher state per part: work per entry grows with it
    with pytest.raises(UsageError, match="more than 32 parts"):
        select_outputs(project / "nb.ipynb", [deep])
    rules = OutputRules((IncludeSpec("glob", deep), IncludeSpec("directory", "data")))
    reports = [
        r for r in check_outputs(project / "nb.ipynb", (), rules=rules) if "32 parts" in (r.error or "")
    ]
    assert [(r.path, r.status) for r in reports] == [(deep + "/", "added")]


def test_unlistable_folder_is_named_at_verification(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = project / "nb.ipynb"
    sel = select_outputs(nb, ["data"])
    signed = tuple(hash_outputs(sel.files))
    locked = project / "data" / "deep"
    real_scandir = os.scandir

    def refusing(path: Any = ".") -> Any:
        if Path(os.fsdecode(path)) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", refusing)
    reports = [r for r in check_outputs(nb, signed, rules=sel.rules) if r.status != "ok"]
    assert [(r.path, r.status, r.error) for r in reports] == [
        ("data/deep/", "added", "output folder data/deep cannot be listed (permission denied)")
    ]


def test_an_excluded_link_leading_outside_is_not_an_error(project: Path, tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("s")
    os.symlink(tmp_path / "secret", project / "data" / "escape.txt")
    options = OutputOptions(follow_symlinks=True, exclude=("escape.txt",))
    sel = select_outputs(project / "nb.ipynb", ["data"], options=options)
    assert "data/escape.txt" not in [f.name for f in sel.files]


@pytest.mark.slow
def test_hundred_thousand_empty_files(tmp_path: Path) -> None:
    root = tmp_path / "many"
    for d in range(100):
        sub = root / "runs" / f"{d:03d}"
        sub.mkdir(parents=True)
        for i in range(1000):
            os.close(os.open(sub / f"{i:04d}.json", os.O_CREAT | os.O_WRONLY, 0o644))
    (root / "nb.ipynb").write_text(json.dumps(NB))
    sel = select_outputs(root / "nb.ipynb", ["runs"], base=root)
    assert len(sel.files) == 100_000
    digests = hash_outputs(sel.files, jobs=2)
    assert len(digests) == 100_000 and {d.sha256 for d in digests} == {EMPTY}
    assert digests[0].path == "runs/000/0000.json" and digests[-1].path == "runs/099/0999.json"
    assert all(r.status == "ok" for r in check_outputs(root / "nb.ipynb", tuple(digests), rules=sel.rules))


# --- recorded rules and crafted signatures ---------------------------------------------------


def _statement(outputs: list[Any], rules: dict[str, Any] | None = None) -> dict[str, Any]:
    from jupyter_sigstore.outputs import OutputDigest

    st = build_statement("nb.ipynb", notebook_digest(NB), [OutputDigest(*o) for o in outputs])
    if rules is not None:
        st["predicate"]["outputRules"] = rules
    return st


def test_rules_round_trip_through_the_statement(project: Path) -> None:
    sel = select_outputs(
        project / "nb.ipynb", ["data", "figures/*.png"], options=OutputOptions(exclude=("*.x",))
    )
    digests = hash_outputs(sel.files)
    st = build_statement("nb.ipynb", notebook_digest(NB), digests, output_rules=sel.rules)
    assert st["predicate"]["outputRules"] == {
        "include": [{"directory": "data"}, {"glob": "figures/*.png"}],
        "exclude": [*DEFAULT_EXCLUDES, "*.x"],
        "followSymlinks": False,
    }
    prov = parse_statement(json.loads(json.dumps(st)))
    assert prov.output_rules == sel.rules
    plain = build_statement("nb.ipynb", notebook_digest(NB), digests)
    assert "outputRules" not in plain["predicate"] and parse_statement(plain).output_rules is None


@pytest.mark.parametrize(
    "rules",
    [
        {"include": [{"directory": "../../etc"}], "exclude": []},
        {"include": [{"directory": "/etc"}], "exclude": []},
        {"include": [{"directory": "data/../.."}], "exclude": []},
        {"include": [{"directory": "data\\..\\.."}], "exclude": []},
        {"include": [{"glob": "**/../../*"}], "exclude": []},
        {"include": [{"glob": "/etc/*"}], "exclude": []},
        {"include": [{"glob": "no-wildcard"}], "exclude": []},
        {"include": [{"file": "x"}], "exclude": []},
        {"include": [{"directory": "a", "glob": "b*"}], "exclude": []},
        {"include": [{"directory": "data"}], "exclude": ["ok", ""]},
        {"include": [{"directory": "data"}], "exclude": ["a\nb"]},
        {"include": [{"directory": "data"}], "exclude": [], "followSymlinks": "yes"},
        {"include": [{"directory": "data"}] * 1001, "exclude": []},
        {"include": "data", "exclude": []},
    ],
)
def test_crafted_rules_are_refused(rules: dict[str, Any]) -> None:
    with pytest.raises(BundleError):
        parse_statement(_statement([], rules))


@pytest.mark.parametrize(
    "path", ["../../etc/passwd", "/etc/passwd", "data/../../x", "a//b", "./a", "a\\b", ""]
)
def test_crafted_output_paths_are_refused(path: str) -> None:
    with pytest.raises(BundleError):
        parse_statement(_statement([(path, EMPTY, 0)]))


@settings(max_examples=2000, deadline=None)
@given(
    path=st.lists(st.sampled_from(["a", "b.csv", ".", "..", "", "...", ".h", " ", "é", "\\", "\x00"])).map(
        "/".join
    ),
    allow_parent=st.booleans(),
)
def test_relative_path_rule_is_pathlibs(path: str, allow_parent: bool) -> None:
    """check_relative_path (plain string tests) admits exactly the normal relative POSIX paths."""
    from pathlib import PurePosixPath

    from jupyter_sigstore.outputs import check_relative_path

    pure = PurePosixPath(path)
    parts = pure.parts
    while allow_parent and parts and parts[0] == "..":
        parts = parts[1:]
    normal = (
        bool(path)
        and "\x00" not in path
        and "\\" not in path
        and not pure.is_absolute()
        and bool(parts)
        and ".." not in parts
        and str(pure) == path
    )
    if normal:
        assert check_relative_path(path, allow_parent=allow_parent) == path
    else:
        with pytest.raises(BundleError):
            check_relative_path(path, allow_parent=allow_parent)


def test_parent_specs_only_with_allow_outside() -> None:
    st = _statement([("../shared/x.csv", EMPTY, 0)], {"include": [{"directory": "../shared"}], "exclude": []})
    with pytest.raises(BundleError):
        parse_statement(st)
    assert parse_statement(st, allow_parent=True).output_rules == OutputRules(
        (("directory", "../shared"),), (), False
    )


# --- verification: ok / modified / missing / added -------------------------------------------


def test_check_reports_each_change(project: Path) -> None:
    nb = project / "nb.ipynb"
    sel = select_outputs(nb, ["data", "figures/*.png", "results.csv"])
    signed = tuple(hash_outputs(sel.files))
    assert all(r.status == "ok" for r in check_outputs(nb, signed, rules=sel.rules))
    (project / "data/part-0.parquet").write_text("changed")
    (project / "data/part-1.parquet").unlink()
    _tree(
        project,
        {
            "data/new.parquet": "n",
            "data/deep/more/y.bin": "y",
            "figures/e.png": "E",
            "figures/e.svg": "not matched",
            "data/.git/HEAD": "excluded",
            "data/again.sigstore.json": "excluded",
            "new-top.csv": "not in a signed folder",
        },
    )
    reports = {r.path: r for r in check_outputs(nb, signed, rules=sel.rules)}
    assert reports["data/part-0.parquet"].status == "modified"
    assert reports["data/part-0.parquet"].actual_sha256 == hashlib.sha256(b"changed").hexdigest()
    assert reports["data/part-1.parquet"].status == "missing"
    added = sorted(p for p, r in reports.items() if r.status == "added")
    assert added == ["data/deep/more/y.bin", "data/new.parquet", "figures/e.png"]
    assert reports["results.csv"].status == "ok"
    # without recorded rules (plain files), nothing can be "added"
    assert not any(r.status == "added" for r in check_outputs(nb, signed))


def test_check_symlink_escape_at_verification(project: Path, tmp_path: Path) -> None:
    nb = project / "nb.ipynb"
    sel = select_outputs(nb, ["data"], options=OutputOptions(follow_symlinks=True))
    signed = tuple(hash_outputs(sel.files))
    outside = tmp_path / "elsewhere"
    shutil.copytree(project / "data", outside)
    shutil.rmtree(project / "data")
    os.symlink(outside, project / "data")  # the signed folder now leads outside the root
    reports = check_outputs(nb, signed, rules=sel.rules)
    assert {r.status for r in reports} == {"modified"}
    assert all("outside" in (r.error or "") for r in reports)
    shutil.rmtree(outside / "deep")
    os.unlink(project / "data")
    shutil.copytree(outside, project / "data")
    (tmp_path / "secret").write_text("s")
    os.symlink(tmp_path / "secret", project / "data/peek")
    reports = {r.path: r for r in check_outputs(nb, signed, rules=sel.rules)}
    assert reports["data/peek"].status == "added" and "outside" in (reports["data/peek"].error or "")
    assert reports["data/deep/x.bin"].status == "missing"


def test_verification_hashes_in_parallel_with_errors_collected(project: Path) -> None:
    nb = project / "nb.ipynb"
    sel = select_outputs(nb, ["data"])
    signed = tuple(hash_outputs(sel.files))
    (project / "data/deep/x.bin").unlink()
    (project / "data/deep/x.bin").mkdir()  # a folder where a file was signed
    reports = {r.path: r for r in check_outputs(nb, signed, rules=sel.rules, jobs=4)}
    assert reports["data/deep/x.bin"].status == "missing"
    assert reports["data/part-0.parquet"].status == "ok"


# --- signing end to end against the loopback instance ----------------------------------------


def test_one_signature_for_a_folder_and_added_files_are_named(
    project: Path, signer: KeylessSigner, trust_config: Path
) -> None:
    instance = Instance.select(trust_config=trust_config)
    result = api.sign(
        project / "nb.ipynb",
        signer,
        api.SignOptions(outputs=("data", "figures/*.png"), exclude=("cache/",), jobs=2, base=project),
    )
    assert len(result.outputs) == 6
    bundle = json.loads(result.bundle_json)
    assert len(bundle["verificationMaterial"]["tlogEntries"]) == 1  # one log entry for all outputs
    report = api.verify(project / "nb.ipynb", api.VerifyOptions(instance=instance))
    assert report.status == "untrusted-signer" and all(o.status == "ok" for o in report.outputs)
    _tree(project, {"data/cache/ignored.bin": "excluded by the recorded rule", "data/z.parquet": "new"})
    report = api.verify(project / "nb.ipynb", api.VerifyOptions(instance=instance))
    assert report.status == "modified"
    assert [(o.path, o.status) for o in report.outputs if o.status != "ok"] == [("data/z.parquet", "added")]
    assert "data/z.parquet" in report.summary
    assert "output data/z.parquet: added" in api.render_text(report)


def test_output_changing_while_signing_writes_nothing(
    project: Path, signer: KeylessSigner, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = (project / "nb.ipynb").read_bytes()
    calls: list[object] = []
    monkeypatch.setattr(signer, "sign_statement", lambda st: calls.append(st) or "{}")
    real_serial = hashing._serial
    big = b"p" * (hashing.CHUNK + 1)  # read in chunks (a smaller file is read in one call)
    (project / "data/part-1.parquet").write_bytes(big)

    def writer_interferes(fd: int, h: Any, buffer: bytearray, progress: Any) -> int:
        n = real_serial(fd, h, buffer, progress)
        if os.fstat(fd).st_size == len(big):
            with open(project / "data/part-1.parquet", "ab") as other:
                other.write(b"+")  # a process still writing its output
        return n

    monkeypatch.setattr(hashing, "_serial", writer_interferes)
    with pytest.raises(OutputError, match="part-1.parquet changed while it was being hashed"):
        api.sign(
            project / "nb.ipynb", signer, api.SignOptions(outputs=("data/part-1.parquet",), base=project)
        )
    assert calls == [] and (project / "nb.ipynb").read_bytes() == before
    assert not list(project.glob("*.sigstore.json"))


def test_crafted_signature_with_traversal_is_invalid(
    project: Path, signer: KeylessSigner, trust_config: Path
) -> None:
    instance = Instance.select(trust_config=trust_config)
    for outputs, rules in [
        ([("../../../etc/passwd", EMPTY, 0)], None),
        ([], {"include": [{"directory": "../.."}], "exclude": []}),
        ([], {"include": [{"glob": "/etc/*"}], "exclude": []}),
    ]:
        bundle = json.loads(signer.sign_statement(_statement(outputs, rules)))
        nb = dict(
            NB, metadata={**NB["metadata"], "sigstore": {"version": 1, "signatures": [{"bundle": bundle}]}}
        )
        (project / "nb.ipynb").write_text(json.dumps(nb))
        report = api.verify(project / "nb.ipynb", api.VerifyOptions(instance=instance))
        assert report.status == "invalid", report.summary
        assert "escapes the notebook's folder" in report.summary or "not normal" in report.summary
        assert report.outputs == ()


# --- the digest command ----------------------------------------------------------------------


def _digest(capsysbinary: pytest.CaptureFixture[bytes], *args: str) -> tuple[int, str, str]:
    import gc

    capsysbinary.readouterr()
    rc = main(["digest", *args])
    assert gc.isenabled()  # digest runs without it, and gives it back to the calling process
    out, err = capsysbinary.readouterr()
    return rc, out.decode("utf-8", "surrogateescape"), err.decode()


def test_digest_lists_what_signing_sees(project: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    _tree(project, {"data/new\nline.csv": "n", "data/back\\slash.csv": "b"})
    rc, out, err = _digest(capsysbinary, "results.csv", "data", "figures/*.png", "--exclude", "cache/")
    assert rc == 0, err
    lines = out.splitlines()
    csv_digest = hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    assert lines[0] == f"sha256:{csv_digest}  results.csv"
    assert f"\\sha256:{hashlib.sha256(b'n').hexdigest()}  data/new\\nline.csv" in lines
    assert f"\\sha256:{hashlib.sha256(b'b').hexdigest()}  data/back\\\\slash.csv" in lines
    assert f"sha256:{hashlib.sha256(b'A').hexdigest()}  figures/a.png" in lines
    assert not any(".git" in line or "sigstore.json" in line or "cache" in line for line in lines)
    signed = {d.path: d.sha256 for d in hash_outputs(select_outputs(project / "nb.ipynb", ["data"]).files)}
    listed = {line.split("  ", 1)[1]: line.split("  ", 1)[0].lstrip("\\")[7:] for line in lines}
    assert listed["data/part-0.parquet"] == signed["data/part-0.parquet"]


@pytest.mark.parametrize(("name", "written"), [("a\nb", "a\\nb"), ("a\\b", "a\\\\b"), ("a\rb", "a\\rb")])
def test_digest_escapes_each_name_that_needs_it_alone(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes], name: str, written: str
) -> None:
    # one name to escape among plain ones: escaping is decided on the whole listing
    for plain in ("p1", "p2"):
        (tmp_path / plain).write_bytes(b"p")
    (tmp_path / name).write_bytes(b"x")
    rc, out, err = _digest(capsysbinary, str(tmp_path))
    p, x = hashlib.sha256(b"p").hexdigest(), hashlib.sha256(b"x").hexdigest()
    assert rc == 0, err
    lines = [f"\\sha256:{x}  {tmp_path}/{written}"] + [f"sha256:{p}  {tmp_path}/p{n}" for n in (1, 2)]
    assert out == "".join(line + "\n" for line in lines)


def test_digest_bad_input(project: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    rc, out, err = _digest(capsysbinary, "missing.csv")
    assert rc == 2 and err.startswith("error: missing.csv does not exist") and out == ""
    os.mkfifo(project / "pipe")
    rc, out, err = _digest(capsysbinary, "results.csv", "pipe")
    assert rc == 1 and "pipe is not a regular file" in err and out.count("\n") == 1
    with pytest.raises(SystemExit) as exit_info:
        _digest(capsysbinary, "--jobs", "0", "results.csv")
    assert exit_info.value.code == 2 and "positive whole number" in capsysbinary.readouterr().err.decode()


def test_digest_paths_outside_and_absolute(project: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    rc, out, _ = _digest(capsysbinary, str(project / "figures"))
    assert rc == 0 and f"  {project}/figures/a.png\n" in out
    files, _ = expand_paths(["figures/", "fig*/s*/*.png"])
    assert [f.name for f in files] == [
        "figures/a.png",
        "figures/b.png",
        "figures/c.svg",
        "figures/sub/d.png",
        "figures/sub/d.png",
    ]


def test_digest_walk_without_sizes_finds_the_same_files(project: Path) -> None:
    os.mkfifo(project / "data" / "pipe")
    (project / "data" / "link.csv").symlink_to(project / "results.csv")
    specs = ["data", "figures/**/*.png", "results.csv"]
    with_sizes, notes = expand_paths(specs, exclude=["cache/"])
    without, notes_without = expand_paths(specs, exclude=["cache/"], sizes=False)
    assert [f.name for f in without] == [f.name for f in with_sizes] and notes_without == notes
    assert {f.size for f in without} == {-1}
    assert [f.size for f in with_sizes if f.name.startswith("data/")] == [
        os.path.getsize(f.path) for f in with_sizes if f.name.startswith("data/")
    ]
    assert any("FIFO" in n for n in notes) and any("symbolic link" in n for n in notes)


PLAIN_DIGEST_LINES = [
    ["digest", "a"],
    ["digest", "a", "b c", "--jobs", "3"],
    ["digest", "--exclude", "cache/", "--exclude", "*.tmp", "a", "b"],
    ["digest", "-j", "2", "--follow-symlinks", "a"],
    ["digest", "a", "b", "--follow-symlinks", "--exclude", "x"],
]
OTHER_DIGEST_LINES = [  # left to argparse: help, --opt=value, abbreviations, mistakes
    ["digest"],
    ["digest", "--help"],
    ["digest", "-h", "a"],
    ["digest", "--jobs=2", "a"],
    ["digest", "-j2", "a"],
    ["digest", "--excl", "x", "a"],
    ["digest", "a", "--jobs", "2", "b"],
    ["digest", "--jobs", "0", "a"],
    ["digest", "--jobs", "two", "a"],
    ["digest", "--jobs", "٣", "a"],
    ["digest", "--exclude", "-x", "a"],
    ["digest", "--", "-a"],
    ["digest", "-", "a"],
    ["digest", "a", "--exclude"],
    ["sign", "nb.ipynb"],
]


@pytest.mark.parametrize("argv", PLAIN_DIGEST_LINES)
def test_plain_digest_lines_parse_as_argparse_would(argv: list[str]) -> None:
    from jupyter_sigstore.cli import _build_parser, _plain_digest_args

    quick = _plain_digest_args(argv)
    assert quick is not None and vars(quick) == vars(_build_parser().parse_args(argv))


@pytest.mark.parametrize("argv", OTHER_DIGEST_LINES)
def test_other_digest_lines_go_to_argparse(argv: list[str]) -> None:
    from jupyter_sigstore.cli import _plain_digest_args

    assert _plain_digest_args(argv) is None


def test_digest_imports_only_what_it_needs(project: Path) -> None:
    """`digest` must start about as fast as openssl: none of these load (a test of imports, not time)."""
    _tree(project, {f"data/many/{i:02d}.bin": str(i) for i in range(40)})  # enough to fork workers
    code = (
        "import sys; before = set(sys.modules); from jupyter_sigstore.cli import main; "
        "rc = main(['digest', 'data', 'results.csv', '--jobs', '2']); "
        "heavy = {'argparse', 're', 'typing', 'pathlib', 'json', 'threading', 'selectors', 'collections'}; "
        "print(rc, sorted((set(sys.modules) - before) & heavy), file=sys.stderr)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=project, capture_output=True, text=True, check=False
    )
    assert proc.stderr.strip().splitlines()[-1] == "0 []", proc.stderr
    assert "sha256:" in proc.stdout and "results.csv" in proc.stdout


def test_digest_progress_bar_knows_every_size_on_a_terminal(
    project: Path, capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[int, int]] = []

    def for_terminal(total_bytes: int, total_files: int, *args: object, **kwargs: object) -> None:
        seen.append((total_bytes, total_files))

    monkeypatch.setattr(hashing.Progress, "shown_on", staticmethod(lambda stream=None: True))
    monkeypatch.setattr(hashing.Progress, "for_terminal", staticmethod(for_terminal))
    rc, out, _ = _digest(capsysbinary, "results.csv", "figures")
    names = [line.split("  ", 1)[1] for line in out.splitlines()]
    total = sum(os.path.getsize(project / n) for n in names)
    assert rc == 0 and "results.csv" in names and seen == [(total, len(names))]
    seen.clear()
    monkeypatch.setattr(hashing.Progress, "shown_on", staticmethod(lambda stream=None: False))
    assert _digest(capsysbinary, "results.csv")[0] == 0 and seen == []  # not a terminal: no bar
