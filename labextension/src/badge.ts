import { NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import { badgeInfo } from './model';
import { ProvenanceVerifier } from './verifier';

/** The toolbar badge: status in colour *and* text, with an accessible name; click opens the sidebar. */
export class ProvenanceBadge extends Widget {
  constructor(
    private panel: NotebookPanel,
    private verifier: ProvenanceVerifier,
    private onActivate: () => void
  ) {
    super({ node: document.createElement('button') });
    this.addClass('jp-sigstore-badge');
    const button = this.node as HTMLButtonElement;
    button.type = 'button';
    button.addEventListener('click', () => this.onActivate());
    verifier.changed.connect(this.onChanged, this);
    this.render();
  }

  private onChanged(_: ProvenanceVerifier, panel: NotebookPanel): void {
    if (panel === this.panel) {
      this.render();
    }
  }

  render(): void {
    const state = this.verifier.stateOf(this.panel);
    const info =
      state.state === 'checking'
        ? badgeInfo(null, 'checking')
        : state.state === 'idle'
          ? badgeInfo(null, 'off')
          : state.state === 'error'
            ? badgeInfo(state.response, 'error', state.error ?? undefined)
            : badgeInfo(state.response);
    this.node.dataset.status = info.state;
    this.node.setAttribute('aria-label', info.aria);
    this.node.title = `${info.title} (click for details)`;
    this.node.textContent = '';
    const dot = document.createElement('span');
    dot.className = 'jp-sigstore-badge-icon';
    dot.setAttribute('aria-hidden', 'true');
    dot.textContent = ICONS[info.state] ?? '?';
    const text = document.createElement('span');
    text.className = 'jp-sigstore-badge-text';
    text.textContent = info.label;
    this.node.append(dot, text);
  }

  dispose(): void {
    this.verifier.changed.disconnect(this.onChanged, this);
    super.dispose();
  }
}

/** A glyph beside the text, so the state never rests on colour alone. */
const ICONS: Record<string, string> = {
  verified: '✔',
  'untrusted-signer': '?',
  modified: '!',
  invalid: '✖',
  unsigned: '○',
  checking: '…',
  error: '!',
  off: '○'
};
