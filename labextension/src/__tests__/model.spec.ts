import {
  addressedTo,
  badgeInfo,
  cellMarkers,
  changedCellIndices,
  changedCells,
  contentFingerprint,
  defaultOutputs,
  attestationView,
  describeAttestation,
  describeCell,
  describeDisplayed,
  describeOutput,
  displayedFiles,
  displayedToReport,
  hasUncheckedRemoteOutputs,
  OK_OUTPUTS_SHOWN,
  outputsToList,
  IAttestationReport,
  IKernelSignRequest,
  IOutputReport,
  isUntitled,
  IVerificationReport,
  IVerifyResponse,
  logLink,
  markerText,
  mustConfirm,
  parseSignRequest,
  pickNotebook,
  relativeTo,
  resolveOutputs,
  resolveRelative,
  shortHash,
  signers,
  signOutcome,
  SLSA_PROVENANCE_TYPE,
  TEST_RESULT_TYPE,
  unreproducedCellIndices,
  withTimeout
} from '../model';

function report(
  overrides: Partial<IVerificationReport> = {}
): IVerificationReport {
  return {
    version: 1,
    notebook: 'work/analysis.ipynb',
    status: 'verified',
    summary: 'signed by alice@example.com; notebook and 1 output(s) unchanged',
    signatures: [
      {
        source: 'metadata.sigstore.signatures[0]',
        valid: true,
        identity: 'alice@example.com',
        issuer: 'https://issuer.example',
        github: {},
        signed_at: '2026-01-01T00:00:00Z',
        log_index: 7,
        log_url: null,
        trusted_as: ['alice'],
        covers_current: true,
        error: null
      }
    ],
    cells: [
      {
        index: 0,
        status: 'ok',
        cell_type: 'markdown',
        cell_id: 'a',
        signed_index: 0
      },
      {
        index: 1,
        status: 'ok',
        cell_type: 'code',
        cell_id: 'b',
        signed_index: 1
      }
    ],
    outputs: [],
    notebook_changes: [],
    policy: null,
    instance: 'custom',
    ...overrides
  };
}

function response(
  r: IVerificationReport | null,
  error: string | null = null
): IVerifyResponse {
  return {
    path: 'work/analysis.ipynb',
    report: r,
    error,
    policy: { source: null, error: null, signers: [], require: [] }
  };
}

describe('badgeInfo', () => {
  it('names the signer when verified, in text and in the accessible name', () => {
    const info = badgeInfo(response(report()));
    expect(info.state).toBe('verified');
    expect(info.label).toBe('Verified: alice@example.com');
    expect(info.aria).toContain('Verified: alice@example.com');
    expect(info.aria).toContain('unchanged');
  });

  it('says modified, invalid, unsigned and untrusted in words', () => {
    expect(badgeInfo(response(report({ status: 'modified' }))).label).toBe(
      'Modified'
    );
    expect(
      badgeInfo(response(report({ status: 'invalid', signatures: [] }))).label
    ).toBe('Invalid signature');
    expect(
      badgeInfo(response(report({ status: 'unsigned', signatures: [] }))).label
    ).toBe('Unsigned');
    expect(
      badgeInfo(response(report({ status: 'untrusted-signer' }))).label
    ).toBe('Untrusted signer: alice@example.com');
  });

  it('explains why a notebook could not be verified', () => {
    const info = badgeInfo(response(null, 'broken.ipynb is not valid JSON'));
    expect(info.state).toBe('error');
    expect(info.label).toBe('Not verified');
    expect(info.title).toBe('broken.ipynb is not valid JSON');
    expect(info.aria).toContain('not valid JSON');
    expect(
      badgeInfo(null, 'error', 'cannot reach the Jupyter server').title
    ).toBe('cannot reach the Jupyter server');
    expect(badgeInfo(null, 'checking').label).toBe('Checking…');
  });

  it('never trusts what a notebook claims: only the report status counts', () => {
    const r = report({
      status: 'unsigned',
      signatures: [],
      summary: 'verified!'
    });
    expect(badgeInfo(response(r)).state).toBe('unsigned');
  });
});

describe('signers', () => {
  it('lists valid identities once', () => {
    const r = report();
    r.signatures.push({ ...r.signatures[0] });
    r.signatures.push({
      ...r.signatures[0],
      valid: false,
      identity: 'mallory@example.com'
    });
    expect(signers(r)).toEqual(['alice@example.com']);
  });
  it('leaves out history once another signature covers this version', () => {
    const r = report();
    r.signatures[0] = { ...r.signatures[0], covers_current: false };
    r.signatures.push({
      ...r.signatures[0],
      identity: 'bob@example.com',
      covers_current: true
    });
    expect(signers(r)).toEqual(['bob@example.com']);
    expect(badgeInfo(response(r)).label).toBe('Verified: bob@example.com');
    // a modified notebook: nothing covers it, every signer is named
    r.signatures[1] = { ...r.signatures[1], covers_current: false };
    expect(signers(r)).toEqual(['alice@example.com', 'bob@example.com']);
  });
});

describe('logLink', () => {
  it('links public-good log entries to the log search', () => {
    const sig = {
      ...report().signatures[0],
      log_index: 123,
      log_url: 'https://search.sigstore.dev/?logIndex=123'
    };
    expect(logLink(sig)).toBe('https://search.sigstore.dev/?logIndex=123');
  });
  it('gives no link for private instances or odd URLs', () => {
    expect(logLink(report().signatures[0])).toBeNull();
    const sig = { ...report().signatures[0], log_url: 'javascript:alert(1)' };
    expect(logLink(sig)).toBeNull();
  });
});

describe('changed cells', () => {
  const r = report({
    status: 'modified',
    cells: [
      {
        index: 0,
        status: 'ok',
        cell_type: 'markdown',
        cell_id: null,
        signed_index: 0
      },
      {
        index: 1,
        status: 'modified',
        cell_type: 'code',
        cell_id: null,
        signed_index: 1
      },
      {
        index: 2,
        status: 'added',
        cell_type: 'code',
        cell_id: null,
        signed_index: null
      },
      {
        index: 3,
        status: 'removed',
        cell_type: 'code',
        cell_id: null,
        signed_index: 3
      }
    ]
  });
  it('marks modified and added cells (removed ones no longer exist)', () => {
    expect(changedCellIndices(r)).toEqual([1, 2]);
  });
  it('marks nothing for invalid or unsigned notebooks', () => {
    expect(changedCellIndices({ ...r, status: 'invalid' })).toEqual([]);
    expect(changedCellIndices(null)).toEqual([]);
  });
  it('describes cells with 1-based numbers', () => {
    expect(describeCell(r.cells[1])).toBe('Cell 2 (code): modified');
    expect(describeCell(r.cells[3])).toBe(
      'Cell 4 (code): removed since signing'
    );
  });
  it('labels marked cells with their 1-based number', () => {
    expect(changedCells(r).map(markerText)).toEqual([
      'Changed since signing (cell 2)',
      'Added since signing (cell 3)'
    ]);
  });
  it('numbers a removed cell as it was in the signed notebook', () => {
    const moved = { ...r.cells[3], index: 1, signed_index: 5 };
    expect(describeCell(moved)).toBe('Cell 6 (code): removed since signing');
  });
});

describe('paths', () => {
  it('resolves notebook-relative paths without leaving the root', () => {
    expect(resolveRelative('work/a.ipynb', 'results.csv')).toBe(
      'work/results.csv'
    );
    expect(resolveRelative('work/a.ipynb', './figs/x.png')).toBe(
      'work/figs/x.png'
    );
    expect(resolveRelative('work/a.ipynb', '../top.csv')).toBe('top.csv');
    expect(resolveRelative('a.ipynb', '../etc/passwd')).toBeNull();
    expect(resolveRelative('a.ipynb', '/etc/passwd')).toBeNull();
    expect(relativeTo('work/a.ipynb', 'work/figs/x.png')).toBe('figs/x.png');
    expect(relativeTo('a.ipynb', 'x.csv')).toBe('x.csv');
  });

  it('preselects default and tracked outputs once', () => {
    const metadata = {
      sigstore: { tracked: ['results.csv', 'figs/x.png', 42] }
    };
    expect(defaultOutputs('work/a.ipynb', ['results.csv'], metadata)).toEqual([
      'work/results.csv',
      'work/figs/x.png'
    ]);
    expect(defaultOutputs('a.ipynb', [], { sigstore: 'garbage' })).toEqual([]);
  });
});

describe('contentFingerprint', () => {
  it('ignores metadata.sigstore and key order, sees every other change', () => {
    const a = {
      cells: [{ source: 'x' }],
      metadata: { kernelspec: { name: 'p' } }
    };
    const b = {
      metadata: { sigstore: { signatures: [] }, kernelspec: { name: 'p' } },
      cells: [{ source: 'x' }]
    };
    expect(contentFingerprint(a)).toBe(contentFingerprint(b));
    const c = { ...a, cells: [{ source: 'y' }] };
    expect(contentFingerprint(a)).not.toBe(contentFingerprint(c));
  });
});

describe('kernel comm helpers', () => {
  it('acts on a hello or track without `to`, and on messages addressed to us', () => {
    expect(addressedTo({ type: 'track' }, 'fe-1')).toBe(true);
    expect(addressedTo({ type: 'hello', to: null }, 'fe-1')).toBe(true);
    expect(addressedTo({ type: 'track', to: 'fe-1' }, 'fe-1')).toBe(true);
    expect(addressedTo({ type: 'track', to: 'fe-2' }, 'fe-1')).toBe(false);
  });
  it('never acts on a sign request that names no front end, or another one', () => {
    expect(addressedTo({ type: 'sign' }, 'fe-1')).toBe(false);
    expect(addressedTo({ type: 'sign', to: null }, 'fe-1')).toBe(false);
    expect(addressedTo({ type: 'sign', to: '' }, 'fe-1')).toBe(false);
    expect(addressedTo({ type: 'sign', to: 'fe-2' }, 'fe-1')).toBe(false);
    expect(addressedTo({ type: 'sign', to: ['fe-1'] }, 'fe-1')).toBe(false);
    expect(addressedTo({ type: 'sign', to: 'fe-1' }, 'fe-1')).toBe(true);
    // the kernel's answers to one front end are addressed too
    expect(addressedTo({ type: 'signature' }, 'fe-1')).toBe(false);
    expect(addressedTo({ type: 'signature', to: 'fe-1' }, 'fe-1')).toBe(true);
  });
  it('refuses untitled notebooks', () => {
    expect(isUntitled('Untitled.ipynb')).toBe(true);
    expect(isUntitled('work/Untitled3.ipynb')).toBe(true);
    expect(isUntitled('work/analysis.ipynb')).toBe(false);
    expect(isUntitled('')).toBe(true);
  });
});

describe('withTimeout', () => {
  it('passes answers through and gives up on silence', async () => {
    await expect(withTimeout(Promise.resolve(3), 1000)).resolves.toBe(3);
    await expect(
      withTimeout(Promise.reject(new Error('no')), 1000)
    ).rejects.toThrow('no');
    await expect(withTimeout(new Promise(() => undefined), 10)).rejects.toThrow(
      'no answer from the server'
    );
  });
});

function attestation(
  overrides: Partial<IAttestationReport> = {}
): IAttestationReport {
  return {
    source: 'metadata.sigstore.signatures[1]',
    predicate_type: TEST_RESULT_TYPE,
    identity: 'ci@example.com',
    issuer: 'https://issuer.example',
    signed_at: '2026-01-02T00:00:00Z',
    log_index: 8,
    trusted_as: ['ci'],
    covers_current: true,
    predicate: {
      result: 'FAILED',
      failedTests: ['cell 4', 'output results.csv'],
      passedTests: ['cell 1']
    },
    ...overrides
  };
}

describe('reproductions', () => {
  it('describes a reproduction and an execution provenance in words', () => {
    expect(describeAttestation(attestation())).toBe(
      'Reproduction FAILED by ci@example.com: cell 4, output results.csv failed'
    );
    expect(
      describeAttestation(
        attestation({ predicate_type: SLSA_PROVENANCE_TYPE, predicate: {} })
      )
    ).toBe(
      'Execution provenance (SLSA v1) by alice@example.com'.replace(
        'alice',
        'ci'
      )
    );
  });
  it('marks the cells the newest reproduction of this version failed', () => {
    const older = attestation({
      predicate: { result: 'FAILED', failedTests: ['cell 2'] }
    });
    expect(
      unreproducedCellIndices(report({ attestations: [older, attestation()] }))
    ).toEqual([3]);
    expect(
      unreproducedCellIndices(
        report({ attestations: [attestation({ covers_current: false })] })
      )
    ).toEqual([]);
    expect(
      unreproducedCellIndices(
        report({ status: 'invalid', attestations: [attestation()] })
      )
    ).toEqual([]);
    expect(unreproducedCellIndices(report())).toEqual([]);
  });
});

function signRequest(
  overrides: Partial<IKernelSignRequest> = {}
): IKernelSignRequest {
  const parsed = parseSignRequest({
    type: 'sign',
    request_id: 'r1',
    to: 'fe-1',
    outputs: ['results.csv'],
    signer: 'frontend'
  });
  if (typeof parsed === 'string') {
    throw new Error(parsed);
  }
  return { ...parsed, ...overrides };
}

describe('kernel-initiated signing', () => {
  it('reads a sign request without trusting its shape', () => {
    const ok = parseSignRequest({
      request_id: 'r1',
      outputs: ['a.csv', 'a.csv', 'figs/b.png'],
      signer: 'kernel',
      identity: 'alice@example.com',
      countersign: 'yes',
      notebook: { path: '/srv/work/a.ipynb', name: 'a.ipynb' },
      parent_msg_id: 'm1'
    });
    expect(ok).toEqual({
      requestId: 'r1',
      outputs: ['a.csv', 'figs/b.png'],
      countersign: false,
      replace: false,
      signer: 'kernel',
      parentMsgId: 'm1',
      notebook: { path: '/srv/work/a.ipynb', name: 'a.ipynb' },
      claimedIdentity: 'alice@example.com'
    });
    expect(parseSignRequest({ outputs: [] })).toContain('request_id');
    expect(parseSignRequest({ request_id: 'r', outputs: 'x.csv' })).toContain(
      'outputs'
    );
    expect(parseSignRequest({ request_id: 'r', outputs: [3] })).toContain(
      'outputs'
    );
    expect(parseSignRequest({ request_id: 'r', signer: 'root' })).toContain(
      'unknown signer'
    );
    expect(
      parseSignRequest({ request_id: 'r', countersign: true, replace: true })
    ).toContain('cannot both');
    // only the kernel's own signer may claim an identity; the front end signs as itself
    const front = parseSignRequest({
      request_id: 'r',
      signer: 'frontend',
      identity: 'ceo@example.com'
    });
    expect(typeof front !== 'string' && front.claimedIdentity).toBeNull();
  });

  it('always asks, unless the user allowed this notebook; a replace always asks', () => {
    expect(mustConfirm(signRequest(), false)).toBe(true);
    expect(mustConfirm(signRequest(), true)).toBe(false);
    expect(mustConfirm(signRequest({ replace: true }), true)).toBe(true);
    expect(mustConfirm(signRequest({ signer: 'kernel' }), false)).toBe(true);
  });

  it('signs in the notebook the kernel names, never a guess among several', () => {
    const paths = ['work/a.ipynb', 'work/b.ipynb', 'work/a.ipynb'];
    expect(
      pickNotebook(paths, { path: '/srv/root/work/b.ipynb', name: 'b.ipynb' })
    ).toBe(1);
    // two views of one notebook: the first panel, once
    expect(pickNotebook(paths, { path: null, name: 'a.ipynb' })).toBe(0);
    expect(pickNotebook(paths, { path: null, name: null })).toBeNull();
    expect(
      pickNotebook(paths, { path: '/elsewhere/c.ipynb', name: 'c.ipynb' })
    ).toBeNull();
    // the longest matching path wins over a shorter suffix
    expect(
      pickNotebook(['b.ipynb', 'x/b.ipynb'], {
        path: '/r/x/b.ipynb',
        name: 'b.ipynb'
      })
    ).toBe(1);
    // "x/b.ipynb" is no suffix of "/r/xx/b.ipynb" at a folder boundary
    expect(
      pickNotebook(['x/b.ipynb', 'y/b.ipynb'], {
        path: '/r/xx/b.ipynb',
        name: 'b.ipynb'
      })
    ).toBeNull();
    // one notebook on the kernel (a stale hint after a rename): that one
    expect(
      pickNotebook(['new.ipynb'], { path: '/r/old.ipynb', name: 'old.ipynb' })
    ).toBe(0);
    expect(pickNotebook([], { path: null, name: null })).toBeNull();
  });

  it('keeps outputs that would leave the server root apart', () => {
    expect(
      resolveOutputs('work/a.ipynb', [
        'results.csv',
        '../top.csv',
        '../../etc/passwd',
        '/etc/shadow',
        './results.csv'
      ])
    ).toEqual({
      resolved: ['work/results.csv', 'top.csv'],
      outside: ['../../etc/passwd', '/etc/shadow']
    });
  });

  it('says what happened to earlier signatures', () => {
    expect(signOutcome({ identity: 'bob@example.com', kept: 0 })).toBe(
      'signed by bob@example.com and saved'
    );
    expect(
      signOutcome({ identity: 'bob@example.com', kept: 1, replaced: [] })
    ).toBe('signed by bob@example.com and saved; kept 1 earlier signature');
    expect(
      signOutcome({
        identity: 'bob@example.com',
        kept: 0,
        replaced: ['alice@example.com', 'bob@example.com']
      })
    ).toBe(
      'signed by bob@example.com and saved; replaced the earlier signatures by alice@example.com, bob@example.com'
    );
    expect(signOutcome({ identity: null, kept: 2 })).toBe(
      'signed by you and saved; kept 2 earlier signatures'
    );
  });
});

describe('attestations', () => {
  const base: IAttestationReport = {
    source: 'metadata.sigstore.attestations[0]',
    predicate_type: SLSA_PROVENANCE_TYPE,
    identity: 'ci@example.com',
    issuer: 'https://issuer.example',
    signed_at: '2026-01-02T00:00:00Z',
    log_index: 9,
    trusted_as: [],
    covers_current: true,
    predicate: {}
  };
  it('names execution provenance and reproductions, and any other type as it is', () => {
    expect(attestationView(base)).toEqual({
      kind: 'Execution provenance',
      result: null,
      failed: [],
      who: 'ci@example.com',
      when: '2026-01-02T00:00:00Z',
      trust: 'not trusted by the policy',
      about: 'about this version'
    });
    const repro = attestationView({
      ...base,
      predicate_type: TEST_RESULT_TYPE,
      trusted_as: ['reproducer'],
      covers_current: false,
      predicate: {
        result: 'FAILED',
        failedTests: ['cell 3', 7, 'output a.csv']
      }
    });
    expect(repro.kind).toBe('Reproduction');
    expect(repro.result).toBe('FAILED');
    expect(repro.failed).toEqual(['cell 3', 'output a.csv']);
    expect(repro.trust).toBe('trusted as reproducer');
    expect(repro.about).toBe('about an earlier version');
    const other = attestationView({
      ...base,
      predicate_type: 'https://example.com/other/v1',
      identity: null,
      predicate: { result: 'PASSED' }
    });
    expect(other.kind).toBe('https://example.com/other/v1');
    expect(other.result).toBeNull();
    expect(other.who).toBe('an unknown signer');
  });
  it('shortens hashes for display', () => {
    expect(shortHash('a'.repeat(64))).toBe(`${'a'.repeat(12)}…`);
    expect(shortHash('abc')).toBe('abc');
  });
});

describe('displayed files', () => {
  const r = report({
    status: 'modified',
    cells: [
      {
        index: 0,
        status: 'ok',
        cell_type: 'markdown',
        cell_id: null,
        signed_index: 0
      },
      {
        index: 1,
        status: 'modified',
        cell_type: 'code',
        cell_id: null,
        signed_index: 1
      }
    ],
    displayed: [
      { cell: 0, path: 'figs/acc.png', status: 'unsigned' },
      { cell: 0, path: 'figs/ok.png', status: 'signed' },
      { cell: 0, path: 'https://example.com/x.png', status: 'remote' },
      { cell: 1, path: 'figs/b.png', status: 'modified' },
      { cell: 2, path: '../../etc/x.png', status: 'outside' }
    ]
  });
  it('lists what a reader should know, numbered from 1', () => {
    expect(displayedToReport(r).map(describeDisplayed)).toEqual([
      'Cell 1 shows figs/acc.png: not signed',
      'Cell 1 shows https://example.com/x.png: a remote URL, not checked',
      'Cell 2 shows figs/b.png: changed since signing',
      "Cell 3 shows ../../etc/x.png: outside the notebook's folder, not signed"
    ]);
  });
  it('offers the local files it displays as outputs to sign', () => {
    const shown = report({
      displayed: [
        { cell: 0, path: 'figs/acc.png', status: 'unsigned' },
        { cell: 1, path: './figs/acc.png?v=2', status: 'signed' },
        { cell: 1, path: 'figs/a%20b.png', status: 'modified' },
        { cell: 2, path: 'https://example.com/x.png', status: 'remote' },
        { cell: 2, path: '../../x.png', status: 'outside' }
      ]
    });
    expect(displayedFiles('work/a.ipynb', shown)).toEqual([
      'work/figs/acc.png',
      'work/figs/a b.png'
    ]);
    expect(displayedFiles('work/a.ipynb', null)).toEqual([]);
  });
  it('marks changed cells and cells showing uncovered local files, once each', () => {
    const markers = cellMarkers(r);
    expect(markers.map(m => [m.index, m.lines])).toEqual([
      [0, ['Shows figs/acc.png: not signed']],
      [
        1,
        [
          'Changed since signing (cell 2)',
          'Shows figs/b.png: changed since signing'
        ]
      ],
      [2, ["Shows ../../etc/x.png: outside the notebook's folder, not signed"]]
    ]);
    expect(markers[1].changed?.index).toBe(1);
    expect(markers[0].changed).toBeNull();
    expect(markers[1].title).toBe(
      'Cell 2 (code): modified since signing; Shows figs/b.png: changed since signing (see the Sigstore sidebar)'
    );
    expect(cellMarkers(null)).toEqual([]);
  });
});

describe('cell markers and reproductions', () => {
  it('labels an unchanged cell the newest reproduction failed, in words and 1-based', () => {
    const repro: IAttestationReport = {
      source: 'metadata.sigstore.signatures[1]',
      predicate_type: TEST_RESULT_TYPE,
      identity: 'ci@example.com',
      issuer: 'https://issuer.example',
      signed_at: null,
      log_index: null,
      trusted_as: [],
      covers_current: true,
      predicate: { result: 'FAILED', failedTests: ['cell 1', 'cell 2'] }
    };
    const r = report({
      cells: [
        { ...report().cells[0] },
        { ...report().cells[1], status: 'modified' }
      ],
      attestations: [repro]
    });
    const markers = cellMarkers(r);
    expect(markers.map(m => [m.index, m.unreproduced, m.lines])).toEqual([
      [0, true, ['Did not reproduce (cell 1)']],
      [1, false, ['Changed since signing (cell 2)']]
    ]);
    expect(markers[0].title).toBe(
      'Cell 1: the newest reproduction of this version did not reproduce it (see the Sigstore sidebar)'
    );
  });
});

describe('data outputs', () => {
  const out = (o: Partial<IOutputReport>): IOutputReport => ({
    path: 'results.csv',
    status: 'ok',
    expected_sha256:
      'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    actual_sha256:
      'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    error: null,
    ...o
  });
  it('says each as the CLI does (render.output_line without "output ")', () => {
    expect(describeOutput(out({}))).toBe('results.csv: ok');
    expect(
      describeOutput(
        out({
          status: 'modified',
          actual_sha256:
            'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'
        })
      )
    ).toBe(
      'results.csv: modified (sha256 was aaaaaaaaaaaa…, now bbbbbbbbbbbb…)'
    );
    expect(
      describeOutput(
        out({ status: 'missing', actual_sha256: null, error: 'gone' })
      )
    ).toBe('results.csv: missing (gone)');
  });
  it('names a remote output not read on open, and the signed version', () => {
    const unchecked = out({
      path: 's3://team/run-42/a.parquet',
      status: 'not-checked',
      actual_sha256: null,
      remote: true,
      error: 'not checked on open: check it with the command'
    });
    expect(describeOutput(unchecked)).toBe(
      's3://team/run-42/a.parquet: not checked on open: check it with the command'
    );
    const changed = out({
      path: 's3://team/run-42/a.parquet',
      status: 'modified',
      actual_sha256:
        'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
      remote: true,
      version_id: 'v3',
      signed_version_exists: true
    });
    expect(describeOutput(changed)).toBe(
      's3://team/run-42/a.parquet: modified (sha256 was aaaaaaaaaaaa…, now bbbbbbbbbbbb…); the signed version still exists as version v3'
    );
    expect(describeOutput({ ...changed, signed_version_exists: false })).toBe(
      's3://team/run-42/a.parquet: modified (sha256 was aaaaaaaaaaaa…, now bbbbbbbbbbbb…); the signed version v3 no longer exists with the signed bytes'
    );
    expect(hasUncheckedRemoteOutputs(report({ outputs: [unchecked] }))).toBe(
      true
    );
    expect(hasUncheckedRemoteOutputs(report({ outputs: [changed] }))).toBe(
      false
    );
    expect(hasUncheckedRemoteOutputs(null)).toBe(false);
  });
});

describe('outputsToList', () => {
  const ok = (n: number): IOutputReport => ({
    path: `parts/p${n}.csv`,
    status: 'ok',
    expected_sha256: 'a'.repeat(64),
    actual_sha256: 'a'.repeat(64),
    error: null
  });
  it('names every problem and the first ok outputs, and counts the rest', () => {
    const outputs = Array.from({ length: OK_OUTPUTS_SHOWN + 50 }, (_, n) =>
      ok(n)
    );
    outputs[OK_OUTPUTS_SHOWN + 40] = {
      ...ok(OK_OUTPUTS_SHOWN + 40),
      status: 'missing',
      actual_sha256: null
    };
    const { shown, moreOk } = outputsToList(outputs);
    expect(shown.length).toBe(OK_OUTPUTS_SHOWN + 1);
    expect(shown[shown.length - 1].status).toBe('missing');
    expect(moreOk).toBe(49);
    expect(outputsToList(outputs.slice(0, 3))).toEqual({
      shown: outputs.slice(0, 3),
      moreOk: 0
    });
  });
});
