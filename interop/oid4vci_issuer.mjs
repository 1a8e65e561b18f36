#!/usr/bin/env node
// An independent OpenID4VCI 1.0 credential issuer and authorization server, for Akashi's
// wallet to receive from: npm `@openid4vc/openid4vci` 0.4.6 (metadata, offers, credential
// requests, jwt key proofs, responses) and `@openid4vc/oauth2` 0.4.6 (authorization server
// metadata, token requests: pre-authorized code, authorization code with PKCE S256 after a
// pushed authorization request, DPoP; JWT access tokens checked at the credential endpoint
// as a resource server), `@sd-jwt/sd-jwt-vc` 0.19 signing the SD-JWT VC, `jose` for keys and
// signatures, Node's HTTP server. Nothing of Akashi's code is used.
//
// The credential is an SD-JWT VC (`dc+sd-jwt`) of type `<issuer>/vct/open-badge-v3` in the
// SD-JWT VCLD form: the Open Badges 3.0 AchievementCredential in the `ld` claim (contexts,
// types, issuer Profile, AchievementSubject with the holder's did:jwk and a plain `name`
// IdentityObject, Achievement with criteria, the 1EdTech credentialSchema), the
// recipient's identifiers selectively disclosable; `iss` the issuer URL, whose key is
// published as JWT VC Issuer Metadata (`/.well-known/jwt-vc-issuer`).
//
// stdin: one JSON line {"name"?, "batch_size"?}; the issuer runs until stdin closes.
// stdout: one JSON line {"url", "issuer_jwk"} once listening.
// stderr: one line per refusal, naming the check.
//
// Test control (loopback, not part of OpenID4VCI):
//   POST /test/offers {"grant": "pre-authorized_code" | "authorization_code",
//                      "recipient_name", "achievement_name",
//                      "signing": "issuer" (default) | "unlisted_key" | "listed_kid_other_key",
//                      "binding": "each_key" (default) | "first_key_only"}
//     -> {"offer_link", "credential_offer_uri", "pre_authorized_code"?}
//   POST /test/clients {"client_id", "redirect_uri"}: registers an OAuth client.

import http from 'node:http'
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import {
  calculateJwkThumbprint, compactVerify, decodeJwt, decodeProtectedHeader, exportJWK,
  generateKeyPair, importJWK, CompactSign
} from 'jose'
import {
  Oauth2AuthorizationServer, Oauth2ResourceServer, Oauth2ServerErrorResponseError,
  Oauth2ResourceUnauthorizedError, clientAuthenticationNone, setGlobalConfig
} from '@openid4vc/oauth2'
import { Openid4vciClient, Openid4vciIssuer } from '@openid4vc/openid4vci'
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc'
import { ES256, digest, generateSalt } from '@sd-jwt/crypto-nodejs'

setGlobalConfig({ allowInsecureUrls: true }) // the tests run on http://127.0.0.1

const input = JSON.parse(await new Promise((resolve) => {
  let data = ''
  process.stdin.setEncoding('utf8')
  const onData = (chunk) => {
    data += chunk
    const nl = data.indexOf('\n')
    if (nl >= 0) {
      process.stdin.off('data', onData)
      resolve(data.slice(0, nl))
    }
  }
  process.stdin.on('data', onData)
}))
// The parent closing our stdin ends the issuer.
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()

const ISSUER_NAME = input.name ?? 'Independent Test Issuer'
const BATCH_SIZE = Number.isInteger(input.batch_size) ? input.batch_size : 1
const CONFIG_ID = 'OpenBadgeCredential_dc_sd_jwt'
const NONCE_TTL_MS = 300_000
const CODE_TTL_MS = 60_000

function refuse (check, detail) {
  process.stderr.write(`oid4vci_issuer: refused (${check}): ${detail}\n`)
}

// Keys: the issuer's signing key (published), the access token key (published at the AS
// jwks_uri), and a key that is nowhere in the metadata (for the forged-signer offers).
async function newKey (kid) {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }
  return { privateKey, publicJwk, privateJwk: { ...(await exportJWK(privateKey)), kid } }
}
const issuerKey = await newKey('issuer-key-1')
const tokenKey = await newKey('token-key-1')
const rogueKey = await newKey('rogue-key-1')

const callbacks = {
  hash: (data, alg) => createHash(alg.replace('-', '').toLowerCase()).update(data).digest(),
  generateRandom: (n) => randomBytes(n),
  clientAuthentication: clientAuthenticationNone({ clientId: 'independent-issuer' }),
  fetch: (url, init) => fetch(url, init),
  signJwt: async (signer, { header, payload }) => {
    const key = [issuerKey, tokenKey].find((k) => k.publicJwk.kid === signer.kid || k.publicJwk.x === signer.publicJwk?.x)
    if (!key) throw new Error('no private key for this signer')
    const jwt = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader({ ...header, alg: 'ES256' })
      .sign(key.privateKey)
    return { jwt, signerJwk: key.publicJwk }
  },
  // Every signature the libraries check (key proofs, DPoP proofs, our access tokens) by the
  // key the signer names: its `jwk` here (the libraries tie it to the request), only ES256.
  verifyJwt: async (signer, { compact, header }) => {
    try {
      if (header.alg !== 'ES256') return { verified: false }
      let jwk = signer.publicJwk
      if (!jwk && signer.method === 'jwk') jwk = header.jwk
      if (!jwk && signer.kid === tokenKey.publicJwk.kid) jwk = tokenKey.publicJwk
      if (!jwk) return { verified: false }
      await compactVerify(compact, await importJWK(jwk, 'ES256'))
      return { verified: true, signerJwk: jwk }
    } catch {
      return { verified: false }
    }
  }
}

// State, in memory: offers by pre-authorized code and by issuer_state, c_nonces issued and
// not yet used, pushed requests, authorization codes, DPoP proof jtis seen, clients.
const offers = new Map() // id -> offer
const preAuthorizedCodes = new Map() // code -> offer id
const nonces = new Map() // c_nonce -> expiry (ms)
const pushed = new Map() // request_uri -> {request, dpopJkt, expires}
const codes = new Map() // code -> {offerId, clientId, redirectUri, challenge, dpopJkt, expires}
const dpopJtis = new Set()
const clients = new Map() // client_id -> Set of redirect_uri

const authorizationServer = new Oauth2AuthorizationServer({ callbacks })
const resourceServer = new Oauth2ResourceServer({ callbacks })
const issuer = new Openid4vciIssuer({ callbacks })

let base = null
let issuerMetadata = null // IssuerMetadataResult, resolved from ourselves once listening

function credentialIssuerMetadata () {
  const config = {
    format: 'dc+sd-jwt',
    vct: `${base}/vct/open-badge-v3`,
    scope: 'open_badge',
    cryptographic_binding_methods_supported: ['jwk'],
    credential_signing_alg_values_supported: ['ES256'],
    proof_types_supported: { jwt: { proof_signing_alg_values_supported: ['ES256'] } },
    credential_metadata: { display: [{ name: 'Open Badge', locale: 'en' }] }
  }
  const md = {
    credential_issuer: base,
    credential_endpoint: `${base}/credential`,
    nonce_endpoint: `${base}/nonce`,
    authorization_servers: [base],
    display: [{ name: ISSUER_NAME, locale: 'en' }],
    credential_configurations_supported: { [CONFIG_ID]: config }
  }
  if (BATCH_SIZE > 1) md.batch_credential_issuance = { batch_size: BATCH_SIZE }
  return issuer.createCredentialIssuerMetadata(md)
}

function authorizationServerMetadata () {
  return authorizationServer.createAuthorizationServerMetadata({
    issuer: base,
    token_endpoint: `${base}/token`,
    authorization_endpoint: `${base}/authorize`,
    pushed_authorization_request_endpoint: `${base}/par`,
    require_pushed_authorization_requests: true,
    jwks_uri: `${base}/jwks`,
    code_challenge_methods_supported: ['S256'],
    dpop_signing_alg_values_supported: ['ES256'],
    authorization_response_iss_parameter_supported: true,
    response_types_supported: ['code'],
    grant_types_supported: ['authorization_code', 'urn:ietf:params:oauth:grant-type:pre-authorized_code'],
    token_endpoint_auth_methods_supported: ['none'],
    'pre-authorized_grant_anonymous_access_supported': true
  })
}

// The Open Badges 3.0 AchievementCredential (1EdTech OB 3.0 §8; VC Data Model 2.0).
function openBadge (offer, holderJwk, now) {
  const holderDid = 'did:jwk:' + Buffer.from(JSON.stringify(holderJwk)).toString('base64url')
  return {
    '@context': [
      'https://www.w3.org/ns/credentials/v2',
      'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json'
    ],
    id: `urn:uuid:${randomUUID()}`,
    type: ['VerifiableCredential', 'OpenBadgeCredential'],
    name: offer.achievementName,
    issuer: { id: base, type: ['Profile'], name: ISSUER_NAME, url: base },
    validFrom: new Date(now * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    credentialSubject: {
      id: holderDid,
      type: ['AchievementSubject'],
      identifier: [{
        type: 'IdentityObject',
        identityType: 'name',
        hashed: false,
        identityHash: offer.recipientName
      }],
      achievement: {
        id: `${base}/achievements/${offer.achievementId}`,
        type: ['Achievement'],
        name: offer.achievementName,
        description: `Awarded by ${ISSUER_NAME} for ${offer.achievementName}.`,
        criteria: { narrative: 'Completed the course.' }
      }
    },
    credentialSchema: [{
      id: 'https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json',
      type: '1EdTechJsonSchemaValidator2019'
    }]
  }
}

async function signBadge (offer, holderJwk) {
  const now = Math.floor(Date.now() / 1000)
  // `signing` picks the key: ours, one our metadata does not list (its own kid), or one
  // that claims our kid.
  const key = offer.signing === 'issuer' ? issuerKey : rogueKey
  const kid = offer.signing === 'unlisted_key' ? rogueKey.publicJwk.kid : issuerKey.publicJwk.kid
  const signer = await ES256.getSigner(key.privateJwk)
  const sdjwt = new SDJwtVcInstance({
    signer,
    signAlg: 'ES256',
    hasher: digest,
    hashAlg: 'sha-256',
    saltGenerator: generateSalt
  })
  const { kid: _k, alg: _a, use: _u, ...cnfJwk } = holderJwk
  const payload = {
    iss: base,
    iat: now,
    nbf: now,
    exp: now + 365 * 86400,
    vct: `${base}/vct/open-badge-v3`,
    cnf: { jwk: cnfJwk },
    ld: openBadge(offer, cnfJwk, now)
  }
  const frame = { ld: { credentialSubject: { identifier: { _sd: [0] }, _sd: ['identifier'] } } }
  return await sdjwt.issue(payload, frame, { header: { typ: 'dc+sd-jwt', kid } })
}

function readBody (req, limit = 64 * 1024) {
  return new Promise((resolve, reject) => {
    let data = ''
    req.setEncoding('utf8')
    req.on('data', (chunk) => {
      data += chunk
      if (data.length > limit) reject(new Error('request body too large'))
    })
    req.on('end', () => resolve(data))
    req.on('error', reject)
  })
}

function send (res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers })
  res.end(JSON.stringify(body))
}

function oauthError (res, error, description, status = 400, headers = {}) {
  refuse(error, description)
  send(res, status, { error, error_description: description }, headers)
}

// A RequestLike for the libraries: the full URL, the method and the headers.
function requestLike (req) {
  const headers = new Headers()
  for (const [k, v] of Object.entries(req.headers)) headers.set(k, Array.isArray(v) ? v.join(', ') : v)
  return { method: req.method, url: `${base}${req.url.split('?')[0]}`, headers }
}

// RFC 9449 §11.1: a DPoP proof is used once.
function dpopJtiFresh (req) {
  const proof = req.headers.dpop
  if (!proof) return true
  let jti
  try { jti = decodeJwt(proof).jti } catch { return false }
  if (typeof jti !== 'string' || dpopJtis.has(jti)) return false
  dpopJtis.add(jti)
  return true
}

async function newOffer (body) {
  const id = randomUUID()
  const offer = {
    id,
    grant: body.grant ?? 'pre-authorized_code',
    recipientName: body.recipient_name ?? 'Ana Tanaka',
    achievementName: body.achievement_name ?? 'Independent Course',
    achievementId: randomUUID(),
    signing: body.signing ?? 'issuer',
    binding: body.binding ?? 'each_key',
    issuerState: randomBytes(16).toString('base64url'),
    preAuthorizedCode: null,
    tokenIssued: false
  }
  if (!['issuer', 'unlisted_key', 'listed_kid_other_key'].includes(offer.signing)) {
    throw new Error(`unknown signing ${offer.signing}`)
  }
  const grants = offer.grant === 'authorization_code'
    ? { authorization_code: { issuer_state: offer.issuerState } }
    : { 'urn:ietf:params:oauth:grant-type:pre-authorized_code': {} }
  const created = await issuer.createCredentialOffer({
    issuerMetadata,
    credentialConfigurationIds: [CONFIG_ID],
    grants,
    credentialOfferUri: `${base}/offers/${id}`
  })
  offer.object = created.credentialOfferObject
  offer.preAuthorizedCode = created.credentialOfferObject.grants?.['urn:ietf:params:oauth:grant-type:pre-authorized_code']?.['pre-authorized_code'] ?? null
  if (offer.preAuthorizedCode) preAuthorizedCodes.set(offer.preAuthorizedCode, id)
  offers.set(id, offer)
  return {
    offer_link: created.credentialOffer,
    credential_offer_uri: `${base}/offers/${id}`,
    pre_authorized_code: offer.preAuthorizedCode
  }
}

async function accessToken (offer, dpopJwk, clientId) {
  offer.tokenIssued = true
  return await authorizationServer.createAccessTokenResponse({
    authorizationServer: base,
    audience: `${base}/credential`,
    subject: offer.id,
    clientId,
    expiresInSeconds: 600,
    signer: { method: 'jwk', alg: 'ES256', publicJwk: tokenKey.publicJwk, kid: tokenKey.publicJwk.kid },
    dpop: dpopJwk ? { jwk: dpopJwk } : undefined
  })
}

async function token (req, res) {
  const form = Object.fromEntries(new URLSearchParams(await readBody(req)))
  const request = requestLike(req)
  const asMetadata = authorizationServerMetadata()
  const parsed = authorizationServer.parseAccessTokenRequest({ request, accessTokenRequest: form })
  if (!dpopJtiFresh(req)) return oauthError(res, 'invalid_dpop_proof', 'DPoP proof jti already used')
  if (parsed.grant.grantType === 'urn:ietf:params:oauth:grant-type:pre-authorized_code') {
    const offer = offers.get(preAuthorizedCodes.get(parsed.grant.preAuthorizedCode))
    if (!offer || offer.tokenIssued) return oauthError(res, 'invalid_grant', 'pre-authorized_code unknown or already used')
    const verified = await authorizationServer.verifyPreAuthorizedCodeAccessTokenRequest({
      authorizationServerMetadata: asMetadata,
      grant: parsed.grant,
      accessTokenRequest: parsed.accessTokenRequest,
      request,
      expectedPreAuthorizedCode: offer.preAuthorizedCode,
      dpop: { jwt: parsed.dpop?.jwt, required: false, allowedSigningAlgs: ['ES256'] }
    })
    return send(res, 200, await accessToken(offer, verified.dpop?.jwk, undefined))
  }
  if (parsed.grant.grantType === 'authorization_code') {
    const granted = codes.get(parsed.grant.code)
    codes.delete(parsed.grant.code)
    if (!granted || granted.expires < Date.now()) return oauthError(res, 'invalid_grant', 'code unknown, used or expired')
    if (form.client_id !== granted.clientId) return oauthError(res, 'invalid_grant', 'code was issued to another client')
    if (form.redirect_uri !== granted.redirectUri) return oauthError(res, 'invalid_grant', 'redirect_uri differs from the authorization request')
    const verified = await authorizationServer.verifyAuthorizationCodeAccessTokenRequest({
      authorizationServerMetadata: asMetadata,
      grant: parsed.grant,
      accessTokenRequest: parsed.accessTokenRequest,
      request,
      expectedCode: granted.code,
      pkce: { codeVerifier: parsed.pkceCodeVerifier, codeChallenge: granted.challenge, codeChallengeMethod: 'S256' },
      dpop: { jwt: parsed.dpop?.jwt, required: true, expectedJwkThumbprint: granted.dpopJkt, allowedSigningAlgs: ['ES256'] }
    })
    return send(res, 200, await accessToken(offers.get(granted.offerId), verified.dpop?.jwk, granted.clientId))
  }
  return oauthError(res, 'unsupported_grant_type', `grant_type ${parsed.grant.grantType} is not supported`)
}

async function par (req, res) {
  const form = Object.fromEntries(new URLSearchParams(await readBody(req)))
  const request = requestLike(req)
  const parsed = await authorizationServer.parsePushedAuthorizationRequest({ request, authorizationRequest: form })
  if (!dpopJtiFresh(req)) return oauthError(res, 'invalid_dpop_proof', 'DPoP proof jti already used')
  const ar = parsed.authorizationRequest
  if (!clients.get(ar.client_id)?.has(ar.redirect_uri)) {
    return oauthError(res, 'invalid_request', `client_id ${ar.client_id} with redirect_uri ${ar.redirect_uri} is not registered`)
  }
  if (ar.code_challenge_method !== 'S256' || !ar.code_challenge) return oauthError(res, 'invalid_request', 'PKCE with S256 is required')
  if (ar.response_type !== 'code') return oauthError(res, 'unsupported_response_type', 'response_type must be code')
  const offer = [...offers.values()].find((o) => o.grant === 'authorization_code' && o.issuerState === ar.issuer_state)
  if (!offer) return oauthError(res, 'invalid_request', 'issuer_state is not one of this issuer\'s offers')
  if (ar.scope !== 'open_badge') return oauthError(res, 'invalid_scope', `scope ${ar.scope} is not offered`)
  const verified = await authorizationServer.verifyPushedAuthorizationRequest({
    authorizationServerMetadata: authorizationServerMetadata(),
    authorizationRequest: ar,
    request,
    dpop: { jwt: parsed.dpop?.jwt, jwkThumbprint: ar.dpop_jkt, required: true, allowedSigningAlgs: ['ES256'] }
  })
  const requestUri = `urn:ietf:params:oauth:request_uri:${randomBytes(24).toString('base64url')}`
  pushed.set(requestUri, { request: ar, offerId: offer.id, dpopJkt: verified.dpop?.jwkThumbprint, expires: Date.now() + CODE_TTL_MS })
  send(res, 201, authorizationServer.createPushedAuthorizationResponse({ requestUri, expiresInSeconds: CODE_TTL_MS / 1000 }).pushedAuthorizationResponse)
}

// The authorization endpoint: a pushed request only, taken once; the person is taken as
// signed in (this issuer has no users), and sent back with code, state and iss (RFC 9207).
function authorize (req, res) {
  const query = new URL(req.url, base).searchParams
  const entry = pushed.get(query.get('request_uri'))
  pushed.delete(query.get('request_uri'))
  if (!entry || entry.expires < Date.now() || entry.request.client_id !== query.get('client_id')) {
    refuse('invalid_request', 'request_uri unknown, used, expired or of another client')
    res.writeHead(400, { 'content-type': 'text/plain' })
    return res.end('request_uri unknown, used, expired or of another client')
  }
  const code = randomBytes(24).toString('base64url')
  codes.set(code, {
    code,
    offerId: entry.offerId,
    clientId: entry.request.client_id,
    redirectUri: entry.request.redirect_uri,
    challenge: entry.request.code_challenge,
    dpopJkt: entry.dpopJkt,
    expires: Date.now() + CODE_TTL_MS
  })
  const back = new URL(entry.request.redirect_uri)
  back.searchParams.set('code', code)
  if (entry.request.state) back.searchParams.set('state', entry.request.state)
  back.searchParams.set('iss', base)
  res.writeHead(303, { location: back.toString() })
  res.end()
}

function nonce (res) {
  const cNonce = randomBytes(24).toString('base64url')
  nonces.set(cNonce, Date.now() + NONCE_TTL_MS)
  send(res, 200, issuer.createNonceResponse({ cNonce, cNonceExpiresIn: NONCE_TTL_MS / 1000 }))
}

async function credential (req, res) {
  const request = requestLike(req)
  const body = JSON.parse(await readBody(req))
  if (!dpopJtiFresh(req)) return oauthError(res, 'invalid_dpop_proof', 'DPoP proof jti already used', 401)
  let token
  try {
    token = await resourceServer.verifyResourceRequest({
      request,
      resourceServer: `${base}/credential`,
      authorizationServers: issuerMetadata.authorizationServers
    })
  } catch (e) {
    if (e instanceof Oauth2ResourceUnauthorizedError) {
      refuse('invalid_token', e.message)
      res.writeHead(401, { 'www-authenticate': e.toHeaderValue?.() ?? 'Bearer error="invalid_token"' })
      return res.end()
    }
    throw e
  }
  const offer = offers.get(token.tokenPayload.sub)
  if (!offer) return oauthError(res, 'invalid_token', 'the token names no offer', 401)
  const parsed = issuer.parseCredentialRequest({ issuerMetadata, credentialRequest: body })
  if (parsed.credentialConfigurationId !== CONFIG_ID) return oauthError(res, 'unknown_credential_configuration', `credential_configuration_id ${parsed.credentialConfigurationId} is not offered`)
  const proofs = parsed.proofs?.jwt
  if (!Array.isArray(proofs) || proofs.length === 0) return oauthError(res, 'invalid_proof', 'no jwt key proof')
  if (proofs.length > BATCH_SIZE) return oauthError(res, 'invalid_proof', `${proofs.length} proofs, more than the batch size ${BATCH_SIZE}`)
  // §8.3.1.2: each proof's nonce must be a c_nonce this issuer gave and has not taken back.
  const holders = []
  const used = new Set()
  for (const [i, jwt] of proofs.entries()) {
    let claimed
    try { claimed = decodeJwt(jwt).nonce } catch { return oauthError(res, 'invalid_proof', `proofs.jwt[${i}] is not a JWT`) }
    const expires = typeof claimed === 'string' ? nonces.get(claimed) : undefined
    if (!expires || expires < Date.now()) {
      return oauthError(res, 'invalid_nonce', `proofs.jwt[${i}]: nonce ${JSON.stringify(claimed ?? null)} is not a c_nonce of this issuer, or it was used or expired`)
    }
    used.add(claimed)
    const verified = await issuer.verifyCredentialRequestJwtProof({
      issuerMetadata,
      jwt,
      expectedNonce: claimed,
      nonceExpiresAt: new Date(expires),
      clientId: token.tokenPayload.client_id
    })
    const thumbprint = await calculateJwkThumbprint(verified.signer.publicJwk)
    if (holders.some((h) => h.thumbprint === thumbprint)) return oauthError(res, 'invalid_proof', `proofs.jwt[${i}] repeats a key`)
    holders.push({ jwk: verified.signer.publicJwk, thumbprint })
  }
  for (const n of used) nonces.delete(n)
  const credentials = []
  // `binding` "first_key_only" (test control): every copy of a batch bound to the first
  // proof's key, as a faulty or hostile issuer might answer.
  for (const h of holders) {
    const jwk = offer.binding === 'first_key_only' ? holders[0].jwk : h.jwk
    credentials.push({ credential: await signBadge(offer, jwk) })
  }
  send(res, 200, issuer.createCredentialResponse({ credentialRequest: parsed, credentials }))
}

async function route (req, res) {
  const path = req.url.split('?')[0]
  const key = `${req.method} ${path}`
  if (key === 'GET /.well-known/openid-credential-issuer') return send(res, 200, credentialIssuerMetadata())
  if (key === 'GET /.well-known/oauth-authorization-server') return send(res, 200, authorizationServerMetadata())
  if (key === 'GET /.well-known/jwt-vc-issuer') return send(res, 200, { issuer: base, jwks: { keys: [issuerKey.publicJwk] } })
  if (key === 'GET /jwks') return send(res, 200, { keys: [tokenKey.publicJwk] })
  if (req.method === 'GET' && path.startsWith('/offers/')) {
    const offer = offers.get(path.slice('/offers/'.length))
    return offer ? send(res, 200, offer.object) : send(res, 404, { error: 'not_found' })
  }
  if (key === 'POST /token') return await token(req, res)
  if (key === 'POST /par') return await par(req, res)
  if (key === 'GET /authorize') return authorize(req, res)
  if (key === 'POST /nonce') return nonce(res)
  if (key === 'POST /credential') return await credential(req, res)
  if (key === 'POST /test/offers') return send(res, 201, await newOffer(JSON.parse(await readBody(req))))
  if (key === 'POST /test/clients') {
    const { client_id: id, redirect_uri: uri } = JSON.parse(await readBody(req))
    if (!clients.has(id)) clients.set(id, new Set())
    clients.get(id).add(uri)
    return send(res, 204, {})
  }
  send(res, 404, { error: 'not_found' })
}

const server = http.createServer((req, res) => {
  route(req, res).catch((e) => {
    if (e instanceof Oauth2ServerErrorResponseError) {
      const r = e.errorResponse
      return oauthError(res, r.error, r.error_description ?? e.message, e.status ?? 400)
    }
    process.stderr.write(`oid4vci_issuer: ${e?.stack ?? e}\n`)
    if (!res.headersSent) send(res, 500, { error: 'server_error', error_description: String(e?.message ?? e) })
  })
})
server.listen(0, '127.0.0.1', async () => {
  base = `http://127.0.0.1:${server.address().port}`
  const client = new Openid4vciClient({ callbacks })
  issuerMetadata = await client.resolveIssuerMetadata(base)
  process.stdout.write(JSON.stringify({ url: base, issuer_jwk: issuerKey.publicJwk }) + '\n')
})
