"""The VerificationReport: the one shape every surface renders (CLI text and JSON, magics, widget, REST,
sidebar). It is built once, complete, by :mod:`verifying`, and never changed afterwards.

In the JSON form a cell's ``index`` is 0-based (its position in the notebook's ``cells`` list); every
text a person reads numbers cells from 1, as JupyterLab shows them (:mod:`render`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, NamedTuple

Status = Literal["verified", "untrusted-signer", "modified", "invalid", "unsigned"]
CellStatus = Literal["ok", "modified", "added", "removed"]
OutputStatus = Literal["ok", "modified", "missing", "added", "not-checked"]

REPORT_VERSION = 2


@dataclass(frozen=True)
class SignatureReport:
    """One signature: who signed, when, where it is logged, whether it holds and what it covers."""

    source: str
    valid: bool
    identity: str | None = None
    issuer: str | None = None
    github: Mapping[str, str] = field(default_factory=dict)
    signed_at: str | None = None
    log_index: int | None = None
    log_url: str | None = None
    trusted_as: tuple[str, ...] = ()
    covers_current: bool = False
    profile: str | None = None
    error: str | None = None
    execution: str | None = None
    """For a signature made by ``jupyter-sigstore run``: a summary of the signed execution record."""


@dataclass(frozen=True)
class AttestationReport:
    """A verified attestation stored with the notebook that is not a notebook signature (an execution
    provenance, a reproduction): who made it, of what kind, and whether it is about this version."""

    source: str
    predicate_type: str
    identity: str | None
    issuer: str | None
    signed_at: str | None = None
    log_index: int | None = None
    trusted_as: tuple[str, ...] = ()
    covers_current: bool = False
    predicate: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DisplayedFileReport:
    """A file or URL a cell displays from outside the notebook (a markdown image, an HTML ``src``...)
    and whether a signature covers it: ``signed`` (covered and unchanged), ``modified`` (covered, but
    its bytes changed), ``unsigned`` (a local file no signature covers), ``remote`` (a URL, never
    fetched) or ``outside`` (a path outside the folder that can be checked). ``cell`` is 0-based."""

    cell: int
    path: str
    status: Literal["signed", "modified", "unsigned", "remote", "outside"]

    @property
    def number(self) -> int:
        """The 1-based cell number a person reads."""
        return self.cell + 1


@dataclass(frozen=True)
class CellReport:
    """A cell's state against the signature: ``index`` is 0-based in the current notebook
    (in the signed notebook for ``removed`` cells); ``signed_index`` is 0-based in the signed one."""

    index: int
    status: CellStatus
    cell_type: str
    cell_id: str | None = None
    signed_index: int | None = None

    @property
    def number(self) -> int:
        """The 1-based number a person reads (in the signed notebook for a removed cell)."""
        if self.status == "removed" and self.signed_index is not None:
            return self.signed_index + 1
        return self.index + 1


class OutputReport(NamedTuple):
    """A signed data output and whether its bytes still match.

    A remote output (``remote``: ``path`` is its URL) may be ``not-checked`` (its URL was not
    fetched: ``error`` says why); ``version_id`` is the store's version the signature names, and
    when the current object changed or went, ``signed_version_exists`` says whether that version
    still holds the signed bytes (None: not known, e.g. the store keeps no versions).

    A named tuple, not a dataclass: a report may hold 100,000 of them, and a tuple is made in a
    third of the time and turned into JSON in a twentieth.
    """

    path: str
    status: OutputStatus
    expected_sha256: str | None
    actual_sha256: str | None
    error: str | None = None
    remote: bool = False
    version_id: str | None = None
    signed_version_exists: bool | None = None


@dataclass(frozen=True)
class VerificationReport:
    """The verdict on one notebook, recomputed from its bytes; never taken from its metadata."""

    notebook: str
    status: Status
    summary: str
    signatures: tuple[SignatureReport, ...] = ()
    cells: tuple[CellReport, ...] = ()
    outputs: tuple[OutputReport, ...] = ()
    notebook_changes: tuple[str, ...] = ()
    policy: str | None = None
    missing_roles: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    attestations: tuple[AttestationReport, ...] = ()
    displayed: tuple[DisplayedFileReport, ...] = ()
    instance: str | None = None

    @property
    def ok(self) -> bool:
        """True only for ``verified``."""
        return self.status == "verified"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (stable keys; see docs/cli.md)."""
        value = asdict(replace(self, outputs=()))
        value["outputs"] = [out._asdict() for out in self.outputs]
        return {"version": REPORT_VERSION, **value}

    def changed_cells(self) -> list[CellReport]:
        """Cells that are not ``ok``."""
        return [c for c in self.cells if c.status != "ok"]
