#!/usr/bin/env node
// An independent OpenID Connect provider, the upstream identity provider of Akashi's issuer
// in tests/journeys/oidc_upstream.rs: npm `oidc-provider` 9 (panva), certified by the
// OpenID Foundation, with its development login and consent forms (devInteractions).
// Nothing of Akashi's code is used.
//
// One confidential client (client_secret_basic, PKCE S256 required, one redirect URI); the
// ID token carries `email` and `email_verified` (conformIdTokenClaims off), signed with
// the client's `id_token_signed_response_alg` (RS256 by default, or ES256). The accounts
// are given on stdin; the devInteractions login form takes any password and signs in as
// the account its `login` names.
//
// stdout: one JSON line {"url"} (the issuer identifier) once listening; then
// stdin: one JSON line {"client_id", "client_secret", "redirect_uri", "alg"?, "id_token_ttl"?,
//        "accounts": {"<login>": {"email", "email_verified"}}};
// stdout: {"ready": true} once the provider answers. It runs until stdin closes.

import http from 'node:http'
import { randomBytes } from 'node:crypto'
import { exportJWK, generateKeyPair } from 'jose'
import Provider from 'oidc-provider'

// The issuer identifier first (the relying party's configuration needs it), then the
// client, whose redirect URI is known only once the relying party listens.
const server = http.createServer()
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
const issuer = `http://127.0.0.1:${server.address().port}`
process.stdout.write(JSON.stringify({ url: issuer }) + '\n')

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
// The parent closing our stdin ends the provider.
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()

async function signingKey (alg, kid) {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, modulusLength: 2048 })
  return { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' }
}
const keys = [await signingKey('RS256', 'rsa-1'), await signingKey('ES256', 'ec-1')]

const accounts = input.accounts ?? {}
const ttl = (seconds) => () => seconds

const provider = new Provider(issuer, {
  clients: [{
    client_id: input.client_id,
    client_secret: input.client_secret,
    redirect_uris: [input.redirect_uri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: input.alg ?? 'RS256'
  }],
  jwks: { keys },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  ttl: {
    AccessToken: ttl(300),
    AuthorizationCode: ttl(60),
    IdToken: ttl(input.id_token_ttl ?? 300),
    Interaction: ttl(600),
    Session: ttl(600),
    Grant: ttl(600)
  },
  async findAccount (_ctx, sub) {
    const account = accounts[sub]
    if (!account) return undefined
    return {
      accountId: sub,
      async claims () {
        return { sub, email: account.email, email_verified: account.email_verified }
      }
    }
  }
})
provider.on('server_error', (_ctx, err) => process.stderr.write(`oidc_idp: server_error: ${err.stack}\n`))
server.on('request', provider.callback())
process.stdout.write(JSON.stringify({ ready: true }) + '\n')
