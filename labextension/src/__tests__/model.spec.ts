import {
  addressedTo,
  badgeInfo,
  changedCellIndices,
  contentFingerprint,
  defaultOutputs,
  describeAttestation,
  describeCell,
  IAttestationReport,
  isUntitled,
  IVerificationReport,
  IVerifyResponse,
  logLink,
  relativeTo,
  resolveRelative,
  signers,
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
  it('accepts broadcasts and messages addressed to us only', () => {
    expect(addressedTo({}, 'fe-1')).toBe(true);
    expect(addressedTo({ to: 'fe-1' }, 'fe-1')).toBe(true);
    expect(addressedTo({ to: 'fe-2' }, 'fe-1')).toBe(false);
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
