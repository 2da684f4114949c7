// The search page: Pagefind's UI over every bundle the site has, with a visible label and the
// words in the address (?q=…). A file of the theme's own, not inline: the pages' Content
// Security Policy runs no inline script (base.html).
(function () {
  "use strict";
  var box = document.getElementById("search");
  if (!box) { return; }
  if (typeof PagefindUI === "undefined") {
    box.textContent = "The search index has not been built yet.";
    return;
  }
  // Result links are made from the site root, wherever the site is published.
  var root = new URL(box.getAttribute("data-root") || "/", window.location.href).pathname;

  function start(shards) {
    // The posts are indexed a year per bundle (make publish rebuilds only the years that
    // changed); pagefind/shards.json lists them, and each is searched with this one.
    var merged = (Array.isArray(shards) ? shards : []).filter(function (path) {
      return typeof path === "string" && /^[a-z0-9_-]+(\/[a-z0-9_-]+)*\/$/i.test(path);
    }).map(function (path) { return { bundlePath: root + path, baseUrl: root }; });
    var ui = new PagefindUI({ element: "#search", baseUrl: root, showImages: false,
                              showSubResults: false, resetStyles: false, mergeIndex: merged });
    // A visible label for Pagefind's input (it only has an aria-label).
    var input = box.querySelector("input");
    if (input) {
      input.id = "search-input";
      var label = document.createElement("label");
      label.htmlFor = "search-input";
      label.className = "search-label";
      label.textContent = "Words to search for";
      box.insertBefore(label, box.firstChild);
      // The address says what was searched for (?q=…): a search can be shared, bookmarked
      // and found again with the Back button.
      input.addEventListener("input", function () {
        var url = new URL(window.location.href);
        if (input.value.trim()) { url.searchParams.set("q", input.value); }
        else { url.searchParams.delete("q"); }
        window.history.replaceState(null, "", url);
      });
    }
    var asked = new URLSearchParams(window.location.search).get("q");
    if (asked && asked.trim()) { ui.triggerSearch(asked); }
  }

  fetch(root + "pagefind/shards.json")
    .then(function (response) { return response.ok ? response.json() : []; })
    .catch(function () { return []; })
    .then(start);
})();
