(function () {
  "use strict";
  var me = document.currentScript;
  var afterHtmx = [];
  var htmxSettled = false;
  var domReady = document.readyState !== "loading";
  document.addEventListener("DOMContentLoaded", function () { domReady = true; });

  // Run `fn` once htmx has set the page up, or once it is known not to come (then the plain forms work).
  function whenHtmxSettled(fn) { if (htmxSettled) fn(); else afterHtmx.push(fn); }
  function settle() {
    if (htmxSettled) return;
    htmxSettled = true;
    afterHtmx.splice(0).forEach(function (fn) { fn(); });
  }

  // htmx sets the page up on DOMContentLoaded, or at once if the document has finished loading. A copy
  // that arrives in between (a script added here delays the load event) would wait for an event gone by,
  // so the event is sent again for it.
  function htmxRan() {
    if (!domReady) { document.addEventListener("DOMContentLoaded", settle); return; }  // after htmx's own
    if (window.htmx && document.readyState !== "complete") document.dispatchEvent(new Event("DOMContentLoaded"));
    settle();
  }

  function addScript(src, integrity, onload, onerror) {
    var s = document.createElement("script");
    s.src = src;
    if (integrity) { s.integrity = integrity; s.crossOrigin = "anonymous"; }
    s.onload = onload;
    s.onerror = onerror;
    document.head.appendChild(s);
    return s;
  }

  // htmx from the CDN; the vendored copy when the CDN copy fails (offline, blocked, integrity mismatch) or
  // has not arrived within the timeout: a CDN that never answers must not leave the page without htmx.
  // With VOC_HTMX_SOURCE=local the page loaded the vendored copy itself (before this script).
  var cdn = me && me.getAttribute("data-htmx-cdn");
  if (window.htmx || !cdn) {
    if (domReady) settle(); else document.addEventListener("DOMContentLoaded", settle);
  } else {
    var fellBack = false, timer = null, cdnScript = null;
    var fallBack = function () {
      if (fellBack || window.htmx) return;
      fellBack = true;
      clearTimeout(timer);
      // A script moved to another document before it runs never runs (HTML, "prepare the script element"):
      // a CDN copy arriving late must not start a second htmx on the page.
      if (cdnScript) document.implementation.createHTMLDocument("").adoptNode(cdnScript);
      addScript(me.getAttribute("data-htmx-local"), null, htmxRan, settle);
    };
    cdnScript = addScript(cdn, me.getAttribute("data-htmx-integrity"), function () {
      if (fellBack) return;
      clearTimeout(timer);
      if (window.htmx) htmxRan(); else fallBack();
    }, fallBack);
    timer = setTimeout(fallBack, parseInt(me.getAttribute("data-htmx-timeout"), 10) || 3000);
  }

  // In the embed widget's frame, the survey tells the widget (static/js/embed.js) how tall it is, so the
  // widget takes that height; that Escape was pressed (the widget closes); and that the thank-you shows
  // (the widget closes 3 s later). The widget checks that these come from its own frame and voc's origin.
  var survey = document.getElementById("survey");
  if (survey && window.parent !== window) {
    document.documentElement.classList.add("framed");
    var tell = function (message) { try { window.parent.postMessage(message, "*"); } catch (e) { /* gone */ } };
    var told = 0, thanked = false;
    var report = function () {
      var card = document.getElementById("survey");
      if (!card) return;
      var height = Math.ceil(card.getBoundingClientRect().bottom + window.scrollY);
      if (height !== told) { told = height; tell({voc: "height", value: height}); }
      if (!thanked && card.querySelector(".thanks")) { thanked = true; tell({voc: "thanks"}); }
    };
    if (window.ResizeObserver) new ResizeObserver(report).observe(document.body);
    document.addEventListener("htmx:afterSettle", report);
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" || e.key === "Esc") tell({voc: "close"});
    });
    report();
  }

  // On a narrow screen the dashboard's links fold behind the Menu button (static/css/voc.css); without
  // this script the button stays hidden and the links show. Escape folds them again.
  var toggle = document.querySelector(".topbar .nav-toggle");
  if (toggle) {
    var bar = toggle.parentNode;
    var fold = function (open) {
      toggle.setAttribute("aria-expanded", String(open));
      bar.classList.toggle("nav-open", open);
    };
    bar.classList.add("nav-folds");
    toggle.hidden = false;
    toggle.addEventListener("click", function () { fold(toggle.getAttribute("aria-expanded") !== "true"); });
    bar.addEventListener("keydown", function (e) {
      if ((e.key === "Escape" || e.key === "Esc") && bar.classList.contains("nav-open")) { fold(false); toggle.focus(); }
    });
  }

  // A table or chart wider than the screen scrolls sideways inside the page (static/css/voc.css): while it
  // does, it takes focus, so that a keyboard can scroll it too.
  var markScrolling = function () {
    var boxes = document.querySelectorAll("main table, .chart-scroll");
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i], scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls && !box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("data-voc-scrolls", "");
      } else if (!scrolls && box.hasAttribute("data-voc-scrolls")) {
        box.removeAttribute("tabindex");
        box.removeAttribute("data-voc-scrolls");
      }
    }
  };
  var remarking = false;
  var remark = function () {
    if (remarking) return;
    remarking = true;
    window.requestAnimationFrame(function () { remarking = false; markScrolling(); });
  };
  if (document.querySelector(".dashboard")) {
    markScrolling();
    window.addEventListener("resize", remark);
    document.addEventListener("htmx:afterSettle", remark);
  }

  // A one-click answer from an e-mail arrives as a step with the score selected but not stored (mail
  // scanners open every link): send it at once, as if the customer had pressed Next.
  whenHtmxSettled(function () {
    var form = document.querySelector("form[data-voc-autosubmit]");
    if (!form) return;
    var next = form.querySelector('button[name="action"][value="next"]');
    if (form.requestSubmit) form.requestSubmit(next || undefined); else form.submit();
  });
})();

// --- survey-trial (issue 15): "Copy link" next to a survey's test link; without JavaScript the read-only
// field is there to select and copy by hand, and the button stays hidden.
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("button[data-copy-target]");
    if (!button) return;
    var field = document.getElementById(button.getAttribute("data-copy-target"));
    if (!field) return;
    field.select();
    var done = function () { button.textContent = "Copied"; };
    if (navigator.clipboard) navigator.clipboard.writeText(field.value).then(done, function () {});
    else if (document.execCommand && document.execCommand("copy")) done();
  });
  document.querySelectorAll("button[data-copy-target]").forEach(function (b) { b.hidden = false; });
})();
