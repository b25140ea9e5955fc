import { NotebookPanel } from '@jupyterlab/notebook';
import { Contents } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import { getAPI } from './api';
import {
  cellMarkers,
  ICellMarker,
  IVerifyResponse,
  withTimeout
} from './model';

/** CSS class put on cells that changed since signing. */
export const CHANGED_CELL_CLASS = 'jp-sigstore-changedCell';
/** CSS class put on unchanged cells the newest reproduction of this version did not reproduce. */
export const UNREPRODUCED_CELL_CLASS = 'jp-sigstore-unreproducedCell';
/** CSS class put on cells that display a local file no signature covers (as it is now). */
export const UNCOVERED_CELL_CLASS = 'jp-sigstore-uncoveredCell';
/** The label element of our own inside a changed cell (not a ::before, which front ends restyle). */
export const CELL_MARKER_CLASS = 'jp-sigstore-cellMarker';

/** The verification state of one open notebook. */
export interface IPanelState {
  state: 'idle' | 'checking' | 'done' | 'error';
  response: IVerifyResponse | null;
  error: string | null;
}

export interface IVerifierOptions {
  contents: Contents.IManager;
  autoVerify: () => boolean;
  instance: () => string;
  /** How often to look for changes made on disk by something else (ms). */
  pollInterval?: number;
  /** Give up waiting for the server after this long (ms), so the badge never spins forever. */
  timeout?: number;
}

/**
 * Verifies each open notebook in the background: on open, after each save, and when the file
 * changes on disk. Opening never waits for it. Emits `changed` with the panel whose state moved.
 */
export class ProvenanceVerifier {
  constructor(private options: IVerifierOptions) {}

  get changed(): ISignal<this, NotebookPanel> {
    return this._changed;
  }

  /** The state of a panel (idle until the first verification). */
  stateOf(panel: NotebookPanel): IPanelState {
    return (
      this._states.get(panel) ?? { state: 'idle', response: null, error: null }
    );
  }

  /** Start watching a newly opened notebook panel. */
  track(panel: NotebookPanel): void {
    const context = panel.context;
    const runIfAuto = () => {
      if (this.options.autoVerify()) {
        void this.verify(panel);
      }
    };
    void context.ready.then(() => {
      this._lastModified.set(panel, context.contentsModel?.last_modified ?? '');
      runIfAuto();
    });
    context.saveState.connect((_, state) => {
      if (state === 'completed') {
        this._lastModified.set(
          panel,
          context.contentsModel?.last_modified ?? ''
        );
        runIfAuto();
      }
    });
    context.pathChanged.connect(runIfAuto);
    panel.content.modelContentChanged.connect(() => this.applyMarkers(panel));
    // cells rendered lazily (windowed notebooks) get their label when they appear
    panel.content.cellInViewportChanged.connect(() => this.applyMarkers(panel));
    const interval = this.options.pollInterval ?? 10000;
    const timer = window.setInterval(
      () => void this.checkDisk(panel),
      interval
    );
    panel.disposed.connect(() => {
      window.clearInterval(timer);
      this._states.delete(panel);
    });
  }

  /**
   * Verify a panel's notebook as saved now; never throws. `remote` asks the server to also read the
   * outputs the notebook names by URL (the user's "Check remote outputs"; opening never does).
   */
  async verify(
    panel: NotebookPanel,
    options: { remote?: boolean } = {}
  ): Promise<void> {
    const seq = (this._seq.get(panel) ?? 0) + 1;
    this._seq.set(panel, seq);
    const previous = this.stateOf(panel);
    this.setState(panel, { ...previous, state: 'checking' });
    let next: IPanelState;
    try {
      const query: Record<string, string> = { path: panel.context.localPath };
      const instance = this.options.instance();
      if (instance && instance !== 'server') {
        query.instance = instance;
      }
      if (options.remote) {
        query.remote = '1';
      }
      const response = await withTimeout(
        getAPI<IVerifyResponse>('verify', query),
        this.options.timeout ?? 120000
      );
      next = {
        state: response.report ? 'done' : 'error',
        response,
        error: response.error
      };
    } catch (error) {
      next = {
        state: 'error',
        response: null,
        error: (error as Error).message
      };
    }
    if (this._seq.get(panel) !== seq || panel.isDisposed) {
      return; // a newer verification is running
    }
    this.setState(panel, next);
  }

  private setState(panel: NotebookPanel, state: IPanelState): void {
    this._states.set(panel, state);
    this.applyMarkers(panel);
    this._changed.emit(panel);
  }

  /** Put the changed-cell marker on exactly the cells the latest report names. */
  applyMarkers(panel: NotebookPanel): void {
    const state = this.stateOf(panel);
    const markers = new Map<number, ICellMarker>(
      cellMarkers(state.response?.report ?? null).map(m => [m.index, m])
    );
    panel.content.widgets.forEach((cell, index) => {
      const marker = markers.get(index);
      cell.toggleClass(CHANGED_CELL_CLASS, !!marker?.changed);
      cell.toggleClass(UNREPRODUCED_CELL_CLASS, !!marker?.unreproduced);
      cell.toggleClass(
        UNCOVERED_CELL_CLASS,
        !!marker && !marker.changed && !marker.unreproduced
      );
      const labelled = setMarker(cell.node, marker ?? null);
      if (!labelled && cell.isPlaceholder() && !this._deferred.has(cell)) {
        // a cell not rendered yet (windowed notebooks) has no header: label it once it renders
        this._deferred.add(cell);
        void cell.ready.then(() => {
          this._deferred.delete(cell);
          if (!panel.isDisposed) {
            this.applyMarkers(panel);
          }
        });
      }
      if (marker?.changed) {
        cell.node.setAttribute('data-sigstore-changed', 'true');
      } else {
        cell.node.removeAttribute('data-sigstore-changed');
      }
      if (marker?.unreproduced) {
        cell.node.setAttribute('data-sigstore-unreproduced', 'true');
      } else {
        cell.node.removeAttribute('data-sigstore-unreproduced');
      }
    });
  }

  private async checkDisk(panel: NotebookPanel): Promise<void> {
    const context = panel.context;
    if (!context.isReady || panel.isDisposed || !this.options.autoVerify()) {
      return;
    }
    try {
      const model = await this.options.contents.get(context.path, {
        content: false
      });
      const known = this._lastModified.get(panel);
      if (known !== undefined && model.last_modified !== known) {
        this._lastModified.set(panel, model.last_modified);
        await this.verify(panel);
      }
    } catch {
      // deleted or unreachable: the next save or open reports it
    }
  }

  private _changed = new Signal<this, NotebookPanel>(this);
  private _states = new Map<NotebookPanel, IPanelState>();
  private _seq = new Map<NotebookPanel, number>();
  private _lastModified = new Map<NotebookPanel, string>();
  private _deferred = new WeakSet<object>();
}

/**
 * Show (or remove) the "Changed since signing" label of a cell: an element of our own in the
 * cell's header (a leaf widget JupyterLab leaves empty), so that no front end's cell CSS blanks it.
 * Never a child of the cell itself, whose layout places its widgets by child index. False when
 * a label is due but the cell has no header yet.
 */
function setMarker(cellNode: HTMLElement, cell: ICellMarker | null): boolean {
  const header =
    cellNode.querySelector<HTMLElement>(':scope > .jp-CellHeader') ?? null;
  const existing = cellNode.querySelector<HTMLElement>(`.${CELL_MARKER_CLASS}`);
  if (!cell) {
    existing?.remove();
    header?.classList.remove('jp-sigstore-hasMarker');
    return true;
  }
  if (!header) {
    return false;
  }
  const marker = existing ?? document.createElement('div');
  marker.className = CELL_MARKER_CLASS;
  marker.dataset.kind = cell.changed
    ? 'changed'
    : cell.unreproduced
      ? 'unreproduced'
      : 'uncovered';
  marker.textContent = '';
  for (const text of cell.lines) {
    const line = document.createElement('div');
    line.textContent = text;
    marker.append(line);
  }
  marker.title = cell.title;
  if (!existing) {
    header.classList.add('jp-sigstore-hasMarker');
    header.append(marker);
  }
  return true;
}
