// "Save for offline reading" on a module page: stores the module's page, lessons and diagrams in the
// lessons cache the service worker reads from when there is no connection, and shows their size.
"use strict";
(function () {
  const box = document.querySelector(".save-offline");
  if (!box || !("caches" in window) || !("serviceWorker" in navigator)) return;
  const button = box.querySelector("button");
  const statusEl = box.querySelector(".save-offline-status");
  const CACHE = "trainer-lessons-v1";
  box.hidden = false;

  function size(bytes) {
    return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} kB`;
  }

  async function measure(cache, urls) {
    let total = 0;
    let found = 0;
    for (const url of urls) {
      const response = await cache.match(url);
      if (!response) continue;
      found += 1;
      total += (await response.clone().blob()).size;
    }
    return {total, found};
  }

  async function files() {
    const response = await fetch(box.dataset.files, {credentials: "same-origin"});
    if (!response.ok) throw new Error("The module list could not be loaded.");
    return (await response.json()).urls;
  }

  async function show() {
    if (!navigator.onLine) return;  // this is the saved copy showing
    try {
      const urls = await files();
      const cache = await caches.open(CACHE);
      const {total, found} = await measure(cache, urls);
      if (found === urls.length) {
        statusEl.textContent = `Saved for offline reading: ${urls.length} files, ${size(total)}.`;
        button.textContent = "Update the offline copy";
      }
    } catch (err) { /* offline: the saved copy is what is showing */ }
  }

  button.addEventListener("click", async () => {
    button.disabled = true;
    statusEl.textContent = "Saving…";
    try {
      const urls = await files();
      const cache = await caches.open(CACHE);
      for (const url of urls) {
        const response = await fetch(url, {credentials: "same-origin"});
        if (!response.ok || response.redirected) throw new Error(`${url} could not be saved.`);
        await cache.put(url, response);
      }
      const {total} = await measure(cache, urls);
      statusEl.textContent = `Saved for offline reading: ${urls.length} files, ${size(total)}.`;
      box.dataset.saved = String(total);
    } catch (err) {
      statusEl.textContent = `Not saved: ${err.message || "no connection"}`;
    } finally {
      button.disabled = false;
    }
  });
  show();
})();
