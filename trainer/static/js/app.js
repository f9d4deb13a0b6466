// Small progressive enhancements: keyboard shortcuts for questions, hotspot clicks,
// the exam timer and lesson reading time. Every page works without this file.
(function () {
  "use strict";

  function typing(target) {
    return target && (target.tagName === "INPUT" && !["radio", "checkbox"].includes(target.type) ||
      target.tagName === "TEXTAREA" || target.tagName === "SELECT");
  }

  // Glossary terms in a lesson: the definition opens in place, under the word, instead of jumping to the
  // key-terms list at the end; the reading position stays where it was. Escape or a second tap closes it.
  var openTerm = null;
  function closeTerm(restoreFocus) {
    if (!openTerm) { return; }
    var button = openTerm;
    openTerm = null;
    button.setAttribute("aria-expanded", "false");
    document.getElementById(button.getAttribute("aria-controls")).hidden = true;
    if (restoreFocus) { button.focus(); }
  }
  document.querySelectorAll(".lesson-body a.term").forEach(function (link, index) {
    var entry = document.getElementById(link.getAttribute("href").slice(1));
    if (!entry || entry.tagName !== "DT" || !entry.nextElementSibling) { return; }
    var wrap = document.createElement("span");
    wrap.className = "term-wrap";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "term";
    button.textContent = link.textContent;
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", "term-pop-" + index);
    var pop = document.createElement("span");
    pop.className = "term-pop";
    pop.id = "term-pop-" + index;
    pop.setAttribute("role", "note");
    pop.hidden = true;
    var name = document.createElement("strong");
    name.textContent = entry.textContent + ": ";
    pop.appendChild(name);
    pop.appendChild(document.createTextNode(entry.nextElementSibling.textContent));
    wrap.appendChild(button);
    wrap.appendChild(pop);
    link.parentNode.replaceChild(wrap, link);
    button.addEventListener("click", function (event) {
      event.stopPropagation();
      if (openTerm === button) { closeTerm(false); return; }
      closeTerm(false);
      openTerm = button;
      button.setAttribute("aria-expanded", "true");
      pop.hidden = false;
      // Keep the box on screen: shift it left when the word sits near the right edge.
      pop.style.left = "0px";
      var box = pop.getBoundingClientRect();
      var room = document.documentElement.clientWidth - 8;
      if (box.right > room) { pop.style.left = Math.min(0, room - box.right) + "px"; }
    });
    pop.addEventListener("click", function (event) { event.stopPropagation(); });
  });
  document.addEventListener("click", function () { closeTerm(false); });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && openTerm) { event.preventDefault(); closeTerm(true); }
  });

  // First visit: the time zone list starts at the browser's own zone while it still shows the default.
  document.querySelectorAll("select[data-browser-zone]").forEach(function (select) {
    var zone;
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    if (zone && select.value === "UTC" && select.querySelector('option[value="' + CSS.escape(zone) + '"]')) {
      select.value = zone;
    }
  });

  // Wide tables scroll sideways on a phone: make the scrolling box reachable and named for keyboard users.
  document.querySelectorAll(".table-wrap").forEach(function (wrap) {
    if (wrap.scrollWidth > wrap.clientWidth + 1) {
      var caption = wrap.querySelector("caption");
      wrap.tabIndex = 0;
      wrap.setAttribute("role", "region");
      wrap.setAttribute("aria-label", caption ? caption.textContent : "Table (scrolls sideways)");
    }
  });

  // Answer forms, Anki-style: number keys choose (in a case study, within the part that has the focus),
  // Space or Enter checks the answer; time to answer is sent along.
  var form = document.querySelector("[data-question-form]");
  if (form) {
    var shown = Date.now();
    form.addEventListener("submit", function (event) {
      var field = form.querySelector("input[name=elapsed_ms]");
      if (field) { field.value = String(Date.now() - shown); }
      var button = event.submitter || form.querySelector("button[type=submit]");
      if (button) { setTimeout(function () { button.disabled = true; }, 0); } // no double submit
    });
    var partOf = function (el) { return el && el.closest ? el.closest("[data-case-part]") : null; };
    form.querySelectorAll("[data-case-part]").forEach(function (part) { part.tabIndex = -1; });
    var submitForm = function () {
      var button = document.getElementById("submit-answer");
      if (form.requestSubmit) { form.requestSubmit(button || undefined); } else { form.submit(); }
    };
    document.addEventListener("keydown", function (event) {
      var target = event.target;
      if (event.altKey || event.ctrlKey || event.metaKey || typing(target)) { return; }
      if (target.closest && target.closest("[data-order-list]")) { return; } // the ordering list has its own keys
      if (/^[1-9]$/.test(event.key)) {
        var scope = partOf(target) || form.querySelector("[data-case-part]") || form;
        var input = scope.querySelector('input[data-key="' + event.key + '"]');
        if (!input || input.disabled) { return; }
        event.preventDefault();
        input.click();
        // A radio takes the focus (Space then checks the answer); a checkbox leaves it on its part, so that
        // Space does not untick what the number key ticked.
        if (input.type === "radio") { input.focus(); } else { (partOf(input) || form).focus({preventScroll: true}); }
      } else if (event.key === "Enter" && target.tagName !== "BUTTON" && target.tagName !== "A") {
        event.preventDefault();
        submitForm();
      } else if (event.key === " " && (target === document.body || target === form || partOf(target) === target ||
                 (target.type === "radio" && target.checked))) {
        event.preventDefault();
        submitForm();
      }
    });
    if (!form.hasAttribute("tabindex")) { form.tabIndex = -1; }
    // A refused answer: the focus goes to the first option of the question or part that needs one.
    var refused = form.querySelector("[data-answer-error]");
    if (refused) {
      var box = refused.parentNode;
      var first = box.querySelector("[data-region], input:not([type=hidden]):not([disabled]), select, button.order-move");
      if (first) { first.focus(); }
    } else {
      // A short-answer box is ready for typing when the question opens with it.
      var firstControl = form.querySelector("input:not([type=hidden]), select, [data-region]");
      if (firstControl && firstControl.hasAttribute("data-answer-box")) { firstControl.focus(); }
    }
  }

  // Feedback pages: Space, Enter or N goes on; 2 and 4 rate a correct answer Hard or Easy.
  var next = document.querySelector("[data-next]");
  if (next) {
    document.addEventListener("keydown", function (event) {
      var target = event.target;
      if (event.altKey || event.ctrlKey || event.metaKey || typing(target)) { return; }
      var idle = target === document.body || target === next || target.id === "main";
      if (event.key === "n" || event.key === "N" || ((event.key === " " || event.key === "Enter") && idle)) {
        event.preventDefault();
        window.location.assign(next.getAttribute("href"));
      } else if (event.key === "2" || event.key === "4" || event.key === "g" || event.key === "G") {
        var button = document.querySelector('[data-hotkey="' + event.key.toLowerCase() + '"]');
        if (button) { event.preventDefault(); button.click(); }
      }
    });
  }

  // Home page: Enter or Space starts the review when nothing else has the focus.
  var start = document.querySelector("[data-start-key]");
  if (start) {
    document.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
      if ((event.key === "Enter" || event.key === " ") &&
          (event.target === document.body || event.target.id === "main")) {
        event.preventDefault();
        window.location.assign(start.getAttribute("href"));
      }
    });
  }

  // Ordering questions: a list reordered by drag and drop or by its Move up / Move down buttons (and
  // Alt+Up / Alt+Down); the position selects it replaces stay in the form, set from the list's order.
  document.querySelectorAll("[data-order-list]").forEach(function (list) {
    var status = list.parentNode.querySelector("[data-order-status]");
    var items = function () { return Array.prototype.slice.call(list.children); };
    var textOf = function (li) { return li.querySelector(".order-text").textContent; };
    var sync = function () {
      var all = items();
      all.forEach(function (li, index) {
        li.querySelector("select").value = String(index + 1);
        li.querySelector(".order-pos").textContent = String(index + 1);
        li.querySelector("[data-move='-1']").setAttribute("aria-label", "Move " + textOf(li) + " up (now " + (index + 1) + " of " + all.length + ")");
        li.querySelector("[data-move='1']").setAttribute("aria-label", "Move " + textOf(li) + " down (now " + (index + 1) + " of " + all.length + ")");
      });
    };
    var announce = function (li) {
      var all = items();
      if (status) { status.textContent = textOf(li) + " moved to position " + (all.indexOf(li) + 1) + " of " + all.length + "."; }
    };
    var move = function (li, delta, focusSelector) {
      var sibling = delta < 0 ? li.previousElementSibling : li.nextElementSibling;
      if (!sibling) {
        if (status) { status.textContent = textOf(li) + " is already " + (delta < 0 ? "first." : "last."); }
        return;
      }
      list.insertBefore(li, delta < 0 ? sibling : sibling.nextElementSibling);
      sync();
      announce(li);
      var again = li.querySelector(focusSelector);
      if (again) { again.focus(); }
    };
    list.classList.add("enhanced");
    var hint = list.parentNode.querySelector("#" + CSS.escape(list.getAttribute("data-prefix") + "order-hint"));
    if (hint) { hint.textContent = "Put the steps in order, first at the top: drag them, or use the Move up and Move down buttons (Alt+Up / Alt+Down)."; }
    items().forEach(function (li) {
      var pos = document.createElement("span");
      pos.className = "order-pos";
      pos.setAttribute("aria-hidden", "true");
      li.insertBefore(pos, li.firstChild);
      var buttons = document.createElement("span");
      buttons.className = "order-buttons";
      [["-1", "↑"], ["1", "↓"]].forEach(function (spec) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "button secondary small order-move";
        button.setAttribute("data-move", spec[0]);
        button.textContent = spec[1];
        button.addEventListener("click", function () { move(li, parseInt(spec[0], 10), "[data-move='" + spec[0] + "']"); });
        buttons.appendChild(button);
      });
      li.appendChild(buttons);
      li.draggable = true;
      li.addEventListener("keydown", function (event) {
        if (event.altKey && (event.key === "ArrowUp" || event.key === "ArrowDown")) {
          event.preventDefault();
          var selector = event.target.getAttribute && event.target.getAttribute("data-move") ?
            "[data-move='" + event.target.getAttribute("data-move") + "']" : "[data-move='-1']";
          move(li, event.key === "ArrowUp" ? -1 : 1, selector);
        }
      });
      li.addEventListener("dragstart", function (event) {
        list.dragged = li;
        li.classList.add("dragging");
        event.dataTransfer.effectAllowed = "move";
        event.dataTransfer.setData("text/plain", textOf(li));
      });
      li.addEventListener("dragend", function () { li.classList.remove("dragging"); list.dragged = null; sync(); });
    });
    list.addEventListener("dragover", function (event) {
      if (!list.dragged) { return; }
      event.preventDefault();
      var over = event.target.closest ? event.target.closest("li") : null;
      if (!over || over === list.dragged || over.parentNode !== list) { return; }
      var box = over.getBoundingClientRect();
      list.insertBefore(list.dragged, event.clientY < box.top + box.height / 2 ? over : over.nextElementSibling);
    });
    list.addEventListener("drop", function (event) {
      if (!list.dragged) { return; }
      event.preventDefault();
      var li = list.dragged;
      sync();
      announce(li);
    });
    sync();
  });

  // Hotspot questions: click, tap, or Enter/Space on a focused region.
  document.querySelectorAll(".hotspot").forEach(function (box) {
    var input = document.getElementById(box.getAttribute("data-input"));
    var status = document.getElementById(box.getAttribute("data-input") + "-chosen");
    if (!input || input.disabled) { return; }
    function choose(region) {
      box.querySelectorAll(".region.chosen").forEach(function (el) { el.classList.remove("chosen"); });
      region.classList.add("chosen");
      input.value = region.getAttribute("data-region");
      if (status) { status.textContent = "You chose: " + region.getAttribute("aria-label"); }
    }
    box.querySelectorAll("[data-region]").forEach(function (region) {
      region.addEventListener("click", function () { choose(region); });
      region.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); event.stopPropagation(); choose(region); }
      });
    });
  });

  // Exam timer: counts down from the server's figure; at zero, reload so the server submits.
  var timer = document.getElementById("timer");
  if (timer) {
    var end = Date.now() + parseInt(timer.getAttribute("data-remaining"), 10) * 1000;
    var tick = function () {
      var left = Math.max(0, Math.round((end - Date.now()) / 1000));
      var minutes = Math.floor(left / 60), seconds = left % 60;
      timer.textContent = minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
      if (left === 0) { window.location.assign(timer.getAttribute("data-expire-url")); return; }
      setTimeout(tick, 1000);
    };
    tick();
  }

  // Lesson pages: report visible reading time when the page is hidden.
  var lesson = document.getElementById("lesson");
  if (lesson && lesson.getAttribute("data-time-url")) {
    var visibleSince = document.visibilityState === "visible" ? Date.now() : null;
    var send = function () {
      if (visibleSince === null) { return; }
      var seconds = Math.round((Date.now() - visibleSince) / 1000);
      visibleSince = null;
      if (seconds < 2) { return; }
      var data = new FormData();
      data.append("seconds", String(seconds));
      data.append("csrf_token", lesson.getAttribute("data-csrf"));
      navigator.sendBeacon(lesson.getAttribute("data-time-url"), data);
    };
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") { send(); } else { visibleSince = Date.now(); }
    });
    window.addEventListener("pagehide", send);
  }
}());
