#!/usr/bin/env node
// Verify a Sigstore bundle with sigstore-js (@sigstore/verify) against a trusted root, an exact
// certificate identity and issuer, and an artifact. For a DSSE bundle the artifact's sha256 must be
// one of the in-toto statement's subjects. Exit 0 when it verifies, 1 otherwise (reason on stderr).
//
//   node verify.js --bundle B --trusted-root R --identity I --issuer U ARTIFACT
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const { bundleFromJSON } = require('@sigstore/bundle');
const { TrustedRoot } = require('@sigstore/protobuf-specs');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');

function parseArgs(argv) {
  const opts = {};
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag.startsWith('--')) {
      opts[flag.slice(2)] = argv[++i];
    } else {
      rest.push(flag);
    }
  }
  for (const required of ['bundle', 'trusted-root', 'identity', 'issuer']) {
    if (!opts[required]) throw new Error(`--${required} is required`);
  }
  if (rest.length !== 1) throw new Error('give exactly one ARTIFACT');
  opts.artifact = rest[0];
  return opts;
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(opts.bundle, 'utf8')));
  const root = TrustedRoot.fromJSON(JSON.parse(fs.readFileSync(opts['trusted-root'], 'utf8')));
  const data = fs.readFileSync(opts.artifact);
  const isDsse = bundle.content.$case === 'dsseEnvelope';
  const entity = isDsse ? toSignedEntity(bundle) : toSignedEntity(bundle, data);
  const verifier = new Verifier(toTrustMaterial(root), { tlogThreshold: 1, ctlogThreshold: 1 });
  const signer = verifier.verify(entity, {
    subjectAlternativeName: opts.identity,
    extensions: { issuer: opts.issuer },
  });
  let matched = 'message signature';
  if (isDsse) {
    const envelope = bundle.content.dsseEnvelope;
    if (envelope.payloadType !== 'application/vnd.in-toto+json') {
      throw new Error(`payload type ${envelope.payloadType} is not in-toto`);
    }
    const digest = crypto.createHash('sha256').update(data).digest('hex');
    const statement = JSON.parse(envelope.payload.toString('utf8'));
    const subject = (statement.subject || []).find((s) => s.digest && s.digest.sha256 === digest);
    if (!subject) throw new Error(`no in-toto subject has sha256 ${digest}`);
    matched = `in-toto subject ${subject.name}`;
  }
  console.log(`OK: ${opts.artifact} (${matched}) signed by ${signer.identity.subjectAlternativeName}`);
}

try {
  main();
} catch (err) {
  console.error(`FAILED: ${err.code ? err.code + ': ' : ''}${err.message}`);
  process.exit(1);
}
