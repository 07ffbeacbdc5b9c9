/*! 信保顾问 Credit Advisor widget: one <script> tag adds a chat launcher to any page.
 *
 *   <script src="https://HOST/widget.js" data-lang="zh" data-lead-form="#lead-form"></script>
 *
 * Options are data-* attributes (README, "Website widget"). No dependencies and no build
 * step: each instance lives in its own shadow root, so host styles do not reach it and its
 * styles do not reach the host, and the only global is window.CreditAdvisorWidget.
 * Text from the server is never parsed as HTML: answers are built from text nodes.
 */
(function () {
  "use strict";

  // /widget.js replaces this literal with {"strings": {"zh": {...}, "en": {...}}, "needs": {...},
  // "need_by_tool": {...}} (the locale files' widget: section and the lead-form needs), so
  // wording is data, not code.
  var SERVED = "__CREDIT_ADVISOR_DATA__";

  var NS = "CreditAdvisorWidget";
  var VERSION = "1";
  var DEFAULT_COLOR = "#0b5cab";
  var DEFAULT_Z = 2147483000;
  var FIELDS = ["need", "name", "phone", "details", "company"];
  var PHONE_RE = /(\+?86[\s-]?)?1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}|\b0\d{2,3}-?\d{7,8}\b/g;

  function warn() {
    try {
      var args = Array.prototype.slice.call(arguments);
      console.warn.apply(console, ["[" + NS + "]"].concat(args));
    } catch (e) {
      /* no console: nothing to do */
    }
  }

  // Every entry point goes through guard(): the host page never sees an exception from us.
  function guard(fn) {
    return function () {
      try {
        var out = fn.apply(this, arguments);
        if (out && typeof out.then === "function") {
          return out.catch(function (err) {
            warn(err);
          });
        }
        return out;
      } catch (err) {
        warn(err);
        return undefined;
      }
    };
  }

  var DATA =
    SERVED && typeof SERVED === "object" ? SERVED : { strings: {}, needs: {}, need_by_tool: {} };
  // Tools whose use tells which 您的需求 option fits (the server's own lead inference table).
  var NEED_BY_TOOL = DATA.need_by_tool || {};
  if (DATA !== SERVED) warn("served without its wording: load it from the advisor's /widget.js");

  function tr(lang, key, values) {
    var table = DATA.strings[lang] || {};
    var text = table[key];
    if (text === undefined) text = (DATA.strings.zh || {})[key];
    if (text === undefined) return key;
    if (!values || typeof text !== "string") return text;
    return text.replace(/\{(\w+)\}/g, function (all, name) {
      return name in values ? String(values[name]) : all;
    });
  }

  // ---------------------------------------------------------------------------------------
  // Storage that survives blocked localStorage (private modes, sandboxed frames).

  var memory = {};
  var storage = {
    get: function (key) {
      try {
        var raw = window.localStorage.getItem(key);
        return raw ? JSON.parse(raw) : null;
      } catch (e) {
        return memory[key] || null;
      }
    },
    set: function (key, value) {
      memory[key] = value;
      try {
        window.localStorage.setItem(key, JSON.stringify(value));
      } catch (e) {
        /* kept in memory for this page view */
      }
    },
    remove: function (key) {
      delete memory[key];
      try {
        window.localStorage.removeItem(key);
      } catch (e) {
        /* nothing stored */
      }
    },
  };

  function randomId() {
    try {
      if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    } catch (e) {
      /* insecure context: fall through */
    }
    return Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  }

  // ---------------------------------------------------------------------------------------
  // Configuration: the script tag's data-* attributes -> one checked object.

  function truthy(value) {
    if (value === undefined || value === null || value === false) return false;
    if (value === true) return true;
    return ["", "1", "true", "yes", "on"].indexOf(String(value).trim().toLowerCase()) >= 0;
  }

  function apiFromSrc(src) {
    try {
      var url = new URL(src, window.location.href);
      url.search = "";
      url.hash = "";
      url.pathname = url.pathname.replace(/\/[^/]*$/, "");
      return url.href.replace(/\/+$/, "");
    } catch (e) {
      return window.location.origin;
    }
  }

  // data-api: an absolute or page-relative base URL, without a trailing slash.
  function baseUrl(value) {
    try {
      return new URL(value, window.location.href).href.replace(/[?#].*$/, "").replace(/\/+$/, "");
    } catch (e) {
      warn("data-api is not a URL: " + value);
      return window.location.origin;
    }
  }

  function parseFields(raw) {
    var fields = {
      need: '[name="need"]',
      name: '[name="name"]',
      phone: '[name="phone"]',
      details: '[name="details"]',
      company: '[name="company"]',
    };
    if (!raw) return fields;
    var given = raw;
    if (typeof raw === "string") {
      try {
        given = JSON.parse(raw);
      } catch (e) {
        warn("data-lead-fields is not JSON; using the default field names", e);
        return fields;
      }
    }
    if (given && typeof given === "object") {
      FIELDS.forEach(function (key) {
        if (typeof given[key] === "string" && given[key].trim()) fields[key] = given[key].trim();
      });
    }
    return fields;
  }

  function normalize(raw, src) {
    var lang = /^en/i.test(String(raw.lang || "")) ? "en" : "zh";
    var api = raw.api ? baseUrl(String(raw.api)) : apiFromSrc(src || "");
    var color = String(raw.color || "").trim();
    try {
      if (!color || !window.CSS || !window.CSS.supports("color", color)) color = DEFAULT_COLOR;
    } catch (e) {
      color = DEFAULT_COLOR;
    }
    var z = parseInt(raw.zIndex, 10);
    if (!isFinite(z)) z = DEFAULT_Z;
    z = Math.max(-2147483647, Math.min(2147483647, z));
    var leadForm = raw.leadForm ? String(raw.leadForm).trim() : "";
    var mode = String(raw.leadMode || "").trim().toLowerCase();
    if (mode !== "form" && mode !== "post") mode = leadForm ? "form" : "post";
    return {
      id: String(raw.id || "").trim(),
      api: api,
      lang: lang,
      position: String(raw.position || "").trim() === "bottom-left" ? "bottom-left" : "bottom-right",
      color: color,
      zIndex: z,
      title: raw.title ? String(raw.title) : tr(lang, "title"),
      greeting: raw.greeting ? String(raw.greeting) : tr(lang, "greeting"),
      question: raw.question ? String(raw.question) : "",
      open: truthy(raw.open),
      leadMode: mode,
      leadForm: leadForm,
      leadFields: parseFields(raw.leadFields),
    };
  }

  function fromScript(script) {
    var d = script.dataset || {};
    return normalize(
      {
        id: d.id,
        api: d.api,
        lang: d.lang,
        position: d.position,
        color: d.color,
        zIndex: d.zIndex,
        title: d.title,
        greeting: d.greeting,
        question: d.question,
        open: d.open,
        leadMode: d.leadMode,
        leadForm: d.leadForm,
        leadFields: d.leadFields,
      },
      script.src
    );
  }

  // ---------------------------------------------------------------------------------------
  // Server-Sent Events over fetch (EventSource cannot POST). The format is a few lines of
  // spec (WHATWG HTML, "event stream interpretation"); a library would need a build step.

  function SseParser(onEvent) {
    var buffer = "";
    var eventName = "";
    var data = [];
    function line(text) {
      if (text === "") {
        if (data.length) onEvent(eventName || "message", data.join("\n"));
        eventName = "";
        data = [];
        return;
      }
      if (text.charAt(0) === ":") return; // comment (keep-alive ping)
      var colon = text.indexOf(":");
      var field = colon < 0 ? text : text.slice(0, colon);
      var value = colon < 0 ? "" : text.slice(colon + 1).replace(/^ /, "");
      if (field === "event") eventName = value;
      else if (field === "data") data.push(value);
    }
    this.feed = function (chunk) {
      buffer += chunk;
      for (;;) {
        var match = /\r\n|\r|\n/.exec(buffer);
        if (!match) return;
        // A lone \r at the end may be the first half of \r\n: wait for the next chunk.
        if (match[0] === "\r" && match.index === buffer.length - 1) return;
        var text = buffer.slice(0, match.index);
        buffer = buffer.slice(match.index + match[0].length);
        line(text);
      }
    };
    this.end = function () {
      if (buffer) line(buffer);
      buffer = "";
      line("");
    };
  }

  function readEvents(response, onEvent) {
    var parser = new SseParser(function (name, raw) {
      var payload = null;
      try {
        payload = JSON.parse(raw);
      } catch (e) {
        return; // not ours
      }
      onEvent(name, payload);
    });
    if (!response.body || !response.body.getReader) {
      return response.text().then(function (text) {
        parser.feed(text);
        parser.end();
      });
    }
    var reader = response.body.getReader();
    var decoder = new TextDecoder("utf-8");
    function pump() {
      return reader.read().then(function (step) {
        if (step.done) {
          parser.feed(decoder.decode());
          parser.end();
          return undefined;
        }
        parser.feed(decoder.decode(step.value, { stream: true }));
        return pump();
      });
    }
    return pump();
  }

  // ---------------------------------------------------------------------------------------
  // Minimal, safe Markdown: paragraphs, line breaks, lists, quotes, **bold**, *em* and [n]
  // citation markers, built with text nodes only (nothing from the server becomes HTML).

  var INLINE = /\*\*([^*\n]+?)\*\*|\*([^*\s][^*\n]*?)\*|\[(\d{1,3})\]/g;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        var value = attrs[key];
        if (value === undefined || value === null || value === false) return;
        if (key === "text") node.textContent = value;
        else node.setAttribute(key, value === true ? "" : String(value));
      });
    }
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined) node.append(child);
    });
    return node;
  }

  function renderInline(parent, text, refs) {
    var last = 0;
    var list = Array.from(String(text).matchAll(INLINE));
    list.forEach(function (m) {
      if (m.index > last) parent.append(text.slice(last, m.index));
      if (m[1] !== undefined) {
        var strong = el("strong");
        renderInline(strong, m[1], refs);
        parent.append(strong);
      } else if (m[2] !== undefined) {
        var em = el("em");
        renderInline(em, m[2], refs);
        parent.append(em);
      } else {
        parent.append(refs.make(Number(m[3])));
      }
      last = m.index + m[0].length;
    });
    if (last < text.length) parent.append(text.slice(last));
  }

  function renderMarkdown(text, refs) {
    var frag = document.createDocumentFragment();
    var list = null;
    var para = null;
    var quote = null;
    String(text)
      .replace(/\r\n?/g, "\n")
      .split("\n")
      .forEach(function (raw) {
        var line = raw.replace(/\s+$/, "");
        var m;
        if (!line.trim()) {
          list = para = quote = null;
          return;
        }
        if ((m = /^\s*[-*•]\s+(.*)$/.exec(line)) || (m = /^\s*(\d{1,3})[.)、]\s+(.*)$/.exec(line))) {
          var ordered = m.length === 3;
          var tag = ordered ? "OL" : "UL";
          if (!list || list.tagName !== tag) {
            list = el(tag.toLowerCase(), ordered && m[1] !== "1" ? { start: m[1] } : null);
            frag.append(list);
          }
          para = quote = null;
          var li = el("li");
          renderInline(li, (ordered ? m[2] : m[1]).replace(/^>\s?/, ""), refs);
          list.append(li);
          return;
        }
        if ((m = /^#{1,6}\s+(.*)$/.exec(line))) {
          list = para = quote = null;
          var head = el("p", { class: "h" });
          renderInline(head, m[1], refs);
          frag.append(head);
          return;
        }
        if ((m = /^>\s?(.*)$/.exec(line))) {
          list = para = null;
          if (quote) quote.append(el("br"));
          else frag.append((quote = el("blockquote")));
          renderInline(quote, m[1], refs);
          return;
        }
        list = quote = null;
        if (para) para.append(el("br"));
        else frag.append((para = el("p")));
        renderInline(para, line, refs);
      });
    return frag;
  }

  // ---------------------------------------------------------------------------------------
  // Looks: one stylesheet per shadow root, px units only (host rem/em rules cannot scale it).

  var CSS = [
    ":host{all:initial}",
    ".root{all:initial;display:block;font:14px/1.55 system-ui,-apple-system,'Segoe UI','PingFang SC','Hiragino Sans GB','Microsoft YaHei','Noto Sans CJK SC','Noto Sans SC',sans-serif;color:#1f2933;text-align:left;direction:ltr;--ca-primary:" +
      DEFAULT_COLOR +
      ";--ca-on-primary:#fff}",
    ".root *,.root *::before,.root *::after{box-sizing:border-box}",
    "button,input,select,textarea{font:inherit;color:inherit;margin:0;letter-spacing:normal}",
    "button{cursor:pointer}",
    "[hidden]{display:none!important}",
    ".sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}",
    ".launcher{position:fixed;bottom:20px;right:20px;width:56px;height:56px;border-radius:50%;border:0;padding:0;background:var(--ca-primary);color:var(--ca-on-primary);box-shadow:0 6px 20px rgba(15,23,42,.28);display:flex;align-items:center;justify-content:center;transition:transform .15s}",
    ".launcher:hover{transform:scale(1.05)}",
    ".launcher:focus-visible{outline:3px solid #fff;box-shadow:0 0 0 6px var(--ca-primary)}",
    ".launcher svg{width:28px;height:28px;fill:currentColor;display:block}",
    ".launcher .i-close{width:22px;height:22px;fill:none;stroke:currentColor;stroke-width:2.4;stroke-linecap:round;display:none}",
    ".open .launcher .i-chat{display:none}.open .launcher .i-close{display:block}",
    ".launcher .dot{position:absolute;top:2px;right:2px;width:14px;height:14px;border-radius:50%;background:#d64545;border:2px solid #fff;display:none}",
    ".offline .launcher .dot{display:block}",
    ".left .launcher{left:20px;right:auto}",
    ".panel{position:fixed;bottom:88px;right:20px;width:384px;max-width:calc(100vw - 40px);height:620px;max-height:calc(100vh - 108px);display:flex;flex-direction:column;background:#fff;border-radius:14px;box-shadow:0 14px 44px rgba(15,23,42,.28);overflow:hidden}",
    ".left .panel{left:20px;right:auto}",
    ".head{background:var(--ca-primary);color:var(--ca-on-primary);padding:12px 8px 12px 16px;display:flex;align-items:center;gap:4px}",
    ".titles{flex:1;min-width:0}",
    ".title{margin:0;font-size:16px;font-weight:600;line-height:1.3}",
    ".sub{font-size:12px;opacity:.85;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}",
    ".icon{background:transparent;border:0;color:inherit;width:34px;height:34px;border-radius:8px;display:flex;align-items:center;justify-content:center;padding:0}",
    ".icon:hover{background:rgba(255,255,255,.16)}",
    ".icon:focus-visible{outline:2px solid currentColor;outline-offset:-2px}",
    ".icon svg{width:18px;height:18px;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round}",
    ".log{flex:1;overflow-y:auto;padding:16px 14px;display:flex;flex-direction:column;gap:12px;background:#f4f6f9;overscroll-behavior:contain}",
    ".msg{max-width:90%;padding:10px 12px;border-radius:12px;overflow-wrap:anywhere}",
    ".msg.user{align-self:flex-end;background:var(--ca-primary);color:var(--ca-on-primary);border-bottom-right-radius:4px;white-space:pre-wrap}",
    ".msg.bot{align-self:flex-start;background:#fff;border:1px solid #e1e6ed;border-bottom-left-radius:4px}",
    ".msg.note{align-self:center;max-width:96%;background:#e8f1fb;color:#243b53;font-size:13px}",
    ".body p,.body ul,.body ol,.body blockquote{margin:0 0 8px}",
    ".body>:last-child{margin-bottom:0}",
    ".body ul,.body ol{padding-left:20px}",
    ".body li{margin:2px 0}",
    ".body .h{font-weight:600}",
    ".body blockquote{padding-left:8px;border-left:3px solid #cfd7e3;color:#52606d}",
    ".ref{border:0;background:none;padding:0 1px;color:var(--ca-primary);font-size:11px;font-weight:700;vertical-align:super;line-height:1}",
    ".ref:focus-visible{outline:2px solid var(--ca-primary);border-radius:3px}",
    ".cites{margin-top:8px;padding-top:8px;border-top:1px solid #e1e6ed;font-size:12px}",
    ".cites-title{margin:0 0 4px;color:#52606d;font-weight:600}",
    ".cites ol{list-style:none;margin:0;padding:0}",
    ".cites li{margin:2px 0}",
    ".cites summary{cursor:pointer;color:#334e68}",
    ".cites summary:focus-visible{outline:2px solid var(--ca-primary);border-radius:3px}",
    ".cites details[open] summary{color:var(--ca-primary)}",
    ".snippet{margin:4px 0 6px;padding:6px 8px;background:#f4f6f9;border-radius:6px;color:#52606d;white-space:pre-wrap}",
    ".typing{display:inline-flex;gap:4px;padding:4px 0}",
    ".typing i{width:6px;height:6px;border-radius:50%;background:#9aa5b1;animation:ca-blink 1s infinite}",
    ".typing i:nth-child(2){animation-delay:.2s}.typing i:nth-child(3){animation-delay:.4s}",
    "@keyframes ca-blink{0%,80%,100%{opacity:.25}40%{opacity:1}}",
    ".chips{display:flex;flex-wrap:wrap;gap:6px;padding:8px 14px;background:#f4f6f9}",
    ".chip{border:1px solid var(--ca-primary);color:var(--ca-primary);background:#fff;border-radius:16px;padding:4px 11px;font-size:13px;text-align:left;line-height:1.4}",
    ".chip:hover{background:#f0f5fb}",
    ".chip:focus-visible,.small:focus-visible,.send:focus-visible,.lead button:focus-visible{outline:2px solid var(--ca-primary);outline-offset:2px}",
    ".alert{margin:0;padding:10px 14px;background:#fff4f4;border-top:1px solid #f3c0c0;color:#8a1f1f;display:flex;gap:10px;align-items:center;font-size:13px}",
    ".alert span{flex:1}",
    ".small{border:1px solid currentColor;background:#fff;color:inherit;border-radius:14px;padding:3px 12px;font-size:12px;white-space:nowrap}",
    ".lead{padding:12px 14px;background:#fff;border-top:1px solid #e1e6ed;display:grid;gap:8px;min-height:0;overflow-y:auto}",
    ".lead-slot{display:flex;flex-direction:column;min-height:0;max-height:62%}",
    ".head,.composer,.foot,.alert{flex-shrink:0}",
    ".lead-title{margin:0;font-weight:600;font-size:13px}",
    ".lead label{display:grid;gap:2px;font-size:12px;color:#3e4c59}",
    ".lead input,.lead select{border:1px solid #cbd2d9;border-radius:8px;padding:7px 9px;background:#fff;width:100%}",
    ".lead input[aria-invalid=true]{border-color:#b42318}",
    ".lead input:focus,.lead select:focus,.input:focus{outline:2px solid var(--ca-primary);outline-offset:-1px}",
    ".err{color:#b42318;font-size:12px;margin:0}",
    ".consent-notice{font-size:11px;color:#52606d;margin:0;line-height:1.4}",
    ".lead label.consent{display:flex;gap:6px;align-items:flex-start;font-size:12px}",
    ".lead label.consent input{width:auto;margin-top:2px}",
    ".row{display:flex;gap:8px}",
    ".lead .go{background:var(--ca-primary);color:var(--ca-on-primary);border:0;border-radius:8px;padding:7px 16px;font-weight:600}",
    ".lead .cancel{background:#fff;border:1px solid #cbd2d9;border-radius:8px;padding:7px 14px}",
    ".composer{display:flex;gap:8px;padding:10px 14px 6px;border-top:1px solid #e1e6ed;background:#fff;align-items:flex-end}",
    ".input{flex:1;resize:none;border:1px solid #cbd2d9;border-radius:10px;padding:9px 10px;min-height:40px;max-height:120px;line-height:1.4;background:#fff;color:#1f2933}",
    ".send{background:var(--ca-primary);color:var(--ca-on-primary);border:0;border-radius:10px;padding:0 16px;height:40px;font-weight:600}",
    ".send:disabled{opacity:.5;cursor:default}",
    ".foot{display:flex;justify-content:space-between;align-items:center;gap:8px;padding:4px 14px 10px;background:#fff;font-size:11px;color:#7b8794}",
    ".foot .small{color:var(--ca-primary);font-size:12px}",
    // On a phone the panel fills the screen and its header has the close button.
    "@media (max-width:480px){.panel,.left .panel{inset:0;width:100%;max-width:none;height:100%;max-height:none;border-radius:0}.open .launcher{display:none}}",
    "@media (prefers-reduced-motion:reduce){.launcher,.typing i{transition:none;animation:none}}",
  ].join("\n");

  var sharedSheet = null;

  function applyStyles(shadow) {
    try {
      if ("adoptedStyleSheets" in shadow && window.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
        if (!sharedSheet) {
          sharedSheet = new CSSStyleSheet();
          sharedSheet.replaceSync(CSS);
        }
        // One parsed sheet shared by every instance of this script.
        shadow.adoptedStyleSheets = [sharedSheet];
        return;
      }
    } catch (e) {
      /* fall back to a <style> element */
    }
    shadow.append(el("style", { text: CSS }));
  }

  function svg(paths, className) {
    var ns = "http://www.w3.org/2000/svg";
    var node = document.createElementNS(ns, "svg");
    node.setAttribute("viewBox", "0 0 24 24");
    if (className) node.setAttribute("class", className);
    node.setAttribute("aria-hidden", "true");
    node.setAttribute("focusable", "false");
    paths.forEach(function (d) {
      var path = document.createElementNS(ns, "path");
      path.setAttribute("d", d);
      node.append(path);
    });
    return node;
  }

  var ICON_CHAT =
    "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2zm3 6.5a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01z";
  var ICON_CLOSE = "M6 6l12 12M18 6L6 18";
  var ICON_NEW = "M4 12a8 8 0 1 0 2.3-5.6M4 4v4h4";

  function readableText(probeParent, color) {
    try {
      var probe = el("span");
      probe.style.color = color;
      probeParent.append(probe);
      var rgb = (getComputedStyle(probe).color.match(/[\d.]+/g) || []).map(Number);
      probe.remove();
      if (rgb.length < 3) return "#fff";
      var lum = rgb.slice(0, 3).map(function (c) {
        c /= 255;
        return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
      });
      var l = 0.2126 * lum[0] + 0.7152 * lum[1] + 0.0722 * lum[2];
      return l > 0.45 ? "#111827" : "#fff";
    } catch (e) {
      return "#fff";
    }
  }

  // ---------------------------------------------------------------------------------------
  // Host-form helpers (form lead mode).

  function nationalPhone(phone) {
    var digits = String(phone || "").replace(/[^\d+]/g, "");
    if (digits.indexOf("+86") !== 0) return String(phone || "");
    var rest = digits.slice(3);
    return /^1[3-9]\d{9}$/.test(rest) ? rest : "0" + rest;
  }

  function setValue(field, value) {
    var proto =
      field.tagName === "SELECT"
        ? HTMLSelectElement.prototype
        : field.tagName === "TEXTAREA"
          ? HTMLTextAreaElement.prototype
          : HTMLInputElement.prototype;
    var desc = Object.getOwnPropertyDescriptor(proto, "value");
    // The prototype's setter, so frameworks that track the value (React) see the change.
    if (desc && desc.set) desc.set.call(field, value);
    else field.value = value;
    field.dispatchEvent(new Event("input", { bubbles: true }));
    field.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function needOption(select, need) {
    var labels = DATA.needs[need] || {};
    var wanted = [need, labels.zh, labels.en]
      .filter(Boolean)
      .map(function (s) {
        return String(s).trim().toLowerCase();
      });
    return Array.from(select.options).filter(function (option) {
      return (
        wanted.indexOf(String(option.value).trim().toLowerCase()) >= 0 ||
        wanted.indexOf(String(option.text).trim().toLowerCase()) >= 0
      );
    })[0];
  }

  function formatMoney(lang, n) {
    n = Number(n);
    if (!isFinite(n)) return "";
    if (lang === "zh" && Math.abs(n) >= 10000) {
      return String(Math.round(n / 100) / 100) + "万";
    }
    try {
      return new Intl.NumberFormat(lang === "en" ? "en" : "zh-CN", { maximumFractionDigits: 0 }).format(n);
    } catch (e) {
      return String(Math.round(n));
    }
  }

  var counter = 0;

  // ---------------------------------------------------------------------------------------
  // One widget instance: config, session, DOM.

  function Widget(config) {
    counter += 1;
    this.cfg = config;
    this.uid = "ca" + counter;
    this.key = "credit-advisor:" + config.id;
    var saved = storage.get(this.key);
    if (!saved || saved.api !== config.api) saved = {};
    this.sessionId = saved.sessionId || null;
    this.leadId = saved.leadId || null;
    this.nonce = randomId();
    this.turns = []; // {role: "user", text} | {role: "assistant", reply}
    this.contact = {};
    this.busy = false;
    this.isOpen = false;
    this.lastFill = {};
    this.aborter = null;
    this.ready = null; // the history load, started on first open
    this.generation = 0; // bumped by reset(): late answers for the old conversation are dropped
    this.buildDom();
    // Opened on load without taking focus: the visitor may be reading or typing elsewhere.
    if (config.open) this.open({ focus: false });
  }

  Widget.prototype.t = function (key, values) {
    return tr(this.cfg.lang, key, values);
  };

  Widget.prototype.persist = function () {
    if (!this.sessionId && !this.leadId) {
      storage.remove(this.key);
      return;
    }
    storage.set(this.key, { api: this.cfg.api, sessionId: this.sessionId, leadId: this.leadId });
  };

  Widget.prototype.emit = function (name, detail) {
    try {
      var data = Object.assign({ id: this.cfg.id, sessionId: this.sessionId }, detail || {});
      document.dispatchEvent(new CustomEvent("credit-advisor:" + name, { detail: data }));
    } catch (e) {
      warn(e);
    }
  };

  Widget.prototype.buildDom = function () {
    var self = this;
    var cfg = this.cfg;
    var t = function (key, values) {
      return tr(cfg.lang, key, values);
    };
    var host = document.createElement("credit-advisor-widget");
    host.setAttribute("data-instance", cfg.id);
    // Inline !important beats any host rule that happens to match our element.
    host.style.cssText =
      "all:initial!important;display:block!important;position:fixed!important;top:0!important;" +
      "left:0!important;width:0!important;height:0!important;overflow:visible!important;" +
      "z-index:" + cfg.zIndex + "!important";
    var shadow = host.attachShadow({ mode: "open" });
    applyStyles(shadow);
    var root = el("div", {
      class: "root" + (cfg.position === "bottom-left" ? " left" : ""),
      lang: cfg.lang === "en" ? "en" : "zh-CN",
    });
    root.style.setProperty("--ca-primary", cfg.color);
    shadow.append(root);

    var titleId = this.uid + "-title";
    var inputId = this.uid + "-input";
    this.launcher = el("button", {
      type: "button",
      class: "launcher",
      "aria-label": t("launcher"),
      "aria-expanded": "false",
      "aria-controls": this.uid + "-panel",
    }, [
      svg([ICON_CHAT], "i-chat"),
      svg([ICON_CLOSE], "i-close"),
      el("span", { class: "dot", "aria-hidden": "true" }),
    ]);

    var iconButton = function (cls, label, icon) {
      return el("button", { type: "button", class: "icon " + cls, "aria-label": label, title: label }, [
        svg([icon]),
      ]);
    };
    this.closeBtn = iconButton("close", t("close"), ICON_CLOSE);
    this.newBtn = iconButton("new", t("new_chat"), ICON_NEW);
    var head = el("div", { class: "head" }, [
      el("div", { class: "titles" }, [
        el("h2", { class: "title", id: titleId, text: cfg.title }),
        el("div", { class: "sub", text: t("subtitle") }),
      ]),
      this.newBtn,
      this.closeBtn,
    ]);
    this.log = el("div", {
      class: "log",
      role: "log",
      "aria-live": "polite",
      "aria-relevant": "additions text",
      "aria-label": cfg.title,
    });
    this.chips = el("div", { class: "chips", role: "group", "aria-label": t("suggestions"), hidden: true });
    this.alertText = el("span");
    this.retryBtn = el("button", { type: "button", class: "small retry", text: t("retry") });
    this.alert = el("div", { class: "alert", role: "alert", hidden: true }, [this.alertText, this.retryBtn]);
    this.leadBox = el("div", { class: "lead-slot" });
    this.input = el("textarea", {
      id: inputId,
      class: "input",
      rows: "1",
      placeholder: t("placeholder"),
      maxlength: "2000",
      enterkeyhint: "send",
    });
    if (cfg.question) this.input.value = cfg.question;
    this.sendBtn = el("button", { type: "submit", class: "send", text: t("send") });
    this.composer = el("form", { class: "composer", novalidate: true }, [
      el("label", { class: "sr-only", for: inputId, text: t("input_label") }),
      this.input,
      this.sendBtn,
    ]);
    this.specialistBtn = el("button", { type: "button", class: "small specialist", text: t("specialist") });
    var foot = el("div", { class: "foot" }, [el("span", { text: t("disclaimer") }), this.specialistBtn]);
    this.panel = el("div", {
      id: this.uid + "-panel",
      class: "panel",
      role: "dialog",
      "aria-modal": "false",
      "aria-labelledby": titleId,
      hidden: true,
    }, [head, this.log, this.chips, this.alert, this.leadBox, this.composer, foot]);
    root.append(this.panel, this.launcher);
    root.style.setProperty("--ca-on-primary", "#fff");

    this.host = host;
    this.root = root;
    this.shadow = shadow;

    this.launcher.addEventListener("click", guard(function () {
      self.toggle();
    }));
    this.closeBtn.addEventListener("click", guard(function () {
      self.close();
    }));
    this.newBtn.addEventListener("click", guard(function () {
      self.reset();
    }));
    this.specialistBtn.addEventListener("click", guard(function () {
      self.handoff(null);
    }));
    this.composer.addEventListener("submit", guard(function (event) {
      event.preventDefault();
      self.submitInput();
    }));
    this.input.addEventListener("keydown", guard(function (event) {
      // Enter sends, Shift+Enter breaks the line; never while an IME is composing (拼音).
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        self.submitInput();
      }
    }));
    this.input.addEventListener("input", guard(function () {
      self.autosize();
    }));
    root.addEventListener("keydown", guard(function (event) {
      if (event.key === "Escape" && !event.isComposing && self.isOpen) {
        event.stopPropagation();
        self.close();
      }
    }));

    var mount = function () {
      document.body.append(host);
      root.style.setProperty("--ca-on-primary", readableText(root, cfg.color));
    };
    if (document.body) mount();
    else document.addEventListener("DOMContentLoaded", guard(mount));
  };

  Widget.prototype.autosize = function () {
    this.input.style.height = "auto";
    this.input.style.height = Math.min(this.input.scrollHeight + 2, 120) + "px";
  };

  // Follow a growing answer down, but never past its first line: a long answer is read
  // from the top, not from wherever the stream ended.
  Widget.prototype.follow = function (node) {
    var log = this.log;
    var top = log.scrollTop + node.getBoundingClientRect().top - log.getBoundingClientRect().top - 8;
    log.scrollTop = Math.min(log.scrollHeight - log.clientHeight, top);
  };

  // Scroll the log (only the log: never the host page) until ``node`` is in view.
  Widget.prototype.reveal = function (node) {
    var r = node.getBoundingClientRect();
    var box = this.log.getBoundingClientRect();
    if (r.bottom > box.bottom) this.log.scrollTop += Math.min(r.bottom - box.bottom + 8, r.top - box.top);
    else if (r.top < box.top) this.log.scrollTop -= box.top - r.top + 8;
  };

  Widget.prototype.scrollDown = function (force) {
    var log = this.log;
    if (force || log.scrollHeight - log.scrollTop - log.clientHeight < 120) {
      log.scrollTop = log.scrollHeight;
    }
  };

  // -- open / close -------------------------------------------------------------------------

  Widget.prototype.open = function (options) {
    var focus = !options || options.focus !== false;
    if (!this.isOpen) {
      this.isOpen = true;
      this.panel.hidden = false;
      this.root.classList.add("open");
      this.layer(1);
      this.launcher.setAttribute("aria-expanded", "true");
      if (!this.ready) this.ready = this.restore();
      this.scrollDown(true);
      this.emit("open");
    }
    if (focus) this.input.focus();
  };

  Widget.prototype.close = function (options) {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.panel.hidden = true;
    this.root.classList.remove("open");
    this.layer(0);
    this.launcher.setAttribute("aria-expanded", "false");
    if (!options || options.focus !== false) this.launcher.focus();
    this.emit("close");
  };

  // An open panel sits above other instances that share its z-index (a phone-size panel
  // would otherwise be covered by the other launcher).
  Widget.prototype.layer = function (lift) {
    this.host.style.setProperty("z-index", String(Math.min(this.cfg.zIndex + lift, 2147483647)), "important");
  };

  Widget.prototype.toggle = function () {
    if (this.isOpen) this.close();
    else this.open();
  };

  // -- messages -----------------------------------------------------------------------------

  Widget.prototype.addUser = function (text) {
    var who = el("span", { class: "sr-only", text: this.t("you") + "：" });
    var node = el("div", { class: "msg user" }, [who, text]);
    this.log.append(node);
    this.scrollDown(true);
    return node;
  };

  Widget.prototype.addNote = function (text) {
    var node = el("div", { class: "msg note", text: text });
    this.log.append(node);
    this.scrollDown(true);
    return node;
  };

  // A bot bubble: render(text) while streaming, finish(reply) with citations at the end.
  Widget.prototype.addBot = function (streaming) {
    var self = this;
    var node = el("div", { class: "msg bot", "data-state": streaming ? "streaming" : "done" });
    var body = el("div", { class: "body" });
    node.append(el("span", { class: "sr-only", text: this.t("bot") + "：" }), body);
    if (streaming) {
      node.setAttribute("aria-busy", "true");
      var dots = [el("i"), el("i"), el("i")];
      body.append(el("span", { class: "typing", role: "status", "aria-label": this.t("thinking") }, dots));
    }
    this.log.append(node);
    this.scrollDown(true);
    var footnotes = {};
    var refs = {
      make: function (n) {
        if (!footnotes[n]) return el("sup", { text: "[" + n + "]" });
        var button = el("button", {
          type: "button",
          class: "ref",
          "aria-label": self.t("source_ref", { n: n }),
          text: "[" + n + "]",
        });
        button.addEventListener("click", guard(function () {
          var details = footnotes[n];
          details.open = true;
          details.querySelector("summary").focus({ preventScroll: true });
          self.reveal(details);
        }));
        return button;
      },
    };
    return {
      node: node,
      render: function (text) {
        body.replaceChildren(renderMarkdown(text, refs));
        self.follow(node);
      },
      finish: function (reply) {
        var cites = (reply.citations || []).filter(function (c) {
          return c && c.n;
        });
        var list = el("ol");
        cites.forEach(function (c) {
          var where = c.clause || String(c.section || "").split(" > ").pop();
          var details = el("details", null, [
            el("summary", null, [
              el("span", { class: "n", text: "[" + c.n + "] " }),
              c.title + (where ? " · " + where : ""),
            ]),
            el("p", { class: "snippet", text: c.snippet || "" }),
          ]);
          footnotes[c.n] = details;
          list.append(el("li", { "data-n": String(c.n) }, [details]));
        });
        body.replaceChildren(renderMarkdown(reply.answer || "", refs));
        if (cites.length) {
          var heading = el("p", { class: "cites-title", text: self.t("sources") });
          node.append(el("div", { class: "cites" }, [heading, list]));
        }
        node.setAttribute("data-state", "done");
        node.removeAttribute("aria-busy");
        self.follow(node);
      },
    };
  };

  Widget.prototype.showChips = function (items) {
    var self = this;
    this.chips.replaceChildren();
    (Array.isArray(items) ? items : []).slice(0, 4).forEach(function (text) {
      var chip = el("button", { type: "button", class: "chip", text: text });
      chip.addEventListener("click", guard(function () {
        self.input.focus(); // the chips disappear: keep keyboard users in the panel
        return self.send(text);
      }));
      self.chips.append(chip);
    });
    this.chips.hidden = !this.chips.childElementCount;
  };

  Widget.prototype.showAlert = function (text, retry) {
    var self = this;
    this.alertText.textContent = text;
    this.alert.hidden = false;
    var fresh = this.retryBtn.cloneNode(true);
    this.retryBtn.replaceWith(fresh);
    this.retryBtn = fresh;
    fresh.addEventListener("click", guard(function () {
      self.hideAlert();
      self.input.focus();
      return retry();
    }));
  };

  Widget.prototype.hideAlert = function () {
    this.alert.hidden = true;
  };

  Widget.prototype.setOffline = function (offline) {
    this.root.classList.toggle("offline", offline);
    this.launcher.setAttribute("aria-label", this.t(offline ? "launcher_offline" : "launcher"));
  };

  Widget.prototype.setBusy = function (busy) {
    this.busy = busy;
    this.sendBtn.disabled = busy;
    this.composer.setAttribute("aria-busy", busy ? "true" : "false");
  };

  Widget.prototype.greet = function () {
    this.addBot(false).finish({ answer: this.cfg.greeting, citations: [] });
  };

  // -- talking to the server ----------------------------------------------------------------

  Widget.prototype.headers = function (extra) {
    return Object.assign({ "Accept-Language": this.cfg.lang === "en" ? "en" : "zh-CN" }, extra || {});
  };

  // What the server said went wrong, or null when it is unreachable / failing (5xx).
  Widget.prototype.errorMessage = function (response) {
    if (response.status >= 500) return Promise.resolve(null);
    var fallback = this.t("error");
    return response
      .json()
      .then(function (body) {
        return (body && body.error && body.error.message) || fallback;
      })
      .catch(function () {
        return fallback;
      });
  };

  Widget.prototype.restore = function () {
    var self = this;
    this.log.replaceChildren();
    this.greet();
    if (!this.sessionId) {
      this.showChips(this.t("examples"));
      return Promise.resolve();
    }
    this.setBusy(true);
    var generation = this.generation;
    var url = this.cfg.api + "/v1/sessions/" + encodeURIComponent(this.sessionId);
    return fetch(url, { headers: this.headers(), credentials: "omit" })
      .then(function (response) {
        if (generation !== self.generation) return;
        if (response.status === 404) {
          self.sessionId = null; // expired or erased: start over
          self.persist();
          self.showChips(self.t("examples"));
          return;
        }
        if (!response.ok) throw new Error("history " + response.status);
        self.setOffline(false);
        return response.json().then(function (data) {
          var last = null;
          (data.messages || []).forEach(function (m) {
            if (m.role === "user") {
              self.addUser(m.content);
              self.turns.push({ role: "user", text: m.content });
            } else if (m.reply) {
              self.addBot(false).finish(m.reply);
              self.remember(m.reply);
              last = m.reply;
            } else {
              self.addBot(false).finish({ answer: m.content, citations: [] });
            }
          });
          self.showChips(last ? last.suggestions : self.t("examples"));
        });
      })
      .catch(function (err) {
        warn("history not loaded", err);
        if (generation !== self.generation) return;
        self.setOffline(true);
        self.showAlert(self.t("history_failed") + " " + self.t("offline"), function () {
          return (self.ready = self.restore());
        });
      })
      .then(function () {
        self.setBusy(false);
        self.scrollDown(true);
      });
  };

  Widget.prototype.submitInput = function () {
    var text = this.input.value.trim();
    if (!text || this.busy) return undefined;
    this.input.value = "";
    this.autosize();
    return this.send(text);
  };

  Widget.prototype.send = function (text) {
    var self = this;
    text = String(text || "").trim();
    if (!text || this.busy) return Promise.resolve(null);
    if (!this.isOpen) this.open({ focus: false });
    // After the history, so an earlier conversation is shown above the new question.
    return this.ready.then(function () {
      if (self.busy) return null;
      return self.ask(text);
    });
  };

  Widget.prototype.ask = function (text) {
    this.hideAlert();
    this.chips.hidden = true;
    this.addUser(text);
    this.turns.push({ role: "user", text: text });
    return this.turn(text);
  };

  Widget.prototype.turn = function (text) {
    var self = this;
    var bubble = this.addBot(true);
    var streamed = "";
    var reply = null;
    var problem = null; // {message} from the server, or {offline: true}
    var generation = this.generation;
    this.setBusy(true);
    this.aborter = window.AbortController ? new AbortController() : null;
    var body = { message: text, channel: "widget" };
    if (this.sessionId) body.session_id = this.sessionId;
    return fetch(this.cfg.api + "/v1/chat/stream", {
      method: "POST",
      headers: this.headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
      body: JSON.stringify(body),
      credentials: "omit",
      signal: this.aborter ? this.aborter.signal : undefined,
    })
      .then(function (response) {
        if (!response.ok) {
          return self.errorMessage(response).then(function (message) {
            problem = message ? { message: message } : { offline: true };
          });
        }
        return readEvents(response, function (name, data) {
          if (name === "delta" && typeof data.text === "string") {
            streamed += data.text;
            bubble.render(streamed);
          } else if (name === "done") {
            reply = data;
          } else if (name === "error") {
            var msg = self.cfg.lang === "zh" && data.message ? data.message : self.t("error");
            problem = { message: msg };
          }
        });
      })
      .catch(function (err) {
        if (!problem) problem = { offline: true, err: err };
      })
      .then(function () {
        if (generation !== self.generation) return null; // the visitor started over
        self.setBusy(false);
        self.aborter = null;
        if (reply && typeof reply.answer === "string") {
          self.setOffline(false);
          bubble.finish(reply);
          self.afterReply(reply);
          return reply;
        }
        bubble.node.remove();
        if (!problem) problem = { offline: true }; // the stream ended without a reply
        self.setOffline(!!problem.offline);
        self.showAlert(problem.offline ? self.t("offline") : problem.message, function () {
          return self.turn(text);
        });
        return null;
      });
  };

  // Session, lead and contact details a reply carries (also for replies from the history).
  Widget.prototype.remember = function (reply) {
    this.turns.push({ role: "assistant", reply: reply });
    if (reply.session_id && reply.session_id !== this.sessionId) this.sessionId = reply.session_id;
    if (reply.lead_id) this.leadId = reply.lead_id;
    var self = this;
    (reply.tool_calls || []).forEach(function (call) {
      if (call && call.name === "capture_lead" && call.args) {
        ["name", "phone", "need", "company"].forEach(function (key) {
          if (call.args[key]) self.contact[key] = call.args[key];
        });
      }
    });
    this.persist();
  };

  Widget.prototype.afterReply = function (reply) {
    this.remember(reply);
    this.showChips(reply.suggestions);
    this.emit("reply", { reply: reply });
    if (reply.handoff) this.handoff(reply);
  };

  // -- lead hand-off ------------------------------------------------------------------------

  Widget.prototype.need = function () {
    if (this.contact.need) return this.contact.need;
    for (var i = this.turns.length - 1; i >= 0; i--) {
      var calls = (this.turns[i].reply && this.turns[i].reply.tool_calls) || [];
      for (var j = calls.length - 1; j >= 0; j--) {
        if (NEED_BY_TOOL[calls[j].name]) return NEED_BY_TOOL[calls[j].name];
      }
    }
    return null;
  };

  // 详细需求: the user's questions (without contact details) and the key figures the tools
  // worked out, so the specialist starts where the chat ended.
  Widget.prototype.summary = function () {
    var lang = this.cfg.lang;
    var parts = [];
    var figures = {};
    var turns = this.turns;
    turns.forEach(function (turn, i) {
      if (turn.role === "user") {
        var next = turns[i + 1];
        if (next && next.reply && next.reply.intent === "lead") return; // a contact message
        var q = turn.text.replace(PHONE_RE, "").replace(/\s+/g, " ").trim();
        if (q.length > 120) q = q.slice(0, 119) + "…";
        if (q && parts.indexOf(q) < 0) parts.push(q);
        return;
      }
      (turn.reply.tool_calls || []).forEach(function (call) {
        var r = call.result || {};
        if (call.name === "estimate_premium" && r.low !== undefined) {
          figures.premium = tr(lang, r.low_at_minimum ? "summary_premium_min" : "summary_premium", {
            low: formatMoney(lang, r.low),
            high: formatMoney(lang, r.high),
            industry: r.industry_label || r.industry || "",
          });
        } else if (call.name === "claim_checklist" && r.cause_label) {
          figures.claim = tr(lang, "summary_claim", {
            cause: r.cause_label,
            missing: (r.missing || []).length,
          });
        } else if (call.name === "dso" && r.dso_days !== undefined) {
          figures.dso = tr(lang, "summary_dso", { days: r.dso_days });
        }
      });
    });
    Object.keys(figures).forEach(function (k) {
      parts.push(figures[k]);
    });
    if (!parts.length) return "";
    var text = parts.reduce(function (acc, part) {
      if (!acc) return part;
      var ended = /[。？！；?!;.]$/.test(acc);
      return acc + (lang === "zh" ? (ended ? "" : "；") : ended ? " " : "; ") + part;
    }, "");
    return (tr(lang, "summary_prefix") + text).slice(0, 1000);
  };

  // The prospect agreed to talk to a specialist (reply.handoff, or the button).
  Widget.prototype.handoff = function (reply) {
    var form = null;
    if (this.cfg.leadMode === "form" && this.cfg.leadForm) {
      try {
        form = document.querySelector(this.cfg.leadForm);
      } catch (e) {
        warn("data-lead-form is not a valid selector", e);
      }
      if (!form) warn("lead form not found: " + this.cfg.leadForm + "; showing the in-panel form");
    }
    if (form) return this.fillForm(form);
    if (this.leadId) {
      // The chat already stored the lead; its reply said so. The button just confirms.
      if (!reply) this.addNote(this.t("lead_done"));
      return undefined;
    }
    return this.showLeadForm();
  };

  Widget.prototype.field = function (form, key) {
    var selector = this.cfg.leadFields[key];
    if (!selector) return null;
    try {
      return form.querySelector(selector) || document.querySelector(selector);
    } catch (e) {
      warn("bad selector for " + key + ": " + selector);
      return null;
    }
  };

  Widget.prototype.fillForm = function (form) {
    var self = this;
    var filled = {};
    var put = function (key, value) {
      var field = self.field(form, key);
      if (!field || value === undefined || value === null || value === "") return;
      if (field.tagName === "SELECT") {
        var option = needOption(field, value);
        if (!option) return;
        value = option.value;
      }
      setValue(field, value);
      filled[key] = value;
    };
    var need = this.need();
    var needField = this.field(form, "need");
    if (need && needField && needField.tagName !== "SELECT") {
      need = (DATA.needs[need] || {})[this.cfg.lang] || need;
    }
    put("need", need);
    put("name", this.contact.name);
    put("company", this.contact.company);
    put("phone", this.contact.phone ? nationalPhone(this.contact.phone) : "");
    var details = this.field(form, "details");
    var summary = this.summary();
    if (details && summary) {
      var current = details.value.trim();
      // Replace our own earlier summary; keep anything the visitor typed.
      if (!current || current === this.lastFill.details) put("details", summary);
      else if (current.indexOf(summary) < 0) put("details", current + "\n" + summary);
    }
    this.lastFill = filled;

    var required = Array.from(form.querySelectorAll("[required]")).filter(function (f) {
      return !String(f.value || "").trim();
    });
    this.addNote(this.t(required.length ? "form_needs_contact" : "form_filled"));
    var narrow = window.innerWidth <= 480;
    if (narrow) this.close({ focus: false }); // the panel covers the page on a phone
    var reduce = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    form.scrollIntoView({ behavior: reduce ? "auto" : "smooth", block: "center" });
    var target = required[0] || form.querySelector('[type="submit"], button:not([type="button"])');
    if (target && (narrow || !this.isOpen || required.length)) target.focus({ preventScroll: true });
    this.emit("handoff", { mode: "form", fields: filled, leadId: this.leadId });
    return filled;
  };

  Widget.prototype.showLeadForm = function () {
    var self = this;
    var t = function (k) {
      return self.t(k);
    };
    if (!this.isOpen) this.open({ focus: false });
    if (this.leadBox.firstChild) {
      this.leadBox.querySelector("input[name=phone]").focus();
      return undefined;
    }
    var u = this.uid;
    var need = el("select", { name: "need", id: u + "-need" });
    Object.keys(DATA.needs).forEach(function (key) {
      need.append(el("option", { value: key, text: (DATA.needs[key] || {})[self.cfg.lang] || key }));
    });
    need.value = this.need() || "credit_insurance";
    var name = el("input", { name: "name", id: u + "-name", autocomplete: "name", maxlength: "50" });
    name.value = this.contact.name || "";
    var phone = el("input", {
      name: "phone",
      id: u + "-phone",
      type: "tel",
      inputmode: "tel",
      autocomplete: "tel",
      maxlength: "40",
      required: true,
      "aria-required": "true",
      "aria-describedby": u + "-lead-err",
    });
    phone.value = this.contact.phone ? nationalPhone(this.contact.phone) : "";
    var error = el("p", { class: "err", id: u + "-lead-err", role: "alert" });
    // 个人信息保护法: the notice and an explicit tick before a phone number is sent.
    var consentText = (DATA.consent || {})[self.cfg.lang] || (DATA.consent || {}).zh || {};
    var consent = el("input", { type: "checkbox", name: "consent", id: u + "-consent" });
    var notice = el("p", { class: "consent-notice", id: u + "-consent-notice", text: consentText.notice || "" });
    if (consentText.url && /^https?:\/\//i.test(consentText.url)) {
      notice.append(" ", el("a", { href: consentText.url, target: "_blank", rel: "noopener noreferrer", text: consentText.url }));
    }
    consent.setAttribute("aria-describedby", u + "-consent-notice");
    var go = el("button", { type: "submit", class: "go", text: t("lead_submit") });
    var cancel = el("button", { type: "button", class: "cancel", text: t("lead_cancel") });
    var form = el("form", { class: "lead", novalidate: true, "aria-labelledby": u + "-lead-title" }, [
      el("p", { class: "lead-title", id: u + "-lead-title", text: t("lead_title") }),
      el("label", { for: u + "-need" }, [t("lead_need"), need]),
      el("label", { for: u + "-name" }, [t("lead_name"), name]),
      el("label", { for: u + "-phone" }, [t("lead_phone") + " *", phone]),
      notice,
      el("label", { for: u + "-consent", class: "consent" }, [consent, consentText.checkbox || ""]),
      error,
      el("div", { class: "row" }, [go, cancel]),
    ]);
    var fail = function (message) {
      error.textContent = message;
      phone.setAttribute("aria-invalid", "true");
      phone.focus();
    };
    form.addEventListener("submit", guard(function (event) {
      event.preventDefault();
      if (go.disabled) return undefined;
      if (!phone.value.trim()) return fail(t("lead_phone_required"));
      if (!consent.checked) {
        error.textContent = t("consent_required");
        consent.focus();
        return undefined;
      }
      error.textContent = "";
      phone.removeAttribute("aria-invalid");
      go.disabled = true;
      go.textContent = t("lead_sending");
      return self
        .postLead({ phone: phone.value, name: name.value, need: need.value, consent: true })
        .then(function (result) {
          if (result.ok) {
            self.leadBox.replaceChildren();
            self.addNote(result.message);
            self.input.focus();
          } else {
            fail(result.message);
          }
        })
        .then(function () {
          go.disabled = false;
          go.textContent = t("lead_submit");
        });
    }));
    cancel.addEventListener("click", guard(function () {
      self.leadBox.replaceChildren();
      self.input.focus();
    }));
    this.leadBox.append(form);
    this.chips.hidden = true; // room for the form in a short panel
    (phone.value ? go : name.value ? phone : need).focus();
    this.emit("handoff", { mode: "post" });
    return undefined;
  };

  Widget.prototype.postLead = function (fields) {
    var self = this;
    // Stable per instance and session: a double click or a retry stores one lead.
    var key = "widget:" + this.cfg.id + ":" + (this.sessionId || this.nonce);
    var body = {
      phone: fields.phone,
      name: fields.name || "",
      need: fields.need || "credit_insurance",
      details: this.summary(),
      lang: this.cfg.lang,
      consent: fields.consent === true,
    };
    if (this.sessionId) body.session_id = this.sessionId;
    return fetch(this.cfg.api + "/v1/leads", {
      method: "POST",
      headers: this.headers({ "Content-Type": "application/json", "Idempotency-Key": key }),
      body: JSON.stringify(body),
      credentials: "omit",
    })
      .then(function (response) {
        if (!response.ok) {
          return self.errorMessage(response).then(function (message) {
            if (!message) self.setOffline(true);
            return { ok: false, message: message || self.t("offline") };
          });
        }
        return response.json().then(function (data) {
          self.setOffline(false);
          self.leadId = data.lead_id;
          self.persist();
          self.emit("lead", { leadId: data.lead_id });
          return { ok: true, message: data.message || self.t("lead_done") };
        });
      })
      .catch(function () {
        self.setOffline(true);
        return { ok: false, message: self.t("offline") };
      });
  };

  // -- lifecycle ----------------------------------------------------------------------------

  Widget.prototype.reset = function () {
    this.generation += 1;
    if (this.aborter) this.aborter.abort();
    this.aborter = null;
    this.sessionId = null;
    this.leadId = null;
    this.turns = [];
    this.contact = {};
    this.lastFill = {};
    this.nonce = randomId();
    this.persist();
    this.hideAlert();
    this.leadBox.replaceChildren();
    this.setBusy(false);
    this.ready = this.restore();
    this.input.focus();
  };

  Widget.prototype.destroy = function () {
    if (this.aborter) this.aborter.abort();
    this.host.remove();
  };

  // The object the host page sees: CreditAdvisorWidget.get(id).
  Widget.prototype.publicApi = function () {
    var self = this;
    var call = function (name) {
      return guard(function () {
        return self[name].apply(self, arguments);
      });
    };
    return Object.freeze({
      id: self.cfg.id,
      get sessionId() {
        return self.sessionId;
      },
      get leadId() {
        return self.leadId;
      },
      get isOpen() {
        return self.isOpen;
      },
      get config() {
        return JSON.parse(JSON.stringify(self.cfg));
      },
      open: call("open"),
      close: call("close"),
      toggle: call("toggle"),
      send: call("send"),
      handoff: guard(function () {
        return self.handoff(null);
      }),
      summary: call("summary"),
      reset: call("reset"),
      destroy: guard(function () {
        self.destroy();
        registry().delete(self.cfg.id);
      }),
    });
  };

  // ---------------------------------------------------------------------------------------
  // The one global: window.CreditAdvisorWidget (shared by every copy of this script).

  function registry() {
    return window[NS]._instances;
  }

  function mount(config) {
    var taken = registry();
    var id = config.id.replace(/[^A-Za-z0-9_-]/g, "").slice(0, 40);
    if (!id) {
      id = "default";
      for (var n = 2; taken.has(id); n++) id = "default-" + n;
    }
    if (taken.has(id)) {
      warn('an instance with data-id="' + id + '" exists already; reusing it');
      return taken.get(id);
    }
    config.id = id;
    var api = new Widget(config).publicApi();
    taken.set(id, api);
    return api;
  }

  if (!window[NS]) {
    var namespace = {
      version: VERSION,
      get: function (id) {
        return registry().get(String(id === undefined ? "default" : id)) || null;
      },
      list: function () {
        return Array.from(registry().keys());
      },
    };
    Object.defineProperty(namespace, "_instances", { value: new Map() });
    window[NS] = namespace;
  }

  guard(function () {
    var script = document.currentScript;
    if (!script || script.hasAttribute("data-credit-advisor-mounted")) {
      // Loaded by a module or a loader: take the first of our tags not mounted yet.
      script = Array.from(document.querySelectorAll('script[src*="widget.js"]')).filter(function (s) {
        return !s.hasAttribute("data-credit-advisor-mounted");
      })[0];
    }
    if (!script) return;
    script.setAttribute("data-credit-advisor-mounted", "");
    mount(fromScript(script));
  })();
})();
