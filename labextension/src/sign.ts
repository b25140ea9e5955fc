import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { NotebookPanel } from '@jupyterlab/notebook';
import { Contents } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';

import { getAPI, postAPI, requestAPI } from './api';
import {
  contentFingerprint,
  defaultOutputs,
  dirname,
  ILoginFlow,
  ILoginStatus,
  ISignResponse,
  relativeTo,
  signOutcome
} from './model';

export type IdentityChoice =
  'session' | 'ambient' | 'browser' | 'device' | 'oob' | 'token';

export interface ISignChoices {
  outputs: string[];
  identity: IdentityChoice;
  countersign: boolean;
  /** Drop every earlier signature, other signers' too (by default they are kept). */
  replace: boolean;
  /** 'server' (the server's setting), 'production' or 'staging'. */
  instance?: string;
}

/** Thrown when the user dismissed a dialog or a sign-in: nothing changed. */
export class Cancelled extends Error {
  constructor() {
    super('cancelled');
  }
}

/** Files offered as data outputs: the notebook's folder and two levels below, no notebooks or hidden files. */
export async function candidateOutputs(
  contents: Contents.IManager,
  notebookPath: string
): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    let listing: Contents.IModel;
    try {
      listing = await contents.get(dir, { content: true });
    } catch {
      return;
    }
    for (const item of (listing.content as Contents.IModel[]) ?? []) {
      if (item.name.startsWith('.') || item.name.endsWith('.sigstore.json')) {
        continue;
      }
      if (item.type === 'directory' && depth < 2) {
        await walk(item.path, depth + 1);
      } else if (
        item.type !== 'directory' &&
        item.type !== 'notebook' &&
        found.length < 500
      ) {
        found.push(item.path);
      }
    }
  };
  await walk(dirname(notebookPath), 0);
  return found.sort();
}

/** The dialog body: pick data outputs and how to sign in. */
export class SignDialogBody extends Widget {
  constructor(
    notebookPath: string,
    candidates: string[],
    preselected: string[],
    login: ILoginStatus,
    hasSignatures: boolean,
    displayed: string[] = []
  ) {
    super();
    this.addClass('jp-sigstore-signDialog');
    const intro = document.createElement('p');
    intro.textContent = `Sign ${notebookPath} as it is in the editor now, with the data outputs you pick. The signature is added to the notebook and saved.`;
    this.node.append(intro);

    const fieldset = document.createElement('fieldset');
    const legend = document.createElement('legend');
    legend.textContent = 'Data outputs to include';
    fieldset.append(legend);
    const all = Array.from(new Set([...preselected, ...candidates]));
    if (!all.length) {
      const none = document.createElement('p');
      none.textContent =
        'No files beside the notebook; only the notebook will be signed.';
      fieldset.append(none);
    }
    for (const path of all) {
      const label = document.createElement('label');
      label.className = 'jp-sigstore-output';
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.value = path;
      box.checked = preselected.includes(path);
      const shown = displayed.includes(path) ? ' (shown in the notebook)' : '';
      label.append(
        box,
        document.createTextNode(` ${relativeTo(notebookPath, path)}${shown}`)
      );
      fieldset.append(label);
      this._boxes.push(box);
    }
    this.node.append(fieldset);

    const idLabel = document.createElement('label');
    idLabel.textContent = 'Identity ';
    this._identity = identitySelect(login);
    idLabel.append(this._identity);
    this.node.append(idLabel);

    if (hasSignatures) {
      const earlier = document.createElement('fieldset');
      earlier.className = 'jp-sigstore-earlier';
      const title = document.createElement('legend');
      title.textContent = 'Earlier signatures';
      const note = document.createElement('p');
      note.className = 'jp-sigstore-muted';
      note.textContent =
        "Other signers' signatures are kept; an earlier signature of yours is replaced by the new one.";
      this._countersign = checkbox(
        'jp-sigstore-countersign',
        ' Countersign: sign exactly what the newest signature covers, keeping every signature'
      );
      this._replace = checkbox(
        'jp-sigstore-replace',
        " Replace all earlier signatures (other signers' too)"
      );
      const countersign = this._countersign.querySelector('input')!;
      const replace = this._replace.querySelector('input')!;
      // a countersignature covers what the newest signature covers: no outputs of its own
      countersign.addEventListener('change', () => {
        if (countersign.checked) {
          replace.checked = false;
        }
        fieldset.disabled = countersign.checked;
      });
      replace.addEventListener('change', () => {
        if (replace.checked) {
          countersign.checked = false;
          fieldset.disabled = false;
        }
      });
      earlier.append(title, note, this._countersign, this._replace);
      this.node.append(earlier);
    }
  }

  getValue(): ISignChoices {
    const countersign =
      this._countersign?.querySelector('input')?.checked ?? false;
    return {
      outputs: countersign
        ? []
        : this._boxes.filter(b => b.checked).map(b => b.value),
      identity: this._identity.value as IdentityChoice,
      countersign,
      replace: this._replace?.querySelector('input')?.checked ?? false
    };
  }

  private _boxes: HTMLInputElement[] = [];
  private _identity: HTMLSelectElement;
  private _countersign: HTMLElement | null = null;
  private _replace: HTMLElement | null = null;
}

function checkbox(className: string, text: string): HTMLLabelElement {
  const label = document.createElement('label');
  label.className = className;
  const box = document.createElement('input');
  box.type = 'checkbox';
  label.append(box, document.createTextNode(text));
  return label;
}

/** A select of the ways to sign that this server offers; the first one is preselected. */
export function identitySelect(login: ILoginStatus): HTMLSelectElement {
  const select = document.createElement('select');
  select.className = 'jp-sigstore-identity';
  const options: [IdentityChoice, string, boolean][] = [
    ['session', `Signed in as ${login.identity}`, !!login.identity],
    ['ambient', "The server's ambient credentials", login.methods.ambient],
    [
      'browser',
      'Sign in with the browser (redirect back here)',
      login.methods.browser
    ],
    [
      'device',
      'Sign in with a code on any device (remote servers)',
      login.methods.device
    ],
    ['oob', 'Sign in out of band (paste a code)', login.methods.oob],
    ['token', 'Paste an identity token', true]
  ];
  for (const [value, text, enabled] of options) {
    if (enabled) {
      const option = document.createElement('option');
      option.value = value;
      option.textContent = text;
      select.append(option);
    }
  }
  return select;
}

/** Wait for a login flow to settle, showing its instructions; Cancel abandons it. */
async function followFlow(flow: ILoginFlow): Promise<string> {
  const body = new Widget();
  body.addClass('jp-sigstore-loginDialog');
  const text = document.createElement('p');
  const status = document.createElement('p');
  status.className = 'jp-sigstore-loginStatus';
  status.setAttribute('role', 'status');
  status.textContent = 'Waiting for the sign-in…';
  body.node.append(text);
  let codeInput: HTMLInputElement | null = null;
  if (flow.kind === 'browser') {
    text.textContent = 'Complete the sign-in in the tab that just opened. ';
    const link = anchor(flow.auth_url ?? '', 'Open the sign-in page again');
    text.append(link);
    window.open(flow.auth_url, '_blank', 'noopener');
  } else if (flow.kind === 'device') {
    text.append('Open ');
    text.append(
      anchor(
        flow.verification_uri_complete || flow.verification_uri || '',
        flow.verification_uri ?? ''
      )
    );
    text.append(' in any browser and enter the code ');
    const code = document.createElement('code');
    code.className = 'jp-sigstore-userCode';
    code.textContent = flow.user_code ?? '';
    text.append(code);
  } else {
    text.append('Open ');
    text.append(anchor(flow.auth_url ?? '', 'the sign-in page'));
    text.append(' in any browser, sign in, and paste the code it shows here:');
    codeInput = document.createElement('input');
    codeInput.className = 'jp-sigstore-oobCode';
    codeInput.setAttribute('aria-label', 'Verification code');
    body.node.append(codeInput);
  }
  body.node.append(status);

  let settled: ILoginFlow | null = null;
  let stop = false;
  const dialog = new Dialog({
    title: 'Sign in to Sigstore',
    body,
    buttons:
      flow.kind === 'oob'
        ? [Dialog.cancelButton(), Dialog.okButton({ label: 'Submit code' })]
        : [Dialog.cancelButton()]
  });
  const poll = async () => {
    while (!stop) {
      await new Promise(r => setTimeout(r, 1000));
      if (stop) {
        return;
      }
      try {
        const now = await getAPI<ILoginFlow>(`login/flows/${flow.id}`);
        if (now.status !== 'pending') {
          settled = now;
          dialog.resolve(0);
          return;
        }
      } catch (error) {
        settled = {
          ...flow,
          status: 'failed',
          error: (error as Error).message
        };
        dialog.resolve(0);
        return;
      }
    }
  };
  const polling = flow.kind === 'oob' ? Promise.resolve() : poll();
  const result = await dialog.launch();
  stop = true;
  await polling;
  if (!settled && flow.kind === 'oob' && result.button.accept && codeInput) {
    settled = await postAPI<ILoginFlow>(`login/flows/${flow.id}`, {
      code: codeInput.value
    });
  }
  const final = settled as ILoginFlow | null;
  if (!final) {
    await requestAPI(`login/flows/${flow.id}`, { method: 'DELETE' }).catch(
      () => undefined
    );
    throw new Cancelled();
  }
  if (final.status !== 'done') {
    if (final.status === 'cancelled') {
      throw new Cancelled();
    }
    throw new Error(final.error ?? 'the sign-in failed');
  }
  return final.identity ?? '';
}

function anchor(href: string, text: string): HTMLAnchorElement {
  const a = document.createElement('a');
  a.href = href;
  a.target = '_blank';
  a.rel = 'noopener noreferrer';
  a.textContent = text || href;
  return a;
}

/** Make sure the server holds an identity token for this user, using the chosen method. */
export async function ensureIdentity(choice: IdentityChoice): Promise<void> {
  if (choice === 'session') {
    return;
  }
  if (choice === 'ambient') {
    await postAPI<ILoginStatus>('login/ambient', {});
    return;
  }
  if (choice === 'token') {
    const input = document.createElement('input');
    input.type = 'password';
    input.className = 'jp-sigstore-tokenInput';
    input.setAttribute('aria-label', 'OIDC identity token');
    const body = new Widget({ node: document.createElement('div') });
    body.node.append(input);
    const result = await showDialog({
      title: 'Paste an OIDC identity token',
      body,
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Use token' })]
    });
    if (!result.button.accept || !input.value.trim()) {
      throw new Cancelled();
    }
    await postAPI<ILoginStatus>('login/token', { token: input.value.trim() });
    return;
  }
  const flow = await postAPI<ILoginFlow>(`login/${choice}`, {});
  await followFlow(flow);
}

export interface ISignOptions {
  contents: Contents.IManager;
  defaultOutputs: string[];
  /** Contents paths selected in the file browser (preselected as outputs). */
  selectedPaths: string[];
  /** Contents paths of local files the notebook displays (preselected as outputs). */
  displayed?: string[];
  /** The instance setting: 'server', 'production' or 'staging'. */
  instance: string;
}

/** The "Sign notebook" command: dialog, sign-in, sign the editor's model, apply and save. */
export async function signPanel(
  panel: NotebookPanel,
  options: ISignOptions
): Promise<boolean> {
  const context = panel.context;
  await context.ready;
  const path = context.localPath;
  if (!panel.model) {
    return false;
  }
  const [login, candidates] = await Promise.all([
    getAPI<ILoginStatus>('login'),
    candidateOutputs(options.contents, path)
  ]);
  const metadata = panel.model.metadata as Record<string, unknown>;
  const displayed = (options.displayed ?? []).filter(p =>
    candidates.includes(p)
  );
  const preselected = [
    ...defaultOutputs(path, options.defaultOutputs, metadata),
    ...displayed,
    ...options.selectedPaths.filter(p => p !== path && !p.endsWith('.ipynb'))
  ].filter(p => candidates.includes(p));
  const sig = metadata['sigstore'] as { signatures?: unknown[] } | undefined;
  const body = new SignDialogBody(
    path,
    candidates,
    preselected,
    login,
    Array.isArray(sig?.signatures) && sig!.signatures.length > 0,
    displayed
  );
  const result = await showDialog({
    title: 'Sign notebook with Sigstore',
    body,
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Sign' })]
  });
  if (!result.button.accept || !result.value) {
    return false;
  }
  const choices = { ...result.value, instance: options.instance };
  try {
    await ensureIdentity(choices.identity);
    return await signWithChoices(panel, choices);
  } catch (error) {
    if (error instanceof Cancelled) {
      Notification.info('Signing cancelled; the notebook is unchanged.', {
        autoClose: 4000
      });
      return false;
    }
    Notification.error(`Not signed: ${(error as Error).message}`, {
      autoClose: false
    });
    return false;
  }
}

/**
 * Sign a snapshot of the model on the server, then apply the returned metadata block to the
 * model and save through the document's normal save. If the user edited the notebook meanwhile,
 * nothing is applied.
 */
export async function signWithChoices(
  panel: NotebookPanel,
  choices: ISignChoices
): Promise<boolean> {
  const model = panel.model!;
  const snapshot = model.toJSON();
  const fingerprint = contentFingerprint(snapshot);
  const pending = Notification.emit('Signing with Sigstore…', 'in-progress', {
    autoClose: false
  });
  let response: ISignResponse;
  try {
    response = await postAPI<ISignResponse>('sign', {
      path: panel.context.localPath,
      content: snapshot,
      outputs: choices.outputs,
      countersign: choices.countersign,
      replace: choices.replace,
      instance: choices.instance
    });
  } finally {
    Notification.dismiss(pending);
  }
  await applySignature(panel, response.sigstore, fingerprint);
  const outcome = signOutcome(response);
  Notification.success(
    `${outcome.charAt(0).toUpperCase()}${outcome.slice(1)}.`,
    { autoClose: 5000 }
  );
  return true;
}

/** Put a metadata.sigstore block into the model (if it still matches `fingerprint`) and save. */
export async function applySignature(
  panel: NotebookPanel,
  block: Record<string, unknown>,
  fingerprint: string
): Promise<void> {
  const model = panel.model!;
  if (contentFingerprint(model.toJSON()) !== fingerprint) {
    throw new Error(
      'the notebook changed while it was being signed; nothing was applied, sign it again'
    );
  }
  model.setMetadata('sigstore', block as any);
  await panel.context.save();
}
