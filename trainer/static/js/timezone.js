// Fills a form's hidden "timezone" field with the browser's IANA zone (e.g. America/Chicago), so times are
// shown in the learner's own zone from the first page; the server checks the name and falls back to UTC.
(function () {
  "use strict";
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!zone) { return; }
  document.querySelectorAll("form[data-detect-timezone] input[name=timezone]").forEach(function (input) {
    if (!input.value) { input.value = zone; }
  });
}());
