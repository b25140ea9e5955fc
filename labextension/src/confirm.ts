/**
 * The confirmation every kernel-initiated signature needs: code in a kernel (a downloaded
 * notebook's cell, not only `%sigstore sign`) can ask for a signature in the user's name, so the
 * user sees what would be signed and by whom, and decides.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { IKernelSignRequest, ILoginStatus } from './model';
import { IdentityChoice, identitySelect } from './sign';

export interface IKernelSignPrompt {
  /** The notebook's contents path. */
  notebook: string;
  request: IKernelSignRequest;
  /** Who is signed in on the server (signer `frontend`); null for signer `kernel`. */
  login: ILoginStatus | null;
}

export interface IKernelSignConsent {
  /** How to sign in (signer `frontend`); null when the kernel signs with its own identity. */
  identity: IdentityChoice | null;
  /** Sign this notebook's later requests without asking, until it is closed. */
  allow: boolean;
}

/** The dialog body: notebook, every output, the identity, and the "allow" option. */
export class KernelSignBody extends Widget {
  constructor(prompt: IKernelSignPrompt) {
    super();
    this.addClass('jp-sigstore-kernelSign');
    const { request } = prompt;
    const intro = document.createElement('p');
    intro.textContent =
      'Code running in the kernel asks to sign this notebook with Sigstore. A signature vouches in ' +
      'your name, in a public transparency log, for the notebook as it is now and for the files ' +
      'below. Sign only if you asked for it (for example with %sigstore sign).';
    this.node.append(intro);

    this.node.append(
      row('Notebook', prompt.notebook, 'jp-sigstore-kernelSign-notebook')
    );

    const outputs = document.createElement('div');
    outputs.className = 'jp-sigstore-kernelSign-outputs';
    const heading = document.createElement('div');
    heading.className = 'jp-sigstore-kernelSign-label';
    if (request.countersign) {
      heading.textContent =
        'A countersignature: it covers exactly the notebook and files that the newest signature covers.';
      outputs.append(heading);
    } else if (!request.outputs.length) {
      heading.textContent = 'Data outputs: none (only the notebook)';
      outputs.append(heading);
    } else {
      heading.textContent = `Data outputs (${request.outputs.length}):`;
      const list = document.createElement('ul');
      for (const name of request.outputs) {
        const item = document.createElement('li');
        item.className = 'jp-sigstore-kernelSign-output';
        item.textContent = name;
        list.append(item);
      }
      outputs.append(heading, list);
    }
    this.node.append(outputs);

    if (request.replace) {
      const warning = document.createElement('p');
      warning.className = 'jp-sigstore-error jp-sigstore-kernelSign-replace';
      warning.textContent =
        "It asks to replace ALL earlier signatures, other signers' too: they would be removed from the notebook.";
      this.node.append(warning);
    }

    if (request.signer === 'kernel') {
      const who = request.claimedIdentity
        ? `the kernel's own sign-in (the kernel says: ${request.claimedIdentity})`
        : "the kernel's own sign-in";
      this.node.append(row('Identity', who, 'jp-sigstore-kernelSign-identity'));
    } else if (prompt.login) {
      const label = document.createElement('label');
      label.className = 'jp-sigstore-kernelSign-identity';
      label.textContent = 'Identity ';
      this._identity = identitySelect(prompt.login);
      label.append(this._identity);
      this.node.append(label);
    }

    if (!request.replace) {
      const allow = document.createElement('label');
      allow.className = 'jp-sigstore-kernelSign-allow';
      this._allow = document.createElement('input');
      this._allow.type = 'checkbox';
      allow.append(
        this._allow,
        document.createTextNode(
          ' Allow this notebook to sign without asking until I close it'
        )
      );
      this.node.append(allow);
    }
  }

  getValue(): IKernelSignConsent {
    return {
      identity: this._identity
        ? (this._identity.value as IdentityChoice)
        : null,
      allow: this._allow?.checked ?? false
    };
  }

  private _identity: HTMLSelectElement | null = null;
  private _allow: HTMLInputElement | null = null;
}

/** Ask the user; null when they cancel. Enter does not sign: Cancel is the default button. */
export async function confirmKernelSign(
  prompt: IKernelSignPrompt
): Promise<IKernelSignConsent | null> {
  const result = await showDialog({
    title: 'Sign this notebook? (requested by kernel code)',
    body: new KernelSignBody(prompt),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Sign' })],
    defaultButton: 0
  });
  if (!result.button.accept || !result.value) {
    return null;
  }
  return result.value;
}

function row(label: string, value: string, className: string): HTMLElement {
  const node = document.createElement('div');
  node.className = className;
  const key = document.createElement('span');
  key.className = 'jp-sigstore-kernelSign-label';
  key.textContent = `${label}: `;
  const text = document.createElement('code');
  text.textContent = value;
  node.append(key, text);
  return node;
}
