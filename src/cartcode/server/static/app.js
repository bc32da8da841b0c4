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
      if (typeof value === "function") node.addEventListener(key.replace(/^on/, ""), value);
      else if (key === "class") node.className = value;
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

  async function apiBytes(method, path, body, contentType) {
    const response = await fetch(path, { method, body,
      headers: headers({ "Content-Type": contentType, Accept: "application/octet-stream, application/json" }) });
    if (!response.ok) {
      let text = `HTTP ${response.status}`;
      try {
        text = (await response.json()).error || text;
      } catch (_err) {
        // not JSON: the status says it
      }
      if (response.status === 401) text += " (set the server token above)";
      throw new Error(text);
    }
    return new Uint8Array(await response.arrayBuffer());
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

  // Where a code goes on the claim: the header sections, then each service line with its modifiers.
  const LINE_SYSTEMS = new Set(["revenue", "CPT", "HCPCS", "modifier"]);
  const HEADER_GROUPS = {
    "ICD-10-PCS": "Procedures (claim header)",
    "ICD-10-CM": "Diagnoses (claim header)",
    condition: "Condition, value and occurrence codes (claim header)",
    value: "Condition, value and occurrence codes (claim header)",
    occurrence: "Condition, value and occurrence codes (claim header)",
    note: "Billing notes (837I NTE / UB-04 FL 80)",
  };

  function groupOf(c) {
    let name;
    if (LINE_SYSTEMS.has(c.system)) name = c.line ? `Service line: ${c.line}` : "Service lines";
    else name = HEADER_GROUPS[c.system] || "Other codes";
    return c.claim ? `${c.claim[0].toUpperCase()}${c.claim.slice(1)}: ${name}` : name;
  }

  function groupedCodes(codes) {
    const groups = new Map();
    for (const c of codes) {
      const key = groupOf(c);
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(c);
    }
    // within a line, each modifier right after the code it goes on
    for (const [key, list] of groups) {
      const mods = list.filter((c) => c.system === "modifier");
      const others = list.filter((c) => c.system !== "modifier");
      const ordered = [];
      for (const c of others) {
        ordered.push(c);
        for (const m of c.modifiers || []) {
          const at = mods.findIndex((x) => x.code === m);
          if (at >= 0) ordered.push(Object.assign({ on: c.code }, mods.splice(at, 1)[0]));
        }
      }
      groups.set(key, ordered.concat(mods));
    }
    return groups;
  }

  const CODE_HEADERS = ["System", "Code", "Description", "What it is for", "Where it goes", "Sources", "Confidence"];

  function codeRow(c) {
    const mods = c.modifiers || [];
    return el("tr", { class: c.system === "modifier" ? "modifier" : null },
      el("td", { text: c.system }),
      el("td", {}, codeLink(c.code, c.system), mods.length ? ` with modifiers ${mods.join(" ")}` : ""),
      el("td", { text: c.description || "" }),
      el("td", { text: (c.on ? `Modifier on ${c.on}. ` : "") + (c.claim ? `[${c.claim}] ` : "") + (c.use || "") }),
      el("td", { text: whereText(c.where) }),
      el("td", {}, sourceList(c.sources)),
      el("td", { text: (c.confidence || "") + (c.description_confidence ? `; descriptor ${c.description_confidence}` : "") }));
  }

  function codesTable(codes) {
    const groups = groupedCodes(codes);
    const bodies = [];
    let n = 0;
    for (const [name, list] of groups) {
      n += 1;
      bodies.push(el("tbody", { class: "group" },
        el("tr", { class: "group-head" }, el("th", { colspan: CODE_HEADERS.length, scope: "rowgroup", id: `grp-${n}`, text: name })),
        list.map(codeRow)));
    }
    return scroller(el("table", { class: "codes" },
      el("caption", { text: "Codes for the claim, by where they go" }),
      el("thead", {}, el("tr", {}, CODE_HEADERS.map((h) => el("th", { scope: "col", text: h })))),
      bodies), "Codes for the claim");
  }

  // A wide table scrolls inside its own focusable box, never the page.
  function scroller(node, label) {
    return el("div", { class: "scroll", tabindex: "0", role: "region", "aria-label": label }, node);
  }

  function warningCount(w) {
    return (w.facts || []).length || 1;
  }

  function renderWarnings(warnings) {
    const kinds = new Map();
    for (const w of warnings) {
      const kind = w.kind || "other";
      if (!kinds.has(kind)) kinds.set(kind, []);
      kinds.get(kind).push(w);
    }
    const total = warnings.reduce((n, w) => n + warningCount(w), 0);
    const summaryText = [...kinds].map(([k, list]) => `${k} ${list.reduce((n, w) => n + warningCount(w), 0)}`).join(", ");
    return el("details", { class: "warnings" },
      el("summary", {}, el("strong", { text: `Warnings: ${total}` }), ` (${summaryText})`),
      [...kinds].map(([kind, list]) => el("details", { class: "warning-kind" },
        el("summary", { text: `${kind}: ${list.reduce((n, w) => n + warningCount(w), 0)}` }),
        el("ul", {}, list.map((w) => (w.facts || []).length
          ? el("li", {}, w.message.split(": ")[0], sourceList(w.sources),
            el("ul", { class: "facts" }, w.facts.map((f) => el("li", { text: f }))))
          : el("li", {}, w.message, sourceList(w.sources)))))));
  }

  function money(text) {
    return text === null || text === undefined ? "" : `$${Number(text).toLocaleString("en-US", { minimumFractionDigits: 2 })}`;
  }

  // The payment estimate (recommend's `estimate`, or a claim's), when the answer has one.
  function renderEstimate(est, headingTag) {
    if (!est || typeof est !== "object") return [];
    const out = [el(headingTag || "h3", { text: "Payment estimate" })];
    const what = [est.system, est.year, est.basis].filter(Boolean).join(", ");
    out.push(el("p", { class: "estimate-total" },
      est.total !== null && est.total !== undefined
        ? [el("strong", { text: `Estimated total ${money(est.total)}` }), what ? ` (${what})` : "",
          est.complete === false ? " - incomplete: some parts are left out (see below)" : ""]
        : [el("strong", { text: "No total" }), what ? ` (${what})` : "", ": a part the payment needs is missing (see below)"]));
    if ((est.components || []).length) {
      out.push(scroller(table("Parts of the estimate", ["Part", "Amount", "Formula", "Sources"],
        est.components.map((c) => [c.name, money(c.amount), c.formula, sourceList(c.sources)])), "Parts of the estimate"));
    }
    if ((est.inputs || []).length) {
      out.push(el("details", {}, el("summary", { text: `Inputs: ${est.inputs.length}` }),
        el("ul", {}, est.inputs.map((i) => el("li", { text: `${i.name}: ${i.value} (${i.origin})${i.note ? "; " + i.note : ""}` })))));
    }
    if ((est.warnings || []).length) {
      out.push(el("details", {}, el("summary", { text: `Estimate notes: ${est.warnings.length}` }),
        el("ul", {}, est.warnings.map((w) => el("li", { text: w })))));
    }
    return out;
  }

  function answerText(answer) {
    const enc = answer.encounter || {};
    const lines = [`cartcode worksheet: ${enc.setting || ""} ${enc.product_name || enc.product || ""} on ${enc.date || ""}`];
    for (const [name, list] of groupedCodes(answer.codes || [])) {
      lines.push("", name);
      for (const c of list) {
        const mods = (c.modifiers || []).length ? ` (modifiers ${c.modifiers.join(" ")})` : "";
        lines.push(`  ${c.on ? "  modifier " : ""}${c.system} ${c.code}${mods}: ${c.description || ""}` +
          (c.where ? ` [${whereText(c.where)}]` : ""));
      }
    }
    if ((answer.payment || []).length) {
      lines.push("", "What the payer derives");
      for (const p of answer.payment) lines.push(`  ${p.system} ${p.code}: ${p.description || p.use || ""}`);
    }
    if (answer.estimate && answer.estimate.total) lines.push("", `Payment estimate: ${money(answer.estimate.total)}`);
    if ((answer.notes || []).length) {
      lines.push("", "Billing notes");
      for (const n of answer.notes) lines.push(`  ${n.message}`);
    }
    const warnings = answer.warnings || [];
    if (warnings.length) lines.push("", `Warnings: ${warnings.reduce((n, w) => n + warningCount(w), 0)} (see the page)`);
    if (answer.kb) lines.push("", `KB ${answer.kb.edition} (as of ${answer.kb.as_of})`);
    return lines.join("\n");
  }

  async function copyText(text, status) {
    try {
      await navigator.clipboard.writeText(text);
    } catch (_err) {
      const area = el("textarea", { "aria-hidden": "true", class: "offscreen", tabindex: "-1" });
      area.value = text;
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    status.textContent = "Copied the worksheet as text.";
  }

  function renderAnswer(answer) {
    const out = [];
    const enc = answer.encounter || {};
    out.push(el("h3", { id: "codes-heading", tabindex: "-1",
      text: `Codes for ${enc.setting || ""} ${enc.product_name || enc.product || ""} on ${enc.date || ""}` }));
    const status = el("span", { role: "status", class: "copy-status" });
    out.push(el("p", { class: "actions no-print" },
      el("button", { type: "button", id: "ws-print", class: "secondary", onclick: () => window.print() }, "Print"), " ",
      el("button", { type: "button", id: "ws-copy", class: "secondary",
        onclick: () => copyText(answerText(answer), status) }, "Copy as text"), " ", status));
    out.push(codesTable(answer.codes || []));
    if ((answer.payment || []).length) {
      out.push(scroller(table("What the payer derives", ["System", "Code", "Description", "Sources"],
        answer.payment.map((p) => [p.system, codeLink(p.code, p.system),
          (p.description || p.use || "") + (p.version ? ` (definitions v${p.version}${p.grouper ? ", " + p.grouper : ""})` : ""),
          sourceList(p.sources)])), "What the payer derives"));
    }
    out.push(...renderEstimate(answer.estimate));
    if ((answer.notes || []).length) {
      out.push(el("h3", { text: "Billing notes" }));
      out.push(el("ul", { class: "notes" },
        answer.notes.map((n) => el("li", {}, n.message, n.confidence ? ` (${n.confidence})` : "", sourceList(n.sources)))));
    }
    if ((answer.warnings || []).length) out.push(renderWarnings(answer.warnings));
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
      if (window.matchMedia("(max-width: 1099px)").matches) $("codes-heading").focus(); // the answer first
    } catch (err) {
      message(result, err.message);
    } finally {
      result.setAttribute("aria-busy", "false");
    }
  }

  // ------------------------------------------------------------------ check
  // The claim being checked: its bytes as loaded (an example, an upload, a fixed file) so that
  // /v1/fix gets exactly them back; null once the text box is edited (its text is sent then).
  const claim = { bytes: null, name: "claim", report: null, applied: [], url: null };

  function claimBody() {
    return claim.bytes || $("claim-text").value;
  }

  function claimText() {
    return claim.bytes ? new TextDecoder().decode(claim.bytes) : $("claim-text").value;
  }

  function contentType(text) {
    const trimmed = text.trimStart();
    return trimmed.startsWith("{") || trimmed.startsWith("[") ? "application/json" : "text/plain";
  }

  function setClaimBytes(bytes, name) {
    claim.bytes = bytes;
    if (name) claim.name = name;
    $("claim-text").value = new TextDecoder().decode(bytes);
  }

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

  function fixText(fix, ref, number) {
    if (!fix) return "";
    const node = el("span", {});
    if (fix.title) node.append(el("span", { text: fix.title }), " ");
    if (fix.line) node.append(`(line ${fix.line}) `);
    node.append(el("span", { class: fix.safe ? "safe" : "unsafe", text: fix.safe ? "[safe]" : "[review]" }));
    const detail = el("small", { class: "fix-codes" });
    if ((fix.remove || []).length) detail.append("remove ", codeRefs(fix.remove), " ");
    if ((fix.add || []).length) detail.append("add ", codeRefs(fix.add));
    if (detail.childNodes.length) node.append(el("br"), detail);
    if (fix.safe) {
      node.append(el("br"), el("button", { type: "button", class: "secondary apply-fix", "data-fix": ref,
        "aria-label": `Apply the fix of finding ${number}`, onclick: () => applyFixes([ref], fix.title || "the fix") },
      "Apply this fix"));
    } else {
      node.append(el("br"), el("small", { class: "unsafe", text: "Not applied automatically: review it and change the claim by hand." }));
    }
    return node;
  }

  // ---- the claim, numbered: X12 segment by segment, JSON/FHIR line by line
  function x12Segments(text) {
    const start = text.search(/ISA/);
    if (start < 0 || text.length < start + 106) return null;
    const term = text[start + 105];
    const segments = [];
    for (const raw of text.slice(start).split(term)) {
      const seg = raw.replace(/^[\r\n]+/, "");
      if (seg.trim()) segments.push(seg + term);
    }
    return segments;
  }

  // Line number of each JSON path ($.claims[0].lines[1].code) in `text`: a small scanner that
  // follows the JSON grammar (the text already parsed) and notes where each value or key starts.
  function jsonPathLines(text) {
    const map = new Map();
    let i = 0;
    let line = 1;
    const n = text.length;
    const ws = () => {
      while (i < n) {
        const ch = text[i];
        if (ch === "\n") { line += 1; i += 1; } else if (ch === " " || ch === "\t" || ch === "\r") i += 1; else break;
      }
    };
    const str = () => {
      const from = i;
      i += 1;
      while (i < n && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
      i += 1;
      return JSON.parse(text.slice(from, i));
    };
    const value = (path, depth) => {
      if (depth > 200) throw new Error("too deep");
      ws();
      if (!map.has(path)) map.set(path, line);
      const ch = text[i];
      if (ch === "{" || ch === "[") {
        const close = ch === "{" ? "}" : "]";
        i += 1;
        ws();
        if (text[i] === close) { i += 1; return; }
        for (let k = 0; ; k += 1) {
          ws();
          let sub = `${path}[${k}]`;
          if (ch === "{") {
            const keyLine = line;
            const key = str();
            ws();
            i += 1; // the colon
            sub = `${path}.${key}`;
            map.set(sub, keyLine);
          }
          value(sub, depth + 1);
          ws();
          if (text[i] === ",") { i += 1; continue; }
          if (text[i] !== close) throw new Error("unexpected JSON");
          i += 1;
          return;
        }
      }
      if (ch === '"') { str(); return; }
      const from = i;
      while (i < n && !/[,\]}\s]/.test(text[i])) i += 1;
      if (i === from) throw new Error("unexpected JSON");
    };
    value("$", 0);
    return map;
  }

  function jsonLineOf(map, path) {
    if (!map || !path) return null;
    let p = path.replace(/^[A-Z][A-Za-z]*(?=[.[]|$)/, "$"); // FHIR: Bundle.entry[1]... -> $.entry[1]...
    while (p) {
      if (map.has(p)) return map.get(p);
      const cut = Math.max(p.lastIndexOf("."), p.lastIndexOf("["));
      if (cut <= 0) break;
      p = p.slice(0, cut);
    }
    return map.get("$") || null;
  }

  // What is shown: units (segments or lines) and the unit each finding points at.
  function claimUnits(text) {
    const segments = text.trimStart().startsWith("ISA") ? x12Segments(text) : null;
    if (segments) {
      return { kind: "segment", units: segments, note: `X12, ${plural(segments.length, "segment")}, numbered as the report counts them`,
        locate: (loc) => (loc && loc.segment ? loc.segment : null) };
    }
    let shown = text;
    let note = "line by line";
    let map = null;
    try {
      const parsed = JSON.parse(text);
      if (text.split("\n").length < 3 && text.length > 120) {
        shown = JSON.stringify(parsed, null, 2);
        note = "line by line (re-indented for reading; the file itself is not changed)";
      }
      map = jsonPathLines(shown);
    } catch (_err) {
      map = null;
    }
    return { kind: "line", units: shown.split("\n"), note: `JSON, ${note}`,
      locate: (loc) => (loc ? jsonLineOf(map, loc.path) || (loc.line || null) : null) };
  }

  function renderClaimView(text, numbered) {
    const view = claimUnits(text);
    const pointers = new Map(); // unit number -> [finding numbers]
    for (const f of numbered) {
      const at = view.locate(f.finding.location);
      f.unit = at && at <= view.units.length ? at : null;
      if (f.unit) {
        if (!pointers.has(f.unit)) pointers.set(f.unit, []);
        pointers.get(f.unit).push(f);
      }
    }
    const list = el("ol", { class: `units ${view.kind}s` });
    view.units.forEach((unit, k) => {
      const number = k + 1;
      const refs = pointers.get(number) || [];
      list.append(el("li", { id: `unit-${number}`, tabindex: refs.length ? "-1" : null, class: refs.length ? "has-findings" : null },
        el("span", { class: "unit-no", "aria-hidden": "true", text: String(number) }),
        el("code", { text: unit.replace(/[\r\n]+$/, "") }),
        refs.length ? el("span", { class: "refs", text: ` \u2190 ${refs.map((f) => `finding ${f.number} (${f.finding.rule})`).join(", ")}` }) : ""));
    });
    $("claim-view-heading").textContent = `The claim (${view.kind === "segment" ? "segment" : "line"} by ${view.kind === "segment" ? "segment" : "line"})`;
    $("claim-view-note").textContent = view.note;
    $("claim-lines").replaceChildren(list);
    $("claim-lines").setAttribute("aria-label", `The claim, numbered by ${view.kind}`);
    $("claim-view").hidden = false;
  }

  function selectFinding(f) {
    for (const node of document.querySelectorAll("#claim-lines li.marked")) {
      node.classList.remove("marked");
      const marker = node.querySelector(".marker");
      if (marker) marker.remove();
    }
    for (const row of document.querySelectorAll("#check-result tr.selected")) row.classList.remove("selected");
    const row = $(`finding-${f.number}`);
    if (row) row.classList.add("selected");
    if (!f.unit) return;
    const target = $(`unit-${f.unit}`);
    target.classList.add("marked");
    target.append(el("span", { class: "marker",
      text: `Finding ${f.number} points here: ${f.finding.rule} ${f.finding.severity}, ${f.finding.message}` }));
    target.scrollIntoView({ block: "center" });
    target.focus({ preventScroll: true });
  }

  function renderGrouping(claimResult, findings) {
    const g = claimResult.grouping;
    if (!g) return [];
    const out = [];
    const version = g.version ? `definitions v${g.version}` : "";
    if (g.drg) {
      out.push(el("p", { class: "grouping" }, el("strong", { text: `Computed MS-DRG ${g.drg}` }),
        g.title ? ` ${g.title}` : "", ` (${[g.mdc ? "MDC " + g.mdc : "", version, g.grouper].filter(Boolean).join(", ")})`));
    } else {
      out.push(el("p", { class: "grouping" }, el("strong", { text: "Not grouped" }),
        ` (${g.status || "unknown"}${version ? ", " + version : ""}): ${g.reason || ""}`));
    }
    const mce = findings.filter((f) => f.finding.rule === "CART903");
    if (mce.length) {
      out.push(el("p", { class: "mce" }, el("strong", { text: `Medicare Code Editor: ${plural(mce.length, "edit")}` }), " (",
        mce.map((f, i) => [i ? ", " : "", `finding ${f.number}`]), ")"));
    }
    return out;
  }

  function renderReport(report, text) {
    const out = [];
    const claims = report.claims || [];
    const total = claims.reduce((n, c) => n + (c.findings || []).length, 0);
    const numbered = [];
    claims.forEach((c, ci) => (c.findings || []).forEach((finding, fi) => {
      numbered.push({ number: numbered.length + 1, ref: `${ci}.${fi}`, claim: ci, finding });
    }));
    renderClaimView(text, numbered);
    const safeCount = numbered.filter((f) => f.finding.fix && f.finding.fix.safe).length;
    $("fix-bar").hidden = false;
    $("fix-all").textContent = `Apply every safe fix (${safeCount})`;
    $("fix-all").disabled = safeCount === 0;
    out.push(el("h3", { id: "findings-heading", tabindex: "-1",
      text: `${plural(claims.length, "claim")}, ${plural(total, "finding")}` }));
    claims.forEach((c, i) => {
      const findings = numbered.filter((f) => f.claim === i);
      const count = (sev) => findings.filter((f) => f.finding.severity === sev).length;
      const section = el("section", { class: "claim", "aria-label": `Claim ${i + 1}` },
        el("h4", { text: `Claim ${c.id || "(no id)"} (#${i + 1}): ${c.status}` +
          (c.status === "checked"
            ? `, ${plural(count("error"), "error")}, ${plural(count("warning"), "warning")}, ${plural(count("info"), "note")}`
            : "") }));
      if (c.error) section.append(el("p", { class: "error", text: c.error }));
      section.append(...renderGrouping(c, findings));
      section.append(...renderEstimate(c.estimate, "h5"));
      if (findings.length) {
        const rows = findings.map((f) => el("tr", { id: `finding-${f.number}` },
          el("td", {}, el("button", { type: "button", class: "secondary locate", "aria-label": `Show finding ${f.number} in the claim`,
            onclick: () => selectFinding(f) }, String(f.number))),
          el("td", {}, el("span", { class: `sev ${f.finding.severity}`, text: f.finding.severity })),
          el("td", {}, ruleLink(f.finding.rule), el("br"), el("small", { text: f.finding.name })),
          el("td", { text: f.finding.message }),
          el("td", { text: where(f.finding.location) }),
          el("td", {}, codeRefs(f.finding.codes)),
          el("td", {}, fixText(f.finding.fix, f.ref, f.number)),
          el("td", {}, sourceList(f.finding.sources))));
        section.append(scroller(el("table", { class: "findings" },
          el("caption", { text: "Findings (select a number to see it in the claim)" }),
          el("thead", {}, el("tr", {}, ["#", "Severity", "Rule", "Message", "Where", "Codes", "Fix", "Sources"]
            .map((h) => el("th", { scope: "col", text: h })))),
          el("tbody", {}, rows)), `Findings of claim ${i + 1}`));
      } else if (c.status === "checked") {
        section.append(el("p", { class: "ok", text: "No findings." }));
      }
      out.push(section);
    });
    return out;
  }

  async function runCheck() {
    const result = $("check-result");
    const body = claimBody();
    const text = claimText();
    if (!text.trim()) {
      message(result, "Paste a claim or upload a claim file first.");
      return;
    }
    result.setAttribute("aria-busy", "true");
    try {
      const report = await api("POST", "/v1/check", body, contentType(text));
      claim.report = report;
      result.replaceChildren(...renderReport(report, text));
    } catch (err) {
      message(result, err.message);
    } finally {
      result.setAttribute("aria-busy", "false");
    }
  }

  async function submitCheck(event) {
    event.preventDefault();
    claim.applied = [];
    setDownload(null);
    $("fix-status").textContent = "";
    await runCheck();
  }

  function fixedName(name) {
    const dot = name.lastIndexOf(".");
    return dot > 0 ? `${name.slice(0, dot)}.fixed${name.slice(dot)}` : `${name}.fixed`;
  }

  function setDownload(bytes) {
    const link = $("fix-download");
    if (claim.url) URL.revokeObjectURL(claim.url);
    claim.url = null;
    if (!bytes) {
      link.hidden = true;
      link.removeAttribute("href");
      return;
    }
    claim.url = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
    link.href = claim.url;
    link.download = fixedName(claim.name);
    link.textContent = `Download the corrected file (${fixedName(claim.name)})`;
    link.hidden = false;
  }

  // Safe fixes only: the server refuses a fix that is not safe, and the page offers none.
  async function applyFixes(refs, title) {
    const status = $("fix-status");
    const text = claimText();
    const query = refs.map((r) => `fix=${encodeURIComponent(r)}`).join("&");
    try {
      const bytes = await apiBytes("POST", `/v1/fix${query ? "?" + query : ""}`, claimBody(), contentType(text));
      setClaimBytes(bytes);
      claim.applied.push(title);
      setDownload(bytes);
      status.textContent = `Applied: ${title}. ${plural(claim.applied.length, "change")} so far; the claim was checked again.`;
      await runCheck();
    } catch (err) {
      status.textContent = `Not applied: ${err.message}`;
    }
  }

  async function loadFile() {
    const file = $("claim-file").files[0];
    if (file) {
      setClaimBytes(new Uint8Array(await file.arrayBuffer()), file.name);
      claim.applied = [];
      setDownload(null);
    }
  }

  async function loadExample(name) {
    const status = $("fix-status");
    try {
      const response = await fetch(`/static/examples/${encodeURIComponent(name)}`);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      setClaimBytes(new Uint8Array(await response.arrayBuffer()), name);
      claim.applied = [];
      setDownload(null);
      status.textContent = "";
      await runCheck();
      $("findings-heading").focus();
    } catch (err) {
      message($("check-result"), `The example could not be loaded: ${err.message}`);
    }
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
        scroller(table(`Periods of ${info.code}`, ["System", "Code", "Description", "From", "To", "Confidence", "Sources",
          "Notes"], rows), `Periods of ${info.code}`),
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
      out.replaceChildren(scroller(table("Every rule", ["Rule", "Name", "Severity", "What it checks"],
        data.rules.map((r) => [ruleLink(r.id), r.name, r.severity || "", r.summary || ""])), "Every rule"));
    } catch (err) {
      message(out, err.message);
    }
  }

  // ------------------------------------------------------------------ start
  // The product picker: brand, generic and short names and HCPCS codes, each labelled.
  async function loadProducts(kb) {
    const list = $("ws-products");
    let names;
    try {
      names = (await api("GET", "/v1/products")).names;
    } catch (_err) {
      names = kb.products.flatMap((p) => [p.brand, p.generic, p.id].filter(Boolean)
        .map((name) => ({ name, kind: "", brand: p.brand, generic: p.generic })));
    }
    list.replaceChildren(...names.map((n) => el("option", { value: n.name,
      label: [n.kind === "hcpcs" ? "HCPCS" : n.kind, n.brand && n.brand !== n.name ? n.brand : "",
        n.generic && n.generic !== n.name ? n.generic : ""].filter(Boolean).join(": ") })));
  }

  async function loadKb() {
    try {
      const kb = await api("GET", "/v1/kb");
      $("kb-stamp").textContent = `Knowledge base ${kb.edition}, as of ${kb.as_of}`;
      for (const src of kb.sources) sources[src.id] = src;
      await loadProducts(kb);
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
    $("claim-text").addEventListener("input", () => { claim.bytes = null; });
    $("fix-all").addEventListener("click", () => applyFixes([], "every safe fix"));
    for (const button of document.querySelectorAll("button[data-example]")) {
      button.addEventListener("click", () => loadExample(button.dataset.example));
    }
    // The print view shows everything: folded warnings open while printing.
    const opened = [];
    window.addEventListener("beforeprint", () => {
      for (const d of document.querySelectorAll("#worksheet-result details:not([open])")) {
        d.open = true;
        opened.push(d);
      }
    });
    window.addEventListener("afterprint", () => { while (opened.length) opened.pop().open = false; });
    window.addEventListener("hashchange", () => route(true));
    kbLoaded = loadKb();
    route(false);
    document.body.dataset.ready = "true";
  });
})();
