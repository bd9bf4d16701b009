// The officials' page: sign in with a key, the ranked list, invitations, the audit log.
// A company's page is in company.js. Plain JavaScript, nothing loaded from elsewhere;
// data is always written with textContent.
"use strict";

const KEY = "discovery.key";
const PAGE = 50;
const BATCH = 200; // the invitations route takes at most 200 companies per call
const SHOWN_REASONS = 2; // per row of the list; the company page shows them all
const TIERS = {
  tech_sme: "科技型中小企业", innovative_sme: "创新型中小企业",
  specialized_sme: "专精特新中小企业", little_giant: '专精特新"小巨人"',
};
const STATUS = { met: ["达标", "met"], not_met: ["未达标", "not met"], unknown: ["未知", "unknown"] };
const ROLES = { official: "主管部门", analyst: "分析人员", platform: "培育平台", admin: "管理员" };
const OPEN = ["pending", "applied"];
const state = { ticket: 0 };
resetState();

const $ = (id) => document.getElementById(id);

function resetState() {
  Object.assign(state, {
    me: null, serving: null, offset: 0, sort: "rank", dateTouched: false,
    selected: new Map(), invited: new Map(), list: null, ticket: state.ticket + 1,
  });
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k.startsWith("data-") || k.startsWith("aria-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Chinese first, the English beside it, smaller. */
const both = (zh, en) => [`${zh} `, el("small", {}, en)];

function say(text, kind) {
  const box = $("message");
  box.textContent = text || "";
  box.className = kind || "";
  box.hidden = !text;
}

async function api(path, options = {}) {
  const key = sessionStorage.getItem(KEY);
  if (!key) {
    signOut();
    throw new Error("请先登录 Please sign in.");
  }
  const headers = Object.assign({ Authorization: `Bearer ${key}` }, options.headers || {});
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (response.status === 401) {
    const signingIn = !state.me;
    signOut();
    throw new Error(signingIn
      ? "密钥无效，请检查后重新输入 The API key is not valid; check it and enter it again."
      : "密钥无效或已被撤销，请重新登录 The API key is no longer valid; sign in again.");
  }
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      detail = typeof body.detail === "string" ? body.detail : `${response.status}: ${JSON.stringify(body.detail)}`;
    } catch (_) { /* not JSON */ }
    throw new Error(detail);
  }
  return options.raw ? response : response.json();
}

function show(view) {
  for (const name of ["signin", "list", "company", "audit"]) $(`${name}-view`).hidden = name !== view;
  $("nav").hidden = view === "signin";
}

const role = () => (state.me ? state.me.role : null);
const canInvite = () => ["official", "admin"].includes(role());
const canOpen = () => ["official", "analyst", "admin"].includes(role());

function pct(x) {
  if (x === null || x === undefined) return "—";
  return x > 0 && x < 0.005 ? "<1%" : `${Math.round(x * 100)}%`;
}

/** A threshold badge that names the threshold: "营收 达标"; the full rule in its tooltip. */
function badge(check) {
  const [zh, en] = STATUS[check.status];
  const est = /est\. ([\d.]+)/.exec(check.text);
  const odds = /chance (\d+)%/.exec(check.text);
  const note = est ? ` 估${Math.round(Number(est[1]))}` : odds ? ` 把握${odds[1]}%` : null;
  return el("span", {
    class: `badge ${check.status}`, "data-check": check.id,
    title: `${check.label_zh}\n${check.label_en}\n${check.text}`,
  }, `${check.short_zh} ${zh}`, note ? el("small", {}, note) : null,
  el("span", { class: "en" }, ` ${check.short_en} ${en}`));
}

/** Reasons, each in Chinese with its English beneath in a smaller muted line. */
function reasonItems(lines) {
  return lines.map((r) => el("li", { class: "reason" }, el("span", { class: "zh" }, r.zh),
    r.en ? el("small", { class: "en" }, r.en) : null));
}

// -- the ranked list ------------------------------------------------------------------------
function filters() {
  const params = new URLSearchParams();
  params.set("tier", $("f-tier").value);
  for (const [id, name] of [["f-name", "name"], ["f-region", "region"], ["f-industry", "industry"], ["f-as-of", "as_of"]]) {
    const value = $(id).value.trim();
    if (value) params.set(name, value);
  }
  const floor = $("f-min-score").value.trim();
  if (floor) params.set("min_score", String(Math.min(100, Math.max(0, Number(floor))) / 100));
  return params;
}

/** The list date: the serving model's data date until the official picks another. */
function defaultDate() {
  const model = state.serving && state.serving[$("f-tier").value];
  if (!state.dateTouched && model && model.model_as_of) $("f-as-of").value = model.model_as_of;
}

async function loadList() {
  show("list");
  defaultDate();
  const params = filters();
  params.set("limit", PAGE);
  params.set("offset", state.offset);
  params.set("sort", state.sort);
  say("正在计算名单… Ranking…", "busy");
  const ticket = ++state.ticket;
  let list;
  try {
    list = await api(`/v1/invitations?${params}`);
  } catch (e) {
    if (ticket === state.ticket) clearList();
    throw e;
  }
  if (ticket !== state.ticket) return; // a newer request (or a sign-out) came meanwhile
  const outside = outsideScope(params.get("region"), list.region_name);
  if (outside) say(outside, "error"); else say("");
  state.list = list;
  renderRows(list);
  renderSummary(list);
  renderDistricts(list);
  renderBatch();
}

/** Why a region filter shows nothing to an official: it lies outside their regions. */
function outsideScope(region, name) {
  const mine = state.me && state.me.role === "official" ? state.me.regions : [];
  if (!region || !mine.length || mine.some((p) => region.startsWith(p) || p.startsWith(region))) return "";
  const place = name ? `${name}（${region}）` : region;
  const names = mine.map((r, i) => state.me.region_names[i] || r);
  return `地区${place}不在您的辖区（${names.join("、")}）内，名单中没有该地区的企业。 ` +
    `Region ${region} is outside your regions (${mine.join(", ")}); the list holds none of its companies.`;
}

function clearList() {
  state.list = null;
  $("ranked").tBodies[0].replaceChildren();
  for (const id of ["list-summary", "page"]) $(id).textContent = "";
  for (const id of ["districts", "date-banner"]) { $(id).replaceChildren(); $(id).hidden = true; }
  $("batch").hidden = true;
  $("pick-all").checked = false;
}

function renderRows(list) {
  const body = $("ranked").tBodies[0];
  body.replaceChildren();
  if (!list.data.length) {
    body.append(el("tr", { class: "empty" }, el("td", { colSpan: 9 },
      ...both("没有符合条件的企业。", "No company matches these filters."))));
  }
  for (const row of list.data) {
    const name = canOpen()
      ? el("a", { href: `#/company/${row.uscc}`, class: "company-link" }, row.name)
      : el("strong", {}, row.name);
    const invited = state.invited.get(row.uscc);
    const pick = el("input", { type: "checkbox", class: "pick-row", checked: state.selected.has(row.uscc), disabled: !canInvite() });
    pick.addEventListener("change", () => {
      if (pick.checked) state.selected.set(row.uscc, row.name); else state.selected.delete(row.uscc);
      renderBatch();
    });
    body.append(el("tr", { "data-uscc": row.uscc },
      el("td", { class: "pick" }, pick),
      el("td", { class: "num" }, row.rank),
      el("td", {}, name, el("br"), el("small", { class: "code" }, row.uscc),
        invited ? el("span", { class: "tag" }, `已邀请 ${invited}`) : null),
      el("td", { class: "region" }, row.region_name || row.region_code, el("br"), el("small", { class: "code" }, row.region_code)),
      el("td", {}, row.industry_name || row.industry_code, el("br"), el("small", { class: "code" }, row.industry_code)),
      el("td", {}, row.size_name || "—", el("br"), el("small", {}, row.size_class || "")),
      el("td", { class: "num score" }, pct(row.score)),
      el("td", { class: "checks" }, row.checks.map(badge)),
      el("td", { class: "reasons" }, el("ul", {}, reasonItems(row.reason_lines.slice(0, SHOWN_REASONS))),
        row.reason_lines.length > SHOWN_REASONS
          ? el("small", { class: "more" }, `另有${row.reason_lines.length - SHOWN_REASONS}条理由见企业页 ${row.reason_lines.length - SHOWN_REASONS} more on the company page`) : null,
        row.floor_check ? el("div", { class: "floor" }, row.floor_check) : null)));
  }
  const last = Math.min(list.offset + list.data.length, list.count);
  $("page").textContent = list.count ? `${list.offset + 1}–${last} / ${list.count}` : "0";
  $("prev").disabled = list.offset === 0;
  $("next").disabled = last >= list.count;
  $("pick-all").checked = list.data.length > 0 && list.data.every((r) => state.selected.has(r.uscc));
  for (const button of document.querySelectorAll("#ranked button.sort")) {
    const key = button.dataset.sort.replace(/^-/, "");
    const on = state.sort.replace(/^-/, "") === key;
    button.classList.toggle("asc", on && !state.sort.startsWith("-"));
    button.classList.toggle("desc", on && state.sort.startsWith("-"));
    button.parentElement.setAttribute("aria-sort", on ? (state.sort.startsWith("-") ? "descending" : "ascending") : "none");
  }
}

function renderSummary(list) {
  $("list-summary").replaceChildren(
    el("strong", {}, `${list.tier_zh} `), el("small", {}, list.tier), " · ",
    ...both("名单日期", "list date"), ` ${list.as_of} · `,
    el("strong", {}, `共${list.count}家`), el("small", {}, ` ${list.count} companies`), " · ",
    ...both("模型编号", "model ID"), " ", el("code", { id: "model-id" }, list.model_id), " · ",
    ...both("模型数据日期", "model's data as of"), ` ${list.model_as_of || "—"}`);
  renderDataBanner(list.not_on_file || []);
  const banner = $("date-banner");
  const model = list.model_as_of;
  banner.hidden = !model || model === list.as_of;
  if (banner.hidden) { banner.replaceChildren(); return; }
  banner.replaceChildren(list.as_of > model
    ? `名单日期 ${list.as_of} 晚于模型数据日期 ${model}：名单按该日已知的事实打分，但模型只学过 ${model} 以前的审定结果，名单会与模型日期的名单不同。 `
    : `名单日期 ${list.as_of} 早于模型数据日期 ${model}：模型学过该日以后的审定结果，回看的名单会显得比当时更准。 `,
  el("small", {}, list.as_of > model
    ? `The list date ${list.as_of} is after the model's data date ${model}: companies are scored on the facts known at the list date by a model that learned only from decisions up to ${model}.`
    : `The list date ${list.as_of} is before the model's data date ${model}: the model learned from decisions after it, so a list looked back on reads better than it would have then.`));
}

// tables the gates and thresholds read that hold no row: their checks cannot be made
function renderDataBanner(tables) {
  const banner = $("data-banner");
  banner.hidden = !tables.length;
  if (banner.hidden) { banner.replaceChildren(); return; }
  const zh = tables.map((t) => t.table_zh).join("、");
  const en = tables.map((t) => t.table).join(", ");
  banner.replaceChildren(
    `未提供的数据：${zh}。依赖这些数据的门槛显示为“未知”，资格筛查也无法据此排除企业。 `,
    el("small", {}, `Data not on file: ${en}. Thresholds on them read unknown, and gates on them exclude no one.`));
}

function renderDistricts(list) {
  const box = $("districts");
  box.hidden = !list.districts.length;
  const shown = list.districts.slice(0, 16);
  box.replaceChildren(el("span", { class: "label" }, ...both("按区县", "By district")),
    ...shown.map((d) => {
      const chip = el("button", { type: "button", class: "district", "data-region": d.region_code,
        title: `只看${d.region_name || d.region_code} Show only this district` },
      `${d.region_name || d.region_code} `, el("small", {}, d.region_code), " ", el("strong", { class: "n" }, d.count));
      chip.addEventListener("click", () => { $("f-region").value = d.region_code; submitFilters(); });
      return chip;
    }),
    list.districts.length > shown.length ? el("span", { class: "more" }, `…共${list.districts.length}个区县 ${list.districts.length} districts`) : "");
}

function renderBatch() {
  $("batch").hidden = !canInvite() || !state.list;
  const n = state.selected.size;
  $("batch-count").replaceChildren(...both(`已选${n}家`, `${n} selected`));
  $("invite-selected").disabled = n === 0;
}

async function inviteSelected() {
  const tier = $("f-tier").value;
  const chosen = [...state.selected.keys()];
  const made = [];
  for (let i = 0; i < chosen.length; i += BATCH) {
    const answer = await api("/v1/invitations", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ tier, uscc: chosen.slice(i, i + BATCH) }),
    });
    made.push(...answer.data);
  }
  const before = made.filter((m) => m.already_invited);
  for (const m of made) state.invited.set(m.uscc, m.invited_on);
  const names = before.slice(0, 3).map((m) => `${state.selected.get(m.uscc) || m.uscc}（${m.invited_on}）`).join("、");
  state.selected.clear();
  if (state.list) renderRows(state.list);
  renderBatch();
  say(`已邀请${made.length - before.length}家；${before.length}家此前已邀请，未重复登记${names ? `：${names}` : ""}。 ` +
    `Invited ${made.length - before.length}; ${before.length} already invited, not recorded twice.`, "ok");
}

function submitFilters() {
  state.offset = 0;
  if (location.hash !== "#/list") location.hash = "#/list";
  else loadList().catch((e) => say(e.message, "error"));
}

/** The file name the server gives (its Chinese RFC 5987 name when sent), else a plain one. */
function downloadName(response) {
  const header = response.headers.get("Content-Disposition") || "";
  const utf8 = /filename\*=UTF-8''([^;]+)/i.exec(header);
  if (utf8) return decodeURIComponent(utf8[1]);
  const plain = /filename="([^"]+)"/.exec(header);
  return plain ? plain[1] : `invitations-${$("f-tier").value}-${$("f-as-of").value}.xlsx`;
}

async function exportXlsx() {
  defaultDate();
  const response = await api(`/v1/exports/invitations.xlsx?${filters()}`, { raw: true });
  const blob = await response.blob();
  const link = el("a", { href: URL.createObjectURL(blob), download: downloadName(response) });
  document.body.append(link);
  link.click();
  link.remove();
  say("已导出 Exported.", "ok");
}

// -- the audit log --------------------------------------------------------------------------
async function loadAudit() {
  show("audit");
  const ticket = ++state.ticket;
  const log = await api("/v1/audit?limit=100");
  if (ticket !== state.ticket) return;
  const body = $("audit").tBodies[0];
  body.replaceChildren();
  for (const a of log.data) {
    body.append(el("tr", { "data-action": a.action },
      el("td", {}, new Date(a.at).toLocaleString("zh-CN")), el("td", {}, a.key_id), el("td", {}, a.role),
      el("td", {}, a.action), el("td", {}, `${a.method} ${a.route}`),
      el("td", { class: "params" }, JSON.stringify(a.params)), el("td", { class: "num" }, a.rows ?? "—")));
  }
}

// -- sign-in, sign-out and routing ----------------------------------------------------------
async function signedIn() {
  const me = await api("/v1/me");
  const serving = await api("/v1/invitations/serving");
  state.serving = Object.fromEntries(serving.data.map((m) => [m.tier, m]));
  state.me = me;
  const places = me.regions.map((r, i) => (me.region_names[i] ? `${me.region_names[i]}（${r}）` : r));
  const where = places.length ? ` · 辖区 regions ${places.join("、")}` : "";
  $("who").textContent = `${ROLES[me.role] || ""} ${me.role} · ${me.key_id}${where}`;
  $("nav-audit").hidden = !["official", "admin"].includes(me.role);
}

/** Forget the key and everything shown or cached for it: the next key starts from nothing. */
function signOut() {
  sessionStorage.removeItem(KEY);
  resetState();
  clearList();
  clearCompany();
  $("audit").tBodies[0].replaceChildren();
  $("who").textContent = "";
  $("filters").reset();
  say("");
  if (location.hash) history.replaceState(null, "", location.pathname);
  show("signin");
}

async function route() {
  if (!sessionStorage.getItem(KEY)) { show("signin"); return; }
  try {
    if (!state.me) await signedIn();
    say("");
    const hash = location.hash || "#/list";
    if (hash.startsWith("#/company/")) await loadCompany(decodeURIComponent(hash.slice(10)));
    else if (hash === "#/audit") await loadAudit();
    else await loadList();
  } catch (e) {
    say(e.message, "error");
  }
}

function sortBy(key) {
  const flipped = key.startsWith("-") ? key.slice(1) : `-${key}`;
  state.sort = state.sort === key ? flipped : key;
  state.offset = 0;
  loadList().catch((e) => say(e.message, "error"));
}

document.addEventListener("DOMContentLoaded", () => {
  $("signin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    signOut();
    sessionStorage.setItem(KEY, $("key").value.trim());
    $("key").value = "";
    if (location.hash !== "#/list") location.hash = "#/list"; else route();
  });
  $("sign-out").addEventListener("click", signOut);
  $("filters").addEventListener("submit", (event) => { event.preventDefault(); submitFilters(); });
  $("f-as-of").addEventListener("input", () => { state.dateTouched = true; });
  $("f-tier").addEventListener("change", () => { state.selected.clear(); renderBatch(); });
  $("export-xlsx").addEventListener("click", () => exportXlsx().catch((e) => say(e.message, "error")));
  $("print-list").addEventListener("click", () => window.print());
  $("invite-selected").addEventListener("click", () => inviteSelected().catch((e) => say(e.message, "error")));
  $("clear-selected").addEventListener("click", () => {
    state.selected.clear();
    if (state.list) renderRows(state.list);
    renderBatch();
  });
  $("pick-all").addEventListener("change", () => {
    if (!state.list || !canInvite()) return;
    for (const row of state.list.data) {
      if ($("pick-all").checked) state.selected.set(row.uscc, row.name); else state.selected.delete(row.uscc);
    }
    renderRows(state.list);
    renderBatch();
  });
  for (const button of document.querySelectorAll("#ranked button.sort")) {
    button.addEventListener("click", () => sortBy(button.dataset.sort));
  }
  $("prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE); loadList().catch((e) => say(e.message, "error")); });
  $("next").addEventListener("click", () => { state.offset += PAGE; loadList().catch((e) => say(e.message, "error")); });
  window.addEventListener("hashchange", route);
  route();
});
