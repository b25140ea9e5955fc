/**
 * Front-end side of the kernel comm "jupyter_sigstore" (docs/kernel-protocol.md, protocol 1):
 * `%sigstore sign` in a kernel asks this extension to sign the *open* notebook, after execution has
 * settled, and to save through the editor's normal save.
 *
 * Any code in the kernel can send such a request, so none signs without the user: each one shows
 * a confirmation naming the notebook, every output and the identity (the user may allow one
 * notebook until it is closed), and only a request addressed to this front end (`to`) is handled.
 */
import { Notification } from '@jupyterlab/apputils';
import { NotebookPanel } from '@jupyterlab/notebook';
import { Kernel, KernelMessage } from '@jupyterlab/services';

import { getAPI, postAPI } from './api';
import { confirmKernelSign } from './confirm';
import {
  addressedTo,
  contentFingerprint,
  IKernelSignRequest,
  ILoginStatus,
  isUntitled,
  ISignResponse,
  mustConfirm,
  parseSignRequest,
  pickNotebook,
  resolveOutputs,
  signOutcome,
  withTimeout
} from './model';
import {
  applySignature,
  Cancelled,
  ensureIdentity,
  IdentityChoice
} from './sign';

export const COMM_TARGET = 'jupyter_sigstore';
export const PROTOCOL = 1;

/** Random per browser tab. */
export const FRONTEND_ID = `fe-${Math.random().toString(16).slice(2, 10)}`;

/** How long the kernel may take to sign a snapshot with its own identity. */
const KERNEL_SIGN_TIMEOUT = 300_000;

type Data = Record<string, any>;

export interface ICommHost {
  /** The instance setting: 'server', 'production' or 'staging'. */
  instance(): string;
  /** The notebook panels open on a kernel. */
  panelsFor(kernel: Kernel.IKernelConnection): NotebookPanel[];
}

/** Registers the comm target on every kernel the notebook panels use. */
export class KernelBridge {
  constructor(private host: ICommHost) {}

  watch(panel: NotebookPanel): void {
    const register = () => {
      const kernel = panel.sessionContext.session?.kernel;
      if (kernel && !this._registered.has(kernel)) {
        this._registered.add(kernel);
        kernel.registerCommTarget(COMM_TARGET, (comm, msg) =>
          this.onOpen(kernel, comm, msg)
        );
        void this.rejoin(kernel);
      }
    };
    panel.sessionContext.kernelChanged.connect(register);
    void panel.sessionContext.ready.then(register);
    // "allow until I close it": forgotten with the panel
    panel.disposed.connect(() => this._allowed.delete(panel));
  }

  /**
   * A notebook reopened on a running kernel is a new connection, which does not know the comm the
   * kernel opened earlier: find it (comm_info) and say hello on it, so `%sigstore sign` still
   * reaches this front end.
   */
  private async rejoin(kernel: Kernel.IKernelConnection): Promise<void> {
    let comms: Record<string, unknown> = {};
    try {
      const reply = await kernel.requestCommInfo({ target_name: COMM_TARGET });
      if (reply.content.status === 'ok') {
        comms = reply.content.comms;
      }
    } catch {
      return; // the kernel went away: nothing to rejoin
    }
    for (const id of Object.keys(comms)) {
      if (kernel.isDisposed || kernel.hasComm(id)) {
        continue;
      }
      const comm = kernel.createComm(COMM_TARGET, id);
      comm.onMsg = m =>
        void this.onMessage(kernel, comm, m.content.data as Data);
      this.sayHello(kernel, comm);
    }
  }

  private onOpen(
    kernel: Kernel.IKernelConnection,
    comm: Kernel.IComm,
    msg: KernelMessage.ICommOpenMsg
  ): void {
    comm.onMsg = m => void this.onMessage(kernel, comm, m.content.data as Data);
    const data = msg.content.data as Data;
    if (data.type === 'hello') {
      this.sayHello(kernel, comm);
    }
  }

  private sayHello(kernel: Kernel.IKernelConnection, comm: Kernel.IComm): void {
    comm.send({
      type: 'hello',
      protocol: PROTOCOL,
      frontend_id: FRONTEND_ID,
      frontend: 'jupyterlab',
      capabilities: ['sign', 'track'],
      notebooks: this.host.panelsFor(kernel).map(p => p.context.localPath)
    });
  }

  private async onMessage(
    kernel: Kernel.IKernelConnection,
    comm: Kernel.IComm,
    data: Data
  ): Promise<void> {
    if (
      !data ||
      data.protocol !== PROTOCOL ||
      !addressedTo(data, FRONTEND_ID)
    ) {
      return; // a sign request without `to` never signs anywhere
    }
    if (data.type === 'hello') {
      this.sayHello(kernel, comm);
    } else if (data.type === 'track') {
      for (const panel of this.host.panelsFor(kernel)) {
        const block = {
          ...((panel.model?.getMetadata('sigstore') as Data) ?? {})
        };
        block.tracked = Array.isArray(data.tracked) ? data.tracked : [];
        panel.model?.setMetadata('sigstore', block);
      }
    } else if (data.type === 'sign') {
      // one request at a time: one confirmation on screen, in the order the kernel asked
      const next = this._queue.then(() => this.onSign(kernel, comm, data));
      this._queue = next.catch(() => undefined);
      await next;
    } else if (
      (data.type === 'signature' || data.type === 'error') &&
      data.request_id
    ) {
      const waiter = this._waiting.get(data.request_id);
      if (waiter) {
        this._waiting.delete(data.request_id);
        waiter(data);
      }
    }
  }

  private async onSign(
    kernel: Kernel.IKernelConnection,
    comm: Kernel.IComm,
    data: Data
  ): Promise<void> {
    const parsed = parseSignRequest(data);
    const requestId =
      typeof data.request_id === 'string' ? data.request_id : '';
    const reply = (type: string, extra: Data) =>
      comm.send({
        type,
        protocol: PROTOCOL,
        request_id: requestId,
        frontend_id: FRONTEND_ID,
        ...extra
      });
    if (typeof parsed === 'string') {
      reply('decline', { message: parsed });
      return;
    }
    const request = parsed;
    const panels = this.host.panelsFor(kernel);
    const index = pickNotebook(
      panels.map(p => p.context.localPath),
      request.notebook
    );
    const panel = index === null ? undefined : panels[index];
    if (!panel || !panel.model) {
      reply('decline', {
        message: panels.length
          ? 'cannot tell which of the notebooks open on this kernel to sign'
          : 'no notebook is open on this kernel here'
      });
      return;
    }
    const path = panel.context.localPath;
    if (isUntitled(path)) {
      reply('decline', {
        message: `${path || 'this notebook'} has no name yet: save it under a name first`
      });
      return;
    }
    const { resolved, outside } = resolveOutputs(path, request.outputs);
    if (request.signer === 'frontend' && outside.length) {
      reply('decline', {
        message: `outside the server's root, cannot be signed here: ${outside.join(', ')}`
      });
      return;
    }
    try {
      await settled(panel, kernel, request.parentMsgId);
      let identity: IdentityChoice | null = null;
      const allowance = this._allowed.get(panel);
      if (mustConfirm(request, allowance !== undefined)) {
        const login =
          request.signer === 'frontend'
            ? await getAPI<ILoginStatus>('login')
            : null;
        const consent = await confirmKernelSign({
          notebook: path,
          request,
          login
        });
        if (!consent || panel.isDisposed) {
          throw new Cancelled();
        }
        identity = consent.identity;
        if (consent.allow) {
          this._allowed.set(panel, identity);
        }
      } else if (request.signer === 'frontend') {
        const login = await getAPI<ILoginStatus>('login');
        identity = login.identity ? 'session' : (allowance ?? 'browser');
      }
      // the kernel may have run more cells while the dialog was open: sign what is there now
      await settled(panel, kernel, '');
      const answer = await this.sign(
        panel,
        request,
        resolved,
        identity,
        content => reply('model', { path, content })
      );
      const message = signOutcome(answer);
      reply('result', {
        status: 'signed',
        saved: true,
        path,
        identity: answer.identity,
        message
      });
      Notification.success(`${path}: ${message}`, { autoClose: 5000 });
    } catch (error) {
      if (error instanceof Cancelled) {
        reply('result', {
          status: 'cancelled',
          saved: false,
          path,
          message: 'cancelled by the user'
        });
        Notification.info(
          `${path}: signing request from the kernel cancelled; nothing was signed.`,
          { autoClose: 5000 }
        );
        return;
      }
      const message = (error as Error).message;
      reply('result', { status: 'failed', saved: false, path, message });
      Notification.error(`${path}: not signed: ${message}`, {
        autoClose: false
      });
    }
  }

  /** Sign a snapshot (by the kernel or through the server), apply it to the model and save. */
  private async sign(
    panel: NotebookPanel,
    request: IKernelSignRequest,
    outputs: string[],
    identity: IdentityChoice | null,
    sendModel: (content: unknown) => void
  ): Promise<{ identity: string | null; kept?: number; replaced?: string[] }> {
    const snapshot = panel.model!.toJSON();
    const fingerprint = contentFingerprint(snapshot);
    let block: Data;
    let answer: { identity: string | null; kept?: number; replaced?: string[] };
    if (request.signer === 'kernel') {
      const waiting = new Promise<Data>(resolve => {
        this._waiting.set(request.requestId, resolve);
      });
      sendModel(snapshot);
      let reply: Data;
      try {
        reply = await withTimeout(waiting, KERNEL_SIGN_TIMEOUT);
      } finally {
        this._waiting.delete(request.requestId);
      }
      if (reply.type === 'error') {
        throw new Error(String(reply.message ?? 'the kernel could not sign'));
      }
      block = reply.sigstore;
      answer = {
        identity: typeof reply.identity === 'string' ? reply.identity : null,
        kept: typeof reply.kept === 'number' ? reply.kept : undefined,
        replaced: Array.isArray(reply.replaced) ? reply.replaced : undefined
      };
    } else {
      await ensureIdentity(identity ?? 'session');
      const response = await postAPI<ISignResponse>('sign', {
        path: panel.context.localPath,
        content: snapshot,
        outputs,
        countersign: request.countersign,
        replace: request.replace,
        instance: this.host.instance()
      });
      block = response.sigstore;
      answer = response;
    }
    await applySignature(panel, block, fingerprint);
    return answer;
  }

  private _registered = new WeakSet<Kernel.IKernelConnection>();
  private _waiting = new Map<string, (data: Data) => void>();
  private _allowed = new Map<NotebookPanel, IdentityChoice | null>();
  private _queue: Promise<void> = Promise.resolve();
}

/**
 * Resolves once execution has SETTLED (protocol): the request's cell finished, no cell of the
 * notebook is running or queued, and the kernel is idle.
 */
export function settled(
  panel: NotebookPanel,
  kernel: Kernel.IKernelConnection,
  parentMsgId: string
): Promise<void> {
  return new Promise(resolve => {
    let parentDone = !parentMsgId;
    const onIopub = (_: unknown, msg: KernelMessage.IIOPubMessage) => {
      if (
        msg.header.msg_type === 'status' &&
        (msg.parent_header as any)?.msg_id === parentMsgId &&
        (msg.content as any).execution_state === 'idle'
      ) {
        parentDone = true;
      }
    };
    kernel.iopubMessage.connect(onIopub);
    let quiet = 0;
    const check = () => {
      const busy = panel.content.widgets.some(
        cell =>
          cell.model.type === 'code' &&
          (cell.model as any).executionState === 'running'
      );
      quiet = !busy && kernel.status === 'idle' ? quiet + 1 : 0;
      // the parent's idle status may have come before we listened: a quiet second settles too
      if ((parentDone || quiet >= 5) && !busy && kernel.status === 'idle') {
        kernel.iopubMessage.disconnect(onIopub);
        resolve();
      } else {
        setTimeout(check, 200);
      }
    };
    setTimeout(check, 200);
  });
}
