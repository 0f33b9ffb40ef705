// Accessibility fix-ups that CSS alone cannot make (see docs/stylesheets/extra.css and mkdocs.yml).
//
// Material wraps each table in a box that scrolls sideways when the table is wider than the
// screen (.md-typeset__scrollwrap, added by its own script). A keyboard can scroll such a box only
// if it can be focused, so every one that overflows gets tabindex="0" and a name (WCAG 2.1.1).
(function () {
  "use strict";
  function fix() {
    document.querySelectorAll(".md-typeset__scrollwrap").forEach(function (box) {
      if (box.scrollWidth > box.clientWidth && !box.hasAttribute("tabindex")) {
        var caption = box.querySelector("caption");
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", caption ? caption.textContent : "Table (scrolls sideways)");
      }
    });
  }
  // Material publishes each page load on document$ (its tables are wrapped by then); without it,
  // as with another theme, run once the page is ready. A resize can make a table overflow.
  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(fix);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fix);
  } else {
    fix();
  }
  window.addEventListener("resize", fix);
})();
