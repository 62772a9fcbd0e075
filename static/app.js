// m2m-console behaviour. Lives here, not inline, so the strict Content-Security-Policy holds.
(function () {
  "use strict";

  // Toasts: dismiss on click; success toasts leave by themselves.
  document.addEventListener("click", function (event) {
    var close = event.target.closest(".toast-close");
    if (close) { close.closest(".toast").remove(); }
  });
  function ageToasts(root) {
    (root || document).querySelectorAll(".toast-success:not([data-aging])").forEach(function (toast) {
      toast.setAttribute("data-aging", "1");
      setTimeout(function () { toast.remove(); }, 8000);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { ageToasts(); });
  document.addEventListener("htmx:afterSettle", function () { ageToasts(); });
})();
