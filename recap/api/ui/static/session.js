// The session page: a ref link scrolls smoothly to its timeline line and marks it. The
// links are plain anchors, so without this script the browser jumps and :target marks it.
"use strict";
document.addEventListener("click", function (event) {
  var link = event.target instanceof Element ? event.target.closest("a.ref") : null;
  if (!link) { return; }
  var line = document.getElementById(link.getAttribute("href").slice(1));
  if (!line) { return; }
  event.preventDefault();
  document.querySelectorAll(".event.highlight").forEach(function (other) {
    other.classList.remove("highlight");
  });
  line.classList.add("highlight");
  var still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  line.scrollIntoView({ behavior: still ? "auto" : "smooth", block: "center" });
  history.replaceState(null, "", link.getAttribute("href"));
  line.focus({ preventScroll: true });
});
