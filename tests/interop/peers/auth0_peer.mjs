#!/usr/bin/env node
// Interop peer wrapping @auth0/mdl 3.0.1 (installed in tests/interop/node by
// scripts/setup-interop.sh). CLI contract: see tests/interop/README.md.
//
//   verify --response DR.cbor --cert TRUST.pem [--transcript ST.cbor] [--reader-key EREADER.pem]
//          [--issuer-only] --at RFC3339
//   issue  --ds-key K.pem --ds-cert C.pem --device-key DEV_PUB.pem --out OUT.cbor
//          [--device-private-key DEV.pem --transcript ST.cbor] [--elements 12|20] [--disclose a,b,..]
//          [--undefined-kid] --at RFC3339
//   bench-verify --n N <verify args>      bench-issue --n N <issue args, --out optional>
//
// Only the package's public exports are used (Verifier, Document, MDoc,
// DeviceResponse, parse). @auth0/mdl reads the wall clock (MSO validity, X.509
// chain dates), so verification runs with globalThis.Date replaced by a
// subclass whose now()/no-argument constructor return --at.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import crypto from 'node:crypto';
import { parseArgs } from 'node:util';

const require = createRequire(new URL('../node/package.json', import.meta.url));
const mdl = require('@auth0/mdl');

const DOCTYPE = 'org.iso.18013.5.1.mDL';
const NS = 'org.iso.18013.5.1';
const PORTRAIT = Buffer.concat([
  Buffer.from('ffd8ffe000104a464946', 'hex'), Buffer.alloc(32), Buffer.from('ffd9', 'hex'),
]);

class UsageError extends Error {}

function mdlElements(count = 12) {
  // Dates as full-date strings: the library encodes birth_date / issue_date /
  // expiry_date (also inside driving_privileges) as tag 1004 in this namespace.
  const e = {
    family_name: 'Mustermann',
    given_name: 'Erika',
    birth_date: '1971-09-01',
    issue_date: '2024-01-15',
    expiry_date: '2034-01-14',
    issuing_country: 'DE',
    issuing_authority: 'Test Authority',
    document_number: 'T22000129',
    portrait: PORTRAIT,
    driving_privileges: [{ vehicle_category_code: 'B', issue_date: '2024-01-15', expiry_date: '2034-01-14' }],
    un_distinguishing_sign: 'D',
    age_over_18: true,
  };
  if (count === 20) {
    Object.assign(e, {
      sex: 2,
      height: 175,
      weight: 70,
      eye_colour: 'blue',
      hair_colour: 'brown',
      birth_place: 'Berlin',
      resident_country: 'DE',
      age_over_21: true,
    });
  } else if (count !== 12) {
    throw new UsageError('--elements must be 12 or 20');
  }
  return e;
}

// ---------------------------------------------------------------------------
// helpers

const RealDate = globalThis.Date;

/** Run fn with Date frozen at `ms` (epoch milliseconds). */
async function withFrozenDate(ms, fn) {
  class FrozenDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(ms);
      else super(...args);
    }

    static now() { return ms; }
  }
  globalThis.Date = FrozenDate;
  try {
    return await fn();
  } finally {
    globalThis.Date = RealDate;
  }
}

function parseAt(s) {
  if (!s || !/^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(s)) {
    throw new UsageError(`--at: not an RFC 3339 date-time with zone: ${JSON.stringify(s)}`);
  }
  const ms = RealDate.parse(s);
  if (Number.isNaN(ms)) throw new UsageError(`--at: unparsable: ${s}`);
  return ms;
}

function readFile(path, enc) {
  try {
    return fs.readFileSync(path, enc);
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${e.message}`);
  }
}

function pemCerts(path) {
  const text = readFile(path, 'utf8');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!blocks) throw new UsageError(`${path}: no PEM certificate`);
  return blocks;
}

function cborHead(major, len) {
  if (len < 24) return Buffer.from([(major << 5) | len]);
  if (len < 0x100) return Buffer.from([(major << 5) | 24, len]);
  if (len < 0x10000) return Buffer.from([(major << 5) | 25, len >> 8, len & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = (major << 5) | 26;
  b.writeUInt32BE(len, 1);
  return b;
}

/**
 * SessionTranscriptBytes = #6.24(bstr .cbor SessionTranscript). Accept that or
 * the bare SessionTranscript array (wrapped here byte-for-byte, not re-encoded).
 */
function sessionTranscriptBytes(path) {
  const data = readFile(path);
  if (data.length > 2 && data[0] === 0xd8 && data[1] === 0x18) return data;
  if (data.length > 0 && (data[0] >> 5) === 4) {
    return Buffer.concat([Buffer.from([0xd8, 0x18]), cborHead(2, data.length), data]);
  }
  throw new UsageError('--transcript: neither SessionTranscriptBytes (tag 24) nor a SessionTranscript array');
}

function ecJwk(pem, isPrivate) {
  let key;
  try {
    key = isPrivate ? crypto.createPrivateKey(pem) : crypto.createPublicKey(pem);
  } catch (e) {
    throw new UsageError(`bad key: ${e.message}`);
  }
  const jwk = key.export({ format: 'jwk' });
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256') throw new UsageError('keys must be EC P-256');
  return jwk;
}

/**
 * COSE_Key bytes {1:2, [2:kid,] -1:1, -2:x, -3:y, -4:d} for an EC P-256 private key PEM
 * (kid, when given, as a bstr).
 */
function coseKeyPrivateBytes(pem, kid) {
  const jwk = ecJwk(pem, true);
  const bstr = (b) => Buffer.concat([cborHead(2, b.length), b]);
  const b64 = (s) => bstr(Buffer.from(s, 'base64url'));
  return new Uint8Array(Buffer.concat([
    Buffer.from([kid ? 0xa6 : 0xa5, 0x01, 0x02]),
    kid ? Buffer.concat([Buffer.from([0x02]), bstr(kid)]) : Buffer.alloc(0),
    Buffer.from([0x20, 0x01]),
    Buffer.from([0x21]), b64(jwk.x),
    Buffer.from([0x22]), b64(jwk.y),
    Buffer.from([0x23]), b64(jwk.d),
  ]));
}

/** 8-byte key id: first bytes of SHA-256 over the public key's SubjectPublicKeyInfo. */
function keyId(pem) {
  const spki = crypto.createPublicKey(pem).export({ type: 'spki', format: 'der' });
  return crypto.createHash('sha256').update(spki).digest().subarray(0, 8);
}

function toJson(v) {
  if (v === null || v === undefined) return null;
  if (v instanceof RealDate || v instanceof Date) {
    // DateOnly (full-date, tag 1004) prints as YYYY-MM-DD; tdate without fraction.
    const s = v.toISOString();
    return s.length === 10 ? s : s.replace(/\.\d{3}Z$/, 'Z');
  }
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), toJson(x)]));
  if (Array.isArray(v)) return v.map(toJson);
  if (typeof v === 'object') {
    if (v.data !== undefined && v.buffer instanceof Uint8Array) return toJson(v.data); // DataItem
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJson(x)]));
  }
  if (typeof v === 'bigint') return Number(v);
  return v;
}

function elementsOf(mdoc) {
  const out = {};
  for (const doc of mdoc?.documents ?? []) {
    for (const [ns, items] of Object.entries(doc.issuerSigned?.nameSpaces ?? {})) {
      out[ns] = out[ns] ?? {};
      for (const it of items) out[ns][it.elementIdentifier] = toJson(it.elementValue);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// verify

/**
 * Pinning: TRUST.pem may be the DS certificate itself. The library's chain
 * check (pkijs) cannot take a non-self-signed end-entity certificate as the
 * trust anchor ("Incorrect name chaining"), so when every document's x5chain[0]
 * is byte-identical to a trusted certificate that is not self-signed, this wrapper does the pin
 * comparison and the DS validity-date check itself and runs the library with
 * disableCertificateChainValidation. Everything else is still checked by it.
 */
function pinMode(response, trustPems) {
  let parsed;
  try { parsed = mdl.parse(response); } catch { return null; }
  const trustDer = trustPems.map((p) => new crypto.X509Certificate(p).raw);
  const docs = parsed.documents ?? [];
  if (docs.length === 0) return null;
  const pinned = [];
  for (const doc of docs) {
    const ds = doc.issuerSigned?.issuerAuth?.x5chain?.[0];
    if (!ds || !trustDer.some((t) => Buffer.compare(t, Buffer.from(ds)) === 0)) return null;
    const c = new crypto.X509Certificate(Buffer.from(ds));
    // a self-signed DS is a valid trust anchor for the library's own chain check
    if (c.checkIssued(c) && c.verify(c.publicKey)) return null;
    pinned.push({ from: RealDate.parse(c.validFrom), to: RealDate.parse(c.validTo) });
  }
  return pinned;
}

async function verifyOnce(response, trustPems, atMs, transcript, readerKey, issuerOnly = false, pin = undefined) {
  const failures = [];
  let mdoc;
  try {
    const pinned = pin === undefined ? pinMode(response, trustPems) : pin;
    for (const p of pinned ?? []) {
      if (atMs < p.from || atMs > p.to) {
        failures.push({ id: 'PINNED_DS_CERTIFICATE_VALIDITY', reason: `pinned DS certificate not valid at ${new RealDate(atMs).toISOString()}` });
      }
    }
    const verifier = new mdl.Verifier(trustPems);
    mdoc = await withFrozenDate(atMs, () => verifier.verify(response, {
      encodedSessionTranscript: transcript,
      ephemeralReaderKey: readerKey,
      disableCertificateChainValidation: pinned !== null,
      // collect every failed check instead of throwing on the first one
      onCheck: (check) => {
        if (check.status !== 'FAILED') return;
        if (issuerOnly && check.category === 'DEVICE_AUTH') return;
        failures.push(check);
      },
    }));
  } catch (e) {
    failures.push({ check: 'exception', reason: `${e.name}: ${e.message}` });
  }
  if (!mdoc) {
    try { mdoc = mdl.parse(response); } catch { /* elements stay empty */ }
  }
  const valid = failures.length === 0;
  const error = valid ? null
    : failures.map((f) => (f.id ? `${f.id}: ` : '') + (f.reason ?? f.check)).join('; ');
  return { valid, error, mdoc };
}

function verifyInputs(a) {
  need(a, ['response', 'cert', 'at']);
  return {
    response: readFile(a.response),
    trust: pemCerts(a.cert),
    atMs: parseAt(a.at),
    transcript: a.transcript ? sessionTranscriptBytes(a.transcript) : undefined,
    readerKey: a['reader-key'] ? coseKeyPrivateBytes(readFile(a['reader-key'], 'utf8')) : undefined,
    issuerOnly: Boolean(a['issuer-only']),
  };
}

async function cmdVerify(a) {
  const i = verifyInputs(a);
  const r = await verifyOnce(i.response, i.trust, i.atMs, i.transcript, i.readerKey, i.issuerOnly);
  return { valid: r.valid, error: r.error, elements: elementsOf(r.mdoc) };
}

// ---------------------------------------------------------------------------
// issue

function issueInputs(a, bench) {
  need(a, bench ? ['ds-key', 'ds-cert', 'device-key', 'at'] : ['ds-key', 'ds-cert', 'device-key', 'out', 'at']);
  if (Boolean(a['device-private-key']) !== Boolean(a.transcript)) {
    throw new UsageError('--device-private-key and --transcript go together');
  }
  const dsJwk = { ...ecJwk(readFile(a['ds-key'], 'utf8'), true), alg: 'ES256' };
  const count = a.elements ? Number(a.elements) : (bench ? 20 : 12);
  const elements = mdlElements(count);
  let disclose = Object.keys(elements);
  if (a.disclose) {
    disclose = a.disclose.split(',').map((s) => s.trim()).filter(Boolean);
    for (const d of disclose) if (!(d in elements)) throw new UsageError(`--disclose: unknown element ${d}`);
  }
  // The library always writes a kid (label 4) into the unprotected headers of
  // issuerAuth and deviceSignature; with no kid given it writes CBOR `undefined`
  // (0xf7), which e.g. pycose rejects ("KID should be a byte string"). So by
  // default give it bstr kids; --undefined-kid keeps the library's default.
  const undefinedKid = Boolean(a['undefined-kid']);
  const dsKeyPem = readFile(a['ds-key'], 'utf8');
  const devPrivPem = a['device-private-key'] ? readFile(a['device-private-key'], 'utf8') : undefined;
  let devicePriv;
  if (devPrivPem) {
    devicePriv = undefinedKid ? { ...ecJwk(devPrivPem, true), alg: 'ES256' } : coseKeyPrivateBytes(devPrivPem, keyId(devPrivPem));
  }
  return {
    atMs: parseAt(a.at),
    dsJwk,
    dsKid: undefinedKid ? undefined : new Uint8Array(keyId(dsKeyPem)),
    dsCertPem: pemCerts(a['ds-cert']).join('\n'),
    deviceJwk: ecJwk(readFile(a['device-key'], 'utf8'), false),
    devicePriv,
    transcript: a.transcript ? sessionTranscriptBytes(a.transcript) : undefined,
    elements,
    disclose,
  };
}

async function issuerSignedMdoc(i) {
  const at = new RealDate(i.atMs);
  const until = new RealDate(i.atMs + 365 * 24 * 3600 * 1000);
  // addIssuerNameSpace mutates driving_privileges in place: pass a fresh copy
  const values = structuredClone(i.elements);
  values.portrait = i.elements.portrait;
  const doc = await new mdl.Document(DOCTYPE)
    .addIssuerNameSpace(NS, values)
    .useDigestAlgorithm('SHA-256')
    .addValidityInfo({ signed: at, validFrom: at, validUntil: until })
    .addDeviceKeyInfo({ deviceKey: i.deviceJwk })
    .sign({ issuerPrivateKey: i.dsJwk, issuerCertificate: i.dsCertPem, alg: 'ES256', kid: i.dsKid });
  return new mdl.MDoc([doc]).encode();
}

async function deviceResponse(issuerBytes, i) {
  const pd = {
    id: 'edl-interop',
    input_descriptors: [{
      id: DOCTYPE,
      format: { mso_mdoc: { alg: ['ES256'] } },
      constraints: {
        limit_disclosure: 'required',
        fields: i.disclose.map((id) => ({ path: [`$['${NS}']['${id}']`], intent_to_retain: false })),
      },
    }],
  };
  const dr = await mdl.DeviceResponse.from(issuerBytes)
    .usingPresentationDefinition(pd)
    .usingSessionTranscriptBytes(i.transcript)
    .authenticateWithSignature(i.devicePriv, 'ES256')
    .sign();
  return dr.encode();
}

async function issueOnce(i) {
  const issuerBytes = await issuerSignedMdoc(i);
  if (!i.devicePriv) return { bytes: issuerBytes, wrote: 'device_response', deviceSigned: false };
  return { bytes: await deviceResponse(issuerBytes, i), wrote: 'device_response', deviceSigned: true };
}

function issueNotes(r, i) {
  const kid = i.dsKid ? '; kid (label 4, unprotected) = 8-byte bstr, first bytes of SHA-256(SPKI)'
    : '; kid (label 4, unprotected) = CBOR undefined (library default, --undefined-kid)';
  return kidless(r, i) + kid;
}

function kidless(r, i) {
  return r.deviceSigned
    ? `@auth0/mdl Document.sign + DeviceResponse builder: DeviceResponse with deviceSigned ` +
      `(deviceSignature ES256 over DeviceAuthenticationBytes of the given SessionTranscriptBytes, ` +
      `empty device nameSpaces); disclosed ${i.disclose.length} of ${Object.keys(i.elements).length} elements; ` +
      'MSO signed=validFrom=--at, validUntil=--at+365d; x5chain = DS cert file contents'
    : '@auth0/mdl Document.sign + MDoc.encode: DeviceResponse-shaped {version, documents:[{docType, issuerSigned}], ' +
      `status} with NO deviceSigned (no --device-private-key/--transcript); all ${Object.keys(i.elements).length} ` +
      'elements; MSO signed=validFrom=--at, validUntil=--at+365d; x5chain = DS cert file contents';
}

async function cmdIssue(a) {
  const i = issueInputs(a, false);
  const r = await issueOnce(i);
  fs.writeFileSync(a.out, r.bytes);
  return { wrote: r.wrote, notes: issueNotes(r, i), bytes: r.bytes.length };
}

// ---------------------------------------------------------------------------
// benchmarks

async function bench(fn, n) {
  const warm = Math.max(3, Math.min(50, Math.floor(n / 10)));
  for (let k = 0; k < warm; k += 1) await fn();
  const s = [];
  for (let k = 0; k < n; k += 1) {
    const t0 = process.hrtime.bigint();
    await fn();
    s.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  s.sort((x, y) => x - y);
  const median = n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  const r1 = (x) => Math.round(x * 10) / 10;
  return {
    n,
    warmup: warm,
    median_us: r1(median),
    mean_us: r1(s.reduce((p, x) => p + x, 0) / n),
    min_us: r1(s[0]),
    p90_us: r1(s[Math.floor(0.9 * (n - 1))]),
  };
}

async function cmdBenchVerify(a) {
  const i = verifyInputs(a);
  const first = await verifyOnce(i.response, i.trust, i.atMs, i.transcript, i.readerKey, i.issuerOnly);
  const els = elementsOf(first.mdoc);
  const pin = pinMode(i.response, i.trust); // decided once: a property of the inputs
  const res = await bench(() => verifyOnce(i.response, i.trust, i.atMs, i.transcript, i.readerKey, i.issuerOnly, pin), posInt(a.n));
  return {
    ...res,
    peer: '@auth0/mdl 3.0.1',
    valid: first.valid,
    error: first.error,
    disclosed_elements: Object.values(els).reduce((p, x) => p + Object.keys(x).length, 0),
    work: 'new Verifier(trust).verify(DeviceResponse, {encodedSessionTranscript' +
      (i.readerKey ? ', ephemeralReaderKey' : '') + '}): X.509 chain (pkijs), issuerAuth, ' +
      (i.transcript && !i.issuerOnly ? 'device authentication, ' : 'NO device authentication, ') +
      'digests, validity at --at',
  };
}

async function cmdBenchIssue(a) {
  const i = issueInputs(a, true);
  const first = await issueOnce(i);
  if (a.out) fs.writeFileSync(a.out, first.bytes);
  const res = await bench(() => issueOnce(i), posInt(a.n));
  return {
    ...res,
    peer: '@auth0/mdl 3.0.1',
    elements: Object.keys(i.elements).length,
    bytes: first.bytes.length,
    work: 'new Document(...).addIssuerNameSpace/addValidityInfo/addDeviceKeyInfo.sign(ES256) + MDoc.encode' +
      (i.devicePriv ? ' + DeviceResponse builder with deviceSignature' : ''),
  };
}

// ---------------------------------------------------------------------------

function need(a, keys) {
  for (const k of keys) if (!a[k]) throw new UsageError(`--${k} is required`);
}

function posInt(s) {
  const n = Number(s ?? 200);
  if (!Number.isInteger(n) || n < 1) throw new UsageError('--n must be a positive integer');
  return n;
}

const OPTIONS = Object.fromEntries([
  'response', 'cert', 'transcript', 'reader-key', 'at', 'ds-key', 'ds-cert', 'device-key', 'out',
  'device-private-key', 'elements', 'disclose', 'n',
].map((k) => [k, { type: 'string' }]).concat([
  ['issuer-only', { type: 'boolean' }], ['undefined-kid', { type: 'boolean' }],
]));

async function main(argv) {
  const [cmd, ...rest] = argv;
  const handlers = {
    verify: cmdVerify, issue: cmdIssue, 'bench-verify': cmdBenchVerify, 'bench-issue': cmdBenchIssue,
  };
  try {
    if (!handlers[cmd]) throw new UsageError(`command must be one of ${Object.keys(handlers).join(', ')}`);
    let values;
    try {
      ({ values } = parseArgs({ args: rest, options: OPTIONS, strict: true }));
    } catch (e) {
      throw new UsageError(e.message);
    }
    const result = await handlers[cmd](values);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`auth0_peer: usage error: ${e.message}\n`);
    } else {
      process.stderr.write(`auth0_peer: crash: ${e?.stack ?? e}\n`);
    }
    return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
