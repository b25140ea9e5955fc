/** Approving a project policy file that arrived with the notebooks (docs/policy.md). */
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { postAPI } from './api';
import { IPendingPolicy } from './model';

/** The confirmation shown before approving: the file, what it would trust, its full sha256. */
export class ApprovePolicyBody extends Widget {
  constructor(pending: IPendingPolicy) {
    super();
    this.addClass('jp-sigstore-approveDialog');
    const add = (tag: string, text: string, className = '') => {
      const node = document.createElement(tag);
      node.textContent = text;
      if (className) {
        node.className = className;
      }
      this.node.append(node);
      return node;
    };
    add(
      'p',
      `${pending.path} came with the notebooks it judges. Approve it only if you reviewed it and trust whoever wrote it: from now on the notebooks below its folder are judged by it (under the server's own policy it can only narrow whom to trust).`
    );
    add('p', `It trusts: ${pending.description ?? '(nothing described)'}`);
    add('p', 'This exact file (any change needs a new approval):');
    add('code', `sha256 ${pending.sha256}`, 'jp-sigstore-hash');
  }
}

/** Ask, then approve the file with the hash that was shown; false when cancelled or refused. */
export async function approvePendingPolicy(
  pending: IPendingPolicy
): Promise<boolean> {
  const result = await showDialog({
    title: 'Approve this project policy?',
    body: new ApprovePolicyBody(pending),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Approve' })],
    defaultButton: 0
  });
  if (!result.button.accept) {
    return false;
  }
  try {
    await postAPI('policy/approval', {
      path: pending.path,
      sha256: pending.sha256
    });
  } catch (error) {
    Notification.error(`Not approved: ${(error as Error).message}`, {
      autoClose: false
    });
    return false;
  }
  Notification.success(`Approved the project policy ${pending.path}.`, {
    autoClose: 4000
  });
  return true;
}
