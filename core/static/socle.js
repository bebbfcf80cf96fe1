// Socle portal: small progressive enhancements on top of htmx. Every screen works without this
// file (plain links and forms); with it, the detail opens beside the list, selections drive mass
// actions, admin forms talk to the JSON API and show its errors next to the field at fault.
(function () {
  "use strict";

  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || ""; } catch (e) { return ""; }
  }

  function toast(text, kind) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var item = document.createElement("p");
    item.className = "toast " + (kind || "");
    item.textContent = text;
    box.appendChild(item);
    setTimeout(function () { item.remove(); }, 6000);
  }

  function envelopeDetail(text) {
    try {
      var body = JSON.parse(text);
      var first = body.errors && body.errors[0];
      if (first) return { detail: first.detail, field: first.field };
    } catch (e) { /* not JSON */ }
    return { detail: text || "Erreur" };
  }

  // ---- side panel ----
  function workspace() { return document.getElementById("workspace"); }

  function panelOpened() {
    var ws = workspace(), panel = document.getElementById("panel");
    if (!ws || !panel) return;
    var open = panel.children.length > 0;
    ws.classList.toggle("has-panel", open);
    var id = panel.querySelector("[data-panel-id]");
    document.querySelectorAll("tr[data-id]").forEach(function (row) {
      if (id && row.getAttribute("data-id") === id.getAttribute("data-panel-id")) row.setAttribute("aria-current", "true");
      else row.removeAttribute("aria-current");
    });
  }

  function closePanel(href) {
    var panel = document.getElementById("panel");
    if (!panel || !panel.children.length) return false;
    panel.innerHTML = "";
    panelOpened();
    if (href) history.pushState({}, "", href);
    return true;
  }

  document.addEventListener("click", function (event) {
    var close = event.target.closest("[data-close-panel]");
    if (close) {
      event.preventDefault();
      var keep = document.querySelector("#list") ? location.pathname + location.search.replace(/([?&])open=[^&]*&?/, "$1").replace(/[?&]$/, "") : close.getAttribute("href");
      closePanel(keep);
      return;
    }
    var reload = event.target.closest("[data-reload-panel]");
    if (reload) {
      var inner = document.querySelector("#panel [data-href]");
      if (inner && window.htmx) htmx.ajax("GET", inner.getAttribute("data-href"), { target: "#panel", swap: "innerHTML" });
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && closePanel(null)) {
      var first = document.querySelector("tr[aria-current] a, #list a");
      if (first) first.focus();
    }
    if (event.key === "/" && !/INPUT|TEXTAREA|SELECT/.test(document.activeElement.tagName)) {
      var search = document.getElementById("global-search");
      if (search) { event.preventDefault(); search.focus(); }
    }
  });

  // ---- selection and mass actions ----
  // The selection survives the list refreshing itself (after a save, a filter, a mass action):
  // boxes of the same records come back checked.
  var selected = new Set();

  function restoreSelection() {
    var present = new Set();
    document.querySelectorAll("input[name=ids][form=mass-form]").forEach(function (b) {
      b.checked = selected.has(b.value);
      if (b.checked) present.add(b.value);
    });
    selected = present;
    selectionChanged();
  }

  function selectionChanged() {
    var boxes = document.querySelectorAll("input[name=ids][form=mass-form]");
    var chosen = Array.prototype.filter.call(boxes, function (b) { return b.checked; }).length;
    var form = document.getElementById("mass-form");
    if (form) form.hidden = chosen === 0;
    var whole = chosen > 0 && chosen === boxes.length;
    // "Select all N results": offered once the whole page is selected; any change of the
    // selection goes back to the boxes.
    var matching = document.querySelector("[data-all-matching]");
    if (matching) matching.disabled = true;
    var offer = document.querySelector("[data-select-matching]");
    if (offer) offer.hidden = !whole;
    document.querySelectorAll("[data-selected-count]").forEach(function (el) { el.textContent = String(chosen); });
    var all = document.querySelector("[data-select-all]");
    if (all) { all.checked = whole; all.indeterminate = chosen > 0 && chosen < boxes.length; }
  }

  document.documentElement.classList.add("js");
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest(".nav-toggle");
    if (!toggle) return;
    var open = toggle.closest(".side-nav").classList.toggle("open");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });

  document.addEventListener("click", function (event) {
    var offer = event.target.closest && event.target.closest("[data-select-matching]");
    if (!offer) return;
    var matching = document.querySelector("[data-all-matching]");
    if (!matching) return;
    matching.disabled = false;
    offer.hidden = true;
    document.querySelectorAll("[data-selected-count]").forEach(function (el) { el.textContent = offer.getAttribute("data-total"); });
  });

  function massOperationChanged(select) {
    var form = select.form;
    form.querySelectorAll(".mass-params").forEach(function (set) {
      var shown = set.getAttribute("data-for") === select.value;
      set.hidden = !shown;
      set.disabled = !shown;
    });
  }

  document.addEventListener("change", function (event) {
    var t = event.target;
    if (t.matches("[data-select-all]")) {
      document.querySelectorAll("input[name=ids][form=mass-form]").forEach(function (b) {
        b.checked = t.checked;
        if (b.checked) selected.add(b.value); else selected.delete(b.value);
      });
      selectionChanged();
    } else if (t.matches("input[name=ids]")) {
      if (t.checked) selected.add(t.value); else selected.delete(t.value);
      selectionChanged();
    } else if (t.matches("[data-mass-op]")) {
      massOperationChanged(t);
    } else if (t.matches("[data-narrows]")) {
      narrowChoices(t);
    }
  });

  // A choice that narrows another (a user type, the roles that fit it): options of the target
  // whose `data-for` does not list the chosen value are hidden and disabled, the first fitting
  // one is chosen; blocks marked `data-shown-for="<id>=<value>"` show only for that value.
  function narrowChoices(select) {
    var target = document.getElementById(select.getAttribute("data-narrows"));
    if (target) {
      var first = null;
      Array.prototype.forEach.call(target.options, function (o) {
        var fits = !o.hasAttribute("data-for") || o.getAttribute("data-for").split(" ").indexOf(select.value) >= 0;
        o.hidden = !fits;
        o.disabled = !fits;
        if (fits && !first) first = o;
      });
      if (target.selectedOptions.length === 0 || target.selectedOptions[0].disabled) { if (first) first.selected = true; }
    }
    document.querySelectorAll("[data-shown-for^='" + select.id + "=']").forEach(function (block) {
      var shown = block.getAttribute("data-shown-for") === select.id + "=" + select.value;
      block.hidden = !shown;
      block.querySelectorAll("select, input").forEach(function (el) { el.disabled = !shown; });
    });
  }

  // ---- admin forms and buttons bound to the JSON API ----
  function setPath(target, path, value) {
    var keys = path.split(".");
    var last = keys.pop();
    keys.forEach(function (k) { target = target[k] = target[k] || {}; });
    target[last] = value;
  }

  function formBody(form) {
    var body = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled || el.type === "submit" || el.type === "button" || el.type === "file" || el.hasAttribute("data-path-param")) return;
      var type = el.getAttribute("data-type");
      if (type === "list") {
        var list = body[el.name] || [];
        if (el.type === "checkbox") { if (el.checked) list.push(el.value); }
        else if (el.value) list.push(el.value);
        body[el.name] = list;
        return;
      }
      if (type === "bool") { setPath(body, el.name, el.checked); return; }
      if (el.value === "" && el.hasAttribute("data-skip-empty")) return;
      if (type === "number") { setPath(body, el.name, el.value === "" ? null : Number(el.value)); return; }
      setPath(body, el.name, el.value);
    });
    return body;
  }

  function errorBox(source) {
    var scope = source.closest("form, .actions-row, li, section") || document.body;
    return scope.querySelector(".form-error");
  }

  function callApi(source, url, method, body, contentType) {
    var box = errorBox(source);
    if (box) box.textContent = "";
    source.querySelectorAll && source.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
    source.setAttribute("aria-busy", "true");
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": contentType, "X-CSRF-Token": csrf(), "Accept": "application/json" },
      body: body
    }).then(function (response) {
      source.removeAttribute("aria-busy");
      if (response.ok) {
        if (source.hasAttribute("data-show-result")) {
          return response.text().then(function (text) {
            var out = source.querySelector(".api-result");
            if (out) { out.hidden = false; out.textContent = text ? JSON.stringify(JSON.parse(text), null, 2) : ""; }
          });
        }
        if (source.getAttribute("data-then") === "reload") location.reload();
        else toast(document.body.getAttribute("data-lang") === "en" ? "Saved" : "Enregistré", "ok");
        return;
      }
      return response.text().then(function (text) {
        var error = envelopeDetail(text);
        if (box) box.textContent = error.detail; else toast(error.detail, "error");
        if (error.field && source.elements) {
          var name = error.field.replace(/^params\./, "");
          var field = source.elements[name] || source.querySelector("[name='" + name.replace(/'/g, "") + "']");
          if (field && field.setAttribute) { field.setAttribute("aria-invalid", "true"); field.focus(); }
        }
      });
    }).catch(function () {
      source.removeAttribute("aria-busy");
      toast(document.body.getAttribute("data-lang") === "en" ? "The server could not be reached." : "Le serveur est injoignable.", "error");
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-api") && !form.hasAttribute("data-api-template")) return;
    event.preventDefault();
    var question = event.submitter && event.submitter.getAttribute("data-confirm");
    if (question && !window.confirm(question)) return;
    var method = form.getAttribute("data-method") || "POST";
    // `/…/{version}/…`: path parts come from the form's [data-path-param] fields.
    var url = form.getAttribute("data-api") || form.getAttribute("data-api-template").replace(/\{(\w+)\}/g, function (_, name) {
      return encodeURIComponent(form.elements[name].value);
    });
    if (form.hasAttribute("data-raw-file")) {
      var file = form.querySelector("input[type=file]").files[0];
      if (!file) return;
      callApi(form, url, method, file, file.type || "application/octet-stream");
      return;
    }
    callApi(form, url, method, JSON.stringify(formBody(form)), "application/json");
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-api]");
    if (!button) return;
    var question = button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) return;
    callApi(button, button.getAttribute("data-api"), button.getAttribute("data-method") || "POST", button.getAttribute("data-body") || "{}", "application/json");
  });

  // ---- partner console: submit a package with its detached signature ----
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-package-upload")) return;
    event.preventDefault();
    var archive = form.elements.archive.files[0], signature = form.elements.signature.files[0];
    var box = form.querySelector(".form-error"), out = form.querySelector(".api-result");
    if (!archive || !signature) return;
    box.textContent = ""; out.hidden = true; out.textContent = "";
    signature.text().then(function (sig) {
      return fetch(form.getAttribute("data-package-upload"), {
        method: "POST", credentials: "same-origin", body: archive,
        headers: { "Content-Type": "application/octet-stream", "X-CSRF-Token": csrf(), "X-Socle-Signature": btoa(unescape(encodeURIComponent(sig))) }
      });
    }).then(function (response) {
      return response.text().then(function (text) {
        var body = {};
        try { body = JSON.parse(text); } catch (e) { /* not JSON */ }
        if (!body.report) { box.textContent = envelopeDetail(text).detail; return; }
        out.hidden = false;
        var list = document.createElement("ul");
        (body.report.checks || []).forEach(function (c) {
          var item = document.createElement("li");
          item.textContent = (c.passed ? "✓ " : "✗ ") + c.check + " — " + c.detail;
          list.appendChild(item);
        });
        var outcome = document.createElement("p");
        outcome.className = response.ok ? "notice" : "error";
        outcome.textContent = body.report.outcome || "";
        out.appendChild(outcome);
        out.appendChild(list);
      });
    }).catch(function () { box.textContent = "Le serveur est injoignable."; });
  });

  // ---- live theme preview ----
  function luminance(hex) {
    var n = parseInt(hex.slice(1), 16);
    return [n >> 16 & 255, n >> 8 & 255, n & 255].map(function (c) {
      c = c / 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    }).reduce(function (acc, c, i) { return acc + c * [0.2126, 0.7152, 0.0722][i]; }, 0);
  }

  document.addEventListener("input", function (event) {
    var el = event.target;
    if (!el.closest("[data-theme-preview]") || !el.hasAttribute("data-css-var")) return;
    var value = el.value;
    if (el.tagName === "SELECT") value = el.options[el.selectedIndex].getAttribute("data-stack") || value;
    if (el.hasAttribute("data-unit")) value = value + el.getAttribute("data-unit");
    var name = el.getAttribute("data-css-var");
    document.documentElement.style.setProperty(name, value);
    if (/^--color-(primary|secondary)$/.test(name) && /^#[0-9a-f]{6}$/i.test(value)) {
      document.documentElement.style.setProperty(name.replace("--color-", "--color-on-"), luminance(value) > 0.179 ? "#111827" : "#ffffff");
    }
  });

  // ---- times: the server speaks UTC, each reader sees and types their own time zone ----
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function localInputValue(d) {
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }
  function localizeTimes(root) {
    if (!root || !root.querySelectorAll) return;
    var lang = document.body.getAttribute("data-lang") || document.documentElement.lang || "fr";
    var format = new Intl.DateTimeFormat(lang, { dateStyle: "short", timeStyle: "short" });
    root.querySelectorAll("time[data-local]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d)) { t.textContent = format.format(d); t.title = t.getAttribute("datetime"); }
    });
    // Inputs arrive holding UTC ("2026-11-22T14:00"); shown once in local time.
    root.querySelectorAll("input[type=datetime-local][data-utc]:not([data-localized])").forEach(function (input) {
      var d = input.value ? new Date(input.value + ":00Z") : null;
      if (d && !isNaN(d)) input.value = localInputValue(d);
      input.setAttribute("data-localized", "");
    });
  }
  // A local date and time typed in an input leaves as an instant (UTC, RFC 3339).
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    var inputs = elt.matches && elt.matches("input[type=datetime-local]") ? [elt] : Array.prototype.slice.call(elt.querySelectorAll ? elt.querySelectorAll("input[type=datetime-local]") : []);
    inputs.forEach(function (input) {
      if (!input.name || !input.value) return;
      var d = new Date(input.value);
      if (!isNaN(d)) event.detail.parameters[input.name] = d.toISOString();
    });
  });
  document.addEventListener("htmx:load", function (event) { localizeTimes(event.detail.elt); });

  // ---- htmx integration ----
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "panel") {
      panelOpened();
      var title = document.getElementById("panel-title");
      if (title) title.focus();
    }
    if (event.detail.target && event.detail.target.id === "list") restoreSelection();
  });
  document.addEventListener("htmx:responseError", function (event) {
    toast(envelopeDetail(event.detail.xhr.responseText).detail, "error");
  });
  document.addEventListener("htmx:sendError", function () {
    toast(document.body.getAttribute("data-lang") === "en" ? "The server could not be reached." : "Le serveur est injoignable.", "error");
  });
  document.addEventListener("DOMContentLoaded", function () {
    localizeTimes(document); panelOpened(); selectionChanged();
    document.querySelectorAll("[data-narrows]").forEach(narrowChoices);
  });
})();
