// Service worker: keeps the offline review page, the site's own CSS/JS/icons and saved lessons available
// without a connection. Answers never pass through here: the page queues them in IndexedDB.
"use strict";
const SHELL_CACHE = "trainer-shell-v1";
const LESSON_CACHE = "trainer-lessons-v1";
const OFFLINE_PAGE = "/study/offline";
const SHELL = ["/static/css/app.css", "/static/js/app.js", "/static/js/offline.js", "/static/js/offline-register.js", "/static/js/offline-lessons.js",
  "/static/favicon.svg", "/static/icons/icon.svg", "/static/icons/icon-192.png", "/manifest.webmanifest"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL_CACHE).then((cache) =>
    Promise.all(SHELL.map((url) => cache.add(url).catch(() => null)))).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((keys) => Promise.all(keys
    .filter((k) => k.startsWith("trainer-") && k !== SHELL_CACHE && k !== LESSON_CACHE)
    .map((k) => caches.delete(k)))).then(() => self.clients.claim()));
});

function cacheable(response) {
  return response && response.ok && !response.redirected && response.type === "basic";
}

async function navigate(request) {
  const url = new URL(request.url);
  try {
    const response = await fetch(request);
    if (url.pathname === OFFLINE_PAGE && cacheable(response)) {
      const copy = response.clone();
      caches.open(SHELL_CACHE).then((cache) => cache.put(OFFLINE_PAGE, copy));
    } else if (cacheable(response) && (await caches.open(LESSON_CACHE).then((c) => c.match(request, {ignoreSearch: true})))) {
      const copy = response.clone();  // a saved lesson: keep the copy fresh
      caches.open(LESSON_CACHE).then((cache) => cache.put(url.pathname, copy));
    }
    return response;
  } catch (err) {
    const saved = await caches.match(url.pathname, {ignoreSearch: true});
    if (saved) return saved;
    const page = await caches.match(OFFLINE_PAGE);
    if (page) return page;
    throw err;
  }
}

async function asset(request) {
  const saved = await caches.match(request, {ignoreSearch: true});
  const fresh = fetch(request).then((response) => {
    if (cacheable(response) && new URL(request.url).pathname.startsWith("/static/")) {
      const copy = response.clone();
      caches.open(SHELL_CACHE).then((cache) => cache.put(request, copy));
    }
    return response;
  });
  if (saved) {
    fresh.catch(() => null);
    return saved;
  }
  return fresh;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/study/offline/")) return;  // downloads and syncs always go to the server
  if (request.mode === "navigate") {
    event.respondWith(navigate(request));
  } else if (url.pathname.startsWith("/static/") || url.pathname === "/manifest.webmanifest") {
    event.respondWith(asset(request));
  } else if (url.pathname.startsWith("/media/")) {  // diagrams of saved lessons
    event.respondWith(fetch(request).catch(() => caches.match(url.pathname).then((r) => r || Response.error())));
  }
});
