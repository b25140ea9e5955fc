/**
 * Canonical notebook digests, profile `jupyter-sigstore/canonical/v2`, written from the specification
 * alone (docs/canonical-profile-v2.md; section numbers below refer to it). Pure: no DOM, no Jupyter;
 * SHA-256 through Web Crypto (`globalThis.crypto.subtle`, in browsers and Node.js 19+).
 *
 * JSON values are held so that nothing Python reads differently is merged: integers as `bigint`
 * (exact, any size), floats as `number` (NaN and infinities included: they fail only when hashed),
 * strings as JavaScript strings (lone surrogates included: they fail only when hashed), arrays, and
 * objects as `Map`s (a member named `__proto__` is data).
 */

export const PROFILE_V2 = 'jupyter-sigstore/canonical/v2';

/** A JSON value as section 2 reads it. */
export type JsonValue =
  null | boolean | bigint | number | string | JsonValue[] | JsonObject;

/** A JSON object: member names to values, the last of duplicate members kept. */
export type JsonObject = Map<string, JsonValue>;

/** A notebook that profile v2 rejects (section 2 and every MUST). */
export class CanonicalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CanonicalError';
  }
}

/** The digests of a notebook (lowercase hex SHA-256). */
export interface ICanonicalDigests {
  profile: string;
  digest: string;
  metadataDigest: string;
  widgetsDigest: string;
  cells: string[];
}

/** Python's default limit on the digits of an integer read from a string (section 2.5). */
export const MAX_INTEGER_DIGITS = 4300;

const EXCLUDED_CELL_METADATA = new Set([
  'collapsed',
  'scrolled',
  'execution',
  'ExecuteTime',
  'heading_collapsed',
  'jp-MarkdownHeadingCollapsed',
  'hidden',
  'hide_input',
  'code_folding',
  'editable',
  'deletable',
  'trusted',
  'executionInfo',
  'outputId',
  'colab'
]);
const EXCLUDED_NESTED_METADATA = new Map<string, Set<string>>([
  ['jupyter', new Set(['source_hidden', 'outputs_hidden'])],
  ['papermill', new Set(['start_time', 'end_time', 'duration', 'status'])]
]);
const EXCLUDED_NOTEBOOK_METADATA = new Set([
  'sigstore',
  'language_info',
  'orig_nbformat',
  'orig_nbformat_minor',
  'widgets'
]);
const KERNELSPEC_COVERED = new Set(['name', 'language']);
const CELL_TYPES = new Set(['code', 'markdown', 'raw']);
const OUTPUT_TYPES = new Set([
  'stream',
  'display_data',
  'execute_result',
  'error'
]);

// ------------------------------------------------------------------------------ input (section 2)

/** The UTF-8 text of a notebook file: invalid UTF-8 fails, a byte order mark is kept (and then
 * rejected by the JSON grammar). */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(
      bytes
    );
  } catch {
    throw new CanonicalError('the notebook is not UTF-8 text');
  }
}

const LITERALS: [string, JsonValue][] = [
  ['true', true],
  ['false', false],
  ['null', null],
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity]
];
const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
const WHITESPACE = /[ \t\n\r]*/y;
const ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t'
};

/**
 * Parse JSON text (RFC 8259, plus the tokens NaN, Infinity and -Infinity) keeping each number's kind:
 * a token without fraction and exponent is an exact integer (`bigint`), any other a double.
 */
export function parseJson(text: string): JsonValue {
  let pos = 0;

  const fail = (what: string): never => {
    throw new CanonicalError(`not valid JSON: ${what} at offset ${pos}`);
  };
  const skipWhitespace = (): void => {
    WHITESPACE.lastIndex = pos;
    WHITESPACE.exec(text);
    pos = WHITESPACE.lastIndex;
  };

  const parseString = (): string => {
    pos += 1; // the opening quote
    let out = '';
    let start = pos;
    for (;;) {
      if (pos >= text.length) {
        fail('unterminated string');
      }
      const unit = text.charCodeAt(pos);
      if (unit === 0x22) {
        out += text.slice(start, pos);
        pos += 1;
        return out;
      }
      if (unit < 0x20) {
        fail('control character in a string');
      }
      if (unit !== 0x5c) {
        pos += 1;
        continue;
      }
      out += text.slice(start, pos);
      const escape = text[pos + 1];
      if (escape === 'u') {
        const hex = text.slice(pos + 2, pos + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
          fail('invalid \\u escape');
        }
        // UTF-16 units: an escaped high surrogate followed by an escaped low one is one character,
        // any other surrogate stays lone (section 2.4)
        out += String.fromCharCode(parseInt(hex, 16));
        pos += 6;
      } else if (escape !== undefined && escape in ESCAPES) {
        out += ESCAPES[escape];
        pos += 2;
      } else {
        fail('invalid escape');
      }
      start = pos;
    }
  };

  const parseNumber = (): JsonValue => {
    NUMBER.lastIndex = pos;
    const match = NUMBER.exec(text);
    if (match === null) {
      return fail('unexpected character');
    }
    const token = match[0];
    pos = NUMBER.lastIndex;
    if (match[1] === undefined && match[2] === undefined) {
      const digits = token.startsWith('-') ? token.length - 1 : token.length;
      if (digits > MAX_INTEGER_DIGITS) {
        throw new CanonicalError(
          `the notebook holds an integer of ${digits} digits; more than ${MAX_INTEGER_DIGITS} cannot be read`
        );
      }
      return BigInt(token); // "-0" is the integer 0
    }
    return Number(token); // nearest double, correctly rounded; may be an infinity or a zero
  };

  const parseValue = (): JsonValue => {
    skipWhitespace();
    const char = text[pos];
    if (char === '{') {
      pos += 1;
      const object: JsonObject = new Map();
      skipWhitespace();
      if (text[pos] === '}') {
        pos += 1;
        return object;
      }
      for (;;) {
        skipWhitespace();
        if (text[pos] !== '"') {
          fail('expected a member name');
        }
        const name = parseString();
        skipWhitespace();
        if (text[pos] !== ':') {
          fail("expected ':'");
        }
        pos += 1;
        object.set(name, parseValue()); // the last of duplicate members wins
        skipWhitespace();
        if (text[pos] === ',') {
          pos += 1;
        } else if (text[pos] === '}') {
          pos += 1;
          return object;
        } else {
          fail("expected ',' or '}'");
        }
      }
    }
    if (char === '[') {
      pos += 1;
      const array: JsonValue[] = [];
      skipWhitespace();
      if (text[pos] === ']') {
        pos += 1;
        return array;
      }
      for (;;) {
        array.push(parseValue());
        skipWhitespace();
        if (text[pos] === ',') {
          pos += 1;
        } else if (text[pos] === ']') {
          pos += 1;
          return array;
        } else {
          fail("expected ',' or ']'");
        }
      }
    }
    if (char === '"') {
      return parseString();
    }
    for (const [word, value] of LITERALS) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return value;
      }
    }
    return parseNumber();
  };

  const value = parseValue();
  skipWhitespace();
  if (pos !== text.length) {
    fail('data after the JSON value');
  }
  return value;
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return value instanceof Map;
}

/** Parse a notebook file and check its nbformat 4 structure (section 2.6). */
export function parseNotebook(bytes: Uint8Array): JsonObject {
  const nb = parseJson(decodeUtf8(bytes));
  if (!isObject(nb)) {
    throw new CanonicalError(
      'not a notebook: the top-level value is not an object'
    );
  }
  const major = nb.get('nbformat');
  const isFour =
    (typeof major === 'bigint' && major === 4n) ||
    (typeof major === 'number' && major === 4);
  if (!isFour) {
    if (typeof major === 'bigint' && major < 4n) {
      throw new CanonicalError(
        `nbformat ${major} notebooks are not supported; convert it first with ` +
          '`jupyter nbconvert --to notebook --nbformat 4 --inplace NOTEBOOK`'
      );
    }
    throw new CanonicalError('not an nbformat 4 notebook');
  }
  if (!Array.isArray(nb.get('cells'))) {
    throw new CanonicalError("not a notebook: 'cells' must be a list");
  }
  if (nb.has('metadata') && !isObject(nb.get('metadata'))) {
    throw new CanonicalError('notebook metadata must be an object');
  }
  return nb;
}

// ------------------------------------------------------------------------------ cells (sections 3-5)

/** An nbformat multiline string, joined (section 3). */
function multiline(value: JsonValue | undefined, where: string): string {
  if (typeof value === 'string') {
    return value;
  }
  if (Array.isArray(value) && value.every(part => typeof part === 'string')) {
    return (value as string[]).join('');
  }
  throw new CanonicalError(`${where} must be a string or a list of strings`);
}

/** nbformat's rule, case-sensitive (section 3). */
export function isJsonMime(mime: string): boolean {
  return (
    mime === 'application/json' ||
    (mime.startsWith('application/') && mime.endsWith('+json'))
  );
}

function bundle(value: JsonValue | undefined, where: string): JsonObject {
  if (!isObject(value)) {
    throw new CanonicalError(`${where} must be an object of mime types`);
  }
  const out: JsonObject = new Map();
  for (const [mime, item] of value) {
    out.set(
      mime,
      isJsonMime(mime) ? item : multiline(item, `${where}[${mime}]`)
    );
  }
  return out;
}

function output(value: JsonValue, where: string): JsonObject {
  if (!isObject(value)) {
    throw new CanonicalError(`${where} must be an object`);
  }
  const kind = value.get('output_type');
  if (typeof kind !== 'string' || !OUTPUT_TYPES.has(kind)) {
    throw new CanonicalError(
      `${where}.output_type is not an nbformat 4 output type`
    );
  }
  const out: JsonObject = new Map(value);
  if (kind === 'stream') {
    out.set(
      'text',
      multiline(value.has('text') ? value.get('text') : '', `${where}.text`)
    );
  } else if (value.has('data')) {
    out.set('data', bundle(value.get('data'), `${where}.data`));
  }
  return out;
}

function cellMetadata(metadata: JsonObject): JsonObject {
  const kept: JsonObject = new Map();
  for (const [key, value] of metadata) {
    if (!EXCLUDED_CELL_METADATA.has(key)) {
      kept.set(key, value);
    }
  }
  for (const [namespace, excluded] of EXCLUDED_NESTED_METADATA) {
    const inner = kept.get(namespace);
    if (isObject(inner)) {
      const rest: JsonObject = new Map(
        [...inner].filter(([key]) => !excluded.has(key))
      );
      if (rest.size > 0) {
        kept.set(namespace, rest);
      } else {
        kept.delete(namespace);
      }
    }
  }
  return kept;
}

/** The canonical cell (section 4); `index` is 0-based and names the cell in errors. */
export function canonicalCell(cell: JsonValue, index: number): JsonObject {
  const where = `cell ${index + 1}`;
  if (!isObject(cell)) {
    throw new CanonicalError(`${where} must be an object`);
  }
  const kind = cell.get('cell_type');
  if (typeof kind !== 'string' || !CELL_TYPES.has(kind)) {
    throw new CanonicalError(
      `${where} has a cell_type other than code, markdown or raw`
    );
  }
  const out: JsonObject = new Map([...cell].filter(([key]) => key !== 'id'));
  out.set(
    'source',
    multiline(cell.has('source') ? cell.get('source') : '', `${where}.source`)
  );
  const metadata = cell.has('metadata') ? cell.get('metadata') : new Map();
  if (!isObject(metadata)) {
    throw new CanonicalError(`${where}.metadata must be an object`);
  }
  out.set('metadata', cellMetadata(metadata));
  const attachments = cell.get('attachments');
  if (attachments !== undefined && attachments !== null) {
    if (!isObject(attachments)) {
      throw new CanonicalError(`${where}.attachments must be an object`);
    }
    const canonical: JsonObject = new Map();
    for (const [name, item] of attachments) {
      canonical.set(name, bundle(item, `${where}.attachments[${name}]`));
    }
    out.set('attachments', canonical);
  }
  if (cell.has('outputs')) {
    const outputs = cell.get('outputs');
    if (!Array.isArray(outputs)) {
      throw new CanonicalError(`${where}.outputs must be a list`);
    }
    out.set(
      'outputs',
      outputs.map((item, n) => output(item, `${where}.outputs[${n}]`))
    );
  }
  return out;
}

/** The canonical notebook metadata (section 5). */
export function canonicalMetadata(metadata: JsonObject): JsonObject {
  const out: JsonObject = new Map(
    [...metadata].filter(([key]) => !EXCLUDED_NOTEBOOK_METADATA.has(key))
  );
  const kernelspec = out.get('kernelspec');
  if (isObject(kernelspec)) {
    out.set(
      'kernelspec',
      new Map([...kernelspec].filter(([key]) => KERNELSPEC_COVERED.has(key)))
    );
  }
  return out;
}

/** The widget state (section 5): `metadata.widgets`, or null when absent. */
export function widgetState(metadata: JsonObject): JsonValue {
  const widgets = metadata.get('widgets');
  return widgets === undefined ? null : widgets;
}

// ------------------------------------------------------------------------------ serialisation (section 6)

/** Compare two strings by Unicode code points (section 6), not by UTF-16 code units. */
export function compareCodePoints(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a.codePointAt(i) as number;
    const y = b.codePointAt(j) as number;
    if (x !== y) {
      return x < y ? -1 : 1;
    }
    i += x > 0xffff ? 2 : 1;
    j += y > 0xffff ? 2 : 1;
  }
  if (i >= a.length) {
    return j >= b.length ? 0 : -1;
  }
  return 1;
}

/** Python's `repr` of a finite double (section 6.1). */
export function formatFloat(x: number): string {
  if (!Number.isFinite(x)) {
    throw new CanonicalError(
      `the value ${x} cannot be serialised (NaN or infinite)`
    );
  }
  if (x === 0) {
    return Object.is(x, -0) ? '-0.0' : '0.0';
  }
  const sign = x < 0 ? '-' : '';
  // the nearest shortest digits, from ECMAScript's Number::toString
  const shown = String(Math.abs(x));
  let digits: string;
  let n: number; // the value is 0.<digits> x 10^n
  const e = shown.indexOf('e');
  if (e >= 0) {
    digits = shown.slice(0, e).replace('.', '');
    n = parseInt(shown.slice(e + 1), 10) + 1;
  } else {
    const point = shown.indexOf('.');
    const whole = point >= 0 ? shown.slice(0, point) : shown;
    digits = whole + (point >= 0 ? shown.slice(point + 1) : '');
    n = whole.length;
  }
  const leading = digits.length - digits.replace(/^0+/, '').length;
  digits = digits.slice(leading).replace(/0+$/, '');
  n -= leading;
  const k = digits.length;
  if (n > -4 && n <= 16) {
    if (n <= 0) {
      return `${sign}0.${'0'.repeat(-n)}${digits}`;
    }
    if (n < k) {
      return `${sign}${digits.slice(0, n)}.${digits.slice(n)}`;
    }
    return `${sign}${digits}${'0'.repeat(n - k)}.0`;
  }
  const mantissa = k > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const exponent = n - 1;
  const magnitude = String(Math.abs(exponent)).padStart(2, '0');
  return `${sign}${mantissa}e${exponent < 0 ? '-' : '+'}${magnitude}`;
}

const SHORT_ESCAPES: Record<number, string> = {
  0x22: '\\"',
  0x5c: '\\\\',
  0x08: '\\b',
  0x09: '\\t',
  0x0a: '\\n',
  0x0c: '\\f',
  0x0d: '\\r'
};

/** A string as canonical JSON text (section 6); a lone surrogate is an error. */
export function formatString(value: string): string {
  let out = '"';
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdfff) {
      const next = value.charCodeAt(i + 1);
      if (unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        out += value[i] + value[i + 1];
        i += 1;
        continue;
      }
      throw new CanonicalError(
        'a hashed string holds a lone surrogate (invalid Unicode)'
      );
    }
    const escape = SHORT_ESCAPES[unit];
    if (escape !== undefined) {
      out += escape;
    } else if (unit < 0x20) {
      out += '\\u' + unit.toString(16).padStart(4, '0');
    } else {
      out += value[i];
    }
  }
  return out + '"';
}

/** The canonical JSON text of a value (section 6), before UTF-8 encoding. */
export function canonicalText(value: JsonValue): string {
  if (value === null) {
    return 'null';
  }
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'number':
      return formatFloat(value);
    case 'string':
      return formatString(value);
  }
  if (Array.isArray(value)) {
    return '[' + value.map(canonicalText).join(',') + ']';
  }
  const names = [...value.keys()].sort(compareCodePoints);
  return (
    '{' +
    names
      .map(
        name =>
          formatString(name) + ':' + canonicalText(value.get(name) as JsonValue)
      )
      .join(',') +
    '}'
  );
}

/** The canonical bytes of a value (section 6). */
export function canonicalBytes(value: JsonValue): Uint8Array {
  return new TextEncoder().encode(canonicalText(value));
}

// ------------------------------------------------------------------------------ digests (section 7)

/** Lowercase hex SHA-256 of some bytes, through Web Crypto. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(digest), byte =>
    byte.toString(16).padStart(2, '0')
  ).join('');
}

/** The notebook digest from its parts (section 7). */
export function combineDigests(
  metadataDigest: string,
  cellDigests: string[],
  widgetsDigest: string
): Promise<string> {
  const parts: JsonObject = new Map<string, JsonValue>([
    ['cells', [...cellDigests]],
    ['metadata', metadataDigest],
    ['profile', PROFILE_V2],
    ['widgets', widgetsDigest]
  ]);
  return sha256Hex(canonicalBytes(parts));
}

/** Every profile v2 digest of a notebook file's bytes; rejects what the profile rejects. */
export async function notebookDigests(
  bytes: Uint8Array
): Promise<ICanonicalDigests> {
  const nb = parseNotebook(bytes);
  const metadata = (nb.get('metadata') as JsonObject | undefined) ?? new Map();
  const cells = await Promise.all(
    (nb.get('cells') as JsonValue[]).map((cell, index) =>
      sha256Hex(canonicalBytes(canonicalCell(cell, index)))
    )
  );
  const metadataDigest = await sha256Hex(
    canonicalBytes(canonicalMetadata(metadata))
  );
  const widgetsDigest = await sha256Hex(canonicalBytes(widgetState(metadata)));
  return {
    profile: PROFILE_V2,
    digest: await combineDigests(metadataDigest, cells, widgetsDigest),
    metadataDigest,
    widgetsDigest,
    cells
  };
}
