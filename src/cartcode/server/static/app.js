// cartcode's page: a worksheet (encounter -> codes), a claim checker (claim -> findings), and
// documentation views for codes and rules. Plain DOM, no build step, no third-party code, and
// every value from the server is written with textContent (never innerHTML): claims are untrusted.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = "cartcode.token";
  let sources = {}; // source id -> {title, address, publisher}
  let ruleIds = null; // ids in the catalogue (null until loaded); reader notes such as X12-ENVELOPE are not rules

  // ------------------------------------------------------------------ small DOM helpers
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === "") continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function table(caption, headers, rows) {
    return el("table", {},
      el("caption", { text: caption }),
      el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c) => el("td", {}, c))))));
  }

  function codeLink(code, system) {
    const label = system ? `${code} (${system}): documentation` : `${code}: documentation`;
    return el("a", { href: `#code/${encodeURIComponent(code)}`, class: "code", "aria-label": label, text: code });
  }

  function ruleLink(rule) {
    if (ruleIds && !ruleIds.has(rule)) return el("span", { class: "rule", text: rule });
    return el("a", { href: `#rule/${encodeURIComponent(rule)}`, class: "rule", text: rule });
  }

  // Each source id links to its citation (title, publisher, date, address) in the docs view.
  function sourceList(ids) {
    const list = el("ul", { class: "sources" });
    for (const id of ids || []) {
      const src = sources[id];
      const title = src ? `${src.publisher}: ${src.title}` : id;
      list.append(el("li", {}, el("a", { href: `#source/${encodeURIComponent(id)}`, title, text: id })));
    }
    return list;
  }

  function whereText(where) {
    if (!where) return "";
    if (typeof where === "string") return where;
    return Object.entries(where).map(([form, text]) => `${form}: ${text}`).join("; ");
  }

  function plural(n, word) {
    return `${n} ${word}${n === 1 ? "" : "s"}`;
  }

  function message(node, text, kind) {
    node.replaceChildren(el("p", { class: kind || "error", role: kind === "info" ? null : "alert", text }));
  }

  // ------------------------------------------------------------------ API calls
  function headers(extra) {
    const out = Object.assign({ Accept: "application/json" }, extra || {});
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) out.Authorization = `Bearer ${token}`;
    return out;
  }

  async function api(method, path, body, contentType) {
    const init = { method, headers: headers(contentType ? { "Content-Type": contentType } : {}) };
    if (body !== undefined) init.body = body;
    const response = await fetch(path, init);
    let data = null;
    try {
      data = await response.json();
    } catch (_err) {
      data = null;
    }
    if (!response.ok) {
      let text = (data && data.error) || `HTTP ${response.status}`;
      if (data && data.details && data.details.length) {
        text += ": " + data.details.map((d) => `${d.loc.filter((p) => p !== "body").join(".")} ${d.msg}`).join("; ");
      }
      if (response.status === 401) text += " (set the server token above)";
      throw new Error(text);
    }
    return data;
  }

  // ------------------------------------------------------------------ views
  const VIEWS = ["worksheet", "check", "rules", "doc"];

  function show(view, focus) {
    for (const name of VIEWS) $(`view-${name}`).hidden = name !== view;
    for (const link of document.querySelectorAll("nav a[data-view]")) {
      if (link.dataset.view === view) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    if (focus) $(`${view}-heading`).focus();
  }

  let lastView = "#worksheet";

  function route(focus) {
    const hash = decodeURIComponent(location.hash.replace(/^#/, ""));
    const [kind, ...rest] = hash.split("/");
    const arg = rest.join("/");
    if (kind === "code" && arg) {
      show("doc", focus);
      showCode(arg);
    } else if (kind === "rule" && arg) {
      show("doc", focus);
      showRule(arg);
    } else if (kind === "source" && arg) {
      show("doc", focus);
      showSource(arg);
    } else if (kind === "rules") {
      lastView = "#rules";
      show("rules", focus);
      showRules();
    } else if (kind === "check") {
      lastView = "#check";
      show("check", focus);
    } else {
      lastView = "#worksheet";
      show("worksheet", focus && kind === "worksheet");
    }
    $("doc-back").setAttribute("href", lastView);
  }

  // ------------------------------------------------------------------ worksheet
  function encounterFromForm() {
    const form = $("worksheet-form");
    const data = {
      setting: form.elements.setting.value,
      date: form.elements.date.value,
      product: form.elements.product.value.trim(),
      payer: form.elements.payer.value,
      clinical_trial: form.elements.clinical_trial.value,
      product_acquisition: form.elements.product_acquisition.value,
      expanded_access: form.elements.expanded_access.checked,
      claim_form: form.elements.claim_form.value,
      place_of_service: form.elements.place_of_service.value,
    };
    const nct = form.elements.nct_number.value.trim();
    if (nct) data.nct_number = nct;
    const routeValue = form.querySelector("input[name=route]:checked").value;
    if (routeValue) data.route = routeValue;
    return data;
  }

  function renderAnswer(answer) {
    const out = [];
    const enc = answer.encounter || {};
    out.push(el("h3", { id: "codes-heading", tabindex: "-1",
      text: `Codes for ${enc.setting || ""} ${enc.product_name || enc.product || ""} on ${enc.date || ""}` }));
    out.push(table("Codes for the claim", ["System", "Code", "Description", "What it is for", "Where it goes", "Sources",
      "Confidence"],
    (answer.codes || []).map((c) => [c.system,
      [codeLink(c.code, c.system), (c.modifiers || []).length ? ` with modifiers ${c.modifiers.join(" ")}` : ""],
      c.description || "", (c.claim ? `[${c.claim}] ` : "") + (c.use || ""),
      whereText(c.where), sourceList(c.sources),
      (c.confidence || "") + (c.description_confidence ? `; descriptor ${c.description_confidence}` : "")])));
    if ((answer.payment || []).length) {
      out.push(table("What the payer derives", ["System", "Code", "Description", "Sources"],
        answer.payment.map((p) => [p.system, codeLink(p.code, p.system), p.description || p.use || "",
          sourceList(p.sources)])));
    }
    if ((answer.notes || []).length) {
      out.push(el("h3", { text: "Billing notes" }));
      out.push(el("ul", { class: "notes" },
        answer.notes.map((n) => el("li", {}, n.message, n.confidence ? ` (${n.confidence})` : "", sourceList(n.sources)))));
    }
    if ((answer.warnings || []).length) {
      out.push(el("h3", { text: "Warnings" }));
      out.push(el("ul", { class: "warnings" },
        answer.warnings.map((w) => (w.facts || []).length
          ? el("li", {}, w.message.split(": ")[0], sourceList(w.sources),
            el("ul", { class: "facts" }, w.facts.map((f) => el("li", { text: f }))))
          : el("li", {}, w.message, sourceList(w.sources)))));
    }
    if (answer.kb) out.push(el("p", { class: "stamp", text: `KB ${answer.kb.edition} (as of ${answer.kb.as_of})` }));
    return out;
  }

  async function submitWorksheet(event) {
    event.preventDefault();
    const result = $("worksheet-result");
    const data = encounterFromForm();
    if (!data.date || !data.product) {
      message(result, "Enter the date of service and the product.");
      return;
    }
    result.setAttribute("aria-busy", "true");
    try {
      const answer = await api("POST", "/v1/recommend", JSON.stringify(data), "application/json");
      result.replaceChildren(...renderAnswer(answer));
    } catch (err) {
      message(result, err.message);
    } finally {
      result.setAttribute("aria-busy", "false");
    }
  }

  // ------------------------------------------------------------------ check
  function where(loc) {
    if (!loc) return "";
    const parts = [];
    if (loc.segment) parts.push(`segment ${loc.segment}`);
    if (loc.segment_id) parts.push(loc.segment_id);
    if (loc.loop) parts.push(`loop ${loc.loop}`);
    if (loc.element) parts.push(loc.element);
    if (loc.path) parts.push(loc.path);
    if (loc.line && !loc.segment) parts.push(`line ${loc.line}`);
    return parts.join(", ");
  }

  function codeRefs(refs) {
    const span = el("span", {});
    (refs || []).forEach((r, i) => {
      if (i) span.append(", ");
      span.append(codeLink(r.code, r.system));
    });
    return span;
  }

  function fixText(fix) {
    if (!fix) return "";
    const node = el("span", {});
    if (fix.title) node.append(el("span", { text: fix.title }), " ");
    if (fix.line) node.append(`(line ${fix.line}) `);
    node.append(el("span", { class: fix.safe ? "safe" : "unsafe", text: fix.safe ? "[safe]" : "[review]" }));
    const detail = el("small", { class: "fix-codes" });
    if ((fix.remove || []).length) detail.append("remove ", codeRefs(fix.remove), " ");
    if ((fix.add || []).length) detail.append("add ", codeRefs(fix.add));
    if (detail.childNodes.length) node.append(el("br"), detail);
    return node;
  }

  function renderReport(report) {
    const out = [];
    const claims = report.claims || [];
    const total = claims.reduce((n, c) => n + (c.findings || []).length, 0);
    out.push(el("h3", { id: "findings-heading", tabindex: "-1",
      text: `${plural(claims.length, "claim")}, ${plural(total, "finding")}` }));
    claims.forEach((claim, i) => {
      const findings = claim.findings || [];
      const count = (sev) => findings.filter((f) => f.severity === sev).length;
      const section = el("section", { class: "claim", "aria-label": `Claim ${i + 1}` },
        el("h4", { text: `Claim ${claim.id || "(no id)"} (#${i + 1}): ${claim.status}` +
          (claim.status === "checked"
          ? `, ${plural(count("error"), "error")}, ${plural(count("warning"), "warning")}, ${plural(count("info"), "note")}`
          : "") }));
      if (claim.error) section.append(el("p", { class: "error", text: claim.error }));
      if (findings.length) {
        section.append(table("Findings", ["Severity", "Rule", "Message", "Where", "Codes", "Fix", "Sources"],
          findings.map((f) => [el("span", { class: `sev ${f.severity}`, text: f.severity }),
            el("span", {}, ruleLink(f.rule), el("br"), el("small", { text: f.name })),
            f.message, where(f.location), codeRefs(f.codes), fixText(f.fix), sourceList(f.sources)])));
      } else if (claim.status === "checked") {
        section.append(el("p", { class: "ok", text: "No findings." }));
      }
      out.push(section);
    });
    return out;
  }

  async function submitCheck(event) {
    event.preventDefault();
    const result = $("check-result");
    const text = $("claim-text").value;
    if (!text.trim()) {
      message(result, "Paste a claim or upload a claim file first.");
      return;
    }
    const trimmed = text.trimStart();
    const type = trimmed.startsWith("{") || trimmed.startsWith("[") ? "application/json" : "text/plain";
    result.setAttribute("aria-busy", "true");
    try {
      const report = await api("POST", "/v1/check", text, type);
      result.replaceChildren(...renderReport(report));
    } catch (err) {
      message(result, err.message);
    } finally {
      result.setAttribute("aria-busy", "false");
    }
  }

  async function loadFile() {
    const file = $("claim-file").files[0];
    if (file) $("claim-text").value = await file.text();
  }

  // ------------------------------------------------------------------ documentation views
  async function showCode(code) {
    const out = $("doc-result");
    $("doc-heading").textContent = `Code ${code}`;
    try {
      const info = await api("GET", `/v1/codes/${encodeURIComponent(code)}`);
      const period = (from, to) => (from ? ` from ${from}` : "") + (to ? ` to ${to}` : "");
      const links = (codes) => codes.flatMap((c, i) => (i ? [", ", codeLink(c)] : [codeLink(c)]));
      const notes = (r) => {
        const node = el("span", {});
        const parts = [r.note, ...(r.statuses || []).map((s) => `${s.kind} ${s.value}${period(s.effective_from, s.effective_to)}`)]
          .filter(Boolean);
        node.append(parts.join("; "));
        if ((r.predecessors || []).length) node.append(el("br"), "replaces ", ...links(r.predecessors));
        if ((r.successors || []).length) node.append(el("br"), "replaced by ", ...links(r.successors));
        return node;
      };
      const rows = info.rows.map((r) => [r.system, r.code, r.description, r.effective_from || "(open)",
        r.effective_to || "(open)", r.confidence, sourceList(r.sources), notes(r)]);
      out.replaceChildren(
        table(`Periods of ${info.code}`, ["System", "Code", "Description", "From", "To", "Confidence", "Sources", "Notes"], rows),
        el("h3", { text: "Sources" }),
        el("ul", {}, Object.values(info.sources).map((s) => el("li", {},
          el("strong", { text: s.id }), `: ${s.publisher}, ${s.title}${s.date ? " (" + s.date + ")" : ""} `,
          s.address && /^https?:\/\//.test(s.address)
            ? el("a", { href: s.address, rel: "noreferrer noopener", target: "_blank", text: s.address })
            : (s.address || "")))));
    } catch (err) {
      message(out, err.message);
    }
  }

  async function showRule(id) {
    const out = $("doc-result");
    $("doc-heading").textContent = `Rule ${id}`;
    try {
      const rule = await api("GET", `/v1/rules/${encodeURIComponent(id)}`);
      $("doc-heading").textContent = `Rule ${rule.id} ${rule.name}`;
      const parts = [el("p", {}, el("strong", { text: "Severity: " }), rule.severity || "",
        el("strong", { text: "  Applies to: " }), (rule.settings || []).join(", ")),
        el("p", { text: rule.summary || "" })];
      for (const [heading, text] of Object.entries(rule.sections || {})) {
        parts.push(el("h3", { text: heading }), el("pre", { class: "doc", text }));
      }
      parts.push(el("h3", { text: "Sources" }), sourceList(rule.sources));
      if ((rule.examples || []).length) {
        parts.push(el("h3", { text: "Examples (the rule's test cases)" }));
        for (const ex of rule.examples) {
          const expect = ex.expect || [];
          const verdict = expect.length ? `flagged: ${plural(expect.length, "finding")}` : "passes: no finding";
          parts.push(el("details", { class: "example" },
            el("summary", {}, el("strong", { text: ex.name || "case" }), ` (${verdict})`),
            el("pre", { class: "doc", text: typeof ex.claim === "string" ? ex.claim : JSON.stringify(ex.claim, null, 2) }),
            expect.length ? el("ul", {}, expect.map((f) => el("li", {
              text: [f.severity, f.path || f.segment || "", (f.codes || []).map((c) => c.code).join(", ")]
                .filter(Boolean).join(" ") }))) : ""));
        }
      }
      out.replaceChildren(...parts);
    } catch (err) {
      message(out, err.message);
    }
  }

  async function showSource(id) {
    const out = $("doc-result");
    $("doc-heading").textContent = `Source ${id}`;
    await kbLoaded;
    const src = sources[id];
    if (!src) {
      message(out, "The knowledge base has no source with this id.");
      return;
    }
    const link = /^https?:\/\//.test(src.address || "")
      ? el("a", { href: src.address, rel: "noreferrer noopener", target: "_blank", text: src.address })
      : (src.address || "(no address)");
    const rows = [["Title", src.title], ["Publisher", src.publisher], ["Kind", src.kind], ["Date", src.date || ""],
      ["Address", link], ["Note", src.note || ""]];
    out.replaceChildren(el("dl", {}, rows.map(([k, v]) => [el("dt", { text: k }), el("dd", {}, v)])));
  }

  async function showRules() {
    const out = $("rules-result");
    try {
      const data = await api("GET", "/v1/rules");
      out.replaceChildren(table("Every rule", ["Rule", "Name", "Severity", "What it checks"],
        data.rules.map((r) => [ruleLink(r.id), r.name, r.severity || "", r.summary || ""])));
    } catch (err) {
      message(out, err.message);
    }
  }

  // ------------------------------------------------------------------ start
  async function loadKb() {
    try {
      const kb = await api("GET", "/v1/kb");
      $("kb-stamp").textContent = `Knowledge base ${kb.edition}, as of ${kb.as_of}`;
      for (const src of kb.sources) sources[src.id] = src;
      const list = $("ws-products");
      list.replaceChildren();
      for (const p of kb.products) {
        for (const name of [p.brand, p.generic, p.id]) {
          if (name) list.append(el("option", { value: name }));
        }
      }
    } catch (err) {
      $("kb-stamp").textContent = `Knowledge base: ${err.message}`;
    }
    try {
      ruleIds = new Set((await api("GET", "/v1/rules")).rules.map((r) => r.id));
    } catch (_err) {
      ruleIds = null; // links for every id then; the docs view reports an unknown one
    }
  }

  let kbLoaded = Promise.resolve();

  document.addEventListener("DOMContentLoaded", () => {
    const tokenInput = $("api-token");
    tokenInput.value = sessionStorage.getItem(TOKEN_KEY) || "";
    tokenInput.addEventListener("change", () => {
      if (tokenInput.value) sessionStorage.setItem(TOKEN_KEY, tokenInput.value);
      else sessionStorage.removeItem(TOKEN_KEY);
      kbLoaded = loadKb();
    });
    $("ws-date").value = new Date().toISOString().slice(0, 10);
    $("worksheet-form").addEventListener("submit", submitWorksheet);
    $("check-form").addEventListener("submit", submitCheck);
    $("claim-file").addEventListener("change", loadFile);
    window.addEventListener("hashchange", () => route(true));
    kbLoaded = loadKb();
    route(false);
    document.body.dataset.ready = "true";
  });
})();
