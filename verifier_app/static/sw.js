// Keeps the page, its script, style and catalogues so that it reloads with no network.
// Network first (a newer page wins), the cache when the network fails; POSTs are never cached.
"use strict";

const CACHE = "edl-verifier-v1";
const PAGE = [
  "/",
  "/static/app.js",
  "/static/style.css",
  "/static/icon.svg",
  "/static/i18n/en.json",
  "/static/i18n/zh.json",
  "/static/i18n/ja.json",
  "/static/i18n/de.json",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(PAGE)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (!PAGE.includes(url.pathname)) return;
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        const copy = response.clone();
        caches.open(CACHE).then((c) => c.put(event.request, copy));
        return response;
      })
      .catch(() => caches.match(event.request)),
  );
});
