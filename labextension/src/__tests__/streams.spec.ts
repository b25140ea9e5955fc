/**
 * @jest-environment jsdom
 */
/**
 * Cross-check of the Python lab_form (jupyter_sigstore/labform.py) against JupyterLab's own code: the
 * vectors in tests/vectors/labform/outputs.json were written by make_vectors.py from the Python
 * implementation; here the real OutputAreaModel (fromJSON, then toJSON) and JavaScript's JSON must
 * agree with them.
 */
import '@jupyterlab/testing/lib/jest-shim';
import { OutputAreaModel } from '@jupyterlab/outputarea/lib/model';
import * as nbformat from '@jupyterlab/nbformat';
import vectors from '../../../tests/vectors/labform/outputs.json';

interface IOutputsCase {
  name: string;
  in: nbformat.IOutput[];
  out?: nbformat.IOutput[];
  error?: string;
}

const LONE_SURROGATE =
  /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const INTEGER_LITERAL = /^-?\d+$/;

function throughOutputArea(outputs: nbformat.IOutput[]): nbformat.IOutput[] {
  const model = new OutputAreaModel();
  model.fromJSON(outputs);
  const result = JSON.parse(JSON.stringify(model.toJSON()));
  model.dispose();
  return result;
}

describe('lab_form output vectors against OutputAreaModel', () => {
  const cases = vectors.outputs as unknown as IOutputsCase[];

  it('has vectors', () => {
    expect(cases.length).toBeGreaterThan(400);
  });

  it.each(cases.map(c => [c.name, c] as [string, IOutputsCase]))(
    '%s',
    (_name, vector) => {
      const result = throughOutputArea(vector.in);
      if (vector.error !== undefined) {
        const texts = result.map(output =>
          nbformat.isStream(output) ? String(output.text) : ''
        );
        expect(texts.some(text => LONE_SURROGATE.test(text))).toBe(true);
      } else {
        expect(result).toStrictEqual(vector.out);
      }
    }
  );
});

describe('lab_form number vectors against JSON.parse and JSON.stringify', () => {
  const numbers = vectors.numbers as [string, string][];

  it.each(numbers)('%s', (literal, expected) => {
    const parsed = JSON.parse(literal) as number;
    if (expected === 'error') {
      expect(Number.isFinite(parsed)).toBe(false);
      return;
    }
    const written = JSON.stringify(parsed);
    if (expected === 'null' || INTEGER_LITERAL.test(expected)) {
      // Python reads an integer literal exactly: the digits must be the same
      expect(written).toBe(expected);
    } else {
      // Python reads a float: the same double, and not written as an integer literal
      expect(INTEGER_LITERAL.test(written)).toBe(false);
      expect(Number(written)).toBe(Number(expected));
    }
  });
});
