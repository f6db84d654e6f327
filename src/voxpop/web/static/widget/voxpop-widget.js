/*
 * voxpop's embeddable widget: one NPS or CSAT question in a corner of another site.
 *
 *   <script src="https://voxpop.example/widget.js" data-survey="KEY" data-question="nps" async></script>
 *   <a class="voxpop-fallback" href="https://voxpop.example/s/KEY">Tell us how we did</a>
 *
 * Optional: data-lang="de" (else the page's <html lang>), data-attributes="store=Berlin&channel=web" (declared
 * attributes, as a survey link carries them). Without JavaScript, or when the widget cannot be shown, the plain
 * link stays. Works under a strict Content-Security-Policy on the host page: no inline style or script, no eval;
 * its look is a constructed stylesheet adopted by its own shadow root. See docs/reach.md.
 */
(function () {
  "use strict";

  var script = document.currentScript ||
    document.querySelector('script[data-survey][src$="/widget.js"]');
  if (!script || !script.dataset.survey || !window.fetch || !document.adoptedStyleSheets) {
    return; // an old browser keeps the plain link
  }
  var origin = new URL(script.src, document.baseURI).origin;
  var survey = script.dataset.survey;
  var questionKey = script.dataset.question || "";
  var language = script.dataset.lang || document.documentElement.lang || "";
  var attributes = {};
  new URLSearchParams(script.dataset.attributes || "").forEach(function (value, name) { attributes[name] = value; });
  var memory = "voxpop-widget:" + survey + ":" + questionKey;
  var DAY = 86400000;
  // How long the widget stays away once answered, or closed: asked again too soon, people stop answering.
  var QUIET_DAYS = { answered: 90, closed: 30 };

  var CSS = [
    ":host { all: initial; position: fixed; z-index: 2147483000; right: 16px; bottom: 16px; width: 420px;",
    "  max-width: calc(100vw - 32px); font: 16px/1.4 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #1d2433; }",
    "@media (max-width: 480px) { :host { right: 0; bottom: 0; width: 100vw; max-width: 100vw; } }",
    ".panel { position: relative; background: #fff; border: 1px solid #c4cad4; border-radius: 10px;",
    "  box-shadow: 0 6px 24px rgba(0, 0, 0, .18); padding: 16px 16px 12px; }",
    "@media (max-width: 480px) { .panel { border-radius: 12px 12px 0 0; border-width: 1px 0 0; } }",
    "@media (prefers-reduced-motion: no-preference) { .panel { animation: rise .25s ease-out; } }",
    "@keyframes rise { from { transform: translateY(16px); opacity: 0; } to { transform: none; opacity: 1; } }",
    ".question { margin: 0 36px 12px 0; font-weight: 600; }",
    ".close { position: absolute; top: 6px; right: 6px; width: 44px; height: 44px; border: 0; background: none;",
    "  font-size: 24px; line-height: 1; color: #4a5468; cursor: pointer; border-radius: 6px; }",
    ".scores { display: grid; grid-template-columns: repeat(var(--count, 11), 1fr); gap: 4px; }",
    ".scores.nps { --count: 11; } .scores.csat { --count: 5; }",
    "@media (max-width: 480px) { .scores.nps { --count: 6; } }",
    ".score { min-height: 44px; min-width: 0; padding: 0; border: 1px solid #8a94a6; border-radius: 6px;",
    "  background: #f6f7f9; color: #1d2433; font: inherit; font-weight: 600; cursor: pointer; }",
    ".score:hover { background: #e4e8f0; }",
    ".score[aria-pressed='true'] { background: #1d4ed8; border-color: #1d4ed8; color: #fff; }",
    ".score:disabled { cursor: default; }",
    "button:focus-visible, a:focus-visible, [tabindex='-1']:focus-visible { outline: 3px solid #1d4ed8; outline-offset: 2px; }",
    ".anchors { display: flex; justify-content: space-between; gap: 8px; margin-top: 6px; font-size: 13px; color: #4a5468; }",
    ".anchors span:last-child { text-align: right; }",
    ".status { margin: 10px 0 0; }",
    ".status:empty { display: none; }",
    ".status.failed { color: #a4161a; }",
    ".retry { margin-top: 8px; min-height: 44px; padding: 0 16px; border: 1px solid #1d4ed8; border-radius: 6px;",
    "  background: #fff; color: #1d4ed8; font: inherit; cursor: pointer; }",
    ".thanks { margin: 0 36px 4px 0; font-weight: 600; }",
    ".elsewhere { display: inline-block; margin-top: 8px; color: #1d4ed8; font-size: 14px; }",
    "[hidden] { display: none !important; }"
  ].join("\n");

  function remembered() {
    try {
      var saved = JSON.parse(window.localStorage.getItem(memory) || "null");
      return saved && Date.now() - saved.at < QUIET_DAYS[saved.why] * DAY;
    } catch (error) {
      return false; // storage blocked: ask, as a first visit would
    }
  }

  function remember(why) {
    try { window.localStorage.setItem(memory, JSON.stringify({ why: why, at: Date.now() })); } catch (error) { /* blocked */ }
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function element(tag, properties, children) {
    var made = document.createElement(tag);
    Object.keys(properties || {}).forEach(function (name) {
      if (name === "text") { made.textContent = properties[name]; }
      else if (name === "className") { made.className = properties[name]; }
      else { made.setAttribute(name, properties[name]); }
    });
    (children || []).forEach(function (child) { made.appendChild(child); });
    return made;
  }

  function show(config) {
    var fallbacks = document.querySelectorAll("a.voxpop-fallback");
    var host = element("div", { "data-voxpop-widget": survey });
    var root = host.attachShadow({ mode: "open" });
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
    var question = config.question;
    var words = config.words;
    var textId = "voxpop-question";
    var close = element("button", { type: "button", className: "close", "aria-label": words.close, text: "\u00d7" });
    var status = element("p", { className: "status", role: "status", "aria-live": "polite" });
    var buttons = [];
    for (var score = question.low; score <= question.high; score += 1) {
      buttons.push(element("button", { type: "button", className: "score", "aria-pressed": "false",
        "data-score": String(score), text: String(score) }));
    }
    var scores = element("div", { className: "scores " + question.kind, role: "group", "aria-labelledby": textId }, buttons);
    var anchors = element("div", { className: "anchors", "aria-hidden": "true" },
      [element("span", { text: question.low + " = " + question.low_label }),
       element("span", { text: question.high + " = " + question.high_label })]);
    var panel = element("aside", { className: "panel", "aria-labelledby": textId, lang: config.language }, [
      element("p", { className: "question", id: textId, text: question.text }), close, scores, anchors, status]);
    // The end labels are read with the first and last buttons, since the visible ones are hidden from readers.
    buttons[0].setAttribute("aria-label", question.low + ", " + question.low_label);
    buttons[buttons.length - 1].setAttribute("aria-label", question.high + ", " + question.high_label);
    root.appendChild(panel);

    var idempotencyKey = null;
    var chosen = null;

    var answered = false;

    function dismiss(why) {
      if (!answered) { remember(why); }
      host.remove();
      Array.prototype.forEach.call(fallbacks, function (link) { link.hidden = false; });
    }

    function thank() {
      answered = true;
      remember("answered");
      var thanks = element("p", { className: "thanks", tabindex: "-1", role: "status", text: words.thanks });
      panel.replaceChildren(thanks, close);
      thanks.focus();
    }

    function fail(permanent) {
      status.className = "status failed";
      status.textContent = words.failed;
      if (permanent) {
        status.appendChild(element("br"));
        status.appendChild(element("a", { className: "elsewhere", href: config.fallback, target: "_blank",
          rel: "noopener", text: words.open }));
        return;
      }
      var retry = element("button", { type: "button", className: "retry", text: words.retry });
      retry.addEventListener("click", function () { retry.remove(); send(); });
      status.appendChild(element("br"));
      status.appendChild(retry);
      retry.focus();
    }

    function send() {
      status.className = "status";
      status.textContent = "\u2026";
      fetch(origin + "/api/v1/surveys/" + encodeURIComponent(survey) + "/widget", {
        method: "POST",
        credentials: "omit",
        headers: { "Content-Type": "application/json", "Idempotency-Key": idempotencyKey },
        body: JSON.stringify({ question: question.key, score: chosen, language: config.language, attributes: attributes })
      }).then(function (reply) {
        if (reply.ok) { thank(); }
        else { fail(reply.status !== 429 && reply.status < 500); }
      }, function () { fail(false); });
    }

    scores.addEventListener("click", function (event) {
      var button = event.target.closest("button.score");
      if (!button || idempotencyKey) { return; } // one answer: a second click or tap sends nothing more
      chosen = Number(button.dataset.score);
      idempotencyKey = newKey(); // made once per answer, so a retry is recognised as the same answer
      buttons.forEach(function (each) {
        each.disabled = true;
        each.setAttribute("aria-pressed", String(each === button));
      });
      send();
    });
    close.addEventListener("click", function () { dismiss("closed"); });
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { dismiss("closed"); }
    });

    Array.prototype.forEach.call(fallbacks, function (link) { link.hidden = true; });
    document.body.appendChild(host);
  }

  if (remembered()) { return; }
  var query = new URLSearchParams();
  if (questionKey) { query.set("question", questionKey); }
  if (language) { query.set("lang", language); }
  fetch(origin + "/api/v1/surveys/" + encodeURIComponent(survey) + "/widget?" + query.toString(), { credentials: "omit" })
    .then(function (reply) { return reply.ok ? reply.json() : null; })
    .then(function (config) {
      if (!config) { return; }
      if (document.body) { show(config); }
      else { document.addEventListener("DOMContentLoaded", function () { show(config); }); }
    }, function () { /* voxpop unreachable: the plain link stays */ });
}());
