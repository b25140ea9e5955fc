/**
 * Shapes of the server's REST answers (the VerificationReport JSON every surface renders) and the
 * pure logic the widgets use. Nothing here touches the DOM or JupyterLab, so jest tests it directly.
 */

export type Status =
  'verified' | 'untrusted-signer' | 'modified' | 'invalid' | 'unsigned';

export interface ISignatureReport {
  source: string;
  valid: boolean;
  identity: string | null;
  issuer: string | null;
  github: Record<string, string>;
  signed_at: string | null;
  log_index: number | null;
  log_url: string | null;
  trusted_as: string[];
  covers_current: boolean;
  error: string | null;
  /** For a signature made by `jupyter-sigstore run`: a summary of its execution record. */
  execution?: string | null;
}

/** An attestation that is not a notebook signature: an execution provenance, a reproduction. */
export interface IAttestationReport {
  source: string;
  predicate_type: string;
  identity: string | null;
  issuer: string | null;
  signed_at: string | null;
  log_index: number | null;
  trusted_as: string[];
  covers_current: boolean;
  predicate: Record<string, unknown>;
}

export const TEST_RESULT_TYPE =
  'https://in-toto.io/attestation/test-result/v0.1';
export const SLSA_PROVENANCE_TYPE = 'https://slsa.dev/provenance/v1';

export interface ICellReport {
  index: number;
  status: 'ok' | 'modified' | 'added' | 'removed';
  cell_type: string;
  cell_id: string | null;
  signed_index: number | null;
}

export interface IOutputReport {
  path: string;
  status: 'ok' | 'modified' | 'missing' | 'added';
  expected_sha256: string | null;
  actual_sha256: string | null;
  error: string | null;
}

export interface IVerificationReport {
  version: number;
  notebook: string;
  status: Status;
  summary: string;
  signatures: ISignatureReport[];
  cells: ICellReport[];
  outputs: IOutputReport[];
  notebook_changes: string[];
  policy: string | null;
  instance: string | null;
  missing_roles?: string[];
  attestations?: IAttestationReport[];
}

export interface IPolicyInfo {
  source: string | null;
  error: string | null;
  signers: { name: string; description: string }[];
  require: string[];
}

/** GET /jupyter-sigstore/verify */
export interface IVerifyResponse {
  path: string;
  report: IVerificationReport | null;
  error: string | null;
  policy: IPolicyInfo;
}

/** POST /jupyter-sigstore/sign */
export interface ISignResponse {
  identity: string | null;
  sigstore: Record<string, unknown>;
  notebook_digest: string;
  outputs: { path: string; sha256: string; size: number }[];
  log_index: number | null;
  kept: number;
  replaced: string[];
}

/** A login flow as the server shows it (no secret in it). */
export interface ILoginFlow {
  id: string;
  kind: 'browser' | 'device' | 'oob';
  status: 'pending' | 'done' | 'failed' | 'cancelled';
  error: string | null;
  identity: string | null;
  expires_in: number;
  auth_url?: string;
  user_code?: string;
  verification_uri?: string;
  verification_uri_complete?: string | null;
}

export interface ILoginStatus {
  identity: string | null;
  issuer: string | null;
  source: string | null;
  expires_in: number | null;
  methods: {
    ambient: boolean;
    browser: boolean;
    device: boolean;
    oob: boolean;
  };
}

/** What the badge shows. `state` adds the states that are not verdicts. */
export type BadgeState = Status | 'checking' | 'error' | 'off';

export interface IBadgeInfo {
  state: BadgeState;
  /** Short visible text (never colour alone). */
  label: string;
  /** The accessible name: status and reason in words. */
  aria: string;
  /** Tooltip: the report's summary or the reason verification could not run. */
  title: string;
}

const LABELS: Record<BadgeState, string> = {
  verified: 'Verified',
  'untrusted-signer': 'Untrusted signer',
  modified: 'Modified',
  invalid: 'Invalid signature',
  unsigned: 'Unsigned',
  checking: 'Checking…',
  error: 'Not verified',
  off: 'Verify'
};

/** The identities of the valid signatures, without repeats. */
export function signers(report: IVerificationReport): string[] {
  const names = report.signatures
    .filter(s => s.valid && s.identity)
    .map(s => s.identity as string);
  return Array.from(new Set(names));
}

/** Badge text, accessible name and tooltip for a verification answer (or its absence). */
export function badgeInfo(
  response: IVerifyResponse | null,
  state?: 'checking' | 'off' | 'error',
  error?: string
): IBadgeInfo {
  if (state === 'checking') {
    return info('checking', 'Sigstore provenance: checking…', 'Verifying…');
  }
  if (state === 'off') {
    return info(
      'off',
      'Sigstore provenance: not verified yet (automatic verification is off)',
      'Click to verify'
    );
  }
  if (state === 'error' || !response || !response.report) {
    const why = error || response?.error || 'verification could not run';
    return info('error', `Sigstore provenance: not verified - ${why}`, why);
  }
  const report = response.report;
  const who = signers(report);
  let label = LABELS[report.status] ?? report.status;
  if (report.status === 'verified' && who.length) {
    label = `Verified: ${who.join(', ')}`;
  } else if (report.status === 'untrusted-signer' && who.length) {
    label = `Untrusted signer: ${who.join(', ')}`;
  }
  return {
    state: report.status,
    label,
    aria: `Sigstore provenance: ${label} - ${report.summary}`,
    title: report.summary
  };
}

function info(state: BadgeState, aria: string, title: string): IBadgeInfo {
  return { state, label: LABELS[state], aria, title };
}

/** The log-search link of a signature: only the public-good instance has one. */
export function logLink(sig: ISignatureReport): string | null {
  if (sig.log_index === null || sig.log_index === undefined) {
    return null;
  }
  if (sig.log_url && sig.log_url.startsWith('https://search.sigstore.dev/')) {
    return `https://search.sigstore.dev/?logIndex=${encodeURIComponent(
      String(sig.log_index)
    )}`;
  }
  return null;
}

/** Indices (in the current notebook) of cells that are modified or added since signing. */
export function changedCellIndices(
  report: IVerificationReport | null
): number[] {
  if (
    !report ||
    (report.status !== 'modified' &&
      report.status !== 'verified' &&
      report.status !== 'untrusted-signer')
  ) {
    return [];
  }
  return report.cells
    .filter(c => c.status === 'modified' || c.status === 'added')
    .map(c => c.index);
}

/** One human line per changed cell, e.g. "Cell 3 (code): modified". Numbers are 1-based. */
export function describeCell(cell: ICellReport): string {
  const n =
    (cell.status === 'removed'
      ? (cell.signed_index ?? cell.index)
      : cell.index) + 1;
  const what =
    cell.status === 'removed' ? 'removed since signing' : cell.status;
  return `Cell ${n} (${cell.cell_type}): ${what}`;
}

/** The folder of a contents path ('' for the root). */
export function dirname(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/**
 * Join a notebook-relative POSIX path onto the notebook's folder, giving a contents path;
 * null when it would leave the server root.
 */
export function resolveRelative(
  notebookPath: string,
  rel: string
): string | null {
  if (!rel || rel.startsWith('/')) {
    return null;
  }
  const parts = dirname(notebookPath)
    .split('/')
    .filter(p => p);
  for (const part of rel.split('/')) {
    if (part === '' || part === '.') {
      continue;
    }
    if (part === '..') {
      if (!parts.length) {
        return null;
      }
      parts.pop();
    } else {
      parts.push(part);
    }
  }
  return parts.join('/');
}

/** A contents path relative to the notebook's folder (for display in the sign dialog). */
export function relativeTo(notebookPath: string, path: string): string {
  const base = dirname(notebookPath);
  if (!base) {
    return path;
  }
  return path.startsWith(base + '/') ? path.slice(base.length + 1) : path;
}

/** Output paths the sign dialog preselects: the settings' defaults and metadata.sigstore.tracked. */
export function defaultOutputs(
  notebookPath: string,
  settingDefaults: string[],
  metadata: Record<string, unknown> | undefined
): string[] {
  const picked: string[] = [];
  const sig = metadata?.['sigstore'];
  const tracked =
    sig && typeof sig === 'object' && Array.isArray((sig as any).tracked)
      ? ((sig as any).tracked as unknown[])
      : [];
  for (const rel of [...settingDefaults, ...tracked]) {
    if (typeof rel !== 'string') {
      continue;
    }
    const resolved = resolveRelative(notebookPath, rel);
    if (resolved && !picked.includes(resolved)) {
      picked.push(resolved);
    }
  }
  return picked;
}

/**
 * A notebook's JSON without metadata.sigstore, serialised with sorted keys: used to tell whether
 * the editor's model changed while a signature was being made.
 */
export function contentFingerprint(content: unknown): string {
  const copy = JSON.parse(JSON.stringify(content ?? null));
  if (
    copy &&
    typeof copy === 'object' &&
    copy.metadata &&
    typeof copy.metadata === 'object'
  ) {
    delete copy.metadata.sigstore;
  }
  return stableStringify(copy);
}

function stableStringify(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map(stableStringify).join(',')}]`;
  }
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj)
      .sort()
      .map(k => `${JSON.stringify(k)}:${stableStringify(obj[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Whether a kernel comm message (docs/kernel-protocol.md) is meant for the front end `frontendId`. */
export function addressedTo(
  data: { to?: unknown },
  frontendId: string
): boolean {
  return data.to === undefined || data.to === null || data.to === frontendId;
}

/** A notebook the comm protocol refuses to sign: never saved under a real name. */
export function isUntitled(path: string): boolean {
  const name = path.split('/').pop() ?? '';
  return !name || /^Untitled.*\.ipynb$/.test(name);
}

/** Reject when `promise` has not settled after `ms` milliseconds. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(
            `no answer from the server after ${Math.round(ms / 1000)} s`
          )
        ),
      ms
    );
    promise.then(
      value => {
        clearTimeout(timer);
        resolve(value);
      },
      error => {
        clearTimeout(timer);
        reject(error);
      }
    );
  });
}

function failedTests(att: IAttestationReport): string[] {
  const failed = att.predicate?.failedTests;
  return Array.isArray(failed)
    ? failed.filter((t): t is string => typeof t === 'string')
    : [];
}

/**
 * One human line per attestation, e.g. "Reproduction FAILED by ci@example.com: cell 4, output
 * results.csv failed" or "Execution provenance (SLSA v1) by alice@example.com".
 */
export function describeAttestation(att: IAttestationReport): string {
  const who = att.identity ?? 'an unknown signer';
  if (att.predicate_type === TEST_RESULT_TYPE) {
    const result =
      typeof att.predicate?.result === 'string' ? att.predicate.result : '?';
    const failed = failedTests(att);
    const shown = failed.slice(0, 5).join(', ');
    const more = failed.length > 5 ? '…' : '';
    return `Reproduction ${result} by ${who}${failed.length ? `: ${shown}${more} failed` : ''}`;
  }
  if (att.predicate_type === SLSA_PROVENANCE_TYPE) {
    return `Execution provenance (SLSA v1) by ${who}`;
  }
  return `Attestation ${att.predicate_type} by ${who}`;
}

/** The newest reproduction (test result) that is about the notebook as it is, or null. */
export function latestReproduction(
  report: IVerificationReport | null
): IAttestationReport | null {
  const found = (report?.attestations ?? []).filter(
    a => a.predicate_type === TEST_RESULT_TYPE && a.covers_current
  );
  return found.length ? found[found.length - 1] : null;
}

/**
 * 0-based indices of the cells that the newest reproduction of this version failed to reproduce
 * (its failedTests name them "cell N", 1-based). Only a valid signature's report is trusted for this.
 */
export function unreproducedCellIndices(
  report: IVerificationReport | null
): number[] {
  if (
    !report ||
    (report.status !== 'verified' && report.status !== 'untrusted-signer')
  ) {
    return [];
  }
  const latest = latestReproduction(report);
  if (!latest) {
    return [];
  }
  const indices: number[] = [];
  for (const name of failedTests(latest)) {
    const match = /^cell (\d+)$/.exec(name);
    if (match) {
      indices.push(Number(match[1]) - 1);
    }
  }
  return indices;
}
