import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import {
  badgeInfo,
  describeAttestation,
  describeCell,
  ICellReport,
  ISignatureReport,
  logLink,
  unreproducedCellIndices
} from './model';
import { ProvenanceVerifier } from './verifier';

export interface ISidebarActions {
  verify(panel: NotebookPanel): void;
  sign(panel: NotebookPanel): void;
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
    root.append(status);

    const buttons = el('div', 'jp-sigstore-actions', '');
    const verify = button('Verify now', () => this.actions.verify(panel));
    verify.classList.add('jp-sigstore-verify');
    const sign = button('Sign notebook…', () => this.actions.sign(panel));
    sign.classList.add('jp-sigstore-sign', 'jp-mod-accept');
    buttons.append(verify, sign);
    root.append(buttons);

    const response = state.response;
    const policy = response?.policy;
    const policySection = section('Trust policy');
    if (policy?.error) {
      policySection.append(
        el('p', 'jp-sigstore-error', `Policy not usable: ${policy.error}`)
      );
    } else if (policy?.source) {
      policySection.append(el('p', '', `From ${policy.source}:`));
      const list = el('ul', '', '');
      for (const s of policy.signers) {
        list.append(el('li', '', `${s.name}: ${s.description}`));
      }
      policySection.append(list);
    } else if (response) {
      policySection.append(
        el(
          'p',
          'jp-sigstore-muted',
          'No trust policy applies: valid signatures show as "untrusted signer". Add a sigstore-policy.toml beside the notebook or set c.Sigstore.policy_file.'
        )
      );
    }
    root.append(policySection);

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
    for (const sig of report.signatures) {
      sigs.append(signatureCard(sig));
    }
    root.append(sigs);

    const attestations = report.attestations ?? [];
    if (attestations.length) {
      const atts = section(
        `Execution and reproductions (${attestations.length})`
      );
      const list = el('ul', 'jp-sigstore-attestations', '');
      for (const att of attestations) {
        const item = el('li', '', describeAttestation(att));
        const when = att.signed_at ? ` at ${formatTime(att.signed_at)}` : '';
        const trust = att.trusted_as.length
          ? `trusted as ${att.trusted_as.join(', ')}`
          : 'not trusted by the policy';
        const about = att.covers_current
          ? 'this version'
          : 'an earlier version';
        item.append(
          el('div', 'jp-sigstore-muted', `${trust}; about ${about}${when}`)
        );
        list.append(item);
      }
      atts.append(list);
      const failed = unreproducedCellIndices(report);
      if (failed.length) {
        const cells = el('ul', 'jp-sigstore-cells', '');
        for (const index of failed) {
          const item = el('li', '', '');
          item.dataset.status = 'unreproduced';
          const link = button(`Cell ${index + 1}: did not reproduce`, () => {
            const target = panel.content.widgets[index];
            if (target) {
              panel.content.activeCellIndex = index;
              void panel.content.scrollToCell(target, 'center');
            }
          });
          link.classList.add('jp-sigstore-cellLink');
          item.append(link);
          cells.append(item);
        }
        atts.append(cells);
      }
      root.append(atts);
    }
    for (const missing of report.missing_roles ?? []) {
      root.append(el('p', 'jp-sigstore-error', `Policy: missing ${missing}`));
    }

    if (report.outputs.length) {
      const outs = section(`Data outputs (${report.outputs.length})`);
      const list = el('ul', 'jp-sigstore-outputs', '');
      for (const out of report.outputs) {
        const item = el('li', '', '');
        item.dataset.status = out.status;
        item.append(
          el('span', 'jp-sigstore-tag', out.status),
          document.createTextNode(` ${out.path}`)
        );
        if (out.status === 'modified' && out.expected_sha256) {
          item.title = `sha256 was ${out.expected_sha256}, now ${out.actual_sha256 ?? '-'}`;
        } else if (out.error) {
          item.title = out.error;
        }
        list.append(item);
      }
      outs.append(list);
      root.append(outs);
    }

    const changed = report.cells.filter(c => c.status !== 'ok');
    if (changed.length || report.notebook_changes.length) {
      const cells = section(`Changed since signing (${changed.length} cells)`);
      for (const change of report.notebook_changes) {
        cells.append(el('p', '', `Notebook: ${change}`));
      }
      const list = el('ul', 'jp-sigstore-cells', '');
      for (const cell of changed) {
        list.append(this.cellItem(panel, cell));
      }
      cells.append(list);
      root.append(cells);
    }
  }

  private cellItem(panel: NotebookPanel, cell: ICellReport): HTMLElement {
    const item = el('li', '', '');
    item.dataset.status = cell.status;
    if (cell.status === 'removed') {
      item.append(el('span', '', describeCell(cell)));
      return item;
    }
    const link = button(describeCell(cell), () => {
      const notebook = panel.content;
      const target = notebook.widgets[cell.index];
      if (target) {
        notebook.activeCellIndex = cell.index;
        void notebook.scrollToCell(target, 'center');
      }
    });
    link.classList.add('jp-sigstore-cellLink');
    item.append(link);
    return item;
  }
}

function signatureCard(sig: ISignatureReport): HTMLElement {
  const card = el('div', 'jp-sigstore-signature', '');
  card.dataset.valid = String(sig.valid);
  if (!sig.valid) {
    card.append(el('strong', 'jp-sigstore-error', 'Invalid signature'));
    card.append(el('div', '', sig.error ?? 'does not verify'));
    card.append(el('div', 'jp-sigstore-muted', `in ${sig.source}`));
    return card;
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
  const dl = document.createElement('dl');
  for (const [k, v] of rows) {
    const dt = el('dt', '', k);
    const dd = el('dd', '', '');
    dd.append(typeof v === 'string' ? document.createTextNode(v) : v);
    dl.append(dt, dd);
  }
  card.append(dl);
  return card;
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
