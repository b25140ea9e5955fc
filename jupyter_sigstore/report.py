"""The VerificationReport: the one shape every surface renders (CLI text and JSON, widget, REST, sidebar)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["verified", "untrusted-signer", "modified", "invalid", "unsigned"]
CellStatus = Literal["ok", "modified", "added", "removed"]
OutputStatus = Literal["ok", "modified", "missing", "added"]

REPORT_VERSION = 1


@dataclass
class SignatureReport:
    """One signature: who signed, when, where it is logged, and whether it holds."""

    source: str
    valid: bool
    identity: str | None = None
    issuer: str | None = None
    github: dict[str, str] = field(default_factory=dict)
    signed_at: str | None = None
    log_index: int | None = None
    log_url: str | None = None
    trusted_as: list[str] = field(default_factory=list)
    covers_current: bool = False
    error: str | None = None


@dataclass
class CellReport:
    """A cell's state against the signature: ``index`` is 0-based in the current notebook
    (in the signed notebook for ``removed`` cells)."""

    index: int
    status: CellStatus
    cell_type: str
    cell_id: str | None = None
    signed_index: int | None = None


@dataclass
class OutputReport:
    """A signed data output and whether its bytes still match."""

    path: str
    status: OutputStatus
    expected_sha256: str | None
    actual_sha256: str | None
    error: str | None = None


@dataclass
class VerificationReport:
    """The verdict on one notebook, recomputed from its bytes; never taken from its metadata."""

    notebook: str
    status: Status
    summary: str
    signatures: list[SignatureReport] = field(default_factory=list)
    cells: list[CellReport] = field(default_factory=list)
    outputs: list[OutputReport] = field(default_factory=list)
    notebook_changes: list[str] = field(default_factory=list)
    policy: str | None = None
    instance: str | None = None

    @property
    def ok(self) -> bool:
        """True only for ``verified``."""
        return self.status == "verified"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (stable keys; see docs/cli.md)."""
        return {"version": REPORT_VERSION, **asdict(self)}

    def changed_cells(self) -> list[CellReport]:
        """Cells that are not ``ok``."""
        return [c for c in self.cells if c.status != "ok"]

    def render_text(self) -> str:
        """A plain-text rendering for terminals and logs."""
        lines = [f"{self.notebook}: {self.status.upper()} - {self.summary}"]
        for n, sig in enumerate(self.signatures, 1):
            if not sig.valid:
                lines.append(f"  signature {n} ({sig.source}): INVALID - {sig.error}")
                continue
            when = f" at {sig.signed_at}" if sig.signed_at else ""
            log = f", log index {sig.log_index}" if sig.log_index is not None else ""
            trust = (
                f"trusted as {', '.join(sig.trusted_as)}" if sig.trusted_as else "not trusted by the policy"
            )
            cover = "" if sig.covers_current else "; covers an earlier version"
            lines.append(f"  signature {n}: {sig.identity} (issuer {sig.issuer}){when}{log} - {trust}{cover}")
        for change in self.notebook_changes:
            lines.append(f"  notebook: {change}")
        for cell in self.changed_cells():
            idx = cell.signed_index if cell.status == "removed" else cell.index
            lines.append(f"  cell {idx} ({cell.cell_type}): {cell.status}")
        for out in self.outputs:
            if out.status == "ok":
                lines.append(f"  output {out.path}: ok")
            elif out.status == "modified":
                lines.append(
                    f"  output {out.path}: modified (sha256 was {_short(out.expected_sha256)}, "
                    f"now {_short(out.actual_sha256)})"
                )
            else:
                detail = f" ({out.error})" if out.error else ""
                lines.append(f"  output {out.path}: {out.status}{detail}")
        return "\n".join(lines)


def _short(digest: str | None) -> str:
    return f"{digest[:12]}…" if digest else "-"
