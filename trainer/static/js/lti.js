// Deep linking: hand the signed content item back to the LMS without a second click (the button stays as a fallback).
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector("form[data-lti-autosubmit]");
  if (form) { form.submit(); }
});
