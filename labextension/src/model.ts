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
  /** False for a signature kept as history: it covers an earlier version. */
  covers_current: boolean;
  /** The canonical profile it was made with (v1 signatures draw a warning). */
  profile?: string | null;
  error: string | null;
  /** For a signature made by `jupyter-sigstore run`: a summary of its execution record. */
  execution?: string | null;
}

/** A verified attestation that is not a notebook signature (execution provenance, reproduction). */
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
  /** Relative to the notebook, or the URL of an output on object storage. */
  path: string;
  /** `not-checked`: an output named by URL that was not read (`error` says why). */
  status: 'ok' | 'modified' | 'missing' | 'added' | 'not-checked';
  expected_sha256: string | null;
  actual_sha256: string | null;
  error: string | null;
  remote?: boolean;
  /** The store's version id the signature names (remote outputs on versioned buckets). */
  version_id?: string | null;
  /** For a remote output that changed or went: whether the signed version still holds the signed bytes. */
  signed_version_exists?: boolean | null;
}

/** A file or URL a cell displays from outside the notebook; `cell` is 0-based. */
export interface IDisplayedFileReport {
  cell: number;
  path: string;
  status: 'signed' | 'modified' | 'unsigned' | 'remote' | 'outside';
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
  /** Required roles that no distinct trusted signer fills. */
  missing_roles?: string[];
  warnings?: string[];
  attestations?: IAttestationReport[];
  /** Files and URLs the notebook displays (markdown images, HTML src...). */
  displayed?: IDisplayedFileReport[];
  instance: string | null;
}

/** A project policy file found beside the notebook that the user has not approved (yet). */
export interface IPendingPolicy {
  /** Its contents path. */
  path: string;
  /** The sha256 of its bytes as shown: an approval must name it. */
  sha256: string;
  message: string;
  /** What approving it would trust. */
  description?: string;
  /** Why it cannot be used (then it cannot be approved either). */
  error?: string;
}

export interface IPolicyInfo {
  source: string | null;
  error: string | null;
  signers: { name: string; description: string }[];
  require: string[];
  pending?: IPendingPolicy | null;
  description?: string | null;
  warnings?: string[];
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

/**
 * The identities of the valid signatures, without repeats: those that cover this version when any
 * does (the others are history), else all of them.
 */
export function signers(report: IVerificationReport): string[] {
  const valid = report.signatures.filter(s => s.valid && s.identity);
  const current = valid.filter(s => s.covers_current);
  const names = (current.length ? current : valid).map(
    s => s.identity as string
  );
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

/** Cells of the current notebook that are modified or added since signing (to be marked). */
export function changedCells(
  report: IVerificationReport | null
): ICellReport[] {
  if (
    !report ||
    (report.status !== 'modified' &&
      report.status !== 'verified' &&
      report.status !== 'untrusted-signer')
  ) {
    return [];
  }
  return report.cells.filter(
    c => c.status === 'modified' || c.status === 'added'
  );
}

/** Indices (0-based, in the current notebook) of cells that are modified or added since signing. */
export function changedCellIndices(
  report: IVerificationReport | null
): number[] {
  return changedCells(report).map(c => c.index);
}

/** The label shown on a changed cell, e.g. "Changed since signing (cell 3)". Numbers are 1-based. */
export function markerText(cell: ICellReport): string {
  const what = cell.status === 'added' ? 'Added' : 'Changed';
  return `${what} since signing (cell ${cell.index + 1})`;
}

/**
 * One line per data output, as the CLI says it: e.g. "results.csv: modified (sha256 was ab12…,
 * now 9f3c…)", "s3://b/x.parquet: not checked: …; the signed version still exists as version 3".
 */
export function describeOutput(out: IOutputReport): string {
  let line: string;
  if (out.status === 'modified' && out.expected_sha256 && out.actual_sha256) {
    line = `${out.path}: modified (sha256 was ${shortHash(out.expected_sha256)}, now ${shortHash(out.actual_sha256)})`;
  } else if (out.status === 'not-checked') {
    line = `${out.path}: ${out.error || 'not checked'}`;
  } else {
    line = `${out.path}: ${out.status}${out.error ? ` (${out.error})` : ''}`;
  }
  if (out.version_id && typeof out.signed_version_exists === 'boolean') {
    line += out.signed_version_exists
      ? `; the signed version still exists as version ${out.version_id}`
      : `; the signed version ${out.version_id} no longer exists with the signed bytes`;
  }
  return line;
}

/** How many `ok` outputs the sidebar names one by one (as the CLI's text report does). */
export const OK_OUTPUTS_SHOWN = 20;

/**
 * The outputs a person should see named: every one that is not `ok`, and the first
 * OK_OUTPUTS_SHOWN that are; `moreOk` counts the others (100,000 outputs are not 100,000 rows).
 */
export function outputsToList(outputs: IOutputReport[]): {
  shown: IOutputReport[];
  moreOk: number;
} {
  const shown: IOutputReport[] = [];
  let ok = 0;
  for (const out of outputs) {
    if (out.status === 'ok' && ++ok > OK_OUTPUTS_SHOWN) {
      continue;
    }
    shown.push(out);
  }
  return { shown, moreOk: Math.max(0, ok - OK_OUTPUTS_SHOWN) };
}

/** Whether a report has outputs named by URL that were not read (the sidebar offers to check them). */
export function hasUncheckedRemoteOutputs(
  report: IVerificationReport | null
): boolean {
  return (report?.outputs ?? []).some(o => o.status === 'not-checked');
}

const SHOWN: Record<IDisplayedFileReport['status'], string> = {
  signed: 'signed',
  modified: 'changed since signing',
  unsigned: 'not signed',
  outside: "outside the notebook's folder, not signed",
  remote: 'a remote URL, not checked'
};

/** e.g. "Cell 4 shows figs/acc.png: not signed" (1-based, as the CLI says it). */
export function describeDisplayed(shown: IDisplayedFileReport): string {
  return `Cell ${shown.cell + 1} shows ${shown.path}: ${SHOWN[shown.status] ?? shown.status}`;
}

/** Displayed files a reader should know about: all but those a signature covers unchanged. */
export function displayedToReport(
  report: IVerificationReport | null
): IDisplayedFileReport[] {
  return (report?.displayed ?? []).filter(d => d.status !== 'signed');
}

/**
 * Contents paths of the local files a notebook displays (markdown images, HTML src...), as the
 * latest verification found them: the sign dialog offers them as outputs, preselected.
 */
export function displayedFiles(
  notebookPath: string,
  report: IVerificationReport | null
): string[] {
  const found: string[] = [];
  for (const shown of report?.displayed ?? []) {
    if (shown.status === 'remote' || shown.status === 'outside') {
      continue;
    }
    let target = shown.path.split(/[?#]/)[0];
    try {
      target = decodeURIComponent(target);
    } catch {
      // not %-encoded: as written
    }
    const path = resolveRelative(notebookPath, target);
    if (path && !found.includes(path)) {
      found.push(path);
    }
  }
  return found;
}

/**
 * What to mark on one cell: changed since signing, not reproduced by the newest reproduction of
 * this version, and/or showing files no signature covers.
 */
export interface ICellMarker {
  /** 0-based position in the current notebook. */
  index: number;
  changed: ICellReport | null;
  /** The newest reproduction of this version failed this cell (an unchanged one). */
  unreproduced: boolean;
  /** One line each, e.g. "Changed since signing (cell 3)", "Shows figs/acc.png: not signed". */
  lines: string[];
  /** Tooltip. */
  title: string;
}

/**
 * The marker of every cell that changed since signing, did not reproduce, or displays a local file
 * no signature covers.
 */
export function cellMarkers(report: IVerificationReport | null): ICellMarker[] {
  const markers = new Map<number, ICellMarker>();
  const at = (index: number): ICellMarker => {
    let marker = markers.get(index);
    if (!marker) {
      marker = {
        index,
        changed: null,
        unreproduced: false,
        lines: [],
        title: ''
      };
      markers.set(index, marker);
    }
    return marker;
  };
  for (const cell of changedCells(report)) {
    const marker = at(cell.index);
    marker.changed = cell;
    marker.lines.push(markerText(cell));
  }
  const changed = new Set(markers.keys());
  for (const index of unreproducedCellIndices(report)) {
    if (!changed.has(index)) {
      // a changed cell is no longer the one that was reproduced: its change says more
      const marker = at(index);
      marker.unreproduced = true;
      marker.lines.push(`Did not reproduce (cell ${index + 1})`);
    }
  }
  for (const shown of displayedToReport(report)) {
    if (shown.status === 'remote') {
      continue; // listed in the sidebar; not fetched, so nothing to say about this copy
    }
    at(shown.cell).lines.push(`Shows ${shown.path}: ${SHOWN[shown.status]}`);
  }
  for (const marker of markers.values()) {
    const parts = marker.changed
      ? [`${describeCell(marker.changed)} since signing`]
      : [];
    parts.push(...marker.lines.slice(marker.changed ? 1 : 0));
    if (marker.unreproduced) {
      parts[parts.indexOf(`Did not reproduce (cell ${marker.index + 1})`)] =
        `Cell ${marker.index + 1}: the newest reproduction of this version did not reproduce it`;
    }
    marker.title = `${parts.join('; ')} (see the Sigstore sidebar)`;
  }
  return Array.from(markers.values()).sort((a, b) => a.index - b.index);
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

/** Kernel messages that every front end may act on when they carry no `to` (docs/kernel-protocol.md). */
const BROADCAST_TYPES = ['hello', 'track'];

/**
 * Whether a kernel comm message is meant for the front end `frontendId`: a message naming it in `to`;
 * and, without `to`, only `hello` and `track`. A `sign` without `to` is never acted on, so one
 * request signs in at most one front end.
 */
export function addressedTo(
  data: { to?: unknown; type?: unknown },
  frontendId: string
): boolean {
  if (data.to === undefined || data.to === null) {
    return BROADCAST_TYPES.includes(String(data.type));
  }
  return data.to === frontendId;
}

/** A kernel's `sign` request, checked (docs/kernel-protocol.md). Nothing in it is trusted. */
export interface IKernelSignRequest {
  requestId: string;
  /** Notebook-relative POSIX paths, as the kernel sent them. */
  outputs: string[];
  countersign: boolean;
  replace: boolean;
  /** `kernel`: the kernel signs with its own identity; `frontend`: this front end signs. */
  signer: 'kernel' | 'frontend';
  parentMsgId: string;
  /** What the kernel believes its notebook is (a hint). */
  notebook: { path: string | null; name: string | null };
  /** The identity the kernel says it will sign with (signer `kernel`): its claim, shown as such. */
  claimedIdentity: string | null;
}

/** Check a `sign` message; a one-line reason when it is malformed. */
export function parseSignRequest(
  data: Record<string, unknown>
): IKernelSignRequest | string {
  const requestId = data.request_id;
  if (typeof requestId !== 'string' || !requestId) {
    return 'the signing request has no request_id';
  }
  const outputs = data.outputs ?? [];
  if (
    !Array.isArray(outputs) ||
    !outputs.every(o => typeof o === 'string' && o !== '')
  ) {
    return "the signing request's outputs are not a list of file names";
  }
  const signer = data.signer ?? 'frontend';
  if (signer !== 'kernel' && signer !== 'frontend') {
    return `unknown signer ${JSON.stringify(signer)}`;
  }
  if (data.countersign && data.replace) {
    return 'a request cannot both countersign and replace the earlier signatures';
  }
  const hint =
    data.notebook && typeof data.notebook === 'object'
      ? (data.notebook as Record<string, unknown>)
      : {};
  const text = (v: unknown) => (typeof v === 'string' && v ? v : null);
  return {
    requestId,
    outputs: Array.from(new Set(outputs as string[])),
    countersign: data.countersign === true,
    replace: data.replace === true,
    signer,
    parentMsgId: text(data.parent_msg_id) ?? '',
    notebook: { path: text(hint.path), name: text(hint.name) },
    claimedIdentity: signer === 'kernel' ? text(data.identity) : null
  };
}

/**
 * Whether a kernel-initiated signature needs the user's confirmation now: always, unless the user
 * allowed this notebook (until it is closed) -- and even then a request to replace every earlier
 * signature asks again.
 */
export function mustConfirm(
  request: IKernelSignRequest,
  allowedForNotebook: boolean
): boolean {
  return !allowedForNotebook || request.replace;
}

/**
 * Which of the notebooks open on a kernel (contents paths, one per panel) a request is about: the
 * one the kernel's hint names (the longest path that is a suffix of it, or else its file name),
 * else the only notebook open on that kernel. Null when that is ambiguous or none is open.
 */
export function pickNotebook(
  paths: string[],
  hint: { path: string | null; name: string | null }
): number | null {
  const distinct = Array.from(new Set(paths));
  const unique = (candidates: string[]): number | null =>
    candidates.length === 1 ? paths.indexOf(candidates[0]) : null;
  if (hint.path) {
    const full = hint.path.replace(/\\/g, '/');
    const matches = distinct.filter(p => full === p || full.endsWith(`/${p}`));
    if (matches.length) {
      const longest = Math.max(...matches.map(p => p.length));
      return unique(matches.filter(p => p.length === longest));
    }
  }
  if (hint.name) {
    const named = distinct.filter(p => p.split('/').pop() === hint.name);
    if (named.length) {
      return unique(named);
    }
  }
  return unique(distinct);
}

/** Notebook-relative output names as contents paths; those that would leave the server root apart. */
export function resolveOutputs(
  notebookPath: string,
  outputs: string[]
): { resolved: string[]; outside: string[] } {
  const resolved: string[] = [];
  const outside: string[] = [];
  for (const rel of outputs) {
    const path = resolveRelative(notebookPath, rel);
    if (path === null) {
      outside.push(rel);
    } else if (!resolved.includes(path)) {
      resolved.push(path);
    }
  }
  return { resolved, outside };
}

/** What a finished signature did to the earlier ones, for the success message. */
export function signOutcome(answer: {
  identity: string | null;
  kept?: number;
  replaced?: string[];
}): string {
  let text = `signed by ${answer.identity ?? 'you'} and saved`;
  const kept = answer.kept ?? 0;
  const replaced = answer.replaced ?? [];
  if (kept) {
    text += `; kept ${kept} earlier signature${kept === 1 ? '' : 's'}`;
  }
  if (replaced.length) {
    text += `; replaced the earlier signature${replaced.length === 1 ? '' : 's'} by ${replaced.join(', ')}`;
  }
  return text;
}

/** An attestation in words, without assuming more of its predicate than its type defines. */
export interface IAttestationView {
  /** "Execution provenance", "Reproduction", or the predicate type. */
  kind: string;
  /** A reproduction's `result` (PASSED, WARNED, FAILED), if it has one. */
  result: string | null;
  /** A reproduction's `failedTests`, as recorded. */
  failed: string[];
  who: string;
  when: string | null;
  trust: string;
  /** Whether it is about the notebook as it is now. */
  about: string;
}

/** The parts of an attestation the sidebar's card shows (see `describeAttestation` for one line). */
export function attestationView(att: IAttestationReport): IAttestationView {
  const predicate = att.predicate ?? {};
  let kind = att.predicate_type;
  let result: string | null = null;
  let failed: string[] = [];
  if (att.predicate_type === SLSA_PROVENANCE_TYPE) {
    kind = 'Execution provenance';
  } else if (att.predicate_type === TEST_RESULT_TYPE) {
    kind = 'Reproduction';
    result = typeof predicate.result === 'string' ? predicate.result : null;
    failed = failedTests(att);
  }
  return {
    kind,
    result,
    failed,
    who: att.identity ?? 'an unknown signer',
    when: att.signed_at,
    trust: att.trusted_as.length
      ? `trusted as ${att.trusted_as.join(', ')}`
      : 'not trusted by the policy',
    about: att.covers_current
      ? 'about this version'
      : 'about an earlier version'
  };
}

/** The first 12 hex digits of a sha256, for display beside the full value in a tooltip. */
export function shortHash(sha256: string): string {
  return sha256.length > 12 ? `${sha256.slice(0, 12)}…` : sha256;
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
