// The home page's clone command, with the address of the repository the site was built from.
//
// mkdocs.yml's `repo_url` comes from the environment (LABS_REPO_URL, which the Pages workflow sets from
// the repository it runs in), and the theme links to it in the header; a local build without it has
// no such link, and the page then names no address. No request is made: the address is on the page.
(function () {
  "use strict";
  var PLACEHOLDER = "REPOSITORY_URL";

  // The home page's clone command says REPOSITORY_URL, with a note on what to put there. When the
  // build knows the repository, the header links to it: its address replaces the placeholder (the
  // copy button copies what the block shows) and the note, now needless, is hidden.
  function fill() {
    var source = document.querySelector("a.md-source[href]");
    if (!source) {
      return;
    }
    var address = source.href.replace(/\/+$/, "");
    var filled = false;
    document.querySelectorAll("article pre code").forEach(function (code) {
      var walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT);
      for (var node = walker.nextNode(); node; node = walker.nextNode()) {
        if (node.nodeValue.indexOf(PLACEHOLDER) >= 0) {
          node.nodeValue = node.nodeValue.split(PLACEHOLDER).join(address);
          filled = true;
        }
      }
    });
    var note = document.getElementById("clone-note");
    if (filled && note) {
      note.hidden = true;
    }
  }

  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(fill);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fill);
  } else {
    fill();
  }
})();
