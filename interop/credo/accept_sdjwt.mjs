// Credo 0.6 (OpenWallet Foundation `@credo-ts/core`, `@credo-ts/openid4vc`, `@credo-ts/askar`
// 0.6.3) as an independent holder of an SD-JWT VC badge: does it accept the badge?
//
// An agent with an Askar wallet (SQLite, in a fresh temp dir, through the native library
// build-askar.sh made from the `aries-askar` crate) and the X.509 trust anchors given on
// stdin. Credo takes an SD-JWT VC issuer's key only from an `x5c` chain to those anchors or
// from a DID (`iss` did:…, `kid`); it has no resolver for JWT VC Issuer Metadata, so a badge
// signed under an https `iss` alone has no key it accepts.
//
// stdin: one JSON object, either
//   {"mode": "receive", "offer_link", "tx_code"?, "credential_configuration_ids"?,
//    "trusted_certificates": [PEM…]}
//     Credo's OpenID4VC holder receives the badge over OpenID4VCI: resolveCredentialOffer
//     (offer, issuer and authorization server metadata), requestToken (pre-authorized code),
//     requestCredentials (a jwt key proof by a P-256 key in the Askar wallet), which
//     verifies each SD-JWT VC it receives (SdJwtVcApi.verify: chain, signature, `iss`
//     against the leaf's SANs, digests, validity, status) before returning it; the badge is
//     then stored in the wallet, as a wallet does when the holder accepts it.
//   {"mode": "verify", "credential", "trusted_certificates": [PEM…]}
//     SdJwtVcApi.verify, what the holder runs on a received credential, on a given one.
// stdout: one JSON line: {"ok": true, "iss", "vct", "x5c_subject", "holder_binding",
//   "stored"?} or {"ok": false, "step", "error"}. A harness failure exits non-zero.

import { askar } from '@openwallet-foundation/askar-nodejs'
import { AskarModule } from '@credo-ts/askar'
import { Agent, Kms, X509Certificate, X509Module } from '@credo-ts/core'
import { OpenId4VcModule } from '@credo-ts/openid4vc'
import { createHash, randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { promises as fs } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

const input = JSON.parse(await new Promise((resolve) => {
  let data = ''
  process.stdin.on('data', (c) => { data += c })
  process.stdin.on('end', () => resolve(data))
}))

// What @credo-ts/node's NodeFileSystem provides (that package has no 0.6 release on npm:
// its latest is 0.5.19, then a 0.6.0 alpha for another core): the Askar store lives in
// `dataPath`, here a temp dir removed at the end.
const root = await fs.mkdtemp(join(tmpdir(), 'akashi-credo-'))
class TempFileSystem {
  dataPath = join(root, 'data')
  cachePath = join(root, 'cache')
  tempPath = join(root, 'tmp')
  async exists (path) { return fs.access(path).then(() => true, () => false) }
  async createDirectory (path) { await fs.mkdir(dirname(path), { recursive: true }) }
  async copyFile (from, to) { await fs.copyFile(from, to) }
  async write (path, data) {
    await fs.mkdir(dirname(path), { recursive: true })
    await fs.writeFile(path, data, 'utf-8')
  }
  async read (path) { return fs.readFile(path, 'utf-8') }
  async delete (path) { await fs.rm(path, { recursive: true, force: true }) }
  async downloadToFile (url, path, options) {
    const response = await fetch(url)
    if (!response.ok) throw new Error(`download of ${url}: HTTP ${response.status}`)
    const bytes = Buffer.from(await response.arrayBuffer())
    if (options?.verifyHash) {
      const hash = createHash('sha256').update(bytes).digest()
      if (!hash.equals(Buffer.from(options.verifyHash.hash))) throw new Error(`download of ${url}: hash mismatch`)
    }
    await this.write(path, bytes)
  }
}

// DIDComm transports are not used: no WebSocket is ever opened.
class NoWebSocket {
  constructor () { throw new Error('WebSocket transport is not used by this judge') }
}

const agent = new Agent({
  config: {
    // The journeys' issuer runs on http://127.0.0.1: Credo refuses http URLs (and an http
    // `iss` under x5c) unless told otherwise; everything else is checked as for https.
    allowInsecureHttpUrls: true,
    autoUpdateStorageOnStartup: true
  },
  dependencies: {
    FileSystem: TempFileSystem,
    EventEmitterClass: EventEmitter,
    fetch,
    WebSocketClass: NoWebSocket
  },
  modules: {
    askar: new AskarModule({
      askar,
      store: { id: `akashi-credo-${randomUUID()}`, key: randomUUID(), keyDerivationMethod: 'kdf:argon2i:int' }
    }),
    // The only trust anchors: the issuer's `x5c` chain must lead to one of these.
    x509: new X509Module({ trustedCertificates: input.trusted_certificates ?? [] }),
    openid4vc: new OpenId4VcModule({})
  }
})

function describe (error) {
  if (!error) return 'unknown error'
  const cause = error.cause ? ` (cause: ${describe(error.cause)})` : ''
  return `${error.name ?? 'Error'}: ${error.message ?? String(error)}${cause}`
}

function verdict (sdJwtVc, extra = {}) {
  const x5c = sdJwtVc.header?.x5c
  return {
    ok: true,
    iss: sdJwtVc.payload.iss ?? null,
    vct: sdJwtVc.payload.vct ?? null,
    x5c_subject: Array.isArray(x5c) && x5c.length > 0 ? X509Certificate.fromEncodedCertificate(x5c[0]).subject : null,
    holder_binding: sdJwtVc.holder?.method ?? null,
    ...extra
  }
}

let step = 'agent initialize'
let answer
try {
  await agent.initialize()
  if (input.mode === 'verify') {
    step = 'SdJwtVcApi.verify'
    const result = await agent.sdJwtVc.verify({ compactSdJwtVc: input.credential })
    answer = result.isValid ? verdict(result.sdJwtVc) : { ok: false, step, error: describe(result.error) }
  } else if (input.mode === 'receive') {
    const holder = agent.openid4vc.holder
    step = 'resolveCredentialOffer'
    const resolvedCredentialOffer = await holder.resolveCredentialOffer(input.offer_link)
    step = 'requestToken'
    const token = await holder.requestToken({ resolvedCredentialOffer, txCode: input.tx_code ?? undefined })
    step = 'requestCredentials'
    const { credentials } = await holder.requestCredentials({
      resolvedCredentialOffer,
      ...token,
      credentialConfigurationIds: input.credential_configuration_ids,
      // A fresh P-256 key in the Askar wallet per request, bound as a jwk.
      credentialBindingResolver: async ({ proofTypes }) => {
        if (!proofTypes.jwt?.supportedSignatureAlgorithms.includes('ES256')) {
          throw new Error(`the issuer accepts no ES256 jwt proof: ${JSON.stringify(proofTypes)}`)
        }
        const key = await agent.kms.createKey({ type: { kty: 'EC', crv: 'P-256' } })
        const publicJwk = Kms.PublicJwk.fromPublicJwk(key.publicJwk)
        publicJwk.keyId = key.keyId
        return { method: 'jwk', keys: [publicJwk] }
      }
    })
    if (credentials.length !== 1) throw new Error(`expected one credential, received ${credentials.length}`)
    step = 'store'
    const record = credentials[0].record
    await agent.sdJwtVc.store({ record })
    const stored = await agent.sdJwtVc.getAll()
    const sdJwtVc = record.firstCredential
    answer = verdict(sdJwtVc, {
      configuration: credentials[0].credentialConfigurationId,
      stored: stored.length,
      credential: sdJwtVc.compact
    })
  } else {
    throw new Error(`unknown mode ${JSON.stringify(input.mode)}`)
  }
} catch (error) {
  if (step === 'agent initialize') {
    process.stderr.write(`${describe(error)}\n${error?.stack ?? ''}\n`)
    process.exitCode = 2
  } else {
    answer = { ok: false, step, error: describe(error) }
  }
} finally {
  await agent.shutdown().catch(() => {})
  await fs.rm(root, { recursive: true, force: true })
}
if (answer) process.stdout.write(`${JSON.stringify(answer)}\n`)
