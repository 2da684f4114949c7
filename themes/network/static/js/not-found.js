// The 404 page: a moved or mistyped post's address still says what it was about
// (/2026/03/council-digital-bin-day-done-properly/), so the search link offers a search for
// those words. Without JavaScript the plain link stays.
(function () {
  "use strict";
  var link = document.getElementById("search-missing");
  var parts = window.location.pathname.split("/").filter(function (p) { return p; });
  var last = parts.length ? parts[parts.length - 1] : "";
  try { last = decodeURIComponent(last); } catch (e) { return; }
  var words = last.replace(/\.[a-z0-9]+$/i, "").split(/[-_+\s]+/).filter(function (w) {
    return w && !/^[0-9]+$/.test(w) && w !== "index";
  }).slice(0, 8).join(" ");
  if (!link || !words) { return; }
  var url = new URL(link.href, window.location.href);
  url.searchParams.set("q", words);
  link.href = url.toString();
  link.textContent = "Search the site for \u201c" + words + "\u201d";
})();
