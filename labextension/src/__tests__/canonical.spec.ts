/**
 * The TypeScript implementation of canonical profile v2 (src/canonical.ts, written from
 * docs/canonical-profile-v2.md) against every test vector of tests/vectors/canonical-v2, which the
 * Python reference implementation wrote: same digests, same canonical bytes, same rejections.
 */
import { readFileSync } from 'fs';
import { join } from 'path';

import {
  CanonicalError,
  canonicalBytes,
  canonicalCell,
  canonicalMetadata,
  compareCodePoints,
  formatFloat,
  JsonObject,
  JsonValue,
  notebookDigests,
  parseJson,
  parseNotebook,
  widgetState
} from '../canonical';

interface IExpected {
  rule: string;
  error?: string;
  digest: string;
  metadata_digest: string;
  widgets_digest: string;
  cells: string[];
  canonical_metadata: string;
  canonical_widgets: string;
  canonical_cells: string[];
  base?: string;
  relation?: 'invariant' | 'sensitive';
  changed_cells?: number[];
  metadata_changed?: boolean;
  widgets_changed?: boolean;
}

const VECTORS = join(
  __dirname,
  '..',
  '..',
  '..',
  'tests',
  'vectors',
  'canonical-v2'
);
const EXPECTED: Record<string, IExpected> = JSON.parse(
  readFileSync(join(VECTORS, 'expected.json'), 'utf-8')
);
const names = Object.keys(EXPECTED).sort();
const valid = names.filter(name => EXPECTED[name].error === undefined);
const invalid = names.filter(name => EXPECTED[name].error !== undefined);
const related = valid.filter(name => EXPECTED[name].relation !== undefined);

function bytesOf(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(VECTORS, `${name}.ipynb`)));
}

const text = (value: JsonValue): string =>
  new TextDecoder().decode(canonicalBytes(value));

describe('canonical profile v2 vectors', () => {
  it('has the vectors', () => {
    expect(valid.length).toBeGreaterThan(90);
    expect(invalid.length).toBeGreaterThan(30);
  });

  it.each(valid)('%s: same canonical bytes and digests', async name => {
    const expected = EXPECTED[name];
    const nb = parseNotebook(bytesOf(name));
    const metadata =
      (nb.get('metadata') as JsonObject | undefined) ?? new Map();
    expect(text(canonicalMetadata(metadata))).toBe(expected.canonical_metadata);
    expect(text(widgetState(metadata))).toBe(expected.canonical_widgets);
    const cells = nb.get('cells') as JsonValue[];
    expect(cells.map((cell, i) => text(canonicalCell(cell, i)))).toEqual(
      expected.canonical_cells
    );
    const digests = await notebookDigests(bytesOf(name));
    expect(digests.cells).toEqual(expected.cells);
    expect(digests.metadataDigest).toBe(expected.metadata_digest);
    expect(digests.widgetsDigest).toBe(expected.widgets_digest);
    expect(digests.digest).toBe(expected.digest);
  });

  it.each(invalid)('%s: rejected', async name => {
    await expect(notebookDigests(bytesOf(name))).rejects.toBeInstanceOf(
      CanonicalError
    );
  });

  it.each(related)('%s: relation to its base holds', async name => {
    const vector = EXPECTED[name];
    const mine = await notebookDigests(bytesOf(name));
    const base = await notebookDigests(bytesOf(vector.base as string));
    expect(mine.digest === base.digest).toBe(vector.relation === 'invariant');
    const changed = mine.cells
      .map((digest, i) => (digest !== base.cells[i] ? i : -1))
      .filter(i => i >= 0);
    expect(changed).toEqual(vector.changed_cells);
    expect(mine.metadataDigest !== base.metadataDigest).toBe(
      vector.metadata_changed
    );
    expect(mine.widgetsDigest !== base.widgetsDigest).toBe(
      vector.widgets_changed
    );
  });
});

describe('what JSON.parse would get wrong', () => {
  it('keeps integers exact and apart from floats', () => {
    expect(
      text(parseJson('[1, 1.0, 1e2, -0, -0.0, 1234567890123456789]'))
    ).toBe('[1,1.0,100.0,0,-0.0,1234567890123456789]');
  });

  it('rounds long float literals correctly', () => {
    expect(text(parseJson('9007199254740993.00000000000000000001'))).toBe(
      '9007199254740994.0'
    );
  });

  it('keeps a member named __proto__ as data, the last duplicate winning', () => {
    expect(text(parseJson('{"__proto__": 1, "a": 2, "a": 3}'))).toBe(
      '{"__proto__":1,"a":3}'
    );
  });

  it('sorts member names by code point, not by UTF-16 unit', () => {
    expect(['\u{1F600}', '\ue000', 'a'].sort(compareCodePoints)).toEqual([
      'a',
      '\ue000',
      '\u{1F600}'
    ]);
    expect(['\u{1F600}', '\ue000'].sort()).toEqual(['\u{1F600}', '\ue000']);
  });

  it('writes floats as Python does', () => {
    const cases: [number, string][] = [
      [1e16, '1e+16'],
      [9999999999999998, '9999999999999998.0'],
      [1e-5, '1e-05'],
      [0.0001, '0.0001'],
      [1e21, '1e+21'],
      [-1.25e-10, '-1.25e-10'],
      [0.1 + 0.2, '0.30000000000000004'],
      [5e-324, '5e-324'],
      [1.7976931348623157e308, '1.7976931348623157e+308'],
      [123456789.123, '123456789.123'],
      [-0, '-0.0']
    ];
    for (const [value, expected] of cases) {
      expect(formatFloat(value)).toBe(expected);
    }
    expect(() => formatFloat(NaN)).toThrow(CanonicalError);
  });

  it('refuses an integer of more than 4300 digits', () => {
    expect(() => parseJson('9'.repeat(4301))).toThrow(CanonicalError);
    expect(text(parseJson('-' + '9'.repeat(4300)))).toBe(
      '-' + '9'.repeat(4300)
    );
  });
});
