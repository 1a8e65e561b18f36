// The offline check page's service worker (scope /check/offline): keeps the page, its
// script and style, and the last snapshot of the trusted issuers' keys and status lists,
// so a card can be checked with no network. Network first (fresh when online), then the
// kept copy. Nothing else is touched; POSTs (the server's own check) pass through.
'use strict';

const CACHE = 'akashi-offline-v1';
const KEPT = ['/check/offline', '/check/offline.js', '/static/verifier.css', '/check/offline/snapshot'];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(KEPT)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin || !KEPT.includes(url.pathname)) {
    return;
  }
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const fresh = await fetch(event.request);
      if (fresh.ok) {
        await cache.put(url.pathname, fresh.clone());
      }
      return fresh;
    } catch (offline) {
      const kept = await cache.match(url.pathname);
      if (kept) {
        const headers = new Headers(kept.headers);
        headers.set('x-akashi-offline-copy', '1');
        return new Response(kept.body, { status: kept.status, headers });
      }
      return Response.error();
    }
  })());
});
