/* Stafett web client: a little vanilla JS, vendored, no build step. Every page works
   without it; it only moves focus to help keyboard and screen-reader users. */
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }

  ready(function () {
    // After a refused form: focus the error summary so it is read out first.
    var summary = document.querySelector("[data-error-summary]");
    if (summary) { summary.focus(); }

    // A link in the error summary moves focus to its field, not only the scroll position.
    document.addEventListener("click", function (event) {
      var link = event.target.closest ? event.target.closest(".error-summary a[href^='#']") : null;
      if (!link) { return; }
      var field = document.getElementById(link.getAttribute("href").slice(1));
      if (!field) { return; }
      event.preventDefault();
      field.scrollIntoView({ block: "center" });
      field.focus();
    });

    // "Skriv ut": the browser's print dialogue (the print stylesheet does the rest).
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });

    // Printing the log page itself: every collapsed section opens first.
    window.addEventListener("beforeprint", function () {
      document.querySelectorAll("details").forEach(function (d) { d.open = true; });
    });

    // The skip link moves focus into the main content (some browsers only scroll).
    var skip = document.querySelector(".skip-link");
    if (skip) {
      skip.addEventListener("click", function () {
        var main = document.getElementById("hovedinnhold");
        if (main) { main.focus(); }
      });
    }
  });
}());
