#!/usr/bin/env node
// Interop harness over the OpenWallet Foundation SD-JWT library (@sd-jwt/*, pinned in
// package.json). Reads one JSON request on stdin, writes one JSON answer on stdout.
//
//   node sdjwt.mjs verify         {"sdjwt", "issuer_jwk", "kb": {"aud","nonce"} | null, "now"?}
//     -> {"ok": true, "payload": {...}} | {"ok": false, "error": "..."}
//   node sdjwt.mjs issue_present  {"issuer_jwk_private", "holder_jwk_private", "payload",
//                                  "disclosure_frame", "disclose", "aud", "nonce", "typ", "iat"?}
//     -> {"sdjwt": "...", "presentation": "..."}
//
// A refused credential is an answer (exit code 0); only a harness failure (bad request,
// library missing) exits non-zero.

import { SDJwtInstance } from '@sd-jwt/core';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { ES256, digest, generateSalt } from '@sd-jwt/crypto-nodejs';

const VC_TYPES = new Set(['dc+sd-jwt', 'vc+sd-jwt']);

function readStdin() {
  return new Promise((resolve, reject) => {
    let data = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk) => { data += chunk; });
    process.stdin.on('end', () => resolve(data));
    process.stdin.on('error', reject);
  });
}

function requireField(obj, name) {
  if (obj[name] === undefined || obj[name] === null) {
    throw new Error(`request has no \`${name}\``);
  }
  return obj[name];
}

function headerTyp(compact) {
  const jwt = compact.split('~')[0];
  const header = JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString('utf8'));
  return header.typ;
}

// The KB-JWT's `aud` is not checked by @sd-jwt/core 0.19 (it checks the nonce and
// sd_hash only), so the harness checks it on the returned KB payload.
async function verify(req) {
  const sdjwt = requireField(req, 'sdjwt');
  const issuerJwk = requireField(req, 'issuer_jwk');
  const kb = req.kb ?? null;
  const issuerVerifier = await ES256.getVerifier(issuerJwk);
  const config = {
    hasher: digest,
    hashAlg: 'sha-256',
    verifier: issuerVerifier,
    kbVerifier: async (data, sig, payload) => {
      const jwk = payload?.cnf?.jwk;
      if (!jwk) throw new Error('the credential has no cnf.jwk to check the KB-JWT with');
      return (await ES256.getVerifier(jwk))(data, sig);
    },
  };
  let typ;
  try {
    typ = headerTyp(sdjwt);
  } catch (e) {
    return { ok: false, error: `cannot decode the issuer-signed JWT header: ${e.message}` };
  }
  const instance = VC_TYPES.has(typ) ? new SDJwtVcInstance(config) : new SDJwtInstance(config);
  const options = {};
  if (typeof req.now === 'number') options.currentDate = req.now;
  if (kb) options.keyBindingNonce = requireField(kb, 'nonce');
  try {
    const result = await instance.verify(sdjwt, options);
    if (kb) {
      if (!result.kb) return { ok: false, error: 'key binding required but not verified' };
      if (result.kb.payload.aud !== kb.aud) {
        return { ok: false, error: `KB-JWT aud is ${JSON.stringify(result.kb.payload.aud)}, expected ${JSON.stringify(kb.aud)}` };
      }
    }
    return { ok: true, payload: result.payload, typ };
  } catch (e) {
    return { ok: false, error: String(e?.message ?? e) };
  }
}

// `disclose` lists JSON pointers ("/a/b/0") or dotted names; it becomes a presentation
// frame: {a: {b: {0: true}}}. Selecting a claim whose value holds concealed parts does
// not select those parts: name each one.
function presentationFrame(disclose) {
  const frame = {};
  for (const item of disclose) {
    const segments = item.startsWith('/')
      ? item.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      : item.split('.');
    let at = frame;
    segments.forEach((seg, i) => {
      if (i === segments.length - 1) {
        if (typeof at[seg] !== 'object') at[seg] = true;
      } else {
        if (typeof at[seg] !== 'object') at[seg] = {};
        at = at[seg];
      }
    });
  }
  return frame;
}

async function issuePresent(req) {
  const issuerJwk = requireField(req, 'issuer_jwk_private');
  const holderJwk = requireField(req, 'holder_jwk_private');
  const payload = requireField(req, 'payload');
  const typ = req.typ ?? 'dc+sd-jwt';
  const { d: _hd, ...holderPublic } = holderJwk;
  const config = {
    hasher: digest,
    hashAlg: 'sha-256',
    saltGenerator: generateSalt,
    signer: await ES256.getSigner(issuerJwk),
    signAlg: ES256.alg,
    kbSigner: await ES256.getSigner(holderJwk),
    kbSignAlg: ES256.alg,
  };
  const instance = VC_TYPES.has(typ) ? new SDJwtVcInstance(config) : new SDJwtInstance(config);
  const claims = { ...payload, cnf: { jwk: holderPublic } };
  const sdjwt = await instance.issue(claims, req.disclosure_frame ?? {}, { header: { typ } });
  const iat = typeof req.iat === 'number' ? req.iat : Math.floor(Date.now() / 1000);
  const presentation = await instance.present(sdjwt, presentationFrame(req.disclose ?? []), {
    kb: { payload: { iat, aud: requireField(req, 'aud'), nonce: requireField(req, 'nonce') } },
  });
  return { sdjwt, presentation };
}

const commands = { verify, issue_present: issuePresent };

async function main() {
  const command = process.argv[2];
  const run = commands[command];
  if (!run) {
    process.stderr.write(`usage: node sdjwt.mjs <${Object.keys(commands).join('|')}> < request.json\n`);
    process.exit(2);
  }
  const request = JSON.parse(await readStdin());
  const answer = await run(request);
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}

main().catch((e) => {
  process.stderr.write(`harness error: ${e?.stack ?? e}\n`);
  process.exit(1);
});
