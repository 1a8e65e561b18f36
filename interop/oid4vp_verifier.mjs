#!/usr/bin/env node
// An independent OpenID4VP verifier for the interop tests: npm `jose` signs the request
// object, Node's own HTTP server serves it and takes the `direct_post` answer, and
// `@sd-jwt/sd-jwt-vc` verifies the presented badge (issuer signature, disclosures, KB-JWT
// nonce; the KB-JWT `aud` is checked here, as @sd-jwt/core 0.19 does not).
//
// stdin:  {"issuer_jwk", "vct", "claims": [[path…], …], "timeout_ms"?}
// stdout: line 1 {"link": "openid4vp://…", "client_id": "…"}, once listening;
//         line 2 {"ok": true, "payload": {…}} or {"ok": false, "error": "…"} after the
//         answer (or the timeout). Exit code 0 for either answer.

import http from 'node:http';
import crypto from 'node:crypto';
import { generateKeyPair, exportJWK, SignJWT } from 'jose';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { ES256, digest } from '@sd-jwt/crypto-nodejs';

function readStdin() {
  return new Promise((resolve, reject) => {
    let data = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk) => { data += chunk; });
    process.stdin.on('end', () => resolve(data));
    process.stdin.on('error', reject);
  });
}

function readBody(req, limit = 256 * 1024) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      data += chunk;
      if (data.length > limit) reject(new Error('response body too large'));
    });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

const input = JSON.parse(await readStdin());
const issuerJwk = input.issuer_jwk;
const { privateKey, publicKey } = await generateKeyPair('ES256');
const pub = await exportJWK(publicKey);
// did:jwk: the members crv, kty, x, y in lexicographic order.
const did = 'did:jwk:' + Buffer.from(JSON.stringify({ crv: pub.crv, kty: pub.kty, x: pub.x, y: pub.y })).toString('base64url');
const clientId = `decentralized_identifier:${did}`;
const nonce = crypto.randomBytes(16).toString('base64url');
const state = crypto.randomBytes(16).toString('base64url');
let requestJwt = null;
let finished = false;

function finish(answer) {
  if (finished) return;
  finished = true;
  process.stdout.write(JSON.stringify(answer) + '\n');
  server.close();
  setTimeout(() => process.exit(0), 50);
}

async function verify(vpToken) {
  const presentations = vpToken?.badge;
  if (!Array.isArray(presentations) || presentations.length !== 1) {
    return { ok: false, error: `vp_token.badge is not one presentation: ${JSON.stringify(vpToken)}` };
  }
  const instance = new SDJwtVcInstance({
    hasher: digest,
    hashAlg: 'sha-256',
    verifier: await ES256.getVerifier(issuerJwk),
    kbVerifier: async (data, sig, payload) => {
      const jwk = payload?.cnf?.jwk;
      if (!jwk) throw new Error('the credential has no cnf.jwk');
      return (await ES256.getVerifier(jwk))(data, sig);
    },
  });
  try {
    const result = await instance.verify(presentations[0], { keyBindingNonce: nonce });
    if (!result.kb) return { ok: false, error: 'no key binding' };
    if (result.kb.payload.aud !== clientId) {
      return { ok: false, error: `KB-JWT aud ${JSON.stringify(result.kb.payload.aud)} is not ${clientId}` };
    }
    return { ok: true, payload: result.payload };
  } catch (e) {
    return { ok: false, error: String(e?.message ?? e) };
  }
}

const server = http.createServer(async (req, res) => {
  try {
    if (req.method === 'GET' && req.url === '/request') {
      res.writeHead(200, { 'content-type': 'application/oauth-authz-req+jwt' });
      res.end(requestJwt);
      return;
    }
    if (req.method === 'POST' && req.url === '/response') {
      const form = new URLSearchParams(await readBody(req));
      if (form.get('state') !== state) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'invalid_request', error_description: 'unknown state' }));
        finish({ ok: false, error: `state ${form.get('state')} is not the request's` });
        return;
      }
      if (form.get('error')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
        finish({ ok: false, error: `the wallet answered ${form.get('error')}: ${form.get('error_description')}` });
        return;
      }
      const answer = await verify(JSON.parse(form.get('vp_token') ?? 'null'));
      res.writeHead(answer.ok ? 200 : 400, { 'content-type': 'application/json' });
      res.end(answer.ok ? '{}' : JSON.stringify({ error: 'invalid_request', error_description: answer.error }));
      finish(answer);
      return;
    }
    res.writeHead(404);
    res.end();
  } catch (e) {
    res.writeHead(500);
    res.end();
    finish({ ok: false, error: String(e?.message ?? e) });
  }
});

server.listen(0, '127.0.0.1', async () => {
  const base = `http://127.0.0.1:${server.address().port}`;
  const now = Math.floor(Date.now() / 1000);
  requestJwt = await new SignJWT({
    client_id: clientId,
    response_type: 'vp_token',
    response_mode: 'direct_post',
    response_uri: `${base}/response`,
    nonce,
    state,
    dcql_query: {
      credentials: [{
        id: 'badge',
        format: 'dc+sd-jwt',
        meta: { vct_values: [input.vct] },
        claims: input.claims.map((path) => ({ path })),
      }],
    },
    client_metadata: {
      vp_formats_supported: { 'dc+sd-jwt': { 'sd-jwt_alg_values': ['ES256'], 'kb-jwt_alg_values': ['ES256'] } },
    },
    aud: 'https://self-issued.me/v2',
    iat: now,
    exp: now + 300,
  })
    .setProtectedHeader({ alg: 'ES256', typ: 'oauth-authz-req+jwt', kid: `${did}#0` })
    .sign(privateKey);
  const link = `openid4vp://?client_id=${encodeURIComponent(clientId)}&request_uri=${encodeURIComponent(`${base}/request`)}`;
  process.stdout.write(JSON.stringify({ link, client_id: clientId }) + '\n');
});

setTimeout(() => finish({ ok: false, error: 'no answer in time' }), input.timeout_ms ?? 60000).unref();
