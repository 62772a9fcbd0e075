// m2m-console behaviour. Lives here, not inline, so the strict Content-Security-Policy holds.
// Everything is progressive enhancement: each flow also works as plain forms and links.
(function () {
  "use strict";

  // The control that opened the current modal, to give focus back. The table is often
  // re-rendered while the modal is open (create, rotate), so a selector that finds the same
  // control again is kept too.
  var opener = null;
  var openerSelector = null;

  function modalRoot() { return document.getElementById("modal"); }
  function openDialog() { var m = modalRoot(); return m && m.querySelector("dialog"); }

  function rememberOpener(el) {
    // A ⋮ menu item leaves with its menu: focus goes back to the ⋮ button instead.
    var cell = el && el.closest && el.closest(".menu-cell");
    if (cell && cell.querySelector(".menu-button")) { el = cell.querySelector(".menu-button"); }
    opener = el && el.focus ? el : null;
    openerSelector = null;
    if (!opener) { return; }
    if (opener.id) { openerSelector = "#" + CSS.escape(opener.id); }
    else if (opener.getAttribute("aria-controls")) { openerSelector = '[aria-controls="' + CSS.escape(opener.getAttribute("aria-controls")) + '"]'; }
    else if (opener.getAttribute("data-testid")) { openerSelector = '[data-testid="' + CSS.escape(opener.getAttribute("data-testid")) + '"]'; }
  }

  function restoreFocus() {
    var target = opener && document.body.contains(opener) ? opener : null;
    if (!target && openerSelector) { target = document.querySelector(openerSelector); }
    // The opener is gone for good (its row was deleted): start again from the content.
    if (!target) { target = document.getElementById("main"); }
    if (target) { target.focus(); }
    opener = null;
    openerSelector = null;
  }

  // Closing a modal empties #modal and returns focus to what opened it.
  function closeModal() {
    var dialog = openDialog();
    if (dialog && dialog.open) { dialog.close(); }
    var m = modalRoot();
    if (m) { m.innerHTML = ""; }
    if (opener || openerSelector) { restoreFocus(); }
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var target = event.detail.target;
    if (target && target.id === "modal" && !openDialog()) {
      rememberOpener(event.detail.elt || document.activeElement);
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "modal") {
      var dialog = openDialog();
      if (dialog) {
        if (!dialog.open) { dialog.showModal(); }
        enhance(dialog);
        var focusable = dialog.querySelector("[autofocus], input:not([type=hidden]), select, textarea, button");
        if (!showFirstError(dialog) && focusable) { focusable.focus(); }
      } else {
        closeModal();
      }
    }
    // Any other swap closes open menus; a menu that just arrived stays, placed before it is
    // painted (settling comes a moment later, and would show it unplaced until then).
    if (target && target.classList && target.classList.contains("menu-slot")) {
      placeMenu(target);
    } else {
      closeMenus(null);
    }
  });

  // A dialog closed with Escape (the browser's own "cancel") also cleans up.
  document.addEventListener("close", function (event) {
    if (event.target.tagName === "DIALOG" && event.target.closest("#modal")) { closeModal(); }
  }, true);

  // The one-time reveal ([data-reveal-guard]) must not be lost by accident: Done waits for
  // "I have stored the secret", and leaving another way (Escape, a close button) asks first
  // while the box is unticked. Escape is caught at keydown, as cancelling it there keeps the
  // browser from closing the dialog at all; "cancel" is the fallback.
  function revealGuard(el) { return el && el.closest ? el.closest("[data-reveal-guard]") || el.querySelector("[data-reveal-guard]") : null; }
  function acknowledged(guard) {
    var box = guard.querySelector("[data-reveal-ack]");
    return !box || box.checked;
  }
  function leaveQuestion(guard) { return guard.querySelector("[data-reveal-leave]"); }
  function syncReveal(guard) {
    var ok = acknowledged(guard);
    guard.querySelectorAll("[data-reveal-done]").forEach(function (done) {
      if (done.tagName === "BUTTON") { done.disabled = !ok; }
      else if (ok) { done.removeAttribute("aria-disabled"); }
      else { done.setAttribute("aria-disabled", "true"); }
    });
    var ask = leaveQuestion(guard);
    if (ok && ask) { ask.hidden = true; }
  }
  // Whether the reveal holding `el` may be left now; if not, the question is put instead.
  function mayLeave(el) {
    var guard = revealGuard(el);
    if (!guard || acknowledged(guard)) { return true; }
    var ask = leaveQuestion(guard);
    if (!ask) { return true; }
    ask.hidden = false;
    var stay = ask.querySelector("[data-leave-stay]");
    if (stay) { stay.focus(); }
    return false;
  }
  function stay(guard) {
    var ask = leaveQuestion(guard);
    if (ask) { ask.hidden = true; }
    var box = guard.querySelector("[data-reveal-ack]");
    if (box) { box.focus(); }
  }
  // Leaving for good: the dialog closes; the page version follows its Done link.
  function leave(guard) {
    if (guard.closest("dialog")) { closeModal(); return; }
    var done = guard.querySelector("a[data-reveal-done]");
    if (done) { window.location.assign(done.href); }
  }
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var dialog = openDialog();
    var guard = dialog && dialog.open ? revealGuard(dialog) : null;
    if (!guard) { return; }
    var ask = leaveQuestion(guard);
    if (ask && !ask.hidden) { event.preventDefault(); stay(guard); return; }
    if (!mayLeave(guard)) { event.preventDefault(); }
  }, true);
  document.addEventListener("cancel", function (event) {
    if (event.target.tagName === "DIALOG" && !mayLeave(event.target)) { event.preventDefault(); }
  }, true);
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("[data-reveal-ack]")) {
      var guard = revealGuard(event.target);
      if (guard) { syncReveal(guard); }
    }
  });

  document.addEventListener("click", function (event) {
    var el = event.target;
    if (el.closest("[data-close-modal]")) {
      event.preventDefault();
      if (mayLeave(el)) { closeModal(); }
      return;
    }
    var done = el.closest("a[data-reveal-done]");
    if (done) {
      if (!mayLeave(done)) { event.preventDefault(); }
      return;
    }
    if (el.closest("[data-leave-stay]")) { stay(revealGuard(el)); return; }
    if (el.closest("[data-leave-close]")) { leave(revealGuard(el)); return; }
    var close = el.closest(".toast-close");
    if (close) { close.closest(".toast").remove(); return; }
    var copy = el.closest("[data-copy]");
    if (copy) { copyFrom(copy); return; }
    var both = el.closest("[data-copy-env]");
    if (both) { copyText(both, envText(revealGuard(both), false), null); return; }
    var download = el.closest("[data-download-env]");
    if (download) { downloadEnv(revealGuard(download)); return; }
    var codes = el.closest("[data-copy-codes]");
    if (codes) { copyText(codes, codesText(revealGuard(codes)).trim(), null); return; }
    var codesFile = el.closest("[data-download-codes]");
    if (codesFile) { downloadCodes(revealGuard(codesFile)); return; }
    var all = el.closest("[data-select-all], [data-unselect-all]");
    if (all) {
      var group = all.closest("fieldset");
      var on = all.hasAttribute("data-select-all");
      group.querySelectorAll("input[type=checkbox]").forEach(function (box) { box.checked = on; });
      refreshSubmit(all.closest("form"));
      return;
    }
    if (!el.closest(".menu-cell")) { closeMenus(null); }
  });

  // Copy buttons: the clipboard when the browser allows it, else select the text.
  function copyFrom(button) {
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) { return; }
    copyText(button, source.textContent.trim(), function () { selectText(source); });
  }
  // `fallback` when the clipboard is closed; without one, a hidden field is copied from.
  function copyText(button, text, fallback) {
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    };
    var otherwise = fallback || function () { if (copyViaField(button, text)) { done(); } };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, otherwise);
    } else {
      otherwise();
    }
  }
  // Next to the button, so that it is inside an open modal (the rest of the page is inert).
  function copyViaField(button, text) {
    var field = document.createElement("textarea");
    field.value = text;
    field.setAttribute("readonly", "");
    field.className = "visually-hidden";
    button.parentNode.insertBefore(field, button);
    field.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    field.remove();
    button.focus();
    return ok;
  }

  // "Copy both" and "Download .env" take the values shown in the reveal: the secret never
  // travels in a URL, and the file is made here, never fetched.
  function envText(guard, withUrl) {
    var value = function (selector) {
      var el = guard.querySelector(selector);
      return el ? el.textContent.trim() : "";
    };
    var lines = ["M2M_CLIENT_ID=" + value("#reveal-client-id"), "M2M_CLIENT_SECRET=" + value("#reveal-secret")];
    if (withUrl) { lines.push("M2M_TOKEN_URL=" + (guard.getAttribute("data-token-url") || "")); }
    return lines.join("\n") + "\n";
  }
  function downloadEnv(guard) {
    // Browsers drop a leading dot from a download's name, so the file is named for the
    // credential: "warehouse-sync.env".
    var slug = (guard.getAttribute("data-env-name") || "").toLowerCase()
      .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
    var url = URL.createObjectURL(new Blob([envText(guard, true)], { type: "text/plain" }));
    var link = document.createElement("a");
    link.href = url;
    link.download = (slug || "m2m-credentials") + ".env";
    link.hidden = true;
    guard.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  }
  // Recovery codes: copied or downloaded one per line, from the codes shown.
  function codesText(guard) {
    return Array.from(guard.querySelectorAll("[data-testid=recovery-code]"))
      .map(function (el) { return el.textContent.trim(); }).join("\n") + "\n";
  }
  function downloadCodes(guard) {
    var url = URL.createObjectURL(new Blob([codesText(guard)], { type: "text/plain" }));
    var link = document.createElement("a");
    link.href = url;
    link.download = "m2m-console-recovery-codes.txt";
    link.hidden = true;
    guard.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  }
  function selectText(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  // ⋮ menus: one open at a time; Escape closes and gives focus back to its button.
  function closeMenus(except) {
    document.querySelectorAll(".menu-slot").forEach(function (slot) {
      if (slot !== except && slot.firstElementChild) {
        slot.innerHTML = "";
        var button = slot.parentElement.querySelector(".menu-button");
        if (button) { button.setAttribute("aria-expanded", "false"); }
      }
    });
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    var trigger = event.detail.elt;
    if (trigger && trigger.classList && trigger.classList.contains("menu-button")) {
      var slot = document.getElementById(trigger.getAttribute("aria-controls"));
      if (slot && slot.firstElementChild) {
        // A second click on an open menu closes it.
        event.preventDefault();
        closeMenus(null);
        trigger.focus();
        return;
      }
      closeMenus(slot);
    }
  });
  // An open menu floats above the page (position: fixed) so that a scrolling table does not
  // clip it: below its ⋮ button, or above it when there is no room below.
  function placeMenu(slot) {
    var menu = slot.querySelector(".menu");
    var button = slot.parentElement.querySelector(".menu-button");
    if (!menu || !button) { return; }
    menu.classList.add("menu-floating");
    var r = button.getBoundingClientRect();
    var width = menu.offsetWidth, height = menu.offsetHeight;
    var left = Math.max(8, Math.min(r.right - width, window.innerWidth - width - 8));
    var top = r.bottom + 4;
    if (top + height > window.innerHeight - 8 && r.top - height - 4 >= 8) { top = r.top - height - 4; }
    menu.style.left = left + "px";
    menu.style.top = top + "px";
  }
  function placeOpenMenus() {
    document.querySelectorAll(".menu-slot").forEach(function (slot) {
      if (slot.firstElementChild) { placeMenu(slot); }
    });
  }
  window.addEventListener("resize", placeOpenMenus);
  window.addEventListener("scroll", placeOpenMenus, true);

  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    if (target && target.classList && target.classList.contains("menu-slot")) {
      var button = target.parentElement.querySelector(".menu-button");
      if (button) { button.setAttribute("aria-expanded", "true"); }
      // Arrow keys move between items; Tab leaves the menu (and so closes it).
      target.querySelectorAll("[role=menuitem]").forEach(function (item) { item.setAttribute("tabindex", "-1"); });
      var first = target.querySelector("[role=menuitem]");
      if (first) { first.focus(); }
    }
  });
  document.addEventListener("keydown", function (event) {
    var menu = event.target.closest && event.target.closest(".menu");
    if (!menu) { return; }
    var items = Array.prototype.slice.call(menu.querySelectorAll("[role=menuitem]"));
    var index = items.indexOf(event.target);
    if (event.key === "Escape") {
      event.preventDefault();
      var cell = menu.closest(".menu-cell");
      closeMenus(null);
      if (cell) { cell.querySelector(".menu-button").focus(); }
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      var step = event.key === "ArrowDown" ? 1 : -1;
      items[(index + step + items.length) % items.length].focus();
    }
  });

  // Tabbing out of an open menu closes it (the ARIA menu pattern).
  document.addEventListener("focusout", function (event) {
    var menu = event.target.closest && event.target.closest(".menu");
    if (!menu) { return; }
    var next = event.relatedTarget;
    var cell = menu.closest(".menu-cell");
    if (next && cell && !cell.contains(next)) { closeMenus(null); }
  });

  // Keep keyboard focus inside an open modal.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Tab") { return; }
    var dialog = openDialog();
    if (!dialog || !dialog.open) { return; }
    var focusables = Array.prototype.filter.call(
      dialog.querySelectorAll("a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])"),
      function (el) { return el.offsetParent !== null; });
    if (focusables.length === 0) { return; }
    var first = focusables[0], last = focusables[focusables.length - 1];
    if (event.shiftKey && document.activeElement === first) { event.preventDefault(); last.focus(); }
    else if (!event.shiftKey && document.activeElement === last) { event.preventDefault(); first.focus(); }
  });

  // A reveal: its script-only tools appear, and Done follows the box. The credential form:
  // show only the chosen role's APIs, only when Fine Grained, and keep the submit button
  // disabled until the required fields are complete and valid.
  function enhance(root) {
    root.querySelectorAll("[data-reveal-guard]").forEach(function (guard) {
      guard.querySelectorAll("[data-js-only]").forEach(function (el) { el.hidden = false; });
      syncReveal(guard);
    });
    root.querySelectorAll("form[data-validate-required]").forEach(function (form) {
      if (form.getAttribute("data-enhanced")) { return; }
      form.setAttribute("data-enhanced", "1");
      form.addEventListener("input", function () { syncPicker(form); refreshSubmit(form); });
      form.addEventListener("change", function () { syncPicker(form); refreshSubmit(form); });
      syncPicker(form);
      refreshSubmit(form);
    });
  }

  function syncPicker(form) {
    var select = form.querySelector("[data-role-select]");
    var picker = form.querySelector("[data-api-picker]");
    if (!select || !picker) { return; }
    var fine = form.querySelector("[data-access-level][value=fine_grained]");
    var showApis = fine && fine.checked;
    picker.hidden = !showApis;
    picker.querySelectorAll("[data-role-apis]").forEach(function (group) {
      var active = showApis && group.getAttribute("data-role-apis") === select.value;
      group.hidden = !active;
      group.querySelectorAll("input").forEach(function (box) { box.disabled = !active; });
    });
  }

  function formIsComplete(form) {
    var ok = true;
    form.querySelectorAll("[required]").forEach(function (field) {
      if (!field.value.trim() || (field.checkValidity && !field.checkValidity())) { ok = false; }
    });
    var fine = form.querySelector("[data-access-level][value=fine_grained]");
    if (fine && fine.checked) {
      var checked = form.querySelectorAll("[data-role-apis]:not([hidden]) input[type=checkbox]:checked");
      if (checked.length === 0) { ok = false; }
    }
    return ok;
  }

  // What keeps the form from being sent, in words: the label of each required field that is
  // empty or not valid, and a missing API choice.
  function missingParts(form) {
    var parts = [];
    form.querySelectorAll("[required]").forEach(function (field) {
      var label = field.id ? form.querySelector("label[for='" + field.id + "']") : null;
      var name = label ? label.textContent.replace("*", "").trim() : field.name;
      if (!field.value.trim()) { parts.push(name); }
      else if (field.checkValidity && !field.checkValidity()) { parts.push(name + " (not valid)"); }
    });
    var fine = form.querySelector("[data-access-level][value=fine_grained]");
    if (fine && fine.checked &&
        form.querySelectorAll("[data-role-apis]:not([hidden]) input[type=checkbox]:checked").length === 0) {
      parts.push("at least one API");
    }
    return parts;
  }

  function refreshSubmit(form) {
    if (!form || !form.hasAttribute("data-validate-required")) { return; }
    var submit = form.querySelector("button[type=submit]");
    var complete = formIsComplete(form);
    if (submit) { submit.disabled = !complete; }
    var why = form.querySelector("[data-submit-why]");
    if (!why) { return; }
    var parts = complete ? [] : missingParts(form);
    why.hidden = parts.length === 0;
    var action = submit ? submit.getAttribute("data-action-label") || "Create" : "Create";
    why.textContent = parts.length ? action + " needs: " + parts.join(", ") + "." : "";
  }

  // A form answered with errors: the first one is scrolled into view and its field focused.
  function showFirstError(root) {
    var first = root.querySelector("[data-testid=form-error], .field-invalid");
    if (!first) { return false; }
    first.scrollIntoView({ block: "center" });
    var input = root.querySelector(".field-invalid input:not([type=hidden]), .field-invalid select, .field-invalid textarea");
    if (input) { input.focus({ preventScroll: true }); return true; }
    return false;
  }

  // While a request is in flight: a progress bar at the top of the page (CSS), and the
  // region being replaced is marked busy for assistive technology.
  var inFlight = 0;
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.defaultPrevented) { return; }
    inFlight += 1;
    document.documentElement.classList.add("is-loading");
    var target = event.detail.target;
    if (target && target.setAttribute && target.id !== "modal") { target.setAttribute("aria-busy", "true"); }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    inFlight = Math.max(0, inFlight - 1);
    if (inFlight === 0) { document.documentElement.classList.remove("is-loading"); }
    var target = event.detail.target;
    if (target && target.removeAttribute) { target.removeAttribute("aria-busy"); }
  });

  // Success toasts fade out by themselves (app.css, so without JavaScript too); once faded
  // they leave the page.
  document.addEventListener("animationend", function (event) {
    if (event.animationName === "toast-leave") { event.target.remove(); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.documentElement.classList.add("js");
    enhance(document);
    var form = document.querySelector("form[data-validate-required]");
    if (form) { showFirstError(form); }
  });
  document.addEventListener("htmx:afterSettle", function () { enhance(document); });
})();
