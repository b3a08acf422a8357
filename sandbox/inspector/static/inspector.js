// LeadSail Sandbox inspector: one module, no dependencies, no build step.
//
// Everything shown comes from the sandbox's own API, read with the user's key in the X-API-Key
// header. Every string from the sandbox is untrusted (lead names, texts, webhook bodies and headers
// are whatever someone sent): the DOM is built with createElement and textContent only, links are
// built here from encoded ids, and a URL from the data (a recording) is used only if it is http(s).
// The page's polling reads carry X-Sandbox-Inspector so they stay out of the request journal.

const KEY_STORE = "leadsail-inspector-key";
const POLL_MS = 1500;
const PAGE_SIZE = 50;
const BASE = location.pathname.replace(/\/_sandbox\/inspector(\/.*)?$/, "");

const state = { key: null, mode: null, current: null, busy: false, now: null, routeToken: 0, routed: false };

// --- DOM helpers -----------------------------------------------------------------------------

function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "text") el.textContent = String(value);
    else if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "href" || name === "src") throw new Error("use link() / safeUrl() for " + name);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  add(el, ...children);
  return el;
}

function add(el, ...children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// An in-page link: "#/" + encoded segments; never a URL taken from data.
function link(segments, text, props) {
  const a = h("a", props, text);
  a.href = "#/" + segments.map((s) => encodeURIComponent(String(s))).join("/");
  return a;
}

function safeUrl(value) {
  if (typeof value !== "string" || !value) return null;
  try {
    const url = new URL(String(value), location.href);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

function show(region, ...children) {
  region.replaceChildren();
  add(region, ...children);
}

const STATUS_CLASS = {
  ok: ["delivered", "completed", "succeeded", "received", "qualified", "accepted", "allowed", "true", "signed",
       "verified", "spoken", "approved", "on"],
  warn: ["pending", "in_progress", "sent", "queued", "delivering", "processing", "new", "pending_action", "in_flight",
         "incomplete", "scheduled_callback", "follow_up", "contacted", "voicemail", "no_answer", "busy", "missing_data",
         "viewed", "document_sent"],
  bad: ["failed", "error", "refused", "rejected", "dnc", "disqualified", "duplicate", "no_contact", "false", "expired",
        "declined", "off"],
};

function statusClass(status) {
  const text = String(status ?? "");
  if (/^\d{3}$/.test(text)) return text < "300" ? "ok" : text < "400" ? "info" : text < "500" ? "warn" : "bad";
  for (const [cls, names] of Object.entries(STATUS_CLASS)) if (names.includes(text)) return cls;
  return "";
}

function badge(status, label) {
  if (status === null || status === undefined || status === "") return null;
  return h("span", { class: "badge " + statusClass(status) }, label ?? String(status));
}

function time(iso, withDate) {
  if (!iso) return h("span", { class: "muted" }, "—");
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return h("span", { class: "time" }, String(iso));
  const clock = d.toISOString().slice(11, 19);
  const day = d.toISOString().slice(0, 10);
  const today = state.now ? state.now.slice(0, 10) : null;
  const text = withDate || day !== today ? `${day} ${clock}` : clock;
  return h("time", { class: "time", datetime: d.toISOString(), title: String(iso) }, text);
}

function compact(value, limit = 240) {
  let text;
  try {
    text = typeof value === "string" ? value : JSON.stringify(value);
  } catch {
    text = String(value);
  }
  return text && text.length > limit ? text.slice(0, limit) + "…" : text ?? "";
}

function pretty(text) {
  if (text === null || text === undefined) return "";
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return String(text);
  }
}

function kv(pairs) {
  return h("dl", { class: "kv" }, pairs.filter(Boolean).map(([k, v]) => [h("dt", null, k), h("dd", null, v ?? "—")]));
}

function table(headers, rows, emptyText) {
  if (!rows.length) return h("p", { class: "empty" }, emptyText);
  return h("div", { class: "table-wrap" },
    h("table", null,
      h("thead", null, h("tr", null, headers.map((x) => h("th", { scope: "col", class: x.num ? "num" : null }, x.label ?? x)))),
      h("tbody", null, rows)));
}

function errorBox(error) {
  if (!error) return null;
  const lines = error.details && error.details.length ? h("ul", { class: "lines" }, error.details.map((d) => h("li", null, d))) : null;
  return h("div", { class: "error", role: "alert" }, error.summary || String(error.message || error), lines);
}

let toastTimer = null;
function toast(text) {
  const el = document.getElementById("toast");
  el.textContent = text;
  el.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove("show"), 3500);
}

// Runs an action from a button: disabled meanwhile; the error (with every detail line) shown in `where`.
async function act(button, where, work) {
  button.disabled = true;
  if (where) where.replaceChildren();
  try {
    return await work();
  } catch (error) {
    if (where) show(where, errorBox(error));
    else toast(error.summary || String(error));
    if (error.status === 401) keyRefused();
    return undefined;
  } finally {
    button.disabled = false;
  }
}

// --- API ---------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, error) {
    const code = error && error.code ? error.code : `HTTP ${status}`;
    const message = error && error.message ? error.message : "no answer";
    super(`${status} ${code}: ${message}`);
    this.status = status;
    this.code = code;
    this.details = (error && Array.isArray(error.details) ? error.details : []).map(String);
    this.summary = `${status} ${code}: ${message}`;
  }
}

async function api(path, { method = "GET", body, key = state.key } = {}) {
  const headers = { Accept: "application/json" };
  if (key) headers["X-API-Key"] = key;
  if (method === "GET") headers["X-Sandbox-Inspector"] = "read"; // kept out of the journal
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(BASE + path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer",
    });
  } catch (error) {
    const failure = new ApiError(0, { code: "NETWORK", message: "cannot reach the sandbox" });
    failure.cause = error;
    throw failure;
  }
  let doc = null;
  try {
    doc = await response.json();
  } catch {
    doc = null;
  }
  if (!response.ok || !doc || doc.success !== true) throw new ApiError(response.status, doc && doc.error);
  return doc.data;
}

const q = (params) => {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") search.set(k, v);
  const text = search.toString();
  return text ? "?" + text : "";
};
const seg = encodeURIComponent;

// --- the key ------------------------------------------------------------------------------------

function storedKey() {
  return sessionStorage.getItem(KEY_STORE) || localStorage.getItem(KEY_STORE);
}

function forgetKey() {
  sessionStorage.removeItem(KEY_STORE);
  localStorage.removeItem(KEY_STORE);
  state.key = null;
}

async function loadInfo() {
  try {
    const info = await api("/_sandbox/info", { key: null });
    state.mode = info.mode;
  } catch {
    state.mode = null;
  }
  const note = document.getElementById("mode-note");
  note.textContent = state.mode === "strict"
    ? "This sandbox runs in strict mode: only a key its admin issued opens a tenant, and nothing is shown without one."
    : state.mode === "open"
      ? "This sandbox runs in open mode: any key opens its own tenant (a new key starts a fresh, seeded one)."
      : "";
}

function showKeyForm(message) {
  stopView();
  document.getElementById("view").hidden = true;
  document.getElementById("view").replaceChildren();
  document.getElementById("nav").hidden = true;
  document.getElementById("session").hidden = true;
  document.getElementById("key-view").hidden = false;
  document.getElementById("key-error").textContent = message || "";
  document.getElementById("api-key").focus();
}

function keyRefused() {
  forgetKey();
  showKeyForm("The sandbox refused this key (401). " + (state.mode === "strict"
    ? "In strict mode only keys issued by the admin work." : "Enter it again."));
}

async function submitKey(event) {
  event.preventDefault();
  const input = document.getElementById("api-key");
  const key = input.value.trim();
  const error = document.getElementById("key-error");
  if (!key) {
    error.textContent = "Enter your API key.";
    return;
  }
  if (!/^[\x21-\x7e]+$/.test(key)) {
    error.textContent = "A key is visible ASCII characters only (it travels in a header).";
    return;
  }
  try {
    await api("/_sandbox/clock", { key });
  } catch (failure) {
    error.textContent = failure.status === 401
      ? (state.mode === "strict" ? "This sandbox runs in strict mode and did not issue this key." : "The sandbox refused this key.")
      : failure.summary;
    return;
  }
  input.value = "";
  const remember = document.getElementById("remember").checked;
  forgetKey();
  (remember ? localStorage : sessionStorage).setItem(KEY_STORE, key);
  state.key = key;
  start();
}

function start() {
  document.getElementById("key-view").hidden = true;
  document.getElementById("nav").hidden = false;
  document.getElementById("session").hidden = false;
  document.getElementById("view").hidden = false;
  if (!location.hash || location.hash === "#" || location.hash === "#/") location.hash = "#/requests";
  else route();
}

// --- router and polling ----------------------------------------------------------------------

const ROUTES = {
  requests: () => RequestsView(),
  leads: (rest, query) => (rest.length ? LeadView(rest[0]) : LeadsView(query)),
  calls: (rest) => CallView(rest[0]),
  sms: (rest) => SmsView(rest[0]),
  webhooks: (rest, query) => WebhooksView(rest[0], query),
  dialer: (rest) => DialerView(rest[0]),
  clock: () => ClockView(),
  scenarios: () => ScenariosView(),
};
const NAV_OF = { calls: "leads", sms: "leads" };

function stopView() {
  state.current = null;
  state.routeToken += 1;
}

function route() {
  if (!state.key) return;
  const hash = location.hash.replace(/^#\/?/, "");
  const [pathPart, queryPart] = hash.split("?");
  let parts;
  try {
    parts = pathPart.split("/").filter(Boolean).map(decodeURIComponent);
  } catch {
    parts = [];
  }
  const name = ROUTES[parts[0]] ? parts[0] : "requests";
  const query = new URLSearchParams(queryPart || "");
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.dataset.view === (NAV_OF[name] || name)) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  stopView();
  const token = state.routeToken;
  const view = ROUTES[name](parts.slice(1), query);
  const container = document.getElementById("view");
  container.replaceChildren(view.el);
  document.title = `${view.title} · Inspector · LeadSail Sandbox`;
  state.current = view;
  const heading = view.el.querySelector("h1");
  if (heading) heading.tabIndex = -1;
  // On a change of view, focus its heading (a screen reader announces it); not on the first load,
  // where Tab should still reach "Skip to content" first.
  if (heading && state.routed) heading.focus({ preventScroll: true });
  state.routed = true;
  refresh(token, true);
}

// One poll at a time; a new view's first load (force) does not wait for the old view's poll.
async function refresh(token, force) {
  if ((state.busy && !force) || !state.current || !state.key) return;
  state.busy = true;
  const view = state.current;
  try {
    await refreshClockChip(); // first: times are shown relative to the tenant's day
    await view.refresh();
    document.getElementById("live").classList.remove("stale");
  } catch (error) {
    if (error.status === 401) keyRefused();
    else if (token === state.routeToken && view.fail) view.fail(error);
    document.getElementById("live").classList.add("stale");
  } finally {
    state.busy = false;
  }
}

async function refreshClockChip() {
  const clock = await api("/_sandbox/clock");
  state.now = clock.now;
  const chip = document.getElementById("clock-chip");
  const text = `${clock.now.replace("T", " ")} · ${clock.mode}${clock.speed !== 1 ? " ×" + clock.speed : ""}`;
  if (chip.textContent !== text) chip.textContent = text;
  return clock;
}

// Re-renders only when the data changed, so a poll never resets what the user is doing.
function changed(holder, data) {
  const signature = JSON.stringify(data);
  if (holder.signature === signature) return false;
  holder.signature = signature;
  return true;
}

function viewShell(title, subtitle, ...body) {
  const head = h("div", { class: "view-head" }, h("h1", null, title), subtitle ? h("span", { class: "sub" }, subtitle) : null);
  const failure = h("div", { class: "view-error" });
  const el = h("section", { "aria-label": typeof title === "string" ? title : null }, head, failure, ...body);
  return { el, head, failure };
}

function baseView(title, shell, refresh) {
  return {
    el: shell.el, title, refresh: async () => {
      await refresh();
      shell.failure.replaceChildren();
    },
    fail: (error) => show(shell.failure, errorBox(error)),
  };
}

// --- Requests (the journal) --------------------------------------------------------------------

function RequestsView() {
  const statusFilter = h("select", { id: "req-status" },
    [["", "all"], ["2", "2xx"], ["3", "3xx"], ["4", "4xx"], ["5", "5xx"], ["45", "4xx and 5xx"]]
      .map(([value, label]) => h("option", { value }, label)));
  const pathFilter = h("input", { id: "req-path", type: "search", placeholder: "/api/v1/leads", size: 28 });
  const count = h("span", { class: "muted" });
  const list = h("div");
  const detail = h("div", { class: "panel sticky", "aria-live": "polite" },
    h("p", { class: "muted" }, "Select a request to see its details."));
  const shell = viewShell("Requests", "what your code sent, newest first (the tenant's journal, last 200)",
    h("div", { class: "toolbar", role: "search" },
      h("label", { for: "req-status" }, "Status"), statusFilter,
      h("label", { for: "req-path" }, "Path contains"), pathFilter, count),
    h("div", { class: "split" }, h("div", { class: "panel" }, list), detail));
  const memo = {};
  let entries = [];
  let selected = null;

  const signatureOf = (e) => [e.at, e.method, e.path, e.query, e.status, e.latencyMs].join("|");
  const matches = (e) => {
    const cls = statusFilter.value;
    const status = String(e.status);
    if (cls && !cls.split("").some((c) => status.startsWith(c))) return false;
    const needle = pathFilter.value.trim();
    return !needle || (e.path + (e.query ? "?" + e.query : "")).includes(needle);
  };

  function renderList() {
    const shown = entries.filter(matches);
    count.textContent = `${shown.length} of ${entries.length}`;
    const rows = shown.map((e) => {
      const sig = signatureOf(e);
      const open = h("button", { type: "button", class: "link", "aria-expanded": String(sig === selected),
        onclick: () => { selected = sig; renderList(); renderDetail(); } },
      e.path + (e.query ? "?" + e.query : ""));
      return h("tr", { class: sig === selected ? "selected" : null },
        h("td", null, time(e.at)), h("td", { class: "method" }, e.method), h("td", { class: "wrap" }, open),
        h("td", null, badge(String(e.status))), h("td", { class: "num" }, `${e.latencyMs} ms`));
    });
    show(list, table(["At", "Method", "Path", "Status", { label: "Latency", num: true }], rows,
      entries.length ? "No request matches the filters." : "No requests yet: call the API with this key and they show here."));
  }

  function renderDetail() {
    const e = entries.find((x) => signatureOf(x) === selected);
    if (!e) return;
    const error = e.error || null;
    show(detail,
      h("h2", null, h("span", { class: "method" }, e.method), " ", e.path),
      kv([["At", time(e.at, true)], ["Query", e.query || "—"], ["Status", badge(String(e.status))],
        ["Latency", `${e.latencyMs} ms`],
        error ? ["Error", `${error.code || ""}: ${error.message || ""}`] : null]),
      error && error.details && error.details.length
        ? [h("h3", null, "Details"), h("ul", { class: "lines detail-lines" }, error.details.map((d) => h("li", null, d)))] : null,
      h("h3", null, "Request body", e.requestBytes > 1000 ? h("span", { class: "muted" }, ` (first 1000 of ${e.requestBytes} bytes)`) : null),
      e.requestBody ? h("pre", null, pretty(e.requestBody)) : h("p", { class: "muted" }, "none"),
      h("h3", null, "Response body", e.responseBytes > 1000 ? h("span", { class: "muted" }, ` (first 1000 of ${e.responseBytes} bytes)`) : null),
      e.responseBody ? h("pre", null, pretty(e.responseBody)) : h("p", { class: "muted" }, "none (or not text)"));
  }

  statusFilter.addEventListener("change", renderList);
  pathFilter.addEventListener("input", renderList);
  return baseView("Requests", shell, async () => {
    const data = await api("/_sandbox/journal?limit=200");
    if (!changed(memo, data.entries)) return;
    entries = data.entries;
    renderList();
    if (selected) renderDetail();
  });
}

// --- Leads ----------------------------------------------------------------------------------------

const LEAD_STATUSES = ["new", "pending", "processing", "qualified", "pending_action", "delivered", "failed", "rejected",
  "error", "duplicate", "missing_data", "disqualified", "contacted", "dnc", "no_contact", "accepted"];

function leadName(lead) {
  const name = [lead.firstName, lead.lastName].filter((x) => x).join(" ").trim();
  return name || "(no name)";
}

function LeadsView(query) {
  const search = h("input", { id: "lead-search", type: "search", placeholder: "name, email or phone", size: 30,
    value: query.get("search") || "" });
  const status = h("select", { id: "lead-status" }, h("option", { value: "" }, "any"),
    LEAD_STATUSES.map((s) => h("option", { value: s }, s)));
  const form = h("form", { class: "toolbar", role: "search", onsubmit: (ev) => { ev.preventDefault(); go([]); } },
    h("label", { for: "lead-search" }, "Search"), search,
    h("label", { for: "lead-status" }, "Status"), status,
    h("button", { type: "submit" }, "Search"));
  const list = h("div");
  const newer = h("button", { type: "button", onclick: () => { cursors.pop(); load(); } }, "← Newer");
  const older = h("button", { type: "button", onclick: () => { cursors.push(next); load(); } }, "Older →");
  const where = h("span", { class: "muted" });
  const shell = viewShell("Leads", "newest first, 50 a page (GET /api/v1/leads)", form,
    h("div", { class: "panel" }, list, h("div", { class: "pager" }, newer, older, where)));
  const memo = {};
  let cursors = [];
  let next = null;

  status.addEventListener("change", () => go([]));
  function go(stack) {
    cursors = stack;
    memo.signature = null;
    load();
  }
  function load() {
    memo.signature = null;
    state.current && state.current.refresh().catch((error) => show(shell.failure, errorBox(error)));
  }
  return baseView("Leads", shell, async () => {
    const cursor = cursors[cursors.length - 1];
    const data = await api("/api/v1/leads" + q({ limit: PAGE_SIZE, cursor, search: search.value.trim(), status: status.value }));
    if (!changed(memo, data)) return;
    next = data.nextCursor;
    newer.disabled = cursors.length === 0;
    older.disabled = !data.hasMore;
    where.textContent = `page ${cursors.length + 1}`;
    const rows = data.leads.map((lead) => h("tr", null,
      h("td", null, link(["leads", lead.leadId], leadName(lead))),
      h("td", { class: "wrap" }, lead.email ?? "—"), h("td", { class: "mono" }, lead.phone ?? "—"),
      h("td", null, badge(lead.status)), h("td", null, (lead.campaign || {}).campaignId ?? "—"),
      h("td", null, time(lead.createdAt)),
      h("td", { class: "mono muted" }, lead.leadId)));
    show(list, table(["Name", "Email", "Phone", "Status", "Campaign", "Created", "Lead id"], rows,
      "No lead matches."));
  });
}

// --- a lead's timeline ---------------------------------------------------------------------------

const REF_ROUTE = { call: "calls", sms: "sms", delivery: "webhooks", submission: null, lead: null };

function pendingLine(job) {
  const p = job.payload || {};
  const what = {
    "call.answer": "the call is answered (or not)", "call.end": p.answeredAt ? "the call ends" : "the call stops ringing",
    "sms.deliver": "a text is delivered", "sms.batch": `the SMS agent's batch window closes (${(p.messageIds || []).length} texts)`,
    "sms.agent_reply": "the built-in SMS agent replies", "sms.persona_reply": "the lead texts back",
    "dialer.attempt": "the auto-dialer calls", "webhook.attempt": `webhook attempt ${p.attempt ?? ""} (${p.trigger ?? ""})`,
    "submission.process": "the submission is processed", "submission.evaluate": "the submission is evaluated",
    "submission.deliver": "the lead is posted to the client", "document.advance": "a document moves on",
  }[job.job];
  return what || job.job;
}

function LeadView(leadId) {
  const header = h("div", { class: "panel" });
  const kinds = h("select", { id: "tl-kind" }, h("option", { value: "" }, "everything"),
    ["submission", "status", "call", "sms", "dnc", "webhook", "request", "file", "pixel", "note", "lead"]
      .map((k) => h("option", { value: k }, k)));
  const timeline = h("div");
  const pending = h("div");
  const shell = viewShell("Lead", leadId, header,
    h("div", { class: "split" },
      h("div", { class: "panel" }, h("div", { class: "toolbar" }, h("h2", null, "Timeline"),
        h("label", { for: "tl-kind" }, "Show"), kinds), timeline),
      h("div", { class: "panel sticky" }, h("h2", null, "Due next for this lead"), pending)));
  const memo = {};
  let data = null;

  function renderTimeline() {
    const events = data.events.filter((e) => !kinds.value || e.kind === kinds.value);
    if (!events.length) return show(timeline, h("p", { class: "empty" }, "Nothing yet."));
    show(timeline, h("ol", { class: "timeline", "aria-label": "Timeline, oldest first" }, events.map((e) => {
      const target = e.ref && REF_ROUTE[e.ref.type] && e.ref.id ? link([REF_ROUTE[e.ref.type], e.ref.id], "open") : null;
      return h("li", null, time(e.at), h("span", null, h("span", { class: "kind" }, e.kind), " ", badge(e.status)),
        h("div", null, h("span", { class: "title" }, e.title), target ? [" · ", target] : null,
          e.detail ? h("div", { class: "detail" }, e.detail) : null));
    })));
  }

  kinds.addEventListener("change", () => data && renderTimeline());
  return baseView("Lead", shell, async () => {
    const fresh = await api(`/_sandbox/leads/${seg(leadId)}/timeline`);
    if (!changed(memo, fresh)) return;
    data = fresh;
    const lead = data.lead;
    shell.head.querySelector("h1").textContent = leadName(lead);
    show(header, h("div", { class: "cols" },
      kv([["Status", badge(lead.status)], ["Email", lead.email], ["Phone", lead.phone],
        ["Campaign", `${lead.campaignId ?? "—"} · ${lead.campaignName ?? ""}`], ["Time zone", lead.timezone],
        ["Flags", [lead.isDnc ? badge("dnc", "DNC") : null, lead.isTest ? badge("info", "test") : null, !lead.isDnc && !lead.isTest ? "—" : null]]]),
      kv([["Lead id", h("span", { class: "mono" }, lead.leadId)], ["Created", time(lead.createdAt, true)],
        ["Updated", time(lead.updatedAt, true)],
        ["Calls", data.calls.length ? data.calls.map((id, i) => [i ? ", " : "", link(["calls", id], `call ${i + 1}`)]) : "none"],
        ["Texts", data.conversations.length ? data.conversations.map((id, i) => [i ? ", " : "", link(["sms", id], `conversation ${i + 1}`)]) : "none"],
        ["More", [link(["dialer", lead.leadId], "dialer check"), " · ", link(["webhooks"], "webhooks", { "data-lead": "" })]]])));
    const webhooksLink = header.querySelector("a[data-lead]");
    if (webhooksLink) webhooksLink.href = "#/webhooks?leadId=" + seg(lead.leadId);
    renderTimeline();
    show(pending, data.pending.length
      ? h("ol", { class: "timeline" }, data.pending.map((job) => h("li", { class: "pending" }, time(job.due),
        h("span", { class: "kind" }, job.job), h("div", null, pendingLine(job)))))
      : h("p", { class: "empty" }, "Nothing is due for this lead."));
  });
}

// --- a call -----------------------------------------------------------------------------------------

function transcriptBubbles(entries, { leadRole = "user" } = {}) {
  return entries.map((entry) => {
    const system = entry.source === "system" && entry.role !== leadRole && /^(Test call|Call |This call)/.test(entry.message || "");
    const cls = system ? "msg sys" : entry.role === leadRole ? "msg in" : "msg out";
    return h("div", { class: cls }, entry.message ?? "",
      h("span", { class: "meta" }, time(entry.timestamp), " · ", entry.role === leadRole ? "lead" : "agent"));
  });
}

function CallView(interactionId) {
  const header = h("div", { class: "panel" });
  const steps = h("div");
  const recording = h("div");
  const talk = h("div", { class: "conversation", "aria-label": "Transcript" });
  const hooks = h("div");
  const shell = viewShell("Call", interactionId, header,
    h("div", { class: "split" },
      h("div", { class: "panel" }, h("h2", null, "Transcript"), talk),
      h("div", { class: "panel sticky" }, h("h2", null, "Progress"), steps, h("h3", null, "Recording"), recording,
        h("h3", null, "call.completed webhooks"), hooks)));
  const memo = {};

  return baseView("Call", shell, async () => {
    const call = await api(`/api/v1/interactions/${seg(interactionId)}`);
    const [timeline, deliveries] = await Promise.all([
      api(`/_sandbox/leads/${seg(call.leadId)}/timeline`).catch(() => ({ pending: [] })),
      api("/_sandbox/webhooks/deliveries" + q({ leadId: call.leadId, event: "call.completed", limit: 100 }))
        .catch(() => ({ deliveries: [] })),
    ]);
    const mine = timeline.pending.filter((job) => (job.payload || {}).interactionId === interactionId);
    const sent = deliveries.deliveries.filter((d) => (d.payload || {}).interactionId === interactionId);
    if (!changed(memo, [call, mine, sent])) return;
    const c = call.call || {};
    shell.head.querySelector("h1").textContent = `Call · ${call.status}`;
    show(header, h("div", { class: "cols" },
      kv([["Status", badge(call.status)], ["Lead", link(["leads", call.leadId], call.leadId)],
        ["Campaign", call.campaignId], ["Direction", `${c.direction ?? "—"} (${c.source ?? "—"})`]]),
      kv([["Lead's number", call.phone], ["Our number", (call.telephony || {}).phoneNumber],
        ["Duration", c.duration != null ? `${c.duration} s` : "—"], ["Spoken to", c.spokenTo == null ? "—" : String(c.spokenTo)]]),
      kv([["Summary", call.summary], ["Termination", c.terminationReason],
        call.errorCode ? ["Error", `${call.errorCode}: ${call.errorMessage ?? ""}`] : null])));

    const items = [{ label: "Placed", at: call.createdAt, cls: "done" }];
    if (call.status !== "in_progress") {
      if (c.duration) {
        const answered = new Date(new Date(call.updatedAt).getTime() - c.duration * 1000).toISOString().replace(".000Z", "Z");
        items.push({ label: "Answered", at: answered, cls: "done" });
      }
      items.push({ label: `Ended: ${call.status}`, at: call.updatedAt, cls: "done" });
    } else {
      for (const job of mine) {
        const p = job.payload || {};
        if (job.job === "call.answer") items.push({ label: "Ringing", note: "answers at", at: job.due, cls: "current" });
        if (job.job === "call.end" && p.answeredAt) {
          items.push({ label: "Answered", at: p.answeredAt, cls: "done" });
          items.push({ label: "Talking", note: "ends at", at: job.due, cls: "current" });
        } else if (job.job === "call.end") {
          items.push({ label: "Ringing", note: "stops unanswered at", at: job.due, cls: "current" });
        }
      }
    }
    show(steps, h("ol", { class: "steps" }, items.map((s) => h("li", { class: s.cls }, h("strong", null, s.label),
      h("span", { class: "time" }, s.note ? s.note + " " : "", time(s.at))))));

    const url = safeUrl(c.recordingUrl);
    if (url) {
      const audio = h("audio", { controls: true, preload: "none", "aria-label": "Call recording" });
      audio.src = url;
      show(recording, audio, h("div", { class: "small muted mono" }, c.recordingUrl));
    } else {
      show(recording, h("p", { class: "muted" }, c.recordingUrl ? "Not an http(s) URL: " + c.recordingUrl : "No recording (yet)."));
    }
    const entries = Array.isArray(call.transcript) ? call.transcript : [];
    show(talk, entries.length ? transcriptBubbles(entries) : h("p", { class: "empty" }, "No transcript yet: it is written when the call ends."));
    show(hooks, sent.length ? h("ul", { class: "plain" }, sent.map((d) => h("li", null, link(["webhooks", d.deliveryId], d.deliveryId),
      " ", badge(d.status), " ", h("span", { class: "muted" }, d.url))))
      : h("p", { class: "muted" }, "None (no webhook subscribes call.completed)."));
  });
}

// --- an SMS conversation --------------------------------------------------------------------------

const SOURCE_LABEL = { api: "your API", inbound: "lead", sms_agent: "SMS agent", system: "automatic", manual: "manual" };

function SmsView(interactionId) {
  const header = h("div", { class: "panel" });
  const banner = h("div");
  const talk = h("div", { class: "conversation", "aria-label": "Conversation", "aria-live": "polite" });
  const text = h("textarea", { id: "sms-text", rows: 2, maxlength: 1600, placeholder: "Yes, I'm still interested" });
  const sendButton = h("button", { type: "submit", class: "primary" }, "Send as the lead");
  const result = h("div", { role: "status" });
  const agentToggle = h("input", { type: "checkbox", id: "agent-mode" });
  const agentWhere = h("span");
  const composer = h("form", { class: "composer", onsubmit: (ev) => { ev.preventDefault(); textBack(); } },
    h("label", { for: "sms-text" }, "Text back as the lead (POST /_sandbox/sms/inbound)"), text, sendButton);
  const shell = viewShell("SMS conversation", interactionId, header,
    h("div", { class: "panel" }, h("div", { class: "toolbar" }, h("h2", null, "Messages"),
      h("label", { class: "check" }, agentToggle, "Agent mode"), agentWhere), banner, talk, composer, result));
  const memo = {};
  let thread = null;

  async function textBack() {
    const body = text.value;
    if (!body.trim() || !thread) return;
    const done = await act(sendButton, result, () => api("/_sandbox/sms/inbound", {
      method: "POST", body: { from: thread.phone, to: (thread.telephony || {}).phoneNumber, text: body },
    }));
    if (!done) return;
    text.value = "";
    show(result, h("p", { class: "muted" }, `Received as ${done.messageId}`,
      done.keyword ? ` · keyword ${done.keyword}` : "",
      done.batchClosesAt ? [" · batch window closes at ", time(done.batchClosesAt)] : ""));
    memo.signature = null;
    await state.current.refresh();
  }
  agentToggle.addEventListener("change", async () => {
    const wanted = agentToggle.checked;
    agentToggle.disabled = true;
    try {
      await api(`/_sandbox/interactions/${seg(interactionId)}/agent-mode`, { method: "PUT", body: { enabled: wanted } });
      toast(`Agent mode ${wanted ? "on" : "off"}`);
    } catch (error) {
      agentToggle.checked = !wanted;
      show(agentWhere, errorBox(error));
    } finally {
      agentToggle.disabled = false;
    }
  });

  return baseView("SMS conversation", shell, async () => {
    const fresh = await api(`/api/v1/interactions/${seg(interactionId)}`);
    const [messages, timeline, handoffs] = await Promise.all([
      api("/_sandbox/sms/messages" + q({ leadId: fresh.leadId, limit: 1000 })),
      api(`/_sandbox/leads/${seg(fresh.leadId)}/timeline`).catch(() => ({ pending: [] })),
      api("/_sandbox/webhooks/deliveries" + q({ leadId: fresh.leadId, kind: "sms_agent", limit: 100 })).catch(() => ({ deliveries: [] })),
    ]);
    const mine = messages.messages.filter((m) => m.interactionId === interactionId).reverse();
    const jobs = timeline.pending.filter((j) => (j.payload || {}).interactionId === interactionId);
    const sent = handoffs.deliveries.filter((d) => ((d.payload || {}).interaction || {}).interactionId === interactionId);
    if (!changed(memo, [fresh, mine, jobs, sent])) return;
    thread = fresh;
    const sms = fresh.sms || {};
    shell.head.querySelector("h1").textContent = "SMS conversation";
    agentToggle.checked = !!sms.agentMode;
    show(header, h("div", { class: "cols" },
      kv([["Status", badge(fresh.status)], ["Lead", link(["leads", fresh.leadId], fresh.leadId)], ["Campaign", fresh.campaignId]]),
      kv([["Lead's number", fresh.phone], ["Our number", (fresh.telephony || {}).phoneNumber],
        ["Provider", (fresh.telephony || {}).provider]]),
      kv([["Agent mode", sms.agentMode ? "on: inbound texts are batched for the SMS agent" : "off"],
        ["Started", `${sms.direction ?? "—"}`], ["Updated", time(fresh.updatedAt, true)]])));

    const batch = jobs.find((j) => j.job === "sms.batch");
    const waiting = new Set(batch ? batch.payload.messageIds || [] : []);
    const reply = jobs.find((j) => j.job === "sms.agent_reply");
    show(banner,
      batch ? h("div", { class: "banner" }, `Batch window open: ${waiting.size} text${waiting.size === 1 ? "" : "s"} waiting; the SMS agent gets them at `, time(batch.due)) : null,
      reply ? h("div", { class: "banner" }, "The built-in SMS agent is typing; its reply goes out at ", time(reply.due)) : null);

    // Pair each transcript entry with its message record (same order, same text) for its status.
    const transcript = Array.isArray(fresh.transcript) ? fresh.transcript : [];
    let j = 0;
    const rows = transcript.map((entry) => {
      let message = null;
      if (entry.source !== "system") {
        const direction = entry.role === "user" ? "inbound" : "outbound";
        for (let k = j; k < mine.length; k++) {
          if (mine[k].direction === direction && mine[k].text === entry.message) {
            message = mine[k];
            j = k + 1;
            break;
          }
        }
      }
      return { entry, message };
    });
    const bubbles = [];
    let run = [];
    const handoffsLeft = sent.slice().sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1));
    const flushHandoffs = (until) => {
      while (handoffsLeft.length && (until === null || handoffsLeft[0].createdAt < until)) {
        const d = handoffsLeft.shift();
        const count = ((d.payload || {}).message || {}).messageCount || "";
        bubbles.push(h("div", { class: "divider" }, `batch${count ? " of " + count : ""} handed to the agent's webhook · `,
          link(["webhooks", d.deliveryId], d.deliveryId), " ", badge(d.status)));
      }
    };
    for (const { entry, message } of rows) {
      flushHandoffs(entry.timestamp);
      const inbound = entry.role === "user";
      const system = entry.source === "system";
      if (!inbound && entry.source === "sms_agent" && run.length) {
        for (const b of run) b.classList.add("batch-done");
        bubbles.push(h("div", { class: "divider" }, `↑ batch of ${run.length} text${run.length === 1 ? "" : "s"} answered by the SMS agent`));
        run = [];
      } else if (!inbound) {
        run = [];
      }
      const inBatch = message && waiting.has(message.messageId);
      const meta = h("span", { class: "meta" }, time(entry.timestamp), " · ", SOURCE_LABEL[entry.source] || entry.source,
        message && !inbound ? badge(message.status) : null,
        message && message.errorCode ? ` ${message.errorCode}: ${message.errorMessage ?? ""}` : null,
        inBatch ? badge("pending", "in batch") : null);
      const bubble = h("div", { class: system ? "msg sys" : inbound ? "msg in" + (inBatch ? " batched" : "") : "msg out" },
        entry.message ?? "", meta);
      if (inbound && sms.agentMode !== undefined) run.push(bubble);
      bubbles.push(bubble);
    }
    flushHandoffs(null);
    const atBottom = talk.scrollHeight - talk.scrollTop - talk.clientHeight < 40;
    show(talk, bubbles.length ? bubbles : h("p", { class: "empty" }, "No messages yet."));
    if (atBottom || !memo.scrolled) {
      talk.scrollTop = talk.scrollHeight;
      memo.scrolled = true;
    }
  });
}

// --- Webhooks ------------------------------------------------------------------------------------

const EVENTS = ["lead.queued", "lead.processed", "lead.delivered", "lead.disqualified", "lead.failed",
  "lead.first_submission_action", "call.completed"];

function sinkNames(deliveries) {
  const names = new Set();
  for (const d of deliveries) {
    const match = /\/_sandbox\/sink\/([^/?#]+)/.exec(d.url || "");
    if (match) {
      try {
        names.add(decodeURIComponent(match[1]));
      } catch {
        names.add(match[1]);
      }
    }
  }
  return [...names];
}

function WebhooksView(deliveryId, query) {
  const leadId = query.get("leadId") || "";
  const status = h("select", { id: "wh-status" }, h("option", { value: "" }, "any"),
    ["pending", "delivering", "delivered", "failed"].map((s) => h("option", { value: s }, s)));
  const event = h("select", { id: "wh-event" }, h("option", { value: "" }, "any"), EVENTS.map((e) => h("option", { value: e }, e)));
  const kind = h("select", { id: "wh-kind" }, h("option", { value: "" }, "any"),
    ["webhook", "sms_agent", "first_submission_action", "test", "listen"].map((k) => h("option", { value: k }, k)));
  const list = h("div");
  const detail = h("div", { class: "panel sticky", "aria-live": "polite" });
  const faults = h("form", { class: "panel", "aria-labelledby": "faults-title" });
  const sinks = h("div", { class: "panel" });
  const shell = viewShell("Webhooks", leadId ? `deliveries about lead ${leadId}` : "every outbound delivery, newest first",
    h("div", { class: "toolbar", role: "search" },
      h("label", { for: "wh-status" }, "Status"), status, h("label", { for: "wh-event" }, "Event"), event,
      h("label", { for: "wh-kind" }, "Kind"), kind,
      leadId ? link(["webhooks"], "show every lead") : null),
    h("div", { class: "split" }, h("div", null, h("div", { class: "panel" }, list), faults, sinks), detail));
  const memo = {};
  const detailMemo = {};
  const sinkMemo = {};
  let selected = deliveryId || null;
  let sinkName = "";
  let faultsLoaded = false;

  // fault switches
  const dup = h("input", { type: "checkbox", id: "fault-dup" });
  const ooo = h("input", { type: "checkbox", id: "fault-ooo" });
  const delay = h("input", { type: "number", id: "fault-delay", min: 0, max: 3600, step: 1, value: 0 });
  const faultsSave = h("button", { type: "submit" }, "Save fault switches");
  const faultsResult = h("div");
  add(faults, h("h2", { id: "faults-title" }, "Fault switches"),
    h("label", { class: "check" }, dup, "Send each successful delivery twice (duplicate)"),
    h("label", { class: "check" }, ooo, "Hold each new delivery back 0–20 s so they arrive shuffled (out of order)"),
    h("label", { class: "check" }, "Delay each new delivery's first try by", delay, "s"),
    h("div", { class: "actions" }, faultsSave), faultsResult);
  faults.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const saved = await act(faultsSave, faultsResult, () => api("/_sandbox/webhooks/faults", {
      method: "PUT", body: { duplicate: dup.checked, outOfOrder: ooo.checked, extraDelaySeconds: Number(delay.value || 0) },
    }));
    if (saved) toast("Fault switches saved");
  });

  // sinks
  const sinkInput = h("input", { type: "text", id: "sink-name", placeholder: "my-demo", size: 18 });
  const sinkChoices = h("span", { class: "toolbar" });
  const sinkBody = h("div");
  add(sinks, h("h2", null, "Built-in sinks: what they received"),
    h("form", { class: "toolbar", onsubmit: (ev) => { ev.preventDefault(); sinkName = sinkInput.value.trim(); sinkMemo.signature = null; refreshSink(); } },
      h("label", { for: "sink-name" }, "Sink"), sinkInput, h("button", { type: "submit" }, "Show"), sinkChoices),
    sinkBody);

  async function refreshSink() {
    if (!sinkName) return show(sinkBody, h("p", { class: "muted" }, "Pick a sink your webhooks point at, or type a name."));
    const data = await api(`/_sandbox/sink/${seg(sinkName)}`);
    if (!changed(sinkMemo, data)) return;
    const requests = data.requests.slice().reverse();
    show(sinkBody, h("p", { class: "muted" }, `${data.count} request${data.count === 1 ? "" : "s"} received by “${data.name}”, newest first`),
      requests.map((r) => h("details", { class: "attempt" },
        h("summary", null, `#${r.seq} ${r.method} `, r.query ? "?" + r.query : "", " · ", compact(r.body, 120)),
        h("h3", null, "Headers"), headerTable(r.headers), h("h3", null, "Body", r.truncated ? " (truncated)" : ""),
        h("pre", null, pretty(r.body)))));
  }

  function renderSinkChoices(names) {
    show(sinkChoices, names.map((name) => h("button", { type: "button", "aria-label": `Show sink ${name}`, onclick: () => {
      sinkName = name;
      sinkInput.value = name;
      sinkMemo.signature = null;
      refreshSink();
    } }, name)));
    if (!sinkName && names.length) {
      sinkName = names[0];
      sinkInput.value = names[0];
    }
  }

  function headerTable(headers) {
    const rows = Object.entries(headers || {}).map(([k, v]) => h("tr", null, h("td", { class: "mono" }, k), h("td", { class: "mono wrap" }, v)));
    return table(["Header", "Value"], rows, "none");
  }

  async function renderDetail() {
    if (!selected) return show(detail, h("p", { class: "muted" }, "Select a delivery to see each attempt."));
    const d = await api(`/_sandbox/webhooks/deliveries/${seg(selected)}`);
    if (!changed(detailMemo, d)) return;
    const replay = h("button", { type: "button", class: "primary", disabled: !["delivered", "failed"].includes(d.status) },
      "Replay now");
    const replayResult = h("div");
    replay.addEventListener("click", async () => {
      const done = await act(replay, replayResult, () => api(`/_sandbox/webhooks/deliveries/${seg(d.deliveryId)}/replay`, { method: "POST" }));
      if (done) {
        const last = done.attempts[done.attempts.length - 1] || {};
        toast(`Replayed: attempt ${last.attempt} ${last.status}`);
        detailMemo.signature = null;
        memo.signature = null;
        await state.current.refresh();
      }
    });
    show(detail,
      h("h2", null, d.event || d.kind, " ", badge(d.status)),
      kv([["Delivery", h("span", { class: "mono" }, d.deliveryId)], ["Kind", d.kind], ["Source", d.source],
        ["URL", h("span", { class: "mono" }, `${d.method} ${d.url}`)],
        ["Lead", d.leadId ? link(["leads", d.leadId], d.leadId) : "—"], ["Campaign", d.campaignId],
        ["Attempts", `${d.attemptCount} (retries left ${d.retriesLeft} of ${d.retryAttempts})`],
        ["Next attempt", d.nextAttemptAt ? time(d.nextAttemptAt, true) : "none scheduled"], ["Created", time(d.createdAt, true)]]),
      h("div", { class: "actions" }, replay,
        h("span", { class: "muted small" }, "Sends the same body and webhook-id again now; a failure retries on the clock.")),
      replayResult,
      h("h3", null, `Attempts (${d.attempts.length}), newest first`),
      d.attempts.length ? d.attempts.slice().reverse().map((a) => h("section", { class: "attempt", "aria-label": `Attempt ${a.attempt}` },
        h("h3", null, `Attempt ${a.attempt}`, h("span", { class: "kind" }, a.trigger), badge(a.status),
          a.response ? badge(String(a.response.status), `HTTP ${a.response.status}`) : null,
          a.latencyMs != null ? h("span", { class: "muted" }, `${a.latencyMs} ms`) : null, time(a.at, true)),
        a.error ? h("p", { class: "error" }, a.error) : null,
        a.nextRetryAt ? h("p", null, "Next retry at ", time(a.nextRetryAt, true)) : null,
        h("details", null, h("summary", null, `Request: ${a.request.method} ${a.request.url}`),
          headerTable(a.request.headers), h("pre", null, pretty(a.request.body))),
        a.response ? h("details", { open: true }, h("summary", null, `Response: HTTP ${a.response.status}`),
          h("pre", null, pretty(a.response.bodyExcerpt) || "(empty)")) : null))
        : h("p", { class: "muted" }, "No attempt yet."),
      h("details", null, h("summary", null, "Payload (the body of every attempt)"), h("pre", null, JSON.stringify(d.payload, null, 2))));
  }

  for (const select of [status, event, kind]) select.addEventListener("change", () => { memo.signature = null; state.current.refresh(); });
  return baseView("Webhooks", shell, async () => {
    const data = await api("/_sandbox/webhooks/deliveries" + q({ status: status.value, event: event.value, kind: kind.value, leadId, limit: 200 }));
    if (!faultsLoaded) {
      const f = await api("/_sandbox/webhooks/faults");
      dup.checked = f.duplicate;
      ooo.checked = f.outOfOrder;
      delay.value = f.extraDelaySeconds;
      faultsLoaded = true;
    }
    if (changed(memo, data)) {
      const rows = data.deliveries.map((d) => {
        const last = d.lastAttempt;
        const open = h("button", { type: "button", class: "link", "aria-expanded": String(d.deliveryId === selected), onclick: () => {
          selected = d.deliveryId;
          history.replaceState(null, "", "#/webhooks/" + seg(d.deliveryId) + (leadId ? "?leadId=" + seg(leadId) : ""));
          memo.signature = null;
          detailMemo.signature = null;
          state.current.refresh();
        } }, d.event || d.kind);
        return h("tr", { class: d.deliveryId === selected ? "selected" : null },
          h("td", null, time(d.createdAt)), h("td", null, open), h("td", null, badge(d.status)),
          h("td", { class: "num" }, d.attemptCount),
          h("td", null, last ? [badge(last.status), " ", last.responseStatus != null ? `HTTP ${last.responseStatus}` : (last.error ? compact(last.error, 60) : "")] : "—"),
          h("td", { class: "mono wrap small" }, compact(d.url, 80)));
      });
      show(list, h("p", { class: "muted" }, `${data.count} shown of ${data.total}`),
        table(["Created", "Event", "Status", { label: "Tries", num: true }, "Last attempt", "URL"], rows,
          "No deliveries yet. Configure a webhook (docs/webhooks.md) and they show here."));
      renderSinkChoices(sinkNames(data.deliveries));
    }
    await Promise.all([renderDetail(), refreshSink()]);
  });
}

// --- Dialer ----------------------------------------------------------------------------------------

function DialerView(leadId) {
  const queue = h("div");
  const check = h("div");
  const input = h("input", { type: "text", id: "dialer-lead", placeholder: "lead_…", size: 26, value: leadId || "" });
  const form = h("form", { class: "toolbar", onsubmit: (ev) => { ev.preventDefault(); if (input.value.trim()) location.hash = "#/dialer/" + seg(input.value.trim()); } },
    h("label", { for: "dialer-lead" }, "Lead"), input, h("button", { type: "submit" }, "Dry run"));
  const shell = viewShell("Dialer", "the auto-dialer's queue, and every pre-flight check of a call for one lead",
    h("div", { class: "split" },
      h("div", { class: "panel" }, h("h2", null, "Queue, in due order"), queue),
      h("div", { class: "panel sticky" }, h("h2", null, "May this lead be called now?"), form, check)));
  const memo = {};
  const checkMemo = {};
  return baseView("Dialer", shell, async () => {
    const [data, verdicts] = await Promise.all([
      api("/_sandbox/dialer/queue?limit=200"),
      leadId ? api(`/_sandbox/dialer/check/${seg(leadId)}`) : Promise.resolve(null),
    ]);
    if (changed(memo, data)) {
      const rows = data.queue.map((e) => h("tr", null, h("td", null, time(e.nextCallTime, true)),
        h("td", null, link(["leads", e.leadId], e.leadId)), h("td", null, e.campaignId ?? "—"),
        h("td", { class: "num" }, `${e.attemptsUsed} / ${e.maxAttempts}`),
        h("td", null, link(["dialer", e.leadId], "check"))));
      show(queue, h("p", { class: "muted" }, `${data.total} pending attempt${data.total === 1 ? "" : "s"}`),
        table(["Next call", "Lead", "Campaign", { label: "Attempts", num: true }, ""], rows, "The queue is empty."));
    }
    if (!verdicts) return show(check, h("p", { class: "muted" }, "Enter a lead id, or pick one from the queue or a lead's page."));
    if (!changed(checkMemo, verdicts)) return;
    show(check,
      h("p", null, verdicts.allowedNow ? badge("allowed", "allowed now") : badge("refused", "not now"),
        verdicts.allowedNow ? "" : verdicts.nextAllowedAt ? [" · becomes allowed at ", time(verdicts.nextAllowedAt, true)] : " · no time when waiting helps"),
      kv([["Lead", link(["leads", verdicts.leadId], verdicts.leadId)], ["Campaign", verdicts.campaignId],
        ["Lead's local time", `${verdicts.leadLocalTime} (${verdicts.timezone})`],
        ["Auto-dialer", verdicts.autoDialerActive ? "active" : "inactive"]]),
      h("h3", null, "Checks, in the order a call runs them"),
      table(["Rule", "Verdict", "Reason", "Allowed at"], verdicts.verdicts.map((v) => h("tr", null,
        h("td", { class: "mono" }, v.rule),
        h("td", null, v.allowed === null ? badge("", "not checked") : badge(v.allowed ? "allowed" : "refused", v.allowed ? "pass" : "fail")),
        h("td", { class: "wrap" }, v.reason ?? "—"),
        h("td", null, !v.allowedAt ? "—" : v.allowedAt === state.now ? "now" : time(v.allowedAt, true)))), "No checks."));
  });
}

// --- Clock ------------------------------------------------------------------------------------------

function ClockView() {
  const status = h("div");
  const byKind = h("div");
  const next = h("div");
  const ran = h("div", { "aria-live": "polite" });
  const failure = h("div");
  const buttons = [["+1 min", 60], ["+15 min", 900], ["+1 h", 3600]].map(([label, seconds]) =>
    h("button", { type: "button", onclick: (ev) => advance(ev.currentTarget, { seconds }, label) }, label));
  const toNext = h("button", { type: "button", onclick: (ev) => nextDue && advance(ev.currentTarget, { to: nextDue }, "to the next due job") },
    "To next due job");
  const when = h("input", { type: "datetime-local", id: "clock-to", step: 1, oninput: () => { when.dataset.touched = "1"; } });
  const toTime = h("form", { class: "toolbar", onsubmit: (ev) => {
    ev.preventDefault();
    if (when.value) advance(toTimeButton, { to: (when.value.length === 16 ? when.value + ":00" : when.value) + "Z" }, "to " + when.value);
  } }, h("label", { for: "clock-to" }, "To a time (UTC)"), when);
  const toTimeButton = h("button", { type: "submit" }, "Go");
  toTime.append(toTimeButton);
  const shell = viewShell("Clock", "the tenant's clock and the work due on it",
    h("div", { class: "split" },
      h("div", null,
        h("div", { class: "panel" }, status, h("div", { class: "toolbar", role: "group", "aria-label": "Advance the clock" }, buttons, toNext), toTime, failure),
        h("div", { class: "panel" }, h("h2", null, "What ran"), ran)),
      h("div", { class: "panel sticky" }, h("h2", null, "Pending work by kind"), byKind, h("h3", null, "Next due jobs"), next)));
  const memo = {};
  let nextDue = null;

  async function advance(button, body, label) {
    const result = await act(button, failure, () => api("/_sandbox/clock/advance", { method: "POST", body }));
    if (!result) return;
    const counts = {};
    for (const job of result.ran) counts[job.job] = (counts[job.job] || 0) + 1;
    const shown = result.ran.slice(0, 500);
    show(ran, h("p", null, `Advanced ${label}: now `, time(result.now, true), ` · ${result.ran.length} job${result.ran.length === 1 ? "" : "s"} ran`,
      Object.keys(counts).length ? " (" + Object.entries(counts).map(([k, n]) => `${k} ${n}`).join(", ") + ")" : ""),
    shown.length ? h("ol", { class: "timeline ran" }, shown.map((job) => h("li", null, time(job.at),
      h("span", { class: "kind" }, job.job),
      h("div", null, h("div", { class: "title mono small" }, compact(job.payload, 160)),
        h("div", { class: "detail mono small" }, job.effects && job.effects.length ? compact(job.effects, 400) : "nothing to do"))))) : null,
    result.ran.length > shown.length ? h("p", { class: "muted" }, `… and ${result.ran.length - shown.length} more`) : null);
    memo.signature = null;
    await state.current.refresh();
  }

  return baseView("Clock", shell, async () => {
    const [clock, pending] = await Promise.all([api("/_sandbox/clock"), api("/_sandbox/clock/pending?limit=20")]);
    if (!changed(memo, [clock, pending])) return;
    nextDue = clock.nextDueAt;
    toNext.disabled = !nextDue;
    if (!when.dataset.touched) when.value = clock.now.slice(0, 19);
    show(status, kv([["Now", time(clock.now, true)], ["Mode", clock.mode], ["Speed", `×${clock.speed}`],
      ["Pending jobs", String(clock.pendingJobs)], ["Next due", clock.nextDueAt ? time(clock.nextDueAt, true) : "nothing is due"]]));
    const kinds = Object.entries(pending.byKind).sort((a, b) => b[1] - a[1]);
    show(byKind, table(["Kind", { label: "Pending", num: true }], kinds.map(([k, n]) => h("tr", null, h("td", { class: "mono" }, k), h("td", { class: "num" }, n))),
      "Nothing is pending."));
    show(next, pending.next.length ? h("ol", { class: "timeline" }, pending.next.map((job) => h("li", null, time(job.due, true),
      h("span", { class: "kind" }, job.job), h("div", { class: "detail mono small" }, compact(job.payload, 200))))) : h("p", { class: "empty" }, "—"));
  });
}

// --- Scenarios --------------------------------------------------------------------------------------

async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const scratch = h("textarea", { "aria-hidden": "true" });
    scratch.value = text;
    document.body.append(scratch);
    scratch.select();
    document.execCommand("copy");
    scratch.remove();
  }
  toast(`Copied ${text}`);
  button.textContent = "Copied";
  setTimeout(() => { button.textContent = "Copy"; }, 1500);
}

function ScenariosView() {
  const body = h("div");
  const shell = viewShell("Scenarios", "magic inputs that force an outcome (docs/scenarios.md)", h("div", { class: "panel" }, body));
  const memo = {};
  return baseView("Scenarios", shell, async () => {
    const data = await api("/_sandbox/scenarios");
    if (!changed(memo, data)) return;
    const areas = [...new Set(data.scenarios.map((s) => s.area))];
    show(body, areas.map((area) => [h("h2", null, { call: "Calls (the lead's phone)", submit: "Submissions (the email tag)",
      sms: "SMS (the number texted)", pixel: "Pixels" }[area] || area),
    table(["Input", "", "Outcome", "What happens"], data.scenarios.filter((s) => s.area === area).map((s) => h("tr", null,
      h("td", null, h("code", null, s.input)),
      h("td", null, h("button", { type: "button", class: "quiet", "aria-label": `Copy ${s.input}`, onclick: (ev) => copy(s.input, ev.currentTarget) }, "Copy")),
      h("td", null, badge(s.outcome)), h("td", null, s.description))), "none")]));
  });
}

// --- start ------------------------------------------------------------------------------------------

async function main() {
  document.getElementById("key-form").addEventListener("submit", submitKey);
  document.getElementById("forget-key").addEventListener("click", () => {
    forgetKey();
    showKeyForm("Key forgotten.");
  });
  window.addEventListener("hashchange", route);
  setInterval(() => {
    if (!document.hidden) refresh(state.routeToken);
  }, POLL_MS);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) refresh(state.routeToken);
  });
  await loadInfo();
  const key = storedKey();
  if (!key) return showKeyForm("");
  try {
    await api("/_sandbox/clock", { key });
  } catch (error) {
    if (error.status === 401) {
      forgetKey();
      return showKeyForm(state.mode === "strict" ? "The stored key is not (or no longer) issued by this sandbox." : "The stored key was refused.");
    }
  }
  state.key = key;
  start();
}

main();
