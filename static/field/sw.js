/* Service worker of the field pages (visits part), served at /field/sw.js with scope /field/.
 *
 * Small and honest: it only helps READING with a poor network.
 * - Field pages (GET under /field/): network first; a good answer is kept in the cache; when
 *   the network fails the kept copy is shown (today's route, visit pages, outlet cards).
 * - Static files (/static/): cache first, then network (they are versioned by deployment).
 * - The pages send {type: "cache", urls: [...]} with today's route, its visit pages and the
 *   outlet cards, which are fetched and kept at once, so they can be read offline later.
 * - POSTs are never touched here: offline submissions are queued by offline.js, which retries
 *   them with their Idempotency-Key.
 * Copies are per browser profile; logging out from a field page clears them (offline.js), and
 * CACHE changes with each new version of this file.
 */

"use strict";
// Filled in by the view that serves this file, in the language of the page that registered it.
var OFFLINE_TEXT = "__OFFLINE_TEXT__";
var CACHE = "jinggeng-field-v1";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (n) { return n.indexOf("jinggeng-field-") === 0 && n !== CACHE; })
        .map(function (n) { return caches.delete(n); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function keep(request, response) {
  if (response && response.ok && response.type === "basic" && !response.redirected) {
    var copy = response.clone();
    caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
  }
  return response;
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(caches.match(request).then(function (hit) {
      return hit || fetch(request).then(function (r) { return keep(request, r); });
    }));
    return;
  }
  if (url.pathname.indexOf("/field/") === 0 && url.pathname !== "/field/sw.js") {
    event.respondWith(fetch(request).then(function (r) { return keep(request, r); }).catch(function () {
      return caches.match(request, { ignoreVary: true }).then(function (hit) {
        return hit || new Response(
          "<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'>" +
          "<p style='font:16px sans-serif;padding:16px'>" + OFFLINE_TEXT + "</p>",
          { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
      });
    }));
  }
});

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type !== "cache" || !Array.isArray(data.urls)) { return; }
  // One at a time: gentle on a poor network (and on the server).
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return data.urls.slice(0, 200).reduce(function (chain, u) {
      return chain.then(function () {
        return fetch(u, { credentials: "same-origin" }).then(function (r) {
          if (r.ok && !r.redirected) { return cache.put(u, r); }
        }).catch(function () {});
      });
    }, Promise.resolve());
  }));
});
