// Benchmark worker for @auth0/mdl 3.0.1 (installed in tests/interop/node by
// scripts/setup-interop.sh), driven by bench/bench_mdoc.py over stdin/stdout so that its
// calls interleave with edl's, round by round, in the same run.
//
//   node bench/peers/auth0_worker.mjs SETUP.json
//
// SETUP.json: {response, root, transcript, dsKey, dsCert, devicePub, portrait, at} (file
// paths; at: RFC 3339). Then one JSON request per stdin line: {"op": "verify"|"issue", "n": N}
// -> one line {"us": [N per-call times in microseconds]}; {"op": "check"} -> what one call of
// each gives (verify: valid or the error; issue: the bytes' length). Inputs are prepared once
// (the Verifier with its trusted roots, the keys as JWK): only the library's work is timed.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import crypto from 'node:crypto';
import readline from 'node:readline';

const require = createRequire(new URL('../../tests/interop/node/package.json', import.meta.url));
const mdl = require('@auth0/mdl');

const DOCTYPE = 'org.iso.18013.5.1.mDL';
const NS = 'org.iso.18013.5.1';
const setup = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const RealDate = globalThis.Date;
const atMs = RealDate.parse(setup.at);

// @auth0/mdl reads the wall clock (MSO validity, certificate dates): freeze it at `at`.
class FrozenDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(atMs);
    else super(...args);
  }

  static now() { return atMs; }
}

const response = fs.readFileSync(setup.response);
const transcript = fs.readFileSync(setup.transcript);
const rootPem = fs.readFileSync(setup.root, 'utf8');
const verifier = new mdl.Verifier([rootPem]);

async function verifyOnce() {
  globalThis.Date = FrozenDate;
  try {
    // throws on the first check that fails; device authentication included
    return await verifier.verify(response, { encodedSessionTranscript: transcript });
  } finally {
    globalThis.Date = RealDate;
  }
}

const dsJwk = { ...crypto.createPrivateKey(fs.readFileSync(setup.dsKey, 'utf8')).export({ format: 'jwk' }), alg: 'ES256' };
const dsCertPem = fs.readFileSync(setup.dsCert, 'utf8');
const deviceJwk = crypto.createPublicKey(fs.readFileSync(setup.devicePub, 'utf8')).export({ format: 'jwk' });
const portrait = fs.readFileSync(setup.portrait);
// The same 20 elements as the edl licence of the benchmark (dates as full-date strings: the
// library writes them as tag 1004 in this namespace).
const elements = {
  family_name: 'Mustermann',
  given_name: 'Erika',
  birth_date: '1971-09-01',
  issue_date: '2024-01-15',
  expiry_date: '2034-01-14',
  issuing_country: 'DE',
  issuing_authority: 'Test Authority',
  document_number: 'T22000129',
  portrait,
  driving_privileges: [{ vehicle_category_code: 'B', issue_date: '2024-01-15', expiry_date: '2034-01-14' }],
  un_distinguishing_sign: 'D',
  age_over_18: true,
  sex: 2,
  height: 175,
  weight: 70,
  eye_colour: 'blue',
  hair_colour: 'brown',
  birth_place: 'Berlin',
  resident_country: 'DE',
  age_over_21: true,
};
const signed = new RealDate(atMs);
const until = new RealDate(atMs + 365 * 24 * 3600 * 1000);

async function issueOnce() {
  // addIssuerNameSpace rewrites driving_privileges in place: a fresh copy each time
  const values = { ...elements, driving_privileges: elements.driving_privileges.map((p) => ({ ...p })) };
  const doc = await new mdl.Document(DOCTYPE)
    .addIssuerNameSpace(NS, values)
    .useDigestAlgorithm('SHA-256')
    .addValidityInfo({ signed, validFrom: signed, validUntil: until })
    .addDeviceKeyInfo({ deviceKey: deviceJwk })
    .sign({ issuerPrivateKey: dsJwk, issuerCertificate: dsCertPem, alg: 'ES256' });
  return new mdl.MDoc([doc]).encode();
}

async function timed(fn, n) {
  const us = [];
  for (let k = 0; k < n; k += 1) {
    const t0 = process.hrtime.bigint();
    await fn();
    us.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  return us;
}

async function check() {
  const out = {};
  try {
    const mdoc = await verifyOnce();
    let disclosed = 0;
    for (const d of mdoc.documents) for (const items of Object.values(d.issuerSigned.nameSpaces)) disclosed += items.length;
    out.verify = { valid: true, disclosed };
  } catch (e) {
    out.verify = { valid: false, error: `${e.name}: ${e.message}` };
  }
  out.issue = { bytes: (await issueOnce()).length };
  return out;
}

const rl = readline.createInterface({ input: process.stdin });
for await (const line of rl) {
  const req = JSON.parse(line);
  let res;
  if (req.op === 'verify') res = { us: await timed(verifyOnce, req.n) };
  else if (req.op === 'issue') res = { us: await timed(issueOnce, req.n) };
  else if (req.op === 'check') res = await check();
  else res = { error: `unknown op ${req.op}` };
  process.stdout.write(`${JSON.stringify(res)}\n`);
}
