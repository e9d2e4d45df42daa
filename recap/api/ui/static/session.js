// The session page: a ref link scrolls smoothly to its timeline line and marks it. The
// links are plain anchors, so without this script the browser jumps and :target marks it.
//
// The Summarize form is sent with fetch, so the page stays; while the summary runs, its
// step is asked for each second and shown, and once it is done the page loads again with
// the new summary. Without this script the form posts as usual and the page shows the
// step with a Refresh link.
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

document.addEventListener("DOMContentLoaded", function () {
  var status = document.getElementById("summarize-status");
  if (!status || !window.fetch) { return; }
  var form = document.getElementById("summarize-form");
  var button = document.getElementById("summarize-button");
  var step = document.getElementById("summarize-step");
  var bar = document.getElementById("summarize-progress");
  var refresh = document.getElementById("summarize-refresh");
  var misses = 0;

  function show(report) {
    var running = report.state === "running";
    step.textContent = report.detail;
    step.hidden = false;
    bar.hidden = !running;
    refresh.hidden = running || report.state !== "unavailable";
    if (running) {
      bar.value = report.position;
      bar.textContent = "step " + report.position + " of " + bar.max;
    }
    status.dataset.state = report.state;
    status.classList.toggle("failed", report.state === "failed" || report.state === "unavailable");
    if (button) { button.disabled = running; }
  }

  // The run this page follows: the one for the focus area in the address.
  function progressUrl() {
    var focus = new URLSearchParams(location.search).get("focus");
    return status.dataset.progress + (focus ? "?focus=" + encodeURIComponent(focus) : "");
  }

  function again(delay) { window.setTimeout(poll, delay); }

  function poll() {
    fetch(progressUrl(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (report) {
        if (report.state === "done") {
          var url = new URL(location.href);
          url.searchParams.delete("job");
          url.hash = "";
          location.replace(url.href);
          return;
        }
        show(report);
        if (report.state === "running") { misses = 0; again(1000); }
        else if (report.state === "unavailable") { misses += 1; again(Math.min(1000 * misses, 10000)); }
      })
      .catch(function () { misses += 1; again(Math.min(1000 * misses, 10000)); });
  }

  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      show({ state: "running", detail: "Summarizing… starting", position: 0 });
      fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        credentials: "same-origin"
      })
        .then(function (response) {
          var url = new URL(response.url);
          if (!response.ok) {
            // The server's own page says why (expired form, Temporal down): post as usual.
            form.submit();
          } else if (url.searchParams.get("job") && url.pathname === location.pathname) {
            history.replaceState(null, "", url.pathname + url.search);
            poll();
          } else {
            // A summary that was already there, or the sign-in form.
            location.assign(url.href);
          }
        })
        .catch(function () { form.submit(); });
    });
  }
  if (status.dataset.state === "running") { again(1000); }
});
