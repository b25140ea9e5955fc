import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import {
  badgeInfo,
  attestationView,
  describeCell,
  describeDisplayed,
  describeOutput,
  displayedToReport,
  hasUncheckedRemoteOutputs,
  outputsToList,
  IAttestationReport,
  ICellReport,
  IPendingPolicy,
  IPolicyInfo,
  ISignatureReport,
  IVerifyResponse,
  logLink,
  shortHash,
  unreproducedCellIndices
} from './model';
import { ProvenanceVerifier } from './verifier';

export interface ISidebarActions {
  verify(panel: NotebookPanel): void;
  /** Verify again, reading the outputs named by URL with the server's credentials. */
  checkRemote(panel: NotebookPanel): void;
  sign(panel: NotebookPanel): void;
  /** Approve a pending project policy file (after the user confirms), then verify again. */
  approvePolicy(panel: NotebookPanel, pending: IPendingPolicy): void;
}

/** The Sigstore sidebar: signatures, policy, outputs and changed cells of the current notebook. */
export class ProvenanceSidebar extends Widget {
  constructor(
    private tracker: INotebookTracker,
    private verifier: ProvenanceVerifier,
    private actions: ISidebarActions
  ) {
    super();
    this.id = 'jupyter-sigstore-sidebar';
    this.addClass('jp-sigstore-sidebar');
    this.title.caption = 'Sigstore provenance';
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', 'Sigstore provenance');
    tracker.currentChanged.connect(() => this.render());
    verifier.changed.connect((_, panel) => {
      if (panel === this.tracker.currentWidget) {
        this.render();
      }
    });
    this.render();
  }

  render(): void {
    const panel = this.tracker.currentWidget;
    const root = this.node;
    root.textContent = '';
    const heading = el('h2', 'jp-sigstore-heading', 'Sigstore provenance');
    root.append(heading);
    if (!panel) {
      root.append(
        el('p', 'jp-sigstore-muted', 'Open a notebook to see its signatures.')
      );
      return;
    }
    root.append(el('div', 'jp-sigstore-path', panel.context.localPath));
    const state = this.verifier.stateOf(panel);
    const info =
      state.state === 'checking'
        ? badgeInfo(state.response, 'checking')
        : state.state === 'idle'
          ? badgeInfo(null, 'off')
          : state.state === 'error'
            ? badgeInfo(state.response, 'error', state.error ?? undefined)
            : badgeInfo(state.response);
    const status = el('div', 'jp-sigstore-status', '');
    status.dataset.status = info.state;
    status.setAttribute('role', 'status');
    status.append(
      el('strong', '', info.label),
      el('div', 'jp-sigstore-summary', info.title)
    );
    const missing = state.response?.report?.missing_roles ?? [];
    if (missing.length) {
      status.append(
        el(
          'div',
          'jp-sigstore-missing',
          `Policy: missing ${missing.join(', ')}`
        )
      );
    }
    root.append(status);
    const policyWarnings = new Set(state.response?.policy?.warnings ?? []);
    const warnings = (state.response?.report?.warnings ?? []).filter(
      w => !policyWarnings.has(w)
    );
    if (warnings.length) {
      root.append(warningList(warnings));
    }

    const buttons = el('div', 'jp-sigstore-actions', '');
    const verify = button('Verify now', () => this.actions.verify(panel));
    verify.classList.add('jp-sigstore-verify');
    const sign = button('Sign notebook…', () => this.actions.sign(panel));
    sign.classList.add('jp-sigstore-sign', 'jp-mod-accept');
    buttons.append(verify, sign);
    root.append(buttons);

    const response = state.response;
    root.append(this.policySection(panel, response));

    const report = response?.report;
    if (!report) {
      return;
    }
    const sigs = section(`Signatures (${report.signatures.length})`);
    if (!report.signatures.length) {
      sigs.append(
        el('p', 'jp-sigstore-muted', 'This notebook carries no signature.')
      );
    }
    // with a signature that covers this version, those that cover an earlier one are history
    const current = report.signatures.some(s => s.valid && s.covers_current);
    for (const sig of report.signatures) {
      sigs.append(signatureCard(sig, current && !sig.covers_current));
    }
    root.append(sigs);

    const attestations = report.attestations ?? [];
    if (attestations.length) {
      const atts = section(
        `Execution and reproductions (${attestations.length})`
      );
      for (const att of attestations) {
        atts.append(attestationCard(att));
      }
      const failed = unreproducedCellIndices(report);
      if (failed.length) {
        const cells = el('ul', 'jp-sigstore-cells', '');
        for (const index of failed) {
          const item = el('li', '', '');
          item.dataset.status = 'unreproduced';
          const link = button(`Cell ${index + 1}: did not reproduce`, () =>
            this.goToCell(panel, index)
          );
          link.classList.add('jp-sigstore-cellLink');
          item.append(link);
          cells.append(item);
        }
        atts.append(cells);
      }
      root.append(atts);
    }

    if (report.outputs.length) {
      const outs = section(`Data outputs (${report.outputs.length})`);
      const list = el('ul', 'jp-sigstore-outputs', '');
      const { shown: listed, moreOk } = outputsToList(report.outputs);
      for (const out of listed) {
        const item = el('li', '', '');
        item.dataset.status = out.status;
        item.append(
          el(
            'span',
            'jp-sigstore-tag',
            out.status === 'not-checked' ? 'not checked' : out.status
          ),
          document.createTextNode(` ${out.path}`)
        );
        const line = describeOutput(out);
        const detail = line.slice(out.path.length + 2);
        if (out.status === 'not-checked' || out.version_id) {
          item.append(el('div', 'jp-sigstore-outputDetail', detail));
        }
        item.title =
          out.status === 'modified' && out.expected_sha256
            ? `sha256 was ${out.expected_sha256}, now ${out.actual_sha256 ?? '-'}`
            : detail;
        list.append(item);
      }
      if (moreOk) {
        const more = el(
          'li',
          'jp-sigstore-muted',
          `... and ${moreOk.toLocaleString('en-US')} more output${moreOk > 1 ? 's' : ''} ok`
        );
        more.dataset.status = 'ok-more';
        list.append(more);
      }
      outs.append(list);
      if (hasUncheckedRemoteOutputs(report)) {
        const check = button('Check remote outputs', () =>
          this.actions.checkRemote(panel)
        );
        check.classList.add('jp-sigstore-checkRemote');
        check.title =
          "Read the outputs this notebook names by URL with the server's credentials and compare them with what was signed";
        outs.append(check);
      }
      root.append(outs);
    }

    const shown = displayedToReport(report);
    if (shown.length) {
      const files = section(`Displayed files not covered (${shown.length})`);
      const list = el('ul', 'jp-sigstore-displayed', '');
      for (const item of shown) {
        const entry = el('li', '', '');
        entry.dataset.status = item.status;
        const link = button(describeDisplayed(item), () =>
          this.goToCell(panel, item.cell)
        );
        link.classList.add('jp-sigstore-cellLink');
        entry.append(link);
        list.append(entry);
      }
      files.append(list);
      root.append(files);
    }

    const changed = report.cells.filter(c => c.status !== 'ok');
    if (changed.length || report.notebook_changes.length) {
      const cells = section(
        changed.length
          ? `Changed since signing (${changed.length} cell${changed.length === 1 ? '' : 's'})`
          : 'Changed since signing'
      );
      // notebook-wide changes (metadata, widget state) are lines of their own, not cells
      for (const change of report.notebook_changes) {
        const line = el('p', 'jp-sigstore-notebookChange', '');
        line.textContent = change.charAt(0).toUpperCase() + change.slice(1);
        cells.append(line);
      }
      const list = el('ul', 'jp-sigstore-cells', '');
      for (const cell of changed) {
        list.append(this.cellItem(panel, cell));
      }
      cells.append(list);
      root.append(cells);
    }
  }

  private policySection(
    panel: NotebookPanel,
    response: IVerifyResponse | null
  ): HTMLElement {
    const policy: IPolicyInfo | undefined = response?.policy;
    const node = section('Trust policy');
    const pending = policy?.pending;
    if (pending) {
      node.append(this.pendingPolicy(panel, pending));
    }
    if (policy?.error) {
      node.append(
        el('p', 'jp-sigstore-error', `Policy not usable: ${policy.error}`)
      );
    } else if (policy?.source) {
      node.append(el('p', '', `From ${policy.source}:`));
      const list = el('ul', 'jp-sigstore-signers', '');
      for (const s of policy.signers) {
        list.append(el('li', '', `${s.name}: ${s.description}`));
      }
      node.append(list);
      if (policy.require.length) {
        node.append(el('p', '', `Requires: ${policy.require.join(', ')}`));
      }
      if (policy.description) {
        node.title = policy.description;
      }
    } else if (response && !pending) {
      node.append(
        el(
          'p',
          'jp-sigstore-muted',
          'No trust policy applies: valid signatures show as "untrusted signer". Add a sigstore-policy.toml beside the notebook (and approve it here) or set c.Sigstore.policy_file.'
        )
      );
    }
    if (policy?.warnings?.length) {
      node.append(warningList(policy.warnings));
    }
    return node;
  }

  private pendingPolicy(
    panel: NotebookPanel,
    pending: IPendingPolicy
  ): HTMLElement {
    const box = el('div', 'jp-sigstore-pending', '');
    box.append(
      el('strong', '', `The project policy ${pending.path} is not trusted yet.`)
    );
    box.title = pending.message;
    if (pending.error) {
      box.append(
        el('p', 'jp-sigstore-error', `It cannot be used: ${pending.error}`)
      );
    } else {
      box.append(
        el(
          'p',
          '',
          `It came with the notebooks it judges. Approving it would trust: ${pending.description ?? '(nothing described)'}`
        )
      );
    }
    const hash = el('p', '', 'sha256 ');
    const code = el('code', 'jp-sigstore-hash', shortHash(pending.sha256));
    code.title = pending.sha256;
    hash.append(code);
    box.append(hash);
    if (!pending.error) {
      const approve = button('Approve this policy file…', () =>
        this.actions.approvePolicy(panel, pending)
      );
      approve.classList.add('jp-sigstore-approve', 'jp-mod-accept');
      box.append(approve);
    }
    return box;
  }

  private goToCell(panel: NotebookPanel, index: number): void {
    const notebook = panel.content;
    const target = notebook.widgets[index];
    if (target) {
      notebook.activeCellIndex = index;
      void notebook.scrollToCell(target, 'center');
    }
  }

  private cellItem(panel: NotebookPanel, cell: ICellReport): HTMLElement {
    const item = el('li', '', '');
    item.dataset.status = cell.status;
    if (cell.status === 'removed') {
      item.append(el('span', '', describeCell(cell)));
      return item;
    }
    const link = button(describeCell(cell), () =>
      this.goToCell(panel, cell.index)
    );
    link.classList.add('jp-sigstore-cellLink');
    item.append(link);
    return item;
  }
}

function signatureCard(sig: ISignatureReport, history: boolean): HTMLElement {
  const card = el('div', 'jp-sigstore-signature', '');
  card.dataset.valid = String(sig.valid);
  if (!sig.valid) {
    card.append(el('strong', 'jp-sigstore-error', 'Invalid signature'));
    card.append(el('div', '', sig.error ?? 'does not verify'));
    card.append(el('div', 'jp-sigstore-muted', `in ${sig.source}`));
    return card;
  }
  if (history) {
    card.dataset.history = 'true';
    card.append(
      el('span', 'jp-sigstore-history', 'History: covers an earlier version')
    );
  }
  const rows: [string, string | HTMLElement][] = [
    ['Identity', sig.identity ?? '-'],
    ['Issuer', sig.issuer ?? '-'],
    ['Signed', sig.signed_at ? formatTime(sig.signed_at) : '-']
  ];
  if (sig.log_index !== null && sig.log_index !== undefined) {
    const link = logLink(sig);
    if (link) {
      const a = document.createElement('a');
      a.href = link;
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
      a.textContent = String(sig.log_index);
      rows.push(['Rekor log index', a]);
    } else {
      rows.push(['Log index', String(sig.log_index)]);
    }
  }
  for (const [k, v] of Object.entries(sig.github ?? {})) {
    rows.push([`GitHub ${k}`, v]);
  }
  rows.push([
    'Policy',
    sig.trusted_as.length
      ? `trusted as ${sig.trusted_as.join(', ')}`
      : 'not trusted by the policy'
  ]);
  rows.push([
    'Covers',
    sig.covers_current ? 'this version' : 'an earlier version'
  ]);
  if (sig.execution) {
    rows.push(['Executed', `by jupyter-sigstore run: ${sig.execution}`]);
  }
  if (sig.profile) {
    rows.push(['Profile', sig.profile]);
  }
  card.append(definitionList(rows));
  return card;
}

function attestationCard(att: IAttestationReport): HTMLElement {
  const view = attestationView(att);
  const card = el('div', 'jp-sigstore-attestation', '');
  card.dataset.kind = view.kind;
  const title = el('strong', '', view.kind);
  card.append(title);
  if (view.result) {
    card.dataset.result = view.result;
    card.append(
      document.createTextNode(': '),
      el('span', 'jp-sigstore-result', view.result)
    );
  }
  const rows: [string, string | HTMLElement][] = [
    ['By', view.who],
    ['Signed', view.when ? formatTime(view.when) : '-']
  ];
  if (att.log_index !== null && att.log_index !== undefined) {
    rows.push(['Log index', String(att.log_index)]);
  }
  rows.push(['Policy', view.trust], ['About', view.about]);
  if (view.failed.length) {
    rows.push(['Failed', view.failed.join(', ')]);
  }
  if (view.kind === att.predicate_type) {
    card.title = att.predicate_type;
  }
  card.append(definitionList(rows));
  return card;
}

function definitionList(rows: [string, string | HTMLElement][]): HTMLElement {
  const dl = document.createElement('dl');
  for (const [k, v] of rows) {
    const dt = el('dt', '', k);
    const dd = el('dd', '', '');
    dd.append(typeof v === 'string' ? document.createTextNode(v) : v);
    dl.append(dt, dd);
  }
  return dl;
}

function warningList(warnings: string[]): HTMLElement {
  const list = el('ul', 'jp-sigstore-warnings', '');
  for (const text of warnings) {
    list.append(el('li', 'jp-sigstore-warning', text));
  }
  return list;
}

function formatTime(iso: string): string {
  const date = new Date(iso);
  return isNaN(date.getTime()) ? iso : `${date.toLocaleString()} (${iso})`;
}

function el(tag: string, cls: string, text: string): HTMLElement {
  const node = document.createElement(tag);
  if (cls) {
    node.className = cls;
  }
  if (text) {
    node.textContent = text;
  }
  return node;
}

function section(title: string): HTMLElement {
  const node = el('section', 'jp-sigstore-section', '');
  node.append(el('h3', '', title));
  return node;
}

function button(label: string, onClick: () => void): HTMLButtonElement {
  const node = document.createElement('button');
  node.type = 'button';
  node.className = 'jp-Button jp-sigstore-button';
  node.textContent = label;
  node.addEventListener('click', onClick);
  return node;
}
