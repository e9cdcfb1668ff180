// Loads the vendored htmx when the CDN copy did not arrive (offline, blocked, or integrity mismatch).
(function () {
  if (window.htmx) return;
  // htmx sets the page up (processes it, and handles the back button) on DOMContentLoaded, or at once if
  // the document has finished loading. A copy that arrives in between (this one always does: it delays the
  // load event) would wait for an event gone by, so the event is sent again for it.
  var domReady = false;
  document.addEventListener("DOMContentLoaded", function () { domReady = true; });
  var s = document.createElement("script");
  s.src = document.currentScript ? document.currentScript.src.replace(/js\/voc\.js.*$/, "vendor/htmx.min.js")
                                 : "/static/vendor/htmx.min.js";
  s.onload = function () { if (domReady && window.htmx) document.dispatchEvent(new Event("DOMContentLoaded")); };
  document.head.appendChild(s);
})();

// A one-click answer from an e-mail arrives as a step with the score selected but not stored (mail
// scanners open every link): send it at once, as if the customer had pressed Next.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector("form[data-voc-autosubmit]");
  if (!form) return;
  var next = form.querySelector('button[name="action"][value="next"]');
  if (form.requestSubmit) form.requestSubmit(next || undefined); else form.submit();
});
