// m2m-console: choices that show their outcome before they are made. Lives here, not
// inline, so the strict Content-Security-Policy holds; without it the server's text stands.
(function () {
  "use strict";

  // The rotate dialog: an overlap replaces the red "Now" warning with when the old secret
  // stops, and the button is no longer a destructive one.
  function syncRotate(form) {
    var chosen = form.querySelector("input[name=overlap]:checked");
    var until = chosen && chosen.value !== "now" ? chosen.getAttribute("data-until") : null;
    var warning = form.querySelector("[data-rotate-now]");
    var outcome = form.querySelector("[data-rotate-outcome]");
    var submit = form.querySelector("[data-rotate-submit]");
    if (!warning || !outcome) { return; }
    warning.hidden = !!until;
    outcome.hidden = !until;
    var when = outcome.querySelector("[data-rotate-until]");
    if (when) { when.textContent = until || ""; }
    if (submit) {
      submit.classList.toggle("btn-danger-solid", !until);
      submit.classList.toggle("btn-primary", !!until);
    }
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("input[name=overlap]") && event.target.form) {
      syncRotate(event.target.form);
    }
  });

  // Expiry: each moment also in the viewer's own time zone (the page says UTC without this),
  // and typing a date chooses "On a date and time I choose".
  function localTime(date) {
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
    return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) + (zone ? " " + zone : "");
  }
  function showLocalTimes(root) {
    root.querySelectorAll("[data-local-time]").forEach(function (el) {
      var date = new Date(el.getAttribute("data-local-time"));
      if (!isNaN(date)) { el.textContent = " · " + localTime(date) + " your time"; }
    });
    root.querySelectorAll("[data-local-time-of]").forEach(function (el) {
      var input = document.getElementById(el.getAttribute("data-local-time-of"));
      var date = input && input.value ? new Date(input.value + ":00Z") : null;
      el.textContent = date && !isNaN(date) ? " That is " + localTime(date) + " in your time zone." : "";
    });
  }
  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("[data-expiry-date]")) { return; }
    var custom = input.form && input.form.querySelector("input[name=expiry][value=custom]");
    if (custom && input.value) { custom.checked = true; }
    showLocalTimes(input.form || document);
  });

  function refresh(root) {
    showLocalTimes(root);
    root.querySelectorAll("form input[name=overlap]:checked").forEach(function (radio) {
      syncRotate(radio.form);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { refresh(document); });
  document.addEventListener("htmx:afterSettle", function () { refresh(document); });
})();
