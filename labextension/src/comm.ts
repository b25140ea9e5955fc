/**
 * Front-end side of the kernel comm "jupyter_sigstore" (docs/kernel-protocol.md, protocol 1):
 * `%sigstore sign` in a kernel asks this extension to sign the *open* notebook, after execution has
 * settled, and to save through the editor's normal save.
 */
import { Notification } from '@jupyterlab/apputils';
import { NotebookPanel } from '@jupyterlab/notebook';
import { Kernel, KernelMessage } from '@jupyterlab/services';

import { postAPI } from './api';
import {
  addressedTo,
  contentFingerprint,
  isUntitled,
  ISignResponse,
  resolveRelative
} from './model';
import { applySignature, Cancelled } from './sign';

export const COMM_TARGET = 'jupyter_sigstore';
export const PROTOCOL = 1;

/** Random per browser tab. */
export const FRONTEND_ID = `fe-${Math.random().toString(16).slice(2, 10)}`;

type Data = Record<string, any>;

export interface ICommHost {
  /** The instance setting: 'server', 'production' or 'staging'. */
  instance(): string;
  /** The notebook panels open on a kernel. */
  panelsFor(kernel: Kernel.IKernelConnection): NotebookPanel[];
  /** Sign through the server when the kernel has no identity (signer "frontend"). */
  ensureIdentity(): Promise<void>;
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
      }
    };
    panel.sessionContext.kernelChanged.connect(register);
    void panel.sessionContext.ready.then(register);
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
      return;
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
      await this.onSign(kernel, comm, data);
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
    const requestId = String(data.request_id ?? '');
    const panels = this.host.panelsFor(kernel);
    const reply = (type: string, extra: Data) =>
      comm.send({
        type,
        protocol: PROTOCOL,
        request_id: requestId,
        frontend_id: FRONTEND_ID,
        ...extra
      });
    const panel = panels[0];
    if (!panel || !panel.model) {
      reply('decline', { message: 'no notebook is open on this kernel here' });
      return;
    }
    const path = panel.context.localPath;
    if (isUntitled(path)) {
      reply('decline', {
        message: `${path || 'this notebook'} has no name yet: save it under a name first`
      });
      return;
    }
    try {
      await settled(panel, kernel, String(data.parent_msg_id ?? ''));
      const snapshot = panel.model.toJSON();
      const fingerprint = contentFingerprint(snapshot);
      let block: Data;
      let identity: string | null = null;
      if (data.signer === 'kernel') {
        const answer = await new Promise<Data>(resolve => {
          this._waiting.set(requestId, resolve);
          reply('model', { path, content: snapshot });
        });
        if (answer.type === 'error') {
          throw new Error(
            String(answer.message ?? 'the kernel could not sign')
          );
        }
        block = answer.sigstore;
        identity = answer.identity ?? null;
      } else {
        await this.host.ensureIdentity();
        const outputs = (Array.isArray(data.outputs) ? data.outputs : [])
          .map((rel: unknown) =>
            typeof rel === 'string' ? resolveRelative(path, rel) : null
          )
          .filter((p: string | null): p is string => !!p);
        const response = await postAPI<ISignResponse>('sign', {
          path,
          content: snapshot,
          outputs,
          countersign: !!data.countersign,
          instance: this.host.instance()
        });
        block = response.sigstore;
        identity = response.identity;
      }
      await applySignature(panel, block, fingerprint);
      const message = `signed by ${identity ?? 'you'} and saved`;
      reply('result', {
        status: 'signed',
        saved: true,
        path,
        identity,
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
        return;
      }
      const message = (error as Error).message;
      reply('result', { status: 'failed', saved: false, path, message });
      Notification.error(`${path}: not signed: ${message}`, {
        autoClose: false
      });
    }
  }

  private _registered = new WeakSet<Kernel.IKernelConnection>();
  private _waiting = new Map<string, (data: Data) => void>();
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
