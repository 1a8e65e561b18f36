// The offline check page: verifies the card proof in the URL fragment (#AK1:…) on this
// device, with what the service worker keeps (offline-sw.js): the trusted issuers' keys and
// their signed status lists. The same checks as protocol::offline_card and the server:
// base45 (RFC 9285) → raw DEFLATE → the SD-JWT's parts; the issuer is trusted; its ES256
// signature (WebCrypto); each disclosure's SHA-256 digest is one the issuer signed; `exp`;
// the status list entry, from a list the issuer signed at most `max_status_age` seconds
// ago. Online, the server checks too (POST /check/offline/verify) and its answer wins.
// Everything shown is set as text (textContent), never as HTML.
'use strict';

(function () {
  const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
  const PREFIX = 'AK1:';
  const TYP_CARD = 'akashi-card+sd-jwt';
  const MAX_TEXT = 4296;
  const MAX_INFLATED = 4096;
  const MAX_LIST_BYTES = 1 << 20;
  const LEEWAY = 30;
  const texts = document.getElementById('offline-texts').dataset;
  const $ = (id) => document.getElementById(id);

  class Refusal extends Error {
    constructor(state, detail) {
      super(detail);
      this.state = state;
    }
  }

  function base45(text) {
    if (text.length % 3 === 1) throw new Refusal('malformed', 'base45: a character is left alone');
    const out = [];
    for (let i = 0; i < text.length; i += 3) {
      let n = 0;
      const group = text.slice(i, i + 3);
      for (let j = group.length - 1; j >= 0; j--) {
        const v = ALPHABET.indexOf(group[j]);
        if (v < 0) throw new Refusal('malformed', 'base45: character ' + JSON.stringify(group[j]) + ' at ' + (i + j));
        n = n * 45 + v;
      }
      if (group.length === 3) {
        if (n > 0xffff) throw new Refusal('malformed', 'base45: group at ' + i + ' is too large');
        out.push(n >> 8, n & 0xff);
      } else {
        if (n > 0xff) throw new Refusal('malformed', 'base45: group at ' + i + ' is too large');
        out.push(n);
      }
    }
    return new Uint8Array(out);
  }

  async function inflate(bytes, format, max) {
    const reader = new Blob([bytes]).stream().pipeThrough(new DecompressionStream(format)).getReader();
    const chunks = [];
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > max) {
        await reader.cancel();
        throw new Refusal('malformed', 'more than ' + max + ' bytes once inflated');
      }
      chunks.push(value);
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  const b64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const unb64url = (text) => Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
  const utf8 = (bytes) => new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  const ascii = (text) => new TextEncoder().encode(text);
  const sha256 = async (text) => b64url(new Uint8Array(await crypto.subtle.digest('SHA-256', ascii(text))));

  // The fragment → the parts of the SD-JWT (base64url, as the issuer encoded them).
  async function unpack(fragment) {
    if (fragment.length > MAX_TEXT * 2) throw new Refusal('malformed', 'the proof is longer than a QR code holds');
    if (/%(?!20|25)/.test(fragment)) throw new Refusal('malformed', 'a % escape other than %20 or %25');
    const text = fragment.replace(/%(20|25)/g, (m, c) => (c === '20' ? ' ' : '%'));
    if (!text.startsWith(PREFIX)) throw new Refusal('malformed', 'does not start with ' + PREFIX);
    if (text.length > MAX_TEXT) throw new Refusal('malformed', 'the proof is longer than a QR code holds');
    let raw;
    try {
      raw = await inflate(base45(text.slice(PREFIX.length)), 'deflate-raw', MAX_INFLATED);
    } catch (e) {
      throw e instanceof Refusal ? e : new Refusal('malformed', 'not raw DEFLATE data');
    }
    const parts = [];
    for (let at = 0; at < raw.length;) {
      if (at + 2 > raw.length) throw new Refusal('malformed', 'a length is cut short');
      const len = (raw[at] << 8) | raw[at + 1];
      if (at + 2 + len > raw.length) throw new Refusal('malformed', 'a part is cut short');
      parts.push(b64url(raw.subarray(at + 2, at + 2 + len)));
      at += 2 + len;
      if (parts.length > 16) throw new Refusal('malformed', 'too many parts');
    }
    if (parts.length < 3) throw new Refusal('malformed', 'fewer than the three JWS parts');
    return parts;
  }

  function json(part, what) {
    try {
      const v = JSON.parse(utf8(unb64url(part)));
      if (v === null || typeof v !== 'object') throw new Error();
      return v;
    } catch (e) {
      throw new Refusal('malformed', what + ' is not base64url JSON');
    }
  }

  async function es256(jwk, signingInput, signature) {
    if (!jwk || jwk.kty !== 'EC' || jwk.crv !== 'P-256') return false;
    const key = await crypto.subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    return crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, signature, ascii(signingInput));
  }

  // A JWS (three base64url parts) verified with the issuer's key named by its `kid`.
  async function verifiedJws(parts, issuer, typ, checks) {
    const header = json(parts[0], 'the JWS header');
    const payload = json(parts[1], 'the JWS payload');
    if (header.alg !== 'ES256') throw new Refusal('bad-signature', 'alg ' + JSON.stringify(header.alg) + ' is not ES256');
    if (header.typ !== typ) throw new Refusal('malformed', 'typ ' + JSON.stringify(header.typ) + ' is not ' + typ);
    const jwk = issuer.keys.find((k) => k.kid === header.kid);
    if (!jwk) throw new Refusal('bad-signature', 'the issuer has no key ' + JSON.stringify(header.kid));
    const ok = await es256(jwk, parts[0] + '.' + parts[1], unb64url(parts[2]));
    if (!ok) throw new Refusal('bad-signature', typ + ': the signature does not verify with key ' + header.kid);
    checks.push(['issuer_signature', typ + ' signed by key ' + header.kid + ' of ' + issuer.iss]);
    return payload;
  }

  // The disclosures against the payload's `_sd` digests (RFC 9901 §7.1): top level only,
  // as a card has no nested claims.
  async function reveal(payload, disclosures) {
    if (payload._sd_alg !== undefined && payload._sd_alg !== 'sha-256') throw new Refusal('tampered', '_sd_alg is not sha-256');
    const digests = new Set(Array.isArray(payload._sd) ? payload._sd : []);
    const claims = Object.assign({}, payload);
    delete claims._sd;
    delete claims._sd_alg;
    const seen = new Set();
    for (const [i, d] of disclosures.entries()) {
      const digest = await sha256(d);
      if (!digests.has(digest) || seen.has(digest)) throw new Refusal('tampered', 'disclosure ' + i + ' is not one the issuer signed');
      seen.add(digest);
      const array = json(d, 'disclosure ' + i);
      if (!Array.isArray(array) || array.length !== 3 || typeof array[0] !== 'string' || typeof array[1] !== 'string' || array[1] === '_sd' || array[1] === '...' || array[1] in claims) {
        throw new Refusal('tampered', 'disclosure ' + i + ' is malformed');
      }
      claims[array[1]] = array[2];
    }
    return claims;
  }

  // The badge's entry in its issuer's signed status list; `asOf` is when the issuer signed it.
  async function status(claims, issuer, now, maxAge, checks) {
    const ref = claims.status && claims.status.status_list;
    if (!ref) throw new Refusal('tampered', 'the card has no status list entry');
    const list = issuer.status_lists.find((l) => l.uri === ref.uri);
    if (!list) throw new Refusal('status-unknown', 'no status list ' + ref.uri + ' on this device');
    const parts = list.token.split('.');
    if (parts.length !== 3) throw new Refusal('status-unknown', 'status list token is malformed');
    const payload = await verifiedJws(parts, issuer, 'statuslist+jwt', []);
    if (payload.sub !== ref.uri) throw new Refusal('status-unknown', 'status list sub is not ' + ref.uri);
    const age = now - payload.iat;
    if (!(age <= maxAge)) {
      const e = new Refusal('status-too-old', 'status list signed ' + age + ' s ago; at most ' + maxAge + ' s accepted');
      e.asOf = payload.iat;
      throw e;
    }
    const bits = payload.status_list && payload.status_list.bits;
    if (![1, 2, 4, 8].includes(bits)) throw new Refusal('status-unknown', 'status list bits is not 1, 2, 4 or 8');
    const bytes = await inflate(unb64url(payload.status_list.lst), 'deflate', MAX_LIST_BYTES);
    const idx = ref.idx;
    if (!Number.isInteger(idx) || idx < 0 || Math.floor((idx * bits) / 8) >= bytes.length) throw new Refusal('status-unknown', 'index ' + idx + ' is outside the list');
    const value = (bytes[Math.floor((idx * bits) / 8)] >> ((idx * bits) % 8)) & ((1 << bits) - 1);
    const at = 'status list ' + ref.uri + ', index ' + idx;
    const e = (state, what) => Object.assign(new Refusal(state, what + ' (' + at + ')'), { asOf: payload.iat });
    if (value === 1) throw e('revoked', 'revoked');
    if (value === 2) throw e('suspended', 'suspended');
    if (value !== 0) throw e('revoked', 'status value ' + value + ' is not VALID');
    checks.push(['status', 'valid (' + at + ')']);
    return payload.iat;
  }

  async function verifyLocally(fragment, snapshot) {
    const checks = [];
    const result = { state: 'verified', checks, claims: null, asOf: null };
    try {
      const parts = await unpack(fragment);
      if (!snapshot) throw new Refusal('no-snapshot', 'no snapshot of the issuers on this device');
      const unverified = json(parts[1], 'the JWS payload');
      const issuer = snapshot.issuers.find((i) => i.iss === unverified.iss);
      if (!issuer) throw new Refusal('untrusted', JSON.stringify(unverified.iss) + ' is not on the trust list');
      checks.push(['trust', issuer.iss + ' is a trusted issuer']);
      const payload = await verifiedJws(parts.slice(0, 3), issuer, TYP_CARD, checks);
      const claims = await reveal(payload, parts.slice(3));
      result.claims = claims;
      checks.push(['disclosures', (parts.length - 3) + ' disclosure(s), each matching a digest the issuer signed']);
      const now = Math.floor(Date.now() / 1000);
      if (typeof claims.exp === 'number' && now > claims.exp + LEEWAY) throw new Refusal('expired', 'expired at ' + new Date(claims.exp * 1000).toISOString());
      checks.push(['validity', typeof claims.exp === 'number' ? 'valid until ' + new Date(claims.exp * 1000).toISOString() : 'no expiry']);
      result.asOf = await status(claims, issuer, now, snapshot.max_status_age, checks);
    } catch (e) {
      result.state = e instanceof Refusal ? e.state : 'malformed';
      result.asOf = e.asOf || null;
      checks.push(['failed', e.message]);
    }
    return result;
  }

  function age(seconds) {
    const n = (k, d) => texts[k].replace('{n}', String(Math.floor(seconds / d)));
    if (seconds < 60) return texts.justNow;
    if (seconds < 3600) return n('minutes', 60);
    if (seconds < 2 * 86400) return n('hours', 3600);
    return n('days', 86400);
  }

  const WORDS = {
    verified: 'verified', revoked: 'revoked', suspended: 'suspended', 'status-unknown': 'statusUnknown',
    'status-too-old': 'statusTooOld', untrusted: 'untrusted', tampered: 'tampered', 'bad-signature': 'badSignature',
    expired: 'expired', malformed: 'malformed', 'no-snapshot': 'noSnapshot', 'no-proof': 'noProof', checking: 'checking',
  };

  function show(result) {
    const section = $('offline-result');
    section.dataset.state = result.state;
    $('verdict').textContent = texts[WORDS[result.state]] || texts.malformed;
    const c = result.claims;
    const signed = c && ['verified', 'revoked', 'suspended', 'status-unknown', 'status-too-old', 'expired'].includes(result.state);
    $('card-claims').hidden = !signed;
    if (signed) {
      $('card-name').textContent = typeof c.name === 'string' ? c.name : '—';
      $('card-badge').textContent = String(c.badge || '');
      $('card-issuer').textContent = String(c.issuer_name || c.iss || '');
    }
    $('freshness').textContent = result.asOf ? texts.asOf.replace('{age}', age(Math.max(0, Math.floor(Date.now() / 1000) - result.asOf))) : '';
    const list = $('checks');
    list.replaceChildren(...result.checks.map(([name, detail]) => {
      const li = document.createElement('li');
      li.textContent = name + ': ' + detail;
      return li;
    }));
  }

  // The server's answer (CheckResult) in the page's words; it wins over the device's.
  function fromServer(answer, local) {
    const failed = (answer.checks || []).filter((c) => c.ok === false);
    let state = 'verified';
    const named = (n) => failed.find((c) => c.name === n);
    if (answer.state !== 'verified') {
      if (named('issuer_signature')) state = 'bad-signature';
      else if (named('trust')) state = 'untrusted';
      else if (named('disclosures')) state = 'tampered';
      else if (named('validity')) state = 'expired';
      else if (named('status')) state = /suspended/.test(named('status').detail || '') ? 'suspended' : 'revoked';
      else state = 'malformed';
    }
    const d = answer.disclosed || {};
    const first = (k) => (Array.isArray(d[k]) ? d[k][0] : undefined);
    return {
      state,
      claims: local.claims || { name: first('name'), badge: first('badge'), issuer_name: first('issuer_name') },
      asOf: state === 'verified' || state === 'revoked' || state === 'suspended' ? answer.checked_at : local.asOf,
      checks: (answer.checks || []).map((c) => ['server ' + c.name, c.detail || '']),
    };
  }

  async function snapshotKept() {
    try {
      const r = await fetch('/check/offline/snapshot', { headers: { accept: 'application/json' } });
      return r.ok ? await r.json() : null;
    } catch (e) {
      return null;
    }
  }

  async function markReady() {
    if (!('serviceWorker' in navigator)) return;
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      // `ready` resolves once the worker is active, which can be before its
      // `clients.claim()` makes it this page's controller: wait for that, or the page
      // would say it is not kept until the next visit.
      await new Promise((resolve) => {
        navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true });
      });
    }
    const cache = await caches.open('akashi-offline-v1');
    const kept = await Promise.all(['/check/offline', '/check/offline.js', '/check/offline/snapshot'].map((p) => cache.match(p)));
    if (navigator.serviceWorker.controller && kept.every(Boolean)) {
      $('offline-ready').dataset.ready = 'true';
      $('offline-ready').textContent = texts.readyText;
    }
  }

  async function run() {
    if ('serviceWorker' in navigator) {
      navigator.serviceWorker.register('/check/offline-sw.js', { scope: '/check/offline' }).catch(() => {});
    }
    const snapshot = await snapshotKept();
    markReady().catch(() => {});
    const fragment = location.hash.slice(1);
    if (!fragment) {
      if (location.hash) show({ state: 'no-proof', checks: [], claims: null, asOf: null });
      return;
    }
    show({ state: 'checking', checks: [], claims: null, asOf: null });
    const local = await verifyLocally(fragment, snapshot);
    show(local);
    const decoded = fragment.replace(/%(20|25)/g, (m, c) => (c === '20' ? ' ' : '%'));
    try {
      const r = await fetch('/check/offline/verify', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: decoded });
      if (r.status === 400) {
        const problem = await r.json();
        show({ state: 'malformed', claims: null, asOf: null, checks: local.checks.concat([['server', problem.detail || 'HTTP 400']]) });
        $('server-answer').textContent = texts.serverSays;
        $('offline-result').dataset.source = 'server';
        return;
      }
      if (!r.ok) throw new Error('HTTP ' + r.status);
      const answer = await r.json();
      const server = fromServer(answer, local);
      server.checks = local.checks.concat(server.checks);
      show(server);
      $('server-answer').textContent = server.state === local.state ? texts.serverAgrees : texts.serverSays;
      $('offline-result').dataset.source = 'server';
    } catch (e) {
      $('server-answer').textContent = texts.serverUnreachable;
      $('offline-result').dataset.source = 'device';
    }
  }

  window.addEventListener('hashchange', () => run());
  run();
})();
