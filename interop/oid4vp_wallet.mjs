#!/usr/bin/env node
// An independent OpenID4VP wallet for the HAIP interop test: npm `@openid4vc/openid4vp`
// 0.4.6 resolves Akashi's `openid4vp://` link (fetches the signed request object, checks
// the `x509_hash:` client identifier against the `x5c` leaf), `@sd-jwt/sd-jwt-vc` makes the
// presentation with its KB-JWT, npm `jose` encrypts the response (ECDH-ES to the request's
// key, `direct_post.jwt`) and the library posts it. The `x5c` chain is checked here with
// Node's own X509Certificate against the verifier's CA.
//
// stdin:  {"link", "credential", "holder_pkcs8_pem", "verifier_ca_pem"}
// stdout: one line {"ok": true, "client_id", "response_mode", "enc", "status", "body"}
//         or {"ok": false, "error": "…"}.

import { createHash, randomBytes, X509Certificate } from 'node:crypto'
import { CompactEncrypt, compactVerify, importJWK, importPKCS8, exportJWK, importX509 } from 'jose'
import { setGlobalConfig } from '@openid4vc/oauth2'
import { Openid4vpClient } from '@openid4vc/openid4vp'
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc'
import { ES256, digest } from '@sd-jwt/crypto-nodejs'

const input = JSON.parse(await new Promise((resolve) => {
  let data = ''
  process.stdin.on('data', (c) => { data += c })
  process.stdin.on('end', () => resolve(data))
}))

setGlobalConfig({ allowInsecureUrls: true })

const pem = (b64) => `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g).join('\n')}\n-----END CERTIFICATE-----\n`
const ca = new X509Certificate(input.verifier_ca_pem)

/** The leaf of `x5c` if the chain leads to the verifier's CA; throws otherwise. */
function checkChain (x5c) {
  const certs = x5c.map((c) => new X509Certificate(pem(c)))
  const now = new Date()
  for (const [i, cert] of certs.entries()) {
    if (new Date(cert.validFrom) > now || new Date(cert.validTo) < now) throw new Error(`certificate ${i} is not valid now`)
    const issuer = certs[i + 1] ?? ca
    if (!cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) throw new Error(`certificate ${i} is not issued by ${issuer.subject}`)
  }
  if (certs[0].checkIssued(certs[0])) throw new Error('the leaf is self-signed')
  return certs[0]
}

let enc
const callbacks = {
  fetch: (url, init) => fetch(url, { ...init, redirect: 'manual' }),
  hash: (data, alg) => createHash(alg.replace('-', '')).update(data).digest(),
  generateRandom: (n) => randomBytes(n),
  getX509CertificateMetadata: (certificate) => {
    const cert = new X509Certificate(pem(certificate))
    const names = (cert.subjectAltName ?? '').split(', ')
    return {
      sanDnsNames: names.filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4)),
      sanUriNames: names.filter((n) => n.startsWith('URI:')).map((n) => n.slice(4))
    }
  },
  verifyJwt: async (signer, { compact }) => {
    if (signer.method !== 'x5c') throw new Error(`a HAIP request is signed under x5c, not ${signer.method}`)
    const leaf = checkChain(signer.x5c)
    const key = await importX509(leaf.toString(), signer.alg ?? 'ES256')
    try {
      await compactVerify(compact, key)
      return { verified: true, signerJwk: await exportJWK(leaf.publicKey) }
    } catch {
      return { verified: false }
    }
  },
  encryptJwe: async (encryptor, data) => {
    enc = encryptor.enc
    const key = await importJWK(encryptor.publicJwk, 'ECDH-ES')
    const header = { alg: 'ECDH-ES', enc: encryptor.enc }
    if (encryptor.publicJwk.kid) header.kid = encryptor.publicJwk.kid
    const jwe = await new CompactEncrypt(new TextEncoder().encode(data))
      .setProtectedHeader(header)
      .encrypt(key)
    return { jwe, encryptionJwk: encryptor.publicJwk }
  }
}

try {
  const client = new Openid4vpClient({ callbacks })
  const parsed = client.parseOpenid4vpAuthorizationRequest({ authorizationRequest: input.link })
  const resolved = await client.resolveOpenId4vpAuthorizationRequest({
    authorizationRequestPayload: parsed.params
  })
  const request = resolved.authorizationRequestPayload
  if (resolved.client.prefix !== 'x509_hash') throw new Error(`client identifier prefix ${resolved.client.prefix}, not x509_hash`)
  const query = resolved.dcql?.query ?? request.dcql_query
  const queryId = query.credentials[0].id

  const holderKey = await importPKCS8(input.holder_pkcs8_pem, 'ES256', { extractable: true })
  const sdjwt = new SDJwtVcInstance({
    hasher: digest,
    kbSigner: await ES256.getSigner(await exportJWK(holderKey)),
    kbSignAlg: 'ES256'
  })
  const presentation = await sdjwt.present(input.credential, undefined, {
    kb: {
      payload: {
        aud: request.client_id,
        nonce: request.nonce,
        iat: Math.floor(Date.now() / 1000)
      }
    }
  })

  const response = await client.createOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: request,
    authorizationResponsePayload: { vp_token: { [queryId]: [presentation] } },
    jarm: {
      encryption: { nonce: request.nonce },
      serverMetadata: {
        authorization_signing_alg_values_supported: ['ES256'],
        authorization_encryption_alg_values_supported: ['ECDH-ES'],
        authorization_encryption_enc_values_supported: ['A256GCM', 'A128GCM']
      }
    }
  })
  const submitted = await client.submitOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: request,
    authorizationResponsePayload: response.authorizationResponsePayload,
    jarm: response.jarm ? { responseJwt: response.jarm.responseJwt } : undefined
  })
  const text = await submitted.response.text()
  console.log(JSON.stringify({
    ok: true,
    client_id: request.client_id,
    response_mode: submitted.responseMode,
    enc,
    status: submitted.response.status,
    body: text
  }))
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: `${e?.message ?? e} ${JSON.stringify(e?.zodError?.issues ?? e?.errorResponse ?? '')}` }))
}
