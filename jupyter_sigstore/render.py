"""Rendering a VerificationReport for people: plain text (terminals, logs, ``text/plain``) and an HTML
fragment (the ``%sigstore verify`` output and the widget).

Both number cells from 1, as JupyterLab shows them. Every string that comes from a notebook, a
certificate or a file name is untrusted: text has its control characters escaped (a file name must
not move the cursor or clear a terminal) and HTML is escaped.
"""

from __future__ import annotations

import re
from html import escape

from .report import (
    AttestationReport,
    CellReport,
    DisplayedFileReport,
    OutputReport,
    SignatureReport,
    VerificationReport,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from .inspecting import Inspection
    from .reproduction import Reproduction

#: status -> (label, colour)
STATUS_STYLE = {
    "verified": ("Verified", "#1a7f37"),
    "untrusted-signer": ("Untrusted signer", "#9a6700"),
    "modified": ("Modified since signing", "#bc4c00"),
    "invalid": ("Invalid signature", "#cf222e"),
    "unsigned": ("Unsigned", "#57606a"),
}

# C0 and C1 controls, DEL, and the bidirectional formatting characters (which reorder what is shown).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def escape_terminal(text: str) -> str:
    """``text`` with every control and bidi-formatting character written as a visible escape."""
    return _UNSAFE.sub(_escape_char, text)


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def short_digest(digest: str | None) -> str:
    """The first 12 hex digits of a digest, for messages."""
    return f"{digest[:12]}…" if digest else "-"


def cell_line(cell: CellReport) -> str:
    """e.g. ``cell 3 (code): modified`` (1-based)."""
    what = "removed since signing" if cell.status == "removed" else cell.status
    return f"cell {cell.number} ({cell.cell_type}): {what}"


def output_line(out: OutputReport) -> str:
    """e.g. ``output results.csv: modified (sha256 was ab12…, now 9f3c…)``; for a remote output whose
    object changed, also whether the signed version still exists."""
    if out.status == "modified" and out.expected_sha256 and out.actual_sha256:
        line = (
            f"output {out.path}: modified (sha256 was {short_digest(out.expected_sha256)}, "
            f"now {short_digest(out.actual_sha256)})"
        )
    elif out.status == "not-checked":
        line = f"output {out.path}: {out.error or 'not checked'}"
    else:
        detail = f" ({out.error})" if out.error else ""
        line = f"output {out.path}: {out.status}{detail}"
    return line + signed_version_note(out)


def signed_version_note(out: OutputReport) -> str:
    """``; the signed version still exists as version X`` (or that it no longer does), for a remote
    output that changed or went missing; empty otherwise."""
    if out.version_id is None or out.signed_version_exists is None:
        return ""
    if out.signed_version_exists:
        return f"; the signed version still exists as version {out.version_id}"
    return f"; the signed version {out.version_id} no longer exists with the signed bytes"


_SHOWN = {
    "signed": "signed",
    "modified": "changed since signing",
    "unsigned": "not signed",
    "outside": "outside the notebook's folder, not signed",
    "remote": "a remote URL, not checked",
}


def displayed_line(shown: DisplayedFileReport) -> str:
    """e.g. ``cell 4 shows figs/acc.png: not signed`` (1-based)."""
    return f"cell {shown.number} shows {shown.path}: {_SHOWN[shown.status]}"


def signature_line(n: int, sig: SignatureReport, *, reason: bool = True) -> str:
    """One line per signature: who, when, where logged, what the policy says, what it covers."""
    if not sig.valid:
        return f"signature {n} ({sig.source}): INVALID" + (f" - {sig.error}" if reason else "")
    when = f" at {sig.signed_at}" if sig.signed_at else ""
    log = f", log index {sig.log_index}" if sig.log_index is not None else ""
    trust = f"trusted as {', '.join(sig.trusted_as)}" if sig.trusted_as else "not trusted by the policy"
    cover = "" if sig.covers_current else "; covers an earlier version"
    return f"signature {n}: {sig.identity} (issuer {sig.issuer}){when}{log} - {trust}{cover}"


OK_OUTPUTS_SHOWN = 20
"""Outputs that are ``ok`` named one by one in text and HTML; the rest are counted (JSON lists all)."""


def output_lines(outputs: Sequence[OutputReport], hint: str = "") -> list[str]:
    """A line per output that needs attention, and per ``ok`` output up to :data:`OK_OUTPUTS_SHOWN`;
    then e.g. ``... and 99,980 more outputs ok`` and ``hint``."""
    lines, ok = [], 0
    for out in outputs:
        if out.status == "ok":
            ok += 1
            if ok > OK_OUTPUTS_SHOWN:
                continue
        lines.append(output_line(out))
    if ok > OK_OUTPUTS_SHOWN:
        more = ok - OK_OUTPUTS_SHOWN
        lines.append(f"... and {more:,} more output{'s' if more > 1 else ''} ok{hint}")
    return lines


def render_text(report: VerificationReport) -> str:
    """The report as plain text for terminals and logs (control characters escaped)."""
    invalid = [s for s in report.signatures if not s.valid]
    lines = [f"{report.notebook}: {report.status.upper()} - {report.summary}"]
    lines += [f"  warning: {w}" for w in report.warnings]
    for n, sig in enumerate(report.signatures, 1):
        # a lone invalid signature's reason is already the summary
        reason = len(invalid) > 1 or (sig.error or "") not in report.summary
        lines.append("  " + signature_line(n, sig, reason=reason))
    if report.missing_roles:
        lines.append(f"  policy: missing {', '.join(report.missing_roles)}")
    lines += [f"  notebook: {change}" for change in report.notebook_changes]
    lines += ["  " + cell_line(cell) for cell in report.changed_cells()]
    lines += ["  " + line for line in output_lines(report.outputs, " (--json lists them all)")]
    lines += ["  " + displayed_line(d) for d in report.displayed if d.status != "signed"]
    for sig in report.signatures:
        if sig.execution:
            lines.append(f"  executed by `jupyter-sigstore run`: {sig.execution}")
    lines += ["  " + attestation_line(att) for att in report.attestations]
    return "\n".join(escape_terminal(line) for line in lines)


_KINDS = {
    "https://jupyter-sigstore.dev/notebook-provenance/v1": "notebook signature",
    "https://jupyter-sigstore.dev/notebook-provenance/v2": "notebook signature",
    "https://slsa.dev/provenance/v1": "execution provenance (SLSA v1)",
    "https://in-toto.io/attestation/test-result/v0.1": "reproduction (in-toto test result)",
}


def render_inspection(info: Inspection) -> str:
    """What a notebook's signatures claim, as plain text (control characters escaped)."""
    lines = [
        f"{info.notebook} (contents below are NOT verified; run `jupyter-sigstore verify`)",
        f"  canonical digest ({info.profile}): sha256:{info.notebook_digest}",
        f"  cells: {len(info.cell_digests)}",
    ]
    if not info.signatures:
        lines.append("  no signatures stored")
    for n, sig in enumerate(info.signatures, 1):
        if sig.error and sig.identity is None:
            lines.append(f"  signature {n} ({sig.source}): unreadable - {sig.error}")
            continue
        lines.append(f"  signature {n} ({sig.source}): claims {sig.identity} via {sig.issuer}")
        if sig.predicate_type:
            lines.append(f"    statement: {_KINDS.get(sig.predicate_type, sig.predicate_type)}")
        if sig.signed_at:
            lines.append(f"    signed at {sig.signed_at}")
        if sig.log_index is not None:
            lines.append(f"    log index {sig.log_index}")
        for subject in sig.subjects:
            digest = subject.get("digest")
            sha = digest.get("sha256", "?") if isinstance(digest, dict) else "?"
            lines.append(f"    subject {subject.get('name')}: sha256:{sha}")
    return "\n".join(escape_terminal(line) for line in lines)


def status_badge(status: str) -> str:
    """A coloured, labelled badge for a report status (words and colour)."""
    label, colour = STATUS_STYLE.get(status, (status, "#57606a"))
    return (
        f'<span role="status" aria-label="provenance: {escape(label)}" style="background:{colour};'
        f'color:#fff;border-radius:4px;padding:1px 6px;font-weight:600">{escape(label)}</span>'
    )


def render_html(report: VerificationReport) -> str:
    """The report as an HTML fragment: status, summary, signers, outputs, changed cells."""
    parts = [
        '<div class="jupyter-sigstore-report">',
        f"<div>{status_badge(report.status)} <code>{escape(report.notebook)}</code></div>",
        f"<p>{escape(report.summary)}</p>",
    ]
    parts += [f"<p><b>Warning:</b> {escape(w)}</p>" for w in report.warnings]
    if report.signatures:
        rows = []
        for n, sig in enumerate(report.signatures, 1):
            if not sig.valid:
                rows.append(
                    f"<tr><td>{n}</td><td colspan=4><b>invalid</b>: {escape(sig.error or '')}</td></tr>"
                )
                continue
            log = ""
            if sig.log_index is not None:
                log = (
                    f'<a href="{escape(sig.log_url)}" target="_blank" rel="noopener">{sig.log_index}</a>'
                    if sig.log_url
                    else str(sig.log_index)
                )
            trust = escape(", ".join(sig.trusted_as)) if sig.trusted_as else "not trusted by the policy"
            cover = "" if sig.covers_current else " (covers an earlier version)"
            rows.append(
                f"<tr><td>{n}</td><td>{escape(sig.identity or '')}<br><small>{escape(sig.issuer or '')}"
                f"</small></td><td>{escape(sig.signed_at or '')}</td><td>{log}</td>"
                f"<td>{trust}{escape(cover)}</td></tr>"
            )
        parts.append(
            "<table><thead><tr><th>#</th><th>Signer</th><th>Signed at</th><th>Log index</th>"
            f"<th>Policy</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
    if report.missing_roles:
        parts.append(f"<p>Policy: missing {escape(', '.join(report.missing_roles))}</p>")
    parts += [f"<p>Notebook: {escape(change)}</p>" for change in report.notebook_changes]
    changed = report.changed_cells()
    if changed:
        items = "".join(f"<li>{escape(cell_line(c))}</li>" for c in changed)
        parts.append(f"<p>Changed cells:</p><ul>{items}</ul>")
    if report.outputs:
        items = "".join(f"<li>{escape(line)}</li>" for line in output_lines(report.outputs))
        parts.append(f"<p>Data outputs:</p><ul>{items}</ul>")
    shown = [d for d in report.displayed if d.status != "signed"]
    if shown:
        items = "".join(f"<li>{escape(displayed_line(d))}</li>" for d in shown)
        parts.append(f"<p>Files the notebook displays:</p><ul>{items}</ul>")
    executed = [sig.execution for sig in report.signatures if sig.execution]
    parts += [f"<p>Executed by <code>jupyter-sigstore run</code>: {escape(e)}</p>" for e in executed]
    if report.attestations:
        items = "".join(f"<li>{escape(attestation_line(a))}</li>" for a in report.attestations)
        parts.append(f"<p>Attestations:</p><ul>{items}</ul>")
    if report.policy:
        parts.append(f"<p><small>Policy: {escape(report.policy)}</small></p>")
    parts.append("</div>")
    return "".join(parts)


def attestation_line(att: AttestationReport) -> str:
    """One line per attestation: what kind, by whom, when, and whether it is about this version."""
    from .provenance import SLSA_PREDICATE_TYPE, TEST_RESULT_PREDICATE_TYPE

    when = f" at {att.signed_at}" if att.signed_at else ""
    log = f", log index {att.log_index}" if att.log_index is not None else ""
    trust = f"trusted as {', '.join(att.trusted_as)}" if att.trusted_as else "not trusted by the policy"
    cover = "about this version" if att.covers_current else "about an earlier version"
    if att.predicate_type == TEST_RESULT_PREDICATE_TYPE:
        result = att.predicate.get("result")
        failed = [str(t) for t in att.predicate.get("failedTests") or [] if isinstance(t, str)]
        detail = f": {', '.join(failed[:5])}{'…' if len(failed) > 5 else ''} failed" if failed else ""
        what = f"reproduction {result}{detail}"
    elif att.predicate_type == SLSA_PREDICATE_TYPE:
        what = f"execution provenance (SLSA v1, {att.source})"
    else:
        what = f"attestation {att.predicate_type}"
    return f"{what} by {att.identity}{when}{log} - {trust}; {cover}"


def render_reproduction(rep: Reproduction) -> str:
    """A reproduction report as plain text (control characters escaped; cells numbered from 1)."""
    lines = [f"{rep.notebook}: {rep.result} - {rep.summary}", f"  verification: {rep.verification}"]
    lines += [f"  note: {note}" for note in rep.notes]
    for cell in rep.cells:
        if cell.status == "reproduced":
            continue
        status = "DIFFERS" if cell.status == "differs" else str(cell.status)
        detail = f" - {cell.detail}" if cell.detail else ""
        lines.append(f"  cell {cell.number} ({cell.cell_type}): {status}{detail}")
        lines += [f"      {d}" for d in cell.diff]
        if cell.environment:
            lines.append(f"      environment: {', '.join(cell.environment)}")
    for out in rep.files:
        detail = f" - {out.detail}" if out.detail else ""
        if out.status == "differs" and out.actual_sha256:
            detail = (
                f" (sha256 was {short_digest(out.expected_sha256)}, now {short_digest(out.actual_sha256)})"
            )
        lines.append(f"  output {out.path}: {out.status}{detail}")
    if rep.environment_changes:
        shown = ", ".join(rep.environment_changes[:10])
        more = f" and {len(rep.environment_changes) - 10} more" if len(rep.environment_changes) > 10 else ""
        lines.append(f"  environment changed since the signed run: {shown}{more}")
    lines += [f"  rule: {rule}" for rule in rep.rules]
    return "\n".join(escape_terminal(line) for line in lines)
