#!/usr/bin/env node
// Interop harness over the `jose` library (panva/jose, pinned in package.json) for the
// compact JWE of OpenID4VP 1.0 §8.3 `direct_post.jwt`: `alg` ECDH-ES on P-256, `enc`
// A128GCM or A256GCM. Reads one JSON request on stdin, writes one JSON answer on stdout.
//
//   node jwe.mjs encrypt  {"plaintext", "recipient_jwk", "enc", "kid"?}
//     -> {"jwe": "..."}
//   node jwe.mjs decrypt  {"jwe", "private_jwk", "enc_values"?}
//     -> {"ok": true, "plaintext": "...", "header": {...}} | {"ok": false, "error": "..."}
//
// A refused JWE is an answer (exit code 0); only a harness failure (bad request, library
// missing) exits non-zero.

import { CompactEncrypt, compactDecrypt, importJWK } from 'jose';

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

async function encrypt(req) {
  const plaintext = requireField(req, 'plaintext');
  const jwk = requireField(req, 'recipient_jwk');
  const enc = requireField(req, 'enc');
  const key = await importJWK({ ...jwk, alg: 'ECDH-ES' }, 'ECDH-ES');
  const header = { alg: 'ECDH-ES', enc };
  if (req.kid) header.kid = req.kid;
  const jwe = await new CompactEncrypt(new TextEncoder().encode(plaintext))
    .setProtectedHeader(header)
    .encrypt(key);
  return { jwe };
}

async function decrypt(req) {
  const jwe = requireField(req, 'jwe');
  const jwk = requireField(req, 'private_jwk');
  const key = await importJWK({ ...jwk, alg: 'ECDH-ES' }, 'ECDH-ES');
  try {
    const { plaintext, protectedHeader } = await compactDecrypt(jwe, key, {
      keyManagementAlgorithms: ['ECDH-ES'],
      contentEncryptionAlgorithms: req.enc_values ?? ['A128GCM', 'A256GCM'],
    });
    return { ok: true, plaintext: new TextDecoder().decode(plaintext), header: protectedHeader };
  } catch (e) {
    return { ok: false, error: `${e?.code ?? 'error'}: ${e?.message ?? e}` };
  }
}

const commands = { encrypt, decrypt };

async function main() {
  const command = process.argv[2];
  const run = commands[command];
  if (!run) {
    process.stderr.write(`usage: node jwe.mjs <${Object.keys(commands).join('|')}> < request.json\n`);
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
