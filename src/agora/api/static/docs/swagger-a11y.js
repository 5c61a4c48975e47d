/* Agora's fixes to Swagger UI's markup, found by axe-core in
   tests/e2e/test_browser_harness.py: Swagger UI renders a request-body editor
   without a label, a dialog's close button without a name, and a button whose
   name does not contain its visible text. It renders as the user clicks, so the
   fixes run on every change to the page. */
(function () {
  "use strict";

  function labelFields(root) {
    root.querySelectorAll("textarea, input, select").forEach(function (field) {
      if (field.type === "hidden" || field.getAttribute("aria-label")) return;
      if (field.labels && field.labels.length) return;
      var param = field.closest("[data-param-name]");
      var name = param ? param.getAttribute("data-param-name")
        : field.closest(".body-param, .opblock-section-request-body") ? "Request body"
        : field.getAttribute("placeholder");
      if (name) field.setAttribute("aria-label", name);
    });
  }

  function nameButtons(root) {
    root.querySelectorAll("button.close-modal:not([aria-label])").forEach(function (b) {
      b.setAttribute("aria-label", "Close");
    });
    // A name must contain the visible text (voice control users say what they see).
    root.querySelectorAll("button[aria-label]").forEach(function (b) {
      var text = (b.textContent || "").trim();
      var label = b.getAttribute("aria-label");
      if (text && label.toLowerCase().indexOf(text.toLowerCase()) === -1) {
        b.setAttribute("aria-label", text + " (" + label + ")");
      }
    });
  }

  function fix() {
    labelFields(document);
    nameButtons(document);
  }

  new MutationObserver(fix).observe(document.documentElement, { childList: true, subtree: true });
  fix();
})();
