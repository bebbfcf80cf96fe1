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

  // What opened the panel, so closing it gives focus back there (else to the record's row).
  var panelOpener = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    var target = event.detail.target;
    if (target && target.id === "panel" && !(event.detail.elt && event.detail.elt.closest && event.detail.elt.closest("#panel"))) panelOpener = event.detail.elt;
  });

  function closePanel(href) {
    var panel = document.getElementById("panel");
    if (!panel || !panel.children.length) return false;
    var row = document.querySelector("tr[aria-current] a[href]");
    panel.innerHTML = "";
    panelOpened();
    if (href) history.pushState({}, "", href);
    var back = panelOpener && document.body.contains(panelOpener) ? panelOpener : row || document.querySelector("#list a");
    if (back) back.focus();
    panelOpener = null;
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
    if (event.key === "Escape" && closePanel(null)) return;
    // The global search's suggestions: arrows move through them, Escape goes back to the box.
    var box = document.getElementById("global-search");
    var hits = Array.prototype.slice.call(document.querySelectorAll("#search-suggestions a"));
    if (box && hits.length && (event.key === "ArrowDown" || event.key === "ArrowUp" || event.key === "Escape")) {
      var at = hits.indexOf(document.activeElement);
      if (document.activeElement === box && event.key === "ArrowDown") { event.preventDefault(); hits[0].focus(); return; }
      if (at >= 0) {
        event.preventDefault();
        if (event.key === "Escape" || (event.key === "ArrowUp" && at === 0)) box.focus();
        else if (event.key === "ArrowDown") hits[Math.min(at + 1, hits.length - 1)].focus();
        else hits[at - 1].focus();
        return;
      }
    }
    if (event.key === "/" && !/INPUT|TEXTAREA|SELECT/.test(document.activeElement.tagName)) {
      var search = document.getElementById("global-search");
      if (search) { event.preventDefault(); search.focus(); }
    }
  });

  // ---- selection and mass actions ----
  // "1 sélectionné", "2 sélectionnés": French counts 0 and 1 as singular, English only 1.
  function agreeSelected(n) {
    var singular = document.body.getAttribute("data-lang") === "en" ? n === 1 : n <= 1;
    document.querySelectorAll("[data-selected-label]").forEach(function (el) {
      el.textContent = el.getAttribute(singular ? "data-one" : "data-other");
    });
  }
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
    agreeSelected(chosen);
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
    agreeSelected(Number(offer.getAttribute("data-total")));
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

  // Every error of an envelope: { detail, field }.
  function envelopeErrors(text) {
    try {
      var body = JSON.parse(text);
      if (body.errors && body.errors.length) return body.errors.map(function (e) { return { detail: e.detail || "", field: e.field }; });
    } catch (e) { /* not JSON */ }
    return [{ detail: text || "Erreur" }];
  }

  // A field's error goes next to the field: its text in a `.field-error` after the input (or
  // after the group of boxes it belongs to), the input marked `aria-invalid` and described by
  // it. Returns the field, or null when the form has no such field.
  function showFieldError(form, name, detail) {
    if (!form.elements) return null;
    var found = form.elements[name] || form.querySelector("[name='" + name.replace(/'/g, "") + "']");
    if (!found) return null;
    var inputs = found.length !== undefined && !found.tagName ? Array.prototype.slice.call(found) : [found];
    if (!inputs.length) return null;
    var first = inputs[0];
    var key = (first.id || name).replace(/[^\w-]/g, "-");
    var message = document.getElementById("error-for-" + key);
    if (!message) {
      message = document.createElement("p");
      message.className = "field-error";
      message.id = "error-for-" + key;
      message.setAttribute("data-api-error", "");
      var anchor = inputs.length > 1 ? (first.closest("fieldset") || inputs[inputs.length - 1].closest("label") || inputs[inputs.length - 1]) : (first.closest(".color-pick") || first);
      if (anchor.tagName === "FIELDSET") anchor.appendChild(message); else anchor.insertAdjacentElement("afterend", message);
    }
    // An English detail names its field first ("name: must be…"): beside the field, it goes.
    message.textContent = detail.indexOf(name + ": ") === 0 ? detail.slice(name.length + 2) : detail;
    inputs.forEach(function (input) {
      input.setAttribute("aria-invalid", "true");
      var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      if (described.indexOf(message.id) < 0) described.push(message.id);
      input.setAttribute("aria-describedby", described.join(" "));
    });
    return first;
  }

  function clearFieldErrors(source) {
    if (!source.querySelectorAll) return;
    source.querySelectorAll("[aria-invalid]").forEach(function (el) {
      el.removeAttribute("aria-invalid");
      var described = (el.getAttribute("aria-describedby") || "").split(" ").filter(function (id) { return id && id.indexOf("error-for-") !== 0; });
      if (described.length) el.setAttribute("aria-describedby", described.join(" ")); else el.removeAttribute("aria-describedby");
    });
    source.querySelectorAll(".field-error[data-api-error]").forEach(function (el) { el.remove(); });
  }

  function errorBox(source) {
    var scope = source.closest("form, .actions-row, li, section") || document.body;
    return scope.querySelector(".form-error");
  }

  function callApi(source, url, method, body, contentType) {
    var box = errorBox(source);
    if (box) box.textContent = "";
    clearFieldErrors(source);
    source.setAttribute("aria-busy", "true");
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": contentType, "X-CSRF-Token": csrf(), "Accept": "application/json", "Accept-Language": document.documentElement.lang || "fr" },
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
        // Errors of fields the form shows go next to them; the others above the button.
        var rest = [], focus = null;
        envelopeErrors(text).forEach(function (error) {
          var field = error.field ? showFieldError(source, error.field.replace(/^params\./, ""), error.detail) : null;
          if (field) focus = focus || field; else rest.push(error.detail);
        });
        if (rest.length) { if (box) box.textContent = rest.join(" "); else toast(rest.join(" "), "error"); }
        if (focus && focus.focus) focus.focus();
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

  // ---- brand colours: a swatch bound to each #rrggbb field, and a contrast check as you pick ----
  // The rules mirror socle_tenants::theme (WCAG 2.1 contrast; links darkened just enough).
  function rgb(hex) { var n = parseInt(hex.slice(1), 16); return [n >> 16 & 255, n >> 8 & 255, n & 255]; }
  function toHex(c) { return "#" + c.map(function (v) { return (v < 16 ? "0" : "") + v.toString(16); }).join(""); }
  function contrast(a, b) {
    var x = luminance(a), y = luminance(b);
    return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
  }
  function fullHex(value) {
    var v = (value || "").trim().toLowerCase();
    if (/^#[0-9a-f]{3}$/.test(v)) v = "#" + v[1] + v[1] + v[2] + v[2] + v[3] + v[3];
    return /^#[0-9a-f]{6}$/.test(v) ? v : null;
  }
  function mix(color, toward, step, steps) {
    return toHex(rgb(color).map(function (c) { return Math.floor((c * (steps - step) + toward * step) / steps); }));
  }
  function readableText(color) { return contrast(color, "#ffffff") >= contrast(color, "#111827") ? "#ffffff" : "#111827"; }
  function readableOn(color, backgrounds) {
    var reads = function (c) { return backgrounds.every(function (bg) { return contrast(c, bg) >= 4.5; }); };
    if (reads(color)) return color;
    var light = backgrounds.reduce(function (acc, bg) { return acc + luminance(bg); }, 0) / backgrounds.length > 0.18;
    var out = color;
    for (var step = 1; step <= 40; step++) { out = mix(color, light ? 0 : 255, step, 40); if (reads(out)) break; }
    return out;
  }
  function legible(color) {
    var text = readableText(color), toward = text === "#ffffff" ? 0 : 255, bg = color;
    for (var step = 1; step <= 20 && contrast(bg, text) < 4.5; step++) bg = mix(color, toward, step, 20);
    return bg;
  }
  function ratioText(ratio) {
    var text = ratio.toFixed(1);
    return document.documentElement.lang === "en" ? text : text.replace(".", ",");
  }

  function checkContrast(form) {
    var box = document.getElementById("contrast-warnings");
    if (!box) return;
    var value = function (key) { var el = form.elements["theme." + key]; return el && fullHex(el.value); };
    var primary = value("primary"), secondary = value("secondary"), background = value("background"), surface = value("surface");
    if (!primary || !secondary || !background || !surface) return;
    var notes = [];
    var fill = function (template, label, color, on, ratio, adjusted) {
      return template.replace(box.getAttribute("data-label-primary"), label).split("#010101").join(color).split("#020202").join(on)
        .split("#030303").join(adjusted).replace(/19[.,]9/, ratioText(ratio));
    };
    var worst = contrast(primary, surface) <= contrast(primary, background) ? surface : background;
    var link = readableOn(primary, [background, surface]);
    document.documentElement.style.setProperty("--color-link", link);
    if (contrast(primary, worst) < 4.5) {
      notes.push({ ratio: contrast(primary, worst), text: fill(box.getAttribute("data-links"), box.getAttribute("data-label-primary"), primary, worst, contrast(primary, worst), link) });
    }
    [["primary", primary], ["secondary", secondary]].forEach(function (pair) {
      var ratio = contrast(pair[1], readableText(pair[1]));
      if (ratio < 4.5) notes.push({ ratio: ratio, text: fill(box.getAttribute("data-background"), box.getAttribute("data-label-" + pair[0]), pair[1], readableText(pair[1]), ratio, legible(pair[1])) });
    });
    notes.sort(function (a, b) { return a.ratio - b.ratio; });
    box.textContent = "";
    notes.forEach(function (note) {
      var p = document.createElement("p");
      p.className = "warning";
      p.textContent = "⚠ " + note.text;
      box.appendChild(p);
    });
  }

  document.addEventListener("input", function (event) {
    var el = event.target;
    var form = el.closest && el.closest("[data-theme-preview]");
    if (!form) return;
    if (el.hasAttribute("data-color-for")) {
      // The picker writes the text field, which drives the preview.
      var text = document.getElementById(el.getAttribute("data-color-for"));
      if (text) { text.value = el.value; text.dispatchEvent(new Event("input", { bubbles: true })); }
      return;
    }
    if (el.classList.contains("color-text")) {
      var hex = fullHex(el.value);
      var swatch = document.querySelector("[data-color-for='" + el.id + "']");
      if (hex && swatch) swatch.value = hex;
    }
    checkContrast(form);
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
