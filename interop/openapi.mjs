#!/usr/bin/env node
// Validates an OpenAPI document with an independent implementation
// (@apidevtools/swagger-parser, pinned in package.json): the schema of the OpenAPI
// version it declares, then `$ref`s resolved and the rules a schema cannot say (unique
// operationIds, path parameters declared, …). Reads the document on stdin.
//
//   node openapi.mjs validate  <document>
//     -> {"ok": true, "openapi": "3.1.0", "paths": N} | {"ok": false, "error": "..."}
//
// A document that fails is an answer (exit code 0); only a harness failure exits non-zero.

import SwaggerParser from '@apidevtools/swagger-parser';

function readStdin() {
  return new Promise((resolve, reject) => {
    let data = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk) => { data += chunk; });
    process.stdin.on('end', () => resolve(data));
    process.stdin.on('error', reject);
  });
}

const command = process.argv[2];
if (command !== 'validate') {
  process.stderr.write(`unknown command ${command}\n`);
  process.exit(2);
}
const doc = JSON.parse(await readStdin());
let answer;
try {
  // validate() dereferences in place: give it a copy.
  const api = await SwaggerParser.validate(structuredClone(doc));
  answer = { ok: true, openapi: api.openapi, paths: Object.keys(api.paths ?? {}).length };
} catch (e) {
  answer = { ok: false, error: String(e && e.message ? e.message : e) };
}
process.stdout.write(JSON.stringify(answer));
