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

  // Rows (options, pairs, steps) move up and down: the values of two neighbouring rows are swapped, so field
  // names keep their order and the server reads the new order as typed. Without this file rows are retyped.
  var status = document.createElement("p");
  status.className = "sr-only";
  status.id = "move-status";
  status.setAttribute("aria-live", "polite");
  form.appendChild(status);

  function fields(row) { return row.querySelectorAll("input:not([type=hidden]), textarea, select"); }
  function name(row) {
    var label = row.querySelector("legend, label");
    return label ? label.textContent.trim() : "Row";
  }
  function swap(a, b) {
    var one = fields(a), two = fields(b);
    for (var i = 0; i < one.length && i < two.length; i++) {
      if (one[i].type === "checkbox" || one[i].type === "radio") {
        var checked = one[i].checked; one[i].checked = two[i].checked; two[i].checked = checked;
      } else {
        var value = one[i].value; one[i].value = two[i].value; two[i].value = value;
      }
    }
    form.dispatchEvent(new Event("input", { bubbles: true }));
  }

  form.querySelectorAll("ol.rows").forEach(function (list) {
    var rows = Array.prototype.slice.call(list.children);
    if (rows.length < 2) { return; }
    rows.forEach(function (row, index) {
      var tools = document.createElement("div");
      tools.className = "move";
      [["up", -1], ["down", 1]].forEach(function (way) {
        var target = index + way[1];
        var button = document.createElement("button");
        button.type = "button";
        button.className = "button secondary small";
        button.setAttribute("data-move", way[0]);
        button.textContent = way[0] === "up" ? "Move up" : "Move down";
        button.setAttribute("aria-label", button.textContent + ": " + name(row).toLowerCase());
        button.disabled = target < 0 || target >= rows.length;
        button.addEventListener("click", function () {
          swap(row, rows[target]);
          var next = rows[target].querySelector('[data-move="' + way[0] + '"]');
          (next && !next.disabled ? next : rows[target].querySelector("[data-move]:not([disabled])")).focus();
          status.textContent = name(row) + " moved " + way[0] + ": it is now " + name(rows[target]).toLowerCase() + ".";
        });
        tools.appendChild(button);
      });
      row.appendChild(tools);
    });
  });

  if (preview && !preview.querySelector(".preview-card")) { refresh(); }
}());
