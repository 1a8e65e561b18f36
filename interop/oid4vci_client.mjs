// An independent OpenID4VCI wallet (npm `@openid4vc/openid4vci` and `@openid4vc/oauth2`,
// the OpenWallet Foundation's oid4vc-ts) receiving a badge from Akashi's issuer through the
// authorization code flow: PKCE S256, a pushed authorization request, the authorization
// endpoint followed as a browser would, `iss` checked, DPoP-bound tokens with the issuer's
// DPoP-Nonce, a jwt key proof on a c_nonce, the credential.
//
// stdin: {"offer_link", "client_id", "redirect_uri", "scope", "configuration"}
// stdout: one JSON line: {"ok": true, "token_type", "credential", "holder_jwk",
//   "authorization_url"} or {"ok": false, "error"}.

import { createHash, randomBytes } from 'node:crypto'
import { CompactSign, calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose'
import { clientAuthenticationNone, setGlobalConfig } from '@openid4vc/oauth2'
import { Openid4vciClient } from '@openid4vc/openid4vci'

const input = JSON.parse(await new Promise((resolve) => {
  let data = ''
  process.stdin.on('data', (c) => { data += c })
  process.stdin.on('end', () => resolve(data))
}))

// The test issuer runs on http://127.0.0.1.
setGlobalConfig({ allowInsecureUrls: true })

// Keys by thumbprint, so the signing callback finds the private half of a signer's jwk.
const keys = new Map()
async function newKey () {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  const publicJwk = await exportJWK(publicKey)
  keys.set(await calculateJwkThumbprint(publicJwk), privateKey)
  return { method: 'jwk', alg: 'ES256', publicJwk }
}

const callbacks = {
  fetch: (url, init) => fetch(url, { ...init, redirect: 'manual' }),
  hash: (data, alg) => createHash(alg.replace('-', '')).update(data).digest(),
  generateRandom: (n) => randomBytes(n),
  clientAuthentication: clientAuthenticationNone({ clientId: input.client_id }),
  signJwt: async (signer, { header, payload }) => {
    const key = keys.get(await calculateJwkThumbprint(signer.publicJwk))
    if (!key) throw new Error('no private key for this signer')
    const jwt = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader({ ...header, alg: signer.alg })
      .sign(key)
    return { jwt, signerJwk: signer.publicJwk }
  }
}

try {
  const client = new Openid4vciClient({ callbacks })
  const credentialOffer = await client.resolveCredentialOffer(input.offer_link)
  const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer)
  const authorizationServerMetadata = issuerMetadata.authorizationServers[0]
  const dpopSigner = await newKey()

  const started = await client.initiateAuthorization({
    clientId: input.client_id,
    issuerMetadata,
    credentialOffer,
    scope: input.scope,
    redirectUri: input.redirect_uri,
    dpop: { signer: dpopSigner }
  })
  // The person's browser at the authorization endpoint: sent back to the redirect URI.
  const authorized = await fetch(started.authorizationRequestUrl, { redirect: 'manual' })
  const location = authorized.headers.get('location')
  if (!location) throw new Error(`the authorization endpoint answered ${authorized.status} without a redirect`)
  const response = client.parseAndVerifyAuthorizationResponseRedirectUrl({
    url: location,
    authorizationServerMetadata
  })
  if (!response.code) throw new Error(`no code in the authorization response: ${location}`)

  const token = await client.retrieveAuthorizationCodeAccessTokenFromOffer({
    issuerMetadata,
    credentialOffer,
    authorizationCode: response.code,
    pkceCodeVerifier: started.pkce?.codeVerifier,
    redirectUri: input.redirect_uri,
    dpop: { signer: dpopSigner, nonce: started.dpop?.nonce }
  })

  const { c_nonce: cNonce } = await client.requestNonce({ issuerMetadata })
  const holderSigner = await newKey()
  const proof = await client.createCredentialRequestJwtProof({
    issuerMetadata,
    signer: holderSigner,
    nonce: cNonce,
    credentialConfigurationId: input.configuration
  })
  const credentials = await client.retrieveCredentials({
    issuerMetadata,
    accessToken: token.accessTokenResponse.access_token,
    credentialConfigurationId: input.configuration,
    proofs: { jwt: [proof.jwt] },
    dpop: { signer: dpopSigner, nonce: token.dpop?.nonce }
  })
  process.stdout.write(JSON.stringify({
    ok: true,
    authorization_url: started.authorizationRequestUrl,
    token_type: token.accessTokenResponse.token_type,
    credential: credentials.credentialResponse.credentials[0].credential,
    holder_jwk: holderSigner.publicJwk
  }) + '\n')
} catch (e) {
  const detail = e?.errorResponse ? ` ${JSON.stringify(e.errorResponse)}` : ''
  process.stdout.write(JSON.stringify({ ok: false, error: `${e?.stack ?? e}${detail}` }) + '\n')
}
