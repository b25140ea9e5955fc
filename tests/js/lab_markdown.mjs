#!/usr/bin/env node
// JupyterLab's own markdown pipeline, for tests/test_references.py: removeMath (from
// @jupyterlab/rendermime), marked with JupyterLab's options (gfm), replaceMath. Reads a JSON array of
// markdown strings on stdin and prints a JSON array of {masked, math, html} objects (html is null
// when replaceMath throws, as it does for a placeholder with no math: JupyterLab renders nothing).
//
//   node lab_markdown.mjs LABEXTENSION_NODE_MODULES < texts.json
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

// latex.js looks at navigator.appName (a browser global that Node 20 does not have)
globalThis.navigator ??= { appName: 'Netscape' };
const modules = process.argv[2];
// latex.js is an ES module in a package that does not say so: load it from its text
const latex = readFileSync(`${modules}/@jupyterlab/rendermime/lib/latex.js`, 'utf8');
const { removeMath, replaceMath } = await import(
  'data:text/javascript,' + encodeURIComponent(latex)
);
const { marked } = await import(pathToFileURL(`${modules}/marked/lib/marked.esm.js`).href);

const texts = JSON.parse(readFileSync(0, 'utf8'));
const results = [];
for (const text of texts) {
  const parts = removeMath(text);
  const html = await marked.parse(parts.text, { async: true, gfm: true });
  let restored = null;
  try {
    restored = replaceMath(html, parts.math);
  } catch {
    // nothing rendered
  }
  results.push({ masked: parts.text, math: parts.math, html: restored });
}
process.stdout.write(JSON.stringify(results));
