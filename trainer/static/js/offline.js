// The offline review: questions downloaded while online, answered with feedback without a connection, each
// answer queued in IndexedDB and removed only once the server acknowledged it (saved, already saved, or
// refused with a reason the learner is shown).
"use strict";
(function () {
  const root = document.getElementById("offline-review");
  if (!root) return;
  const statusEl = document.getElementById("offline-status");
  const questionEl = document.getElementById("offline-question");
  const noticesEl = document.getElementById("offline-notices");
  const pageLearner = Number(root.dataset.learner);
  const BATCH = 200;
  let db = null;
  let syncing = false;
  let shownAt = 0;

  function openDb() {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open("trainer-offline", 1);
      req.onupgradeneeded = () => {
        const d = req.result;
        if (!d.objectStoreNames.contains("queue")) d.createObjectStore("queue", {keyPath: "seq", autoIncrement: true});
        if (!d.objectStoreNames.contains("meta")) d.createObjectStore("meta");
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }

  // One transaction; resolves when it is committed to disk (oncomplete), with what fn returned.
  function tx(stores, mode, fn) {
    return new Promise((resolve, reject) => {
      const t = db.transaction(stores, mode);
      let out;
      const wrap = (req) => new Promise((res, rej) => { req.onsuccess = () => res(req.result); req.onerror = () => rej(req.error); });
      Promise.resolve(fn(t, wrap)).then((value) => { out = value; }, reject);
      t.oncomplete = () => resolve(out);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error);
    });
  }

  const getMeta = (key) => tx(["meta"], "readonly", (t, w) => w(t.objectStore("meta").get(key)));
  const setMeta = (key, value) => tx(["meta"], "readwrite", (t) => { t.objectStore("meta").put(value, key); });
  const queueAll = () => tx(["queue"], "readonly", (t, w) => w(t.objectStore("queue").getAll()));

  async function pending(learner) {
    return (await queueAll()).filter((a) => a.learner_id === learner);
  }

  async function showStatus(message) {
    const waiting = (await pending(pageLearner)).length;
    let text;
    if (!navigator.onLine) text = `offline - ${waiting} answer${waiting === 1 ? "" : "s"} waiting`;
    else if (syncing) text = `saving ${waiting} answer${waiting === 1 ? "" : "s"}…`;
    else if (waiting) text = `${waiting} answer${waiting === 1 ? "" : "s"} waiting`;
    else text = "all saved";
    statusEl.textContent = message ? `${text} · ${message}` : text;
    statusEl.dataset.waiting = String(waiting);
    statusEl.dataset.state = !navigator.onLine ? "offline" : waiting ? "waiting" : "saved";
  }

  function note(text) {
    const li = document.createElement("li");
    li.textContent = text;
    noticesEl.appendChild(li);
  }

  // --- questions -------------------------------------------------------------

  async function nextItem() {
    const download = await getMeta("download");
    if (!download || download.learner_id !== pageLearner) return null;
    const answered = new Set((await getMeta("answered")) || []);
    return download.items.find((item) => !answered.has(item.token)) || null;
  }

  function el(tag, attrs, html) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (html !== undefined) node.innerHTML = html;  // HTML rendered and sanitised by the server
    return node;
  }

  async function render() {
    const item = await nextItem();
    questionEl.replaceChildren();
    if (!item) {
      const download = await getMeta("download");
      questionEl.appendChild(el("p", {class: "offline-empty"}, download
        ? "No more downloaded questions. Connect to save your answers and get the next ones."
        : "No questions on this device yet: open this page once while online."));
      return;
    }
    const form = el("form", {class: "offline-form", "data-question": item.question_id});
    form.appendChild(el("div", {class: "stem"}, item.stem_html));
    if (item.media_svg) form.appendChild(el("div", {class: "media"}, item.media_svg));
    const fieldset = el("fieldset", {class: "choices"});
    fieldset.appendChild(el("legend", {class: "visually-hidden"}, "Your answer"));
    const kind = item.type === "multiple" ? "checkbox" : "radio";
    const choices = item.type === "truefalse"
      ? [{id: "true", html: "True"}, {id: "false", html: "False"}] : item.options;
    choices.forEach((option, i) => {
      const id = `offline-opt-${i}`;
      const label = el("label", {class: "choice", for: id});
      const input = el("input", {type: kind, name: "answer", value: option.id, id});
      label.appendChild(input);
      label.appendChild(el("span", {}, option.html));
      fieldset.appendChild(label);
    });
    form.appendChild(fieldset);
    form.appendChild(el("button", {type: "submit", class: "button"}, "Check answer"));
    form.addEventListener("submit", (event) => { event.preventDefault(); answer(item, form); });
    questionEl.appendChild(form);
    shownAt = Date.now();
  }

  function gradeLocally(item, picked) {
    if (item.type === "truefalse") {
      const value = picked[0] === "true";
      return {response: value, correct: value === item.answer};
    }
    if (item.type === "single") {
      const option = item.options.find((o) => o.id === picked[0]);
      return {response: picked[0], correct: Boolean(option && option.correct)};
    }
    const right = item.options.filter((o) => o.correct).map((o) => o.id).sort();
    const chosen = [...picked].sort();
    return {response: picked, correct: right.length === chosen.length && right.every((id, i) => id === chosen[i])};
  }

  async function answer(item, form) {
    const picked = [...form.querySelectorAll("input[name=answer]:checked")].map((i) => i.value);
    if (!picked.length) {
      let warn = form.querySelector(".field-error");
      if (!warn) { warn = el("p", {class: "field-error", role: "alert"}); form.appendChild(warn); }
      warn.textContent = "Choose an answer first.";
      return;
    }
    const {response, correct} = gradeLocally(item, picked);
    const now = Date.now();
    const entry = {token: item.token, learner_id: pageLearner, question_id: item.question_id, response,
      answered_at: new Date(now).toISOString(), duration_ms: Math.max(0, now - shownAt), correct};
    // Queue and mark answered in one transaction: it is on disk before the feedback shows.
    await tx(["queue", "meta"], "readwrite", async (t, w) => {
      const answered = (await w(t.objectStore("meta").get("answered"))) || [];
      if (answered.includes(item.token)) return;  // a double submit: already queued
      answered.push(item.token);
      t.objectStore("meta").put(answered, "answered");
      t.objectStore("queue").add(entry);
    });
    showFeedback(item, picked, correct);
    await showStatus();
    if (navigator.onLine) sync();
  }

  function showFeedback(item, picked, correct) {
    questionEl.replaceChildren();
    const box = el("div", {class: `feedback ${correct ? "correct" : "incorrect"}`, role: "status"});
    box.appendChild(el("p", {class: "verdict"}, correct ? "Correct." : "Not quite."));
    if (item.type === "truefalse") {
      box.appendChild(el("p", {}, `The answer is ${item.answer ? "true" : "false"}.`));
      const fb = picked[0] === "true" ? item.feedback_true : item.feedback_false;
      if (fb) box.appendChild(el("div", {}, fb));
    } else {
      const list = el("ul", {class: "options-feedback"});
      item.options.forEach((o) => {
        const li = el("li", {class: o.correct ? "right" : picked.includes(o.id) ? "wrong" : ""});
        li.appendChild(el("span", {}, `${o.correct ? "✓ " : picked.includes(o.id) ? "✗ " : ""}`));
        li.appendChild(el("span", {}, o.html));
        if (picked.includes(o.id) && o.feedback_html) li.appendChild(el("div", {class: "option-feedback"}, o.feedback_html));
        list.appendChild(li);
      });
      box.appendChild(list);
    }
    if (item.explanation_html) box.appendChild(el("div", {class: "explanation"}, item.explanation_html));
    if (item.lesson) {
      const p = el("p");
      const a = el("a", {href: item.lesson.url});
      a.textContent = `Reread: ${item.lesson.title}`;
      p.appendChild(a);
      box.appendChild(p);
    }
    const next = el("button", {type: "button", class: "button", id: "offline-next"}, "Next question");
    next.addEventListener("click", render);
    box.appendChild(next);
    questionEl.appendChild(box);
    next.focus();
  }

  // --- sync ------------------------------------------------------------------

  async function fetchJson(url, options) {
    const response = await fetch(url, {credentials: "same-origin", ...options});
    const type = response.headers.get("Content-Type") || "";
    if (!type.includes("json") || response.redirected) throw new Error("Log in again to save your answers.");
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || `The server said ${response.status}.`);
    return body;
  }

  async function storeDownload(download) {
    // Keep the tokens still waiting in the queue marked as answered; everything else is fresh.
    const waiting = (await queueAll()).map((a) => a.token);
    await tx(["meta"], "readwrite", (t) => {
      t.objectStore("meta").put(download, "download");
      t.objectStore("meta").put(waiting, "answered");
    });
  }

  async function sync() {
    if (syncing || !navigator.onLine) return showStatus();
    syncing = true;
    await showStatus();
    try {
      const session = await fetchJson(root.dataset.sessionUrl);
      let queue = (await pending(session.learner_id));
      let download = null;
      do {
        const batch = queue.slice(0, BATCH);
        const last = batch.length === queue.length;
        const reply = await fetchJson(root.dataset.syncUrl, {
          method: "POST", headers: {"Content-Type": "application/json", "X-CSRFToken": session.csrf_token},
          body: JSON.stringify({answers: batch.map(({token, response, answered_at, duration_ms}) =>
            ({token, response, answered_at, duration_ms})), download: last})});
        const acknowledged = new Set();
        reply.results.forEach((result, i) => {
          if (!result) return;
          acknowledged.add(batch[i].seq);
          if (result.status === "refused") note(`An answer was not saved: ${result.reason}`);
        });
        await tx(["queue"], "readwrite", (t) => { acknowledged.forEach((seq) => t.objectStore("queue").delete(seq)); });
        if (reply.download) download = reply.download;
        queue = queue.slice(batch.length);
      } while (queue.length);
      if (download && download.learner_id === pageLearner) await storeDownload(download);
      syncing = false;
      await showStatus();
      if (!questionEl.querySelector(".feedback")) await render();
    } catch (err) {
      syncing = false;
      await showStatus(err instanceof TypeError ? "no connection" : err.message);
    }
  }

  window.addEventListener("online", sync);
  window.addEventListener("offline", () => showStatus());
  document.getElementById("offline-sync").addEventListener("click", sync);

  openDb().then(async (opened) => {
    db = opened;
    await showStatus();
    await render();
    if (navigator.onLine) await sync();
    root.dataset.ready = "1";
  }).catch(() => { statusEl.textContent = "This browser cannot keep questions offline."; });
})();
