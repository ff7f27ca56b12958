// Small conveniences on top of pages that work without JavaScript.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // The language menu changes on selection; without JavaScript it has its own button.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // On a phone a table stacks into one block per row (bridge.css); each cell then shows its
  // column's heading, copied here from the table head so the templates stay plain tables.
  document.querySelectorAll("table.table").forEach(function (table) {
    var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return th.textContent.trim();
    });
    table.querySelectorAll("tbody tr").forEach(function (row) {
      Array.prototype.forEach.call(row.children, function (cell, i) {
        if (!cell.hasAttribute("data-label") && heads[i]) { cell.setAttribute("data-label", heads[i]); }
      });
    });
  });

  // A table wider than its card scrolls inside it: make that region reachable by keyboard.
  function markScrollable() {
    document.querySelectorAll(".table-wrap").forEach(function (wrap) {
      if (wrap.scrollWidth > wrap.clientWidth) {
        var heading = wrap.closest("section");
        heading = heading && heading.querySelector("h2");
        wrap.setAttribute("tabindex", "0");
        wrap.setAttribute("role", "region");
        if (heading) { wrap.setAttribute("aria-label", heading.textContent.trim()); }
      } else {
        wrap.removeAttribute("tabindex");
      }
    });
  }
  markScrollable();
  window.addEventListener("resize", markScrollable);

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
