// Loads the vendored htmx when the CDN copy did not arrive (offline, blocked, or integrity mismatch).
(function () {
  if (window.htmx) return;
  var s = document.createElement("script");
  s.src = document.currentScript ? document.currentScript.src.replace(/js\/voc\.js.*$/, "vendor/htmx.min.js")
                                 : "/static/vendor/htmx.min.js";
  document.head.appendChild(s);
})();
