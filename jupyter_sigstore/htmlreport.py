"""HTML rendering of a VerificationReport, shared by the ``%sigstore verify`` magic and the widget.

Status is given in words as well as colour; every value from the notebook or a certificate is escaped.
"""

from __future__ import annotations

from html import escape

from .report import VerificationReport

#: status -> (label, colour)
STATUS_STYLE = {
    "verified": ("Verified", "#1a7f37"),
    "untrusted-signer": ("Untrusted signer", "#9a6700"),
    "modified": ("Modified since signing", "#bc4c00"),
    "invalid": ("Invalid signature", "#cf222e"),
    "unsigned": ("Unsigned", "#57606a"),
}


def status_badge(status: str) -> str:
    """A coloured, labelled badge for a report status."""
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
    for change in report.notebook_changes:
        parts.append(f"<p>Notebook: {escape(change)}</p>")
    changed = report.changed_cells()
    if changed:
        items = "".join(
            f"<li>cell {c.signed_index if c.status == 'removed' else c.index} "
            f"({escape(c.cell_type)}): {escape(c.status)}</li>"
            for c in changed
        )
        parts.append(f"<p>Changed cells:</p><ul>{items}</ul>")
    if report.outputs:
        lines: list[str] = []
        for out in report.outputs:
            detail = ""
            if out.status == "modified" and out.expected_sha256 and out.actual_sha256:
                detail = f" (sha256 was {out.expected_sha256[:12]}…, now {out.actual_sha256[:12]}…)"
            elif out.error:
                detail = f" ({out.error})"
            lines.append(f"<li><code>{escape(out.path)}</code>: {escape(out.status)}{escape(detail)}</li>")
        parts.append(f"<p>Data outputs:</p><ul>{''.join(lines)}</ul>")
    if report.policy:
        parts.append(f"<p><small>Policy: {escape(report.policy)}</small></p>")
    parts.append("</div>")
    return "".join(parts)
