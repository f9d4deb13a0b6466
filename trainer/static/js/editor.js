// The question editor: a live preview rendered by the server, and hotspot regions picked on the diagram.
// The editor works without this file: "Preview" re-renders the page, and regions have checkboxes.
(function () {
  "use strict";

  var form = document.getElementById("editor-form");
  if (!form) { return; }
  var preview = document.getElementById("preview");
  var url = form.getAttribute("data-preview-url");
  var tokenField = form.querySelector("input[name=csrf_token]");
  var timer = null;
  var sent = 0;

  function refresh() {
    if (!preview || !url) { return; }
    var mine = ++sent;
    preview.setAttribute("aria-busy", "true");
    preview.classList.add("is-stale");
    fetch(url, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { "X-CSRFToken": tokenField ? tokenField.value : "", "X-Requested-With": "fetch" }
    }).then(function (response) {
      if (!response.ok) { throw new Error("preview " + response.status); }
      return response.text();
    }).then(function (html) {
      if (mine !== sent) { return; }          // a newer preview is on its way
      preview.innerHTML = html;                // server-rendered and sanitised
      preview.setAttribute("aria-busy", "false");
      preview.classList.remove("is-stale");
    }).catch(function () {
      if (mine !== sent) { return; }
      preview.setAttribute("aria-busy", "false");
      preview.classList.remove("is-stale");
      preview.textContent = "The preview could not be updated. Press “Preview” to see it.";
    });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 350);
  }

  form.addEventListener("input", later);
  form.addEventListener("change", later);

  // Hotspot: show the chosen diagram's picker only; clicking a region ticks its checkbox and back.
  var select = form.querySelector("[data-diagram-select]");
  var pickers = form.querySelectorAll("[data-picker]");
  function showPicker() {
    pickers.forEach(function (picker) {
      picker.hidden = select && picker.getAttribute("data-picker") !== select.value;
    });
  }
  if (select && pickers.length) {
    select.addEventListener("change", showPicker);
    showPicker();
  }
  pickers.forEach(function (picker) {
    var diagram = picker.getAttribute("data-picker");
    function box(region) {
      return picker.querySelector('input[name=regions][value="' + diagram + ":" + region.getAttribute("data-region") + '"]');
    }
    function paint(region) {
      var input = box(region);
      var on = !!(input && input.checked);
      region.classList.toggle("hl", on);
      region.setAttribute("aria-pressed", on ? "true" : "false");
    }
    picker.querySelectorAll("[data-region]").forEach(function (region) {
      paint(region);
      function toggle() {
        var input = box(region);
        if (!input) { return; }
        input.checked = !input.checked;
        paint(region);
        input.dispatchEvent(new Event("change", { bubbles: true }));
      }
      region.addEventListener("click", toggle);
      region.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); toggle(); }
      });
    });
    picker.querySelectorAll("input[name=regions]").forEach(function (input) {
      input.addEventListener("change", function () {
        var name = input.value.split(":")[1];
        var region = picker.querySelector('[data-region="' + name + '"]');
        if (region) { paint(region); }
      });
    });
  });

  if (preview && !preview.querySelector(".preview-card")) { refresh(); }
}());
