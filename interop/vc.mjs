#!/usr/bin/env node
// Interop harness over Digital Bazaar's Data Integrity stack (@digitalbazaar/vc 7.3 with
// @digitalbazaar/data-integrity and @digitalbazaar/eddsa-rdfc-2022-cryptosuite 1.3, pinned
// in package.json). Reads one JSON request on stdin, writes one JSON answer on stdout.
//
//   node vc.mjs verify  {"credential", "did_document", "contexts": {url: json_text}}
//     -> {"ok": true} | {"ok": false, "error": "..."}
//
// The document loader answers only from the request (the OB 3.0 contexts, the issuer's DID
// document and its verification methods) and from the contexts the libraries bundle; it
// never fetches. `checkStatus` only checks the entry's shape: the Bitstring Status List is
// checked by the journey tests, and @digitalbazaar/vc refuses a credential with
// `credentialStatus` unless given one.

import * as vc from '@digitalbazaar/vc';
import { DataIntegrityProof } from '@digitalbazaar/data-integrity';
import { cryptosuite as eddsaRdfc2022CryptoSuite } from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';

const MULTIKEY_CONTEXT = 'https://w3id.org/security/multikey/v1';

function readStdin() {
  return new Promise((resolve, reject) => {
    let data = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk) => { data += chunk; });
    process.stdin.on('end', () => resolve(data));
    process.stdin.on('error', reject);
  });
}

function loaderFor(request) {
  const contexts = request.contexts || {};
  const didDoc = request.did_document;
  return async (url) => {
    if (contexts[url] !== undefined) {
      return { contextUrl: null, documentUrl: url, document: JSON.parse(contexts[url]) };
    }
    if (didDoc && url === didDoc.id) {
      return { contextUrl: null, documentUrl: url, document: didDoc };
    }
    if (didDoc && url.startsWith(`${didDoc.id}#`)) {
      const method = (didDoc.verificationMethod || []).find((m) => m.id === url);
      if (!method) throw new Error(`no verification method ${url} in the DID document`);
      return {
        contextUrl: null,
        documentUrl: url,
        document: { '@context': MULTIKEY_CONTEXT, ...method },
      };
    }
    // Bundled contexts (VC 2.0, Data Integrity, Multikey); anything else fails.
    return vc.defaultDocumentLoader(url);
  };
}

async function verify(request) {
  const suite = new DataIntegrityProof({ cryptosuite: eddsaRdfc2022CryptoSuite });
  const result = await vc.verifyCredential({
    credential: request.credential,
    suite,
    documentLoader: loaderFor(request),
    checkStatus: async ({ credential }) => {
      const s = credential.credentialStatus;
      const ok = s && s.type === 'BitstringStatusListEntry' && typeof s.statusListIndex === 'string';
      return ok ? { verified: true } : { verified: false, error: new Error('bad credentialStatus') };
    },
  });
  if (result.verified) return { ok: true };
  const errors = [];
  if (result.error) errors.push(result.error.message || String(result.error));
  for (const r of result.results || []) {
    if (r.error) errors.push(r.error.message || String(r.error));
  }
  return { ok: false, error: errors.join('; ') || JSON.stringify(result) };
}

const command = process.argv[2];
const request = JSON.parse(await readStdin());
let answer;
if (command === 'verify') {
  answer = await verify(request);
} else {
  console.error(`unknown command ${command}`);
  process.exit(2);
}
process.stdout.write(JSON.stringify(answer));
