"""The cell alignment: every cell accounted for once, what a person expects on ordinary edits, and
near-linear work on the inputs that made the old difflib alignment quadratic (issue 11.10)."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import overload

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_sigstore import celldiff
from jupyter_sigstore.celldiff import align, diff_cells
from jupyter_sigstore.report import CellReport


@dataclass(frozen=True)
class Cell:
    digest: str
    cell_type: str = "code"
    cell_id: str | None = None


def cells(digests: Sequence[str]) -> list[Cell]:
    return [Cell(d, "markdown" if d.startswith("md") else "code", f"id-{n}") for n, d in enumerate(digests)]


def statuses(old: Sequence[str], new: Sequence[str]) -> list[tuple[str, int, int | None]]:
    """(status, index, signed_index) of each report, in report order."""
    return [(r.status, r.index, r.signed_index) for r in diff_cells(cells(old), cells(new))]


def changed(old: Sequence[str], new: Sequence[str]) -> list[tuple[str, int, int | None]]:
    return [s for s in statuses(old, new) if s[0] != "ok"]


def check_invariants(old: Sequence[str], new: Sequence[str], reports: list[CellReport]) -> None:
    current = [r for r in reports if r.status != "removed"]
    assert sorted(r.index for r in current) == list(range(len(new)))  # each current cell once
    signed = [r.signed_index for r in reports if r.status in ("ok", "modified", "removed")]
    assert sorted(i for i in signed if i is not None) == list(range(len(old)))  # each signed cell once
    pairs = [(r.signed_index, r.index) for r in reports if r.status in ("ok", "modified")]
    assert all(i is not None for i, _ in pairs)
    assert pairs == sorted(pairs) and len({i for i, _ in pairs}) == len(pairs)  # order preserved ...
    assert [j for _, j in pairs] == sorted(j for _, j in pairs)  # ... on both sides
    for r in reports:
        if r.status == "ok":
            assert r.signed_index is not None and old[r.signed_index] == new[r.index]
        elif r.status == "added":
            assert r.signed_index is None
        elif r.status == "removed":
            assert r.index == r.signed_index
        assert r.cell_id == f"id-{r.index}"  # removed: as signed; the others: as they are now


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    row = [0] * (len(b) + 1)
    for x in a:
        prev = 0
        for k, y in enumerate(b, 1):
            prev, row[k] = row[k], prev + 1 if x == y else max(row[k], row[k - 1])
    return row[-1]


# --- what a person expects --------------------------------------------------------------------

BASE = ["md-title", "imports", "", "load", "clean", "", "plot", "md-notes", "save"]  # "" cells repeat


def test_unchanged() -> None:
    assert statuses(BASE, BASE) == [("ok", k, k) for k in range(len(BASE))]
    assert statuses([], []) == []


def test_one_cell_changed() -> None:
    new = BASE.copy()
    new[4] = "clean-v2"
    assert changed(BASE, new) == [("modified", 4, 4)]
    new[2] = "now-not-empty"  # a repeated (empty) cell changed too
    assert changed(BASE, new) == [("modified", 2, 2), ("modified", 4, 4)]


def test_one_cell_inserted_or_deleted() -> None:
    for k in range(len(BASE) + 1):
        inserted = [*BASE[:k], "new-cell", *BASE[k:]]
        assert changed(BASE, inserted) == [("added", k, None)]
        assert changed(inserted, BASE) == [("removed", k, k)]
    # an empty cell inserted beside another one: one of them is new, the rest line up
    got = changed(BASE, [*BASE[:2], "", *BASE[2:]])
    assert len(got) == 1 and got[0][0] == "added"


def test_one_cell_moved() -> None:
    moved = [BASE[0], BASE[6], *BASE[1:6], *BASE[7:]]  # "plot" moved up to second place
    assert changed(BASE, moved) == [("added", 1, None), ("removed", 6, 6)]
    reports = diff_cells(cells(BASE), cells(moved))
    assert sum(r.status == "ok" for r in reports) == len(BASE) - 1


def test_cells_replaced_in_place_and_a_different_notebook() -> None:
    new = [*BASE[:3], "x", "y", *BASE[5:]]
    assert changed(BASE, new) == [("modified", 3, 3), ("modified", 4, 4)]
    other = [f"other-{k}" for k in range(len(BASE) + 2)]
    got = changed(BASE, other)
    assert [s for s, _, _ in got] == ["modified"] * len(BASE) + ["added"] * 2


def test_report_describes_current_and_removed_cells() -> None:
    old = [Cell("a", "code", "A"), Cell("b", "markdown", "B"), Cell("c", "code", "C")]
    new = [Cell("a", "code", "A2"), Cell("c", "raw", "C2"), Cell("d", "code", "D")]
    assert diff_cells(old, new) == [
        CellReport(0, "ok", "code", "A2", 0),
        CellReport(1, "removed", "markdown", "B", 1),
        CellReport(1, "ok", "raw", "C2", 2),
        CellReport(2, "added", "code", "D", None),
    ]


def test_verifying_diff_cells_keeps_its_shape() -> None:
    from jupyter_sigstore.canonical import CellDigest, NotebookDigest
    from jupyter_sigstore.statement import Provenance, SignedCell
    from jupyter_sigstore.verifying import diff_cells as verifying_diff

    signed = Provenance(
        notebook_name="nb.ipynb",
        notebook_digest="d",
        metadata_digest="m",
        profile="v1",
        cells=(SignedCell("code", "a", "x"), SignedCell("code", "b", "y")),
        outputs=(),
        predicate={},
    )
    current = NotebookDigest(
        profile="v1",
        digest="d2",
        metadata_digest="m",
        cells=(CellDigest(0, "code", "a", "x"), CellDigest(1, "code", "c", "y")),
    )
    assert verifying_diff(signed, current) == [
        CellReport(0, "ok", "code", "x", 0),
        CellReport(1, "modified", "code", "y", 1),
    ]


# --- properties --------------------------------------------------------------------------------

DIGESTS = st.sampled_from(["a", "b", "c", "d", "e", "", "md-x"])
EDITS = st.lists(
    st.tuples(
        st.sampled_from(["insert", "delete", "change", "move"]), st.integers(0, 60), st.integers(0, 60)
    ),
    max_size=6,
)


def edited(old: list[str], edits: list[tuple[str, int, int]], fresh: Iterator[str]) -> list[str]:
    new = old.copy()
    for kind, at, to in edits:
        if kind == "insert":
            new.insert(at % (len(new) + 1), next(fresh))
        elif new and kind == "delete":
            del new[at % len(new)]
        elif new and kind == "change":
            new[at % len(new)] = next(fresh)
        elif new:
            new.insert(to % len(new), new.pop(at % len(new)))
    return new


@settings(max_examples=400, deadline=None)
@given(old=st.lists(DIGESTS, max_size=40), new=st.lists(DIGESTS, max_size=40))
def test_every_cell_accounted_for_once(old: list[str], new: list[str]) -> None:
    check_invariants(old, new, diff_cells(cells(old), cells(new)))


@settings(max_examples=400, deadline=None)
@given(old=st.lists(DIGESTS, max_size=30), edits=EDITS)
def test_invariants_after_edits(old: list[str], edits: list[tuple[str, int, int]]) -> None:
    new = edited(old, edits, (f"new-{k}" for k in range(100)))
    check_invariants(old, new, diff_cells(cells(old), cells(new)))


@settings(max_examples=300, deadline=None)
@given(n=st.integers(0, 30), edits=EDITS)
def test_distinct_cells_keep_the_longest_common_run(n: int, edits: list[tuple[str, int, int]]) -> None:
    """With no repeated cell, as many cells are ok as the longest common subsequence allows."""
    old = [f"cell-{k}" for k in range(n)]
    new = edited(old, edits, (f"new-{k}" for k in range(100)))
    reports = diff_cells(cells(old), cells(new))
    check_invariants(old, new, reports)
    assert sum(r.status == "ok" for r in reports) == lcs_length(old, new)
    edits_made = sum(1 for kind, _, _ in edits if kind in ("insert", "delete", "change"))
    if all(kind != "move" for kind, _, _ in edits):
        assert sum(r.status != "ok" for r in reports) <= 2 * edits_made


# --- bounded work --------------------------------------------------------------------------------


class Counted(Sequence[str]):
    """A sequence that counts how many of its items are read (by index or by iteration)."""

    def __init__(self, items: list[str], reads: list[int]) -> None:
        self.items = items
        self.reads = reads

    def __len__(self) -> int:
        return len(self.items)

    @overload
    def __getitem__(self, k: int) -> str: ...
    @overload
    def __getitem__(self, k: slice) -> Counted: ...
    def __getitem__(self, k: int | slice) -> str | Counted:
        if isinstance(k, slice):
            return Counted(self.items[k], self.reads)
        self.reads[0] += 1
        return self.items[k]

    def __iter__(self) -> Iterator[str]:
        for item in self.items:
            self.reads[0] += 1
            yield item


def reads_to_align(old: list[str], new: list[str]) -> int:
    reads = [0]
    matches = align(Counted(old, reads), Counted(new, reads))
    assert all(old[i] == new[j] for i, j in matches)
    return reads[0]


def worst_cases() -> dict[str, tuple[list[str], list[str]]]:
    rng = random.Random(11)
    n = 20_000
    same = ["x"] * n
    distinct = [f"cell-{k}" for k in range(n)]
    dup_old = [rng.choice("abcde") for _ in range(2_000)]
    dup_new = [rng.choice("abcde") for _ in range(2_000)]
    shuffled = distinct.copy()
    rng.shuffle(shuffled)
    return {
        "identical cells, unchanged": (same, same.copy()),
        "identical cells, ends changed and one inserted": (same, ["y", *same[:-2], "x", "z"]),
        "identical cells against other identical cells": (same, ["y"] * n),
        "distinct cells, unchanged": (distinct, distinct.copy()),
        "distinct cells, reversed": (distinct, distinct[::-1]),
        "distinct cells, shuffled": (distinct, shuffled),
        "2,000 random cells of 5 kinds": (dup_old, dup_new),
        "interleaved repeats": ([f"{k % 7}" for k in range(n)], [f"{k % 11}" for k in range(n)]),
    }


@pytest.mark.parametrize("case", list(worst_cases()))
def test_work_is_linear_in_the_number_of_cells(case: str) -> None:
    old, new = worst_cases()[case]
    reads = reads_to_align(old, new)
    # Ends trimmed at 2 reads a match; a search for anchors reads its gap twice, and gaps never
    # overlap except where anchors were found. difflib's alignment made billions of steps on some.
    assert reads <= 5 * (len(old) + len(new)), reads


@settings(max_examples=300, deadline=None)
@given(old=st.lists(DIGESTS, max_size=40), new=st.lists(DIGESTS, max_size=40))
def test_every_gap_is_searched_once(old: list[str], new: list[str]) -> None:
    searches: list[int] = []
    real = celldiff._unique_anchors

    def counted(*args: object) -> list[tuple[int, int]]:
        found = real(*args)  # type: ignore[arg-type]
        searches.append(len(found))
        return found

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(celldiff, "_unique_anchors", counted)
        align(old, new)
    # a search that finds nothing ends its gap; one that finds k anchors opens k + 1 gaps
    assert len(searches) <= 1 + sum(k + 1 for k in searches if k)


def test_budget_spent_leaves_the_rest_paired_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(celldiff, "WORK_PER_CELL", 1)
    old, new = [f"c{k}" for k in range(50)], [f"c{k}" for k in range(49, -1, -1)]
    check_invariants(old, new, diff_cells(cells(old), cells(new)))
