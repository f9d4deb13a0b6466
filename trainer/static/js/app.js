// Small progressive enhancements: keyboard shortcuts for questions, hotspot clicks,
// the exam timer and lesson reading time. Every page works without this file.
(function () {
  "use strict";

  function typing(target) {
    return target && (target.tagName === "INPUT" && !["radio", "checkbox"].includes(target.type) ||
      target.tagName === "TEXTAREA" || target.tagName === "SELECT");
  }

  // Wide tables scroll sideways on a phone: make the scrolling box reachable and named for keyboard users.
  document.querySelectorAll(".table-wrap").forEach(function (wrap) {
    if (wrap.scrollWidth > wrap.clientWidth + 1) {
      var caption = wrap.querySelector("caption");
      wrap.tabIndex = 0;
      wrap.setAttribute("role", "region");
      wrap.setAttribute("aria-label", caption ? caption.textContent : "Table (scrolls sideways)");
    }
  });

  // Answer forms: number keys choose, Enter submits; time to answer is sent along.
  var form = document.querySelector("[data-question-form]");
  if (form) {
    var shown = Date.now();
    form.addEventListener("submit", function () {
      var field = form.querySelector("input[name=elapsed_ms]");
      if (field) { field.value = String(Date.now() - shown); }
      var button = form.querySelector("button[type=submit]");
      if (button) { setTimeout(function () { button.disabled = true; }, 0); } // no double submit
    });
    document.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) { return; }
      if (/^[1-9]$/.test(event.key)) {
        var input = form.querySelector('input[data-key="' + event.key + '"]');
        if (input) { input.click(); input.focus(); event.preventDefault(); }
      } else if (event.key === "Enter" && event.target.tagName !== "BUTTON") {
        event.preventDefault();
        form.requestSubmit();
      }
    });
  }

  // Feedback pages: N or Space goes on; 2 and 4 rate a correct answer Hard or Easy.
  var next = document.querySelector("[data-next]");
  if (next) {
    document.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) { return; }
      if (event.key === "n" || event.key === "N" || (event.key === " " && event.target === document.body)) {
        event.preventDefault();
        window.location.assign(next.getAttribute("href"));
      } else if (event.key === "2" || event.key === "4") {
        var button = document.querySelector('[data-hotkey="' + event.key + '"]');
        if (button) { event.preventDefault(); button.click(); }
      }
    });
  }

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
