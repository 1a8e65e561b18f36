#!/usr/bin/env node
// An independent HAIP verifier for the interop tests: npm `@openid4vc/openid4vp` 0.4.6
// makes an `x509_hash:` signed request object (JAR, `x5c`) asking for `direct_post.jwt`
// with a fresh ECDH-ES P-256 key, and parses and decrypts the wallet's response; Node's
// HTTP server serves the request and takes the answer; the badge's issuer key comes from
// its `x5c` chain, checked with Node's X509Certificate against the issuer's CA, and
// `@sd-jwt/sd-jwt-vc` verifies the presentation and its KB-JWT.
//
// stdin:  {"leaf_b64", "key_pkcs8_pem", "issuer_ca_pem", "vct", "timeout_ms"?}
// stdout: line 1 {"link", "client_id"}, once listening;
//         line 2 {"ok": true, "payload": {…}, "enc"} or {"ok": false, "error": "…"}.

import http from 'node:http'
import crypto, { X509Certificate } from 'node:crypto'
import { CompactSign, compactDecrypt, decodeProtectedHeader, exportJWK, generateKeyPair, importPKCS8 } from 'jose'
import { setGlobalConfig } from '@openid4vc/oauth2'
import { Openid4vpVerifier } from '@openid4vc/openid4vp'
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc'
import { ES256, digest } from '@sd-jwt/crypto-nodejs'

const input = JSON.parse(await new Promise((resolve) => {
  let data = ''
  process.stdin.on('data', (c) => { data += c })
  process.stdin.on('end', () => resolve(data))
}))
setGlobalConfig({ allowInsecureUrls: true })

const pem = (b64) => `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g).join('\n')}\n-----END CERTIFICATE-----\n`
const issuerCa = new X509Certificate(input.issuer_ca_pem)
const signingKey = await importPKCS8(input.key_pkcs8_pem, 'ES256')
const leafDer = Buffer.from(input.leaf_b64, 'base64')
const clientId = 'x509_hash:' + crypto.createHash('sha256').update(leafDer).digest('base64url')
const encryption = await generateKeyPair('ECDH-ES', { crv: 'P-256', extractable: true })
const encryptionJwk = { ...(await exportJWK(encryption.publicKey)), kid: crypto.randomBytes(8).toString('base64url'), use: 'enc', alg: 'ECDH-ES' }
const nonce = crypto.randomBytes(16).toString('base64url')
const state = crypto.randomBytes(16).toString('base64url')
let requestJwt = null
let requestPayload = null
let enc = null
let finished = false

const callbacks = {
  signJwt: async (signer, { header, payload }) => {
    const jwt = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader({ ...header, alg: 'ES256' })
      .sign(signingKey)
    return { jwt, signerJwk: await exportJWK(new X509Certificate(pem(input.leaf_b64)).publicKey) }
  },
  decryptJwe: async (jwe) => {
    try {
      enc = decodeProtectedHeader(jwe).enc
      const { plaintext } = await compactDecrypt(jwe, encryption.privateKey)
      return { decrypted: true, decryptionJwk: encryptionJwk, payload: new TextDecoder().decode(plaintext) }
    } catch {
      return { decrypted: false }
    }
  },
  verifyJwt: async () => ({ verified: false })
}
const verifier = new Openid4vpVerifier({ callbacks })

function finish (answer) {
  if (finished) return
  finished = true
  process.stdout.write(JSON.stringify(answer) + '\n')
  server.close()
  setTimeout(() => process.exit(0), 50)
}

/** The issuer key: the leaf of the badge's `x5c`, if the chain leads to the issuer's CA. */
async function issuerKeyOf (sdJwt) {
  const header = decodeProtectedHeader(sdJwt.split('~')[0])
  if (!Array.isArray(header.x5c)) throw new Error('the badge has no x5c chain (HAIP 1.0 §6.1)')
  const certs = header.x5c.map((c) => new X509Certificate(pem(c)))
  for (const [i, cert] of certs.entries()) {
    const issuer = certs[i + 1] ?? issuerCa
    if (!cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) throw new Error(`x5c certificate ${i} is not issued by ${issuer.subject}`)
  }
  return exportJWK(certs[0].publicKey)
}

async function verify (vpToken) {
  const presentations = vpToken?.badge
  if (!Array.isArray(presentations) || presentations.length !== 1) {
    return { ok: false, error: `vp_token.badge is not one presentation: ${JSON.stringify(vpToken)}` }
  }
  try {
    const instance = new SDJwtVcInstance({
      hasher: digest,
      hashAlg: 'sha-256',
      verifier: await ES256.getVerifier(await issuerKeyOf(presentations[0])),
      kbVerifier: async (data, sig, payload) => {
        const jwk = payload?.cnf?.jwk
        if (!jwk) throw new Error('the credential has no cnf.jwk')
        return (await ES256.getVerifier(jwk))(data, sig)
      }
    })
    const result = await instance.verify(presentations[0], { keyBindingNonce: nonce })
    if (!result.kb) return { ok: false, error: 'no KB-JWT (HAIP 1.0 §5)' }
    if (result.kb.payload.aud !== clientId) {
      return { ok: false, error: `KB-JWT aud ${JSON.stringify(result.kb.payload.aud)} is not ${clientId}` }
    }
    return { ok: true, payload: result.payload, enc }
  } catch (e) {
    return { ok: false, error: String(e?.message ?? e) }
  }
}

function readBody (req, limit = 256 * 1024) {
  return new Promise((resolve, reject) => {
    let data = ''
    req.setEncoding('utf8')
    req.on('data', (chunk) => {
      data += chunk
      if (data.length > limit) reject(new Error('response body too large'))
    })
    req.on('end', () => resolve(data))
    req.on('error', reject)
  })
}

const server = http.createServer(async (req, res) => {
  try {
    if (req.method === 'GET' && req.url === '/request') {
      res.writeHead(200, { 'content-type': 'application/oauth-authz-req+jwt' })
      res.end(requestJwt)
      return
    }
    if (req.method === 'POST' && req.url === '/response') {
      const form = Object.fromEntries(new URLSearchParams(await readBody(req)))
      if (!form.response) {
        res.writeHead(400, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ error: 'invalid_request', error_description: 'direct_post.jwt: `response` is missing' }))
        finish({ ok: false, error: `a plain form, not direct_post.jwt: ${Object.keys(form)}` })
        return
      }
      const parsed = await verifier.parseOpenid4vpAuthorizationResponse({
        authorizationResponse: form,
        authorizationRequestPayload: requestPayload,
        callbacks
      })
      const payload = parsed.authorizationResponsePayload
      if (payload.state !== state) throw new Error(`state ${payload.state} is not the request's`)
      const answer = await verify(payload.vp_token)
      res.writeHead(answer.ok ? 200 : 400, { 'content-type': 'application/json' })
      res.end(answer.ok ? '{}' : JSON.stringify({ error: 'invalid_request', error_description: answer.error }))
      finish(answer)
      return
    }
    res.writeHead(404)
    res.end()
  } catch (e) {
    res.writeHead(400, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ error: 'invalid_request', error_description: String(e?.message ?? e) }))
    finish({ ok: false, error: `${e?.message ?? e} ${JSON.stringify(e?.zodError?.issues ?? '')}` })
  }
})

server.listen(0, '127.0.0.1', async () => {
  try {
    const base = `http://127.0.0.1:${server.address().port}`
    const created = await verifier.createOpenId4vpAuthorizationRequest({
      authorizationRequestPayload: {
        response_type: 'vp_token',
        client_id: clientId,
        response_uri: `${base}/response`,
        response_mode: 'direct_post.jwt',
        nonce,
        state,
        dcql_query: {
          credentials: [{
            id: 'badge',
            format: 'dc+sd-jwt',
            meta: { vct_values: [input.vct] },
            trusted_authorities: [{ type: 'aki', values: [input.issuer_aki] }]
          }]
        },
        client_metadata: {
          jwks: { keys: [encryptionJwk] },
          encrypted_response_enc_values_supported: ['A128GCM', 'A256GCM'],
          vp_formats_supported: { 'dc+sd-jwt': { 'sd-jwt_alg_values': ['ES256'], 'kb-jwt_alg_values': ['ES256'] } }
        }
      },
      jar: {
        requestUri: `${base}/request`,
        jwtSigner: { method: 'x5c', x5c: [input.leaf_b64], alg: 'ES256' },
        expiresInSeconds: 300
      }
    })
    requestJwt = created.jar?.authorizationRequestJwt
    requestPayload = created.authorizationRequestPayload
    if (!requestJwt) throw new Error(`no JAR made: ${Object.keys(created)} ${Object.keys(created.jar ?? {})}`)
    process.stdout.write(JSON.stringify({ link: created.authorizationRequest, client_id: clientId }) + '\n')
  } catch (e) {
    process.stdout.write(JSON.stringify({ link: null, error: String(e?.message ?? e) }) + '\n')
    finish({ ok: false, error: String(e?.message ?? e) })
  }
})

setTimeout(() => finish({ ok: false, error: 'no answer in time' }), input.timeout_ms ?? 60000).unref()
