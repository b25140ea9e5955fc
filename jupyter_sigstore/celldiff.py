"""Which cells changed since signing: the signed and current cell digests aligned in near-linear time.

The alignment is a patience diff. Equal cells at both ends are matched first; in what is left, the
cells whose digest occurs exactly once on each side are anchors, and the longest run of anchors in
the same order on both sides (a longest increasing subsequence, O(u log u)) is matched. Each gap
between anchors is aligned the same way, its own unique cells becoming anchors, until a gap has none
or the work budget (a few times the number of cells) is spent. Cells left in a gap are paired in
order as ``modified``, and the surplus on one side is ``added`` or ``removed``. A moved cell reads as
removed where it was and added where it is.

The work is O(n log n) whatever the input (repeated cells included), unlike a longest-common-
subsequence diff, which is quadratic: this runs for every notebook verified, signed by anyone.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from typing import TYPE_CHECKING, Protocol

from .report import CellReport

if TYPE_CHECKING:
    from collections.abc import Hashable, Sequence

WORK_PER_CELL = 4
"""How many times the number of cells the search for anchors may look at, beyond the first pass."""


class Cell(Protocol):
    """What the alignment needs of a cell (signed or current)."""

    @property
    def digest(self) -> str: ...

    @property
    def cell_type(self) -> str: ...

    @property
    def cell_id(self) -> str | None: ...


def align(old: Sequence[Hashable], new: Sequence[Hashable]) -> list[tuple[int, int]]:
    """Pairs ``(i, j)`` with ``old[i] == new[j]``, increasing in both ``i`` and ``j``."""
    matches: list[tuple[int, int]] = []
    budget = WORK_PER_CELL * (len(old) + len(new))
    gaps = [(0, len(old), 0, len(new))]
    while gaps:
        i1, i2, j1, j2 = gaps.pop()
        while i1 < i2 and j1 < j2 and old[i1] == new[j1]:
            matches.append((i1, j1))
            i1, j1 = i1 + 1, j1 + 1
        while i1 < i2 and j1 < j2 and old[i2 - 1] == new[j2 - 1]:
            i2, j2 = i2 - 1, j2 - 1
            matches.append((i2, j2))
        size = (i2 - i1) + (j2 - j1)
        if i1 == i2 or j1 == j2 or size > budget:
            continue  # one side is empty, or the budget is spent: what is left is paired in order
        budget -= size
        anchors = _unique_anchors(old, i1, i2, new, j1, j2)
        if not anchors:
            continue  # paired in order
        for i, j in anchors:
            matches.append((i, j))
            gaps.append((i1, i, j1, j))
            i1, j1 = i + 1, j + 1
        gaps.append((i1, i2, j1, j2))
    matches.sort()
    return matches


def _unique_anchors(
    old: Sequence[Hashable], i1: int, i2: int, new: Sequence[Hashable], j1: int, j2: int
) -> list[tuple[int, int]]:
    """The longest in-order run of items that occur once in ``old[i1:i2]`` and once in ``new[j1:j2]``,
    as (index in old, index in new)."""
    in_old = Counter(old[i1:i2])
    in_new = Counter(new[j1:j2])
    where_new = {item: j for j, item in enumerate(new[j1:j2], j1) if in_new[item] == 1 and in_old[item] == 1}
    if not where_new:
        return []
    pairs = [(i, where_new[item]) for i, item in enumerate(old[i1:i2], i1) if item in where_new]
    return _longest_increasing(pairs)


def _longest_increasing(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The longest subsequence of ``pairs`` (increasing in the first item) whose second items increase."""
    tails: list[int] = []  # tails[k]: the smallest second item ending an increasing run of length k+1
    tail_at: list[int] = []  # ... and the index in pairs of the pair that ends it
    previous = [-1] * len(pairs)
    for n, (_, j) in enumerate(pairs):
        k = bisect_left(tails, j)
        if k == len(tails):
            tails.append(j)
            tail_at.append(n)
        else:
            tails[k] = j
            tail_at[k] = n
        previous[n] = tail_at[k - 1] if k else -1
    run: list[tuple[int, int]] = []
    n = tail_at[-1] if tail_at else -1
    while n >= 0:
        run.append(pairs[n])
        n = previous[n]
    run.reverse()
    return run


def diff_cells(signed: Sequence[Cell], current: Sequence[Cell]) -> list[CellReport]:
    """Each current cell as ``ok``, ``modified`` or ``added`` (with its index in the signed
    notebook when it has one) and each signed cell without a counterpart as ``removed``."""
    matches = align([c.digest for c in signed], [c.digest for c in current])
    reports: list[CellReport] = []
    i = j = 0
    for mi, mj in [*matches, (len(signed), len(current))]:
        paired = min(mi - i, mj - j)
        for k in range(paired):
            c = current[j + k]
            reports.append(CellReport(j + k, "modified", c.cell_type, c.cell_id, i + k))
        for jj in range(j + paired, mj):
            c = current[jj]
            reports.append(CellReport(jj, "added", c.cell_type, c.cell_id, None))
        for ii in range(i + paired, mi):
            s = signed[ii]
            reports.append(CellReport(ii, "removed", s.cell_type, s.cell_id, ii))
        if mj < len(current):
            c = current[mj]
            reports.append(CellReport(mj, "ok", c.cell_type, c.cell_id, mi))
        i, j = mi + 1, mj + 1
    return reports
