// Small conveniences on top of pages that work without JavaScript.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // The language menu changes on selection; without JavaScript it has its own button.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // "/" jumps to the search field, as in many tools nurses already use.
  var shortcutTarget = document.querySelector("[data-shortcut='/']");
  if (shortcutTarget) {
    document.addEventListener("keydown", function (event) {
      var tag = (event.target.tagName || "").toLowerCase();
      if (event.key === "/" && tag !== "input" && tag !== "textarea" && tag !== "select") {
        event.preventDefault();
        shortcutTarget.focus();
      }
    });
  }
})();
