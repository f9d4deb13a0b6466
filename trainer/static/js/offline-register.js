// Registers the service worker, offers "Install app" where the browser allows it, and shows how many
// answers made offline still wait to be saved.
"use strict";
(function () {
  if (!("serviceWorker" in navigator) || !window.isSecureContext) return;
  navigator.serviceWorker.register("/sw.js", {scope: "/"}).catch(() => null);

  const nav = document.querySelector(".site-header .nav ul");
  let deferred = null;
  window.addEventListener("beforeinstallprompt", (event) => {
    event.preventDefault();
    deferred = event;
    if (!nav || document.getElementById("install-app")) return;
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.id = "install-app";
    button.className = "link";
    button.textContent = "Install app";
    button.addEventListener("click", async () => {
      if (!deferred) return;
      deferred.prompt();
      await deferred.userChoice.catch(() => null);
      deferred = null;
      li.remove();
    });
    li.appendChild(button);
    nav.appendChild(li);
  });

  // A badge on every page while answers wait (the review-offline page shows the full status itself).
  if (document.getElementById("offline-review") || !window.indexedDB || !nav) return;
  const open = indexedDB.open("trainer-offline", 1);
  open.onupgradeneeded = () => {
    const db = open.result;
    if (!db.objectStoreNames.contains("queue")) db.createObjectStore("queue", {keyPath: "seq", autoIncrement: true});
    if (!db.objectStoreNames.contains("meta")) db.createObjectStore("meta");
  };
  open.onsuccess = () => {
    const count = open.result.transaction("queue").objectStore("queue").count();
    count.onsuccess = () => {
      if (!count.result) return;
      const li = document.createElement("li");
      const link = document.createElement("a");
      link.href = "/study/offline";
      link.className = "offline-badge";
      link.textContent = `${count.result} answers waiting`;
      li.appendChild(link);
      nav.appendChild(li);
    };
  };
})();
