// Loads the vendored htmx when the CDN copy did not arrive (offline, blocked, or integrity mismatch).
(function () {
  if (window.htmx) return;
  // htmx sets the page up on DOMContentLoaded; a copy that arrives after it must be told to.
  var domReady = false;
  document.addEventListener("DOMContentLoaded", function () { domReady = true; });
  var s = document.createElement("script");
  s.src = document.currentScript ? document.currentScript.src.replace(/js\/voc\.js.*$/, "vendor/htmx.min.js")
                                 : "/static/vendor/htmx.min.js";
  s.onload = function () { if (domReady && window.htmx) window.htmx.process(document.body); };
  document.head.appendChild(s);
})();
