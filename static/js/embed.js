/*! voc embed widget loader. It never throws into the host page: every entry point is wrapped, and
 * a voc that is down only means no survey. The only global it sets is `voc`.
 *
 * <script async src="https://voc.example.com/embed.js" data-voc-site="shop" data-voc-survey="nps"
 *   data-voc-contact="crm-123" data-voc-signature="hex hmac-sha256"></script>
 * Optional: data-voc-mode="slide-in" (default) | "inline" with data-voc-target="#css-selector";
 * data-voc-url="https://voc.example.com" when the script is served from elsewhere.
 * API: voc("show", "survey-key", {mode, target, contact, signature}); voc("close").
 * The slide-in takes the height of the survey in it, closes on Escape and 3 s after the thank-you.
 * Calls made before the script has loaded are kept by this stub and run once it has:
 * window.voc = window.voc || function () { (voc.q = voc.q || []).push(arguments); };
 */
(function (w, d) {
  "use strict";
  var STORE = "voc_anonymous_id";
  var CLOSE_AFTER_THANKS_MS = 3000;

  function warn(message) {
    try { if (w.console && console.warn) console.warn("[voc] " + message); } catch (e) { /* nothing to do */ }
  }

  try {
    var stub = w.voc;
    if (stub && stub.loaded) return; // the loader was included twice: the first one stays in charge

    var tag = d.currentScript || d.querySelector("script[data-voc-site]");
    var attr = function (name) { return (tag && tag.getAttribute("data-voc-" + name)) || ""; };
    var base = (attr("url") || (tag && tag.src ? tag.src.replace(/(\/static\/js)?\/embed\.js([?#].*)?$/, "") : ""))
      .replace(/\/+$/, "");
    var config = {
      site: attr("site"), survey: attr("survey"), contact: attr("contact"), signature: attr("signature"),
      mode: attr("mode") || "slide-in", target: attr("target")
    };
    var current = null; // {key, box, frame, origin} of the survey on the page, or {key} while asking

    var style = function (el, props) {
      for (var name in props) if (Object.prototype.hasOwnProperty.call(props, name)) el.style[name] = props[name];
      return el;
    };
    var recall = function () { try { return w.localStorage.getItem(STORE) || ""; } catch (e) { return ""; } };
    var remember = function (id) { try { w.localStorage.setItem(STORE, id); } catch (e) { /* private mode */ } };

    var close = function () {
      var was = current;
      current = null;
      if (was && was.closing) w.clearTimeout(was.closing);
      if (was && was.box && was.box.parentNode) was.box.parentNode.removeChild(was.box);
      if (was && was.focus && d.activeElement === d.body && was.focus.focus) was.focus.focus();
    };

    var render = function (key, answer, options) {
      var inline = options.mode === "inline";
      var host = inline ? (options.target && d.querySelector(options.target)) : d.body;
      if (!host) {
        current = null;
        warn(inline ? "no element matches data-voc-target " + JSON.stringify(options.target) : "no <body> yet");
        return;
      }
      var title = "Survey: " + (answer.title || answer.survey || key);
      // The slide-in is as tall as the survey in it (the page says how tall: see the message listener); on a
      // phone it is a sheet along the bottom edge, as wide as the screen.
      var phone = !!(w.matchMedia && w.matchMedia("(max-width: 480px)").matches);
      var box = style(d.createElement("div"), inline
        ? {width: "100%", height: "560px"}
        : {position: "fixed", right: phone ? "0" : "16px", bottom: phone ? "0" : "16px", zIndex: "2147483000",
           display: "flex", flexDirection: "column", width: phone ? "100%" : "400px",
           maxWidth: phone ? "100%" : "calc(100vw - 32px)", height: "auto",
           maxHeight: phone ? "calc(100vh - 24px)" : "calc(100vh - 32px)", background: "#fff",
           borderRadius: phone ? "12px 12px 0 0" : "12px", overflow: "hidden",
           boxShadow: "0 8px 32px rgba(0,0,0,.28)"});
      box.setAttribute("data-voc-widget", key);
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", title);
      if (!inline) {
        var bar = style(d.createElement("div"), {display: "flex", justifyContent: "flex-end", flex: "0 0 auto",
                                                  padding: "4px", background: "#f3f4f6"});
        var button = style(d.createElement("button"), {
          font: "20px/1 sans-serif", width: "32px", height: "32px", margin: "0", padding: "0", cursor: "pointer",
          border: "0", borderRadius: "6px", background: "transparent", color: "#111"});
        button.type = "button";
        button.textContent = "\u00d7";
        button.setAttribute("aria-label", "Close survey");
        button.addEventListener("click", close);
        bar.appendChild(button);
        box.appendChild(bar);
        // Escape closes it: here while focus is on the widget's own controls, and from inside the survey
        // through its page's message (keys pressed in the iframe stay there).
        box.addEventListener("keydown", function (e) { if (e.key === "Escape" || e.key === "Esc") close(); });
      }
      // Until the page has said how tall it is: about one question's height.
      var frame = style(d.createElement("iframe"), inline
        ? {border: "0", width: "100%", flex: "1 1 auto", display: "block", height: "100%"}
        : {border: "0", width: "100%", flex: "0 1 auto", minHeight: "0", display: "block", height: "320px"});
      // Scripts and forms for the survey; same-origin so it may talk to voc (its own origin, never the host's).
      frame.setAttribute("sandbox", "allow-scripts allow-forms allow-same-origin");
      frame.setAttribute("referrerpolicy", "origin");
      frame.title = title;
      frame.src = answer.url;
      box.appendChild(frame);
      current = {key: key, box: box, frame: frame, origin: answer.url.replace(/^(https?:\/\/[^/]+).*$/, "$1"),
                 focus: d.activeElement};
      host.appendChild(box);
    };

    var show = function (key, options) {
      options = options || {};
      key = String(key || config.survey || "");
      if (!key || !config.site || !base || !w.fetch || !w.JSON) {
        warn("nothing to show: set data-voc-site and a survey key");
        return;
      }
      if (current && current.key === key) return; // already shown, or being asked for
      close();
      var settings = {
        mode: options.mode || config.mode, target: options.target || config.target,
        contact: options.contact || config.contact, signature: options.signature || config.signature
      };
      var question = {survey: key};
      if (settings.signature) {
        question.contact = settings.contact;
        question.signature = settings.signature;
      }
      var anonymous = recall();
      if (anonymous) question.anonymous_id = anonymous;
      var asking = {key: key};
      current = asking;
      // A string body is sent as text/plain: a CORS-simple request, so no preflight round trip.
      w.fetch(base + "/embed/sites/" + encodeURIComponent(config.site) + "/decision",
              {method: "POST", body: JSON.stringify(question), credentials: "omit", mode: "cors", cache: "no-store"})
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (answer) {
          if (current !== asking) return; // closed, or another survey asked for, meanwhile
          current = null;
          if (!answer) return;
          if (answer.anonymous_id && answer.anonymous_id !== anonymous) remember(answer.anonymous_id);
          if (answer.show && /^https?:\/\//.test(answer.url || "")) {
            render(key, answer, settings);
          } else if (/signature|identity|trigger|survey/.test(answer.reason || "")) {
            warn("survey " + JSON.stringify(key) + " not shown: " + answer.reason);
          }
        })
        .catch(function () { if (current === asking) current = null; }); // voc unreachable: no survey, no harm
    };

    // The survey page says: {voc: "height", value: pixels} (its content's height: the widget takes it),
    // {voc: "close"} (Escape pressed in it), {voc: "thanks"} (the thank-you is shown: the slide-in closes
    // 3 s later, time to read it).
    w.addEventListener("message", function (event) {
      try {
        var data = event.data;
        if (!current || !current.frame || event.source !== current.frame.contentWindow ||
            event.origin !== current.origin || !data || typeof data !== "object") return;
        if (data.voc === "close") close();
        if (data.voc === "height" && data.value > 0) {
          var height = Math.min(Math.round(data.value), 4000) + "px";
          if (current.box.style.position === "fixed") current.frame.style.height = height;
          else current.box.style.height = height;
        }
        if (data.voc === "thanks" && current.box.style.position === "fixed" && !current.closing) {
          var shown = current;
          shown.closing = w.setTimeout(function () { if (current === shown) close(); }, CLOSE_AFTER_THANKS_MS);
        }
      } catch (e) { /* a message meant for someone else */ }
    });

    var api = function (command, key, options) {
      try {
        if (command === "show") {
          try { show(key, options); } catch (e) { current = null; throw e; }
        }
        else if (command === "close") close();
        else warn("unknown command " + JSON.stringify(command));
      } catch (e) {
        warn(e && e.message);
      }
    };
    api.loaded = true;
    var queued = (stub && stub.q && stub.q.length) ? Array.prototype.slice.call(stub.q) : [];
    w.voc = api;
    var start = function () {
      try {
        if (config.survey) api("show", config.survey);
        for (var i = 0; i < queued.length; i++) api.apply(null, queued[i]);
      } catch (e) {
        warn(e && e.message);
      }
    };
    // An inline target or <body> may not exist yet when the script runs early and synchronously.
    if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", start);
    else start();
  } catch (e) {
    warn("the widget could not start: " + (e && e.message));
  }
})(window, document);
