// The officials' page: sign in with a key, the ranked list, a company, invitations, the audit log.
// Plain JavaScript, nothing loaded from elsewhere. Data is always written with textContent.
"use strict";

const KEY = "discovery.key";
const PAGE = 50;
const TIERS = {
  tech_sme: "科技型中小企业", innovative_sme: "创新型中小企业",
  specialized_sme: "专精特新中小企业", little_giant: '专精特新"小巨人"',
};
const OUTCOMES = { pending: "待反馈 pending", declined: "婉拒 declined", applied: "已申报 applied", approved: "已认定 approved", rejected: "未通过 rejected" };
const NEXT = { pending: ["declined", "applied", "approved", "rejected"], applied: ["approved", "rejected"] };
const state = { me: null, offset: 0, ticket: 0 };

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function say(text, kind) {
  const box = $("message");
  box.textContent = text || "";
  box.className = kind || "";
  box.hidden = !text;
}

async function api(path, options = {}) {
  const key = sessionStorage.getItem(KEY);
  const headers = Object.assign({ Authorization: `Bearer ${key}` }, options.headers || {});
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (response.status === 401) {
    sessionStorage.removeItem(KEY);
    show("signin");
    throw new Error("请重新登录 Please sign in again.");
  }
  if (!response.ok) {
    let detail = response.statusText;
    try {
      const body = await response.json();
      detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
    } catch (_) { /* not JSON */ }
    throw new Error(`${response.status}: ${detail}`);
  }
  return options.raw ? response : response.json();
}

function show(view) {
  for (const name of ["signin", "list", "company", "audit"]) $(`${name}-view`).hidden = name !== view;
  $("nav").hidden = view === "signin";
}

function filters() {
  const params = new URLSearchParams();
  params.set("tier", $("f-tier").value);
  for (const [id, name] of [["f-region", "region"], ["f-industry", "industry"], ["f-min-score", "min_score"], ["f-as-of", "as_of"]]) {
    const value = $(id).value.trim();
    if (value) params.set(name, value);
  }
  return params;
}

function badge(check) {
  return el("span", { class: `badge ${check.status}`, title: `${check.label_zh} ${check.label_en}` }, check.text);
}

// -- the ranked list ------------------------------------------------------------------------
async function loadList() {
  show("list");
  const params = filters();
  params.set("limit", PAGE);
  params.set("offset", state.offset);
  say("正在计算名单… Ranking…", "busy");
  const ticket = ++state.ticket;
  const list = await api(`/v1/invitations?${params}`);
  if (ticket !== state.ticket) return; // a newer request was sent meanwhile
  say("");
  const body = $("ranked").tBodies[0];
  body.replaceChildren();
  for (const row of list.data) {
    const link = el("a", { href: `#/company/${row.uscc}`, class: "company-link" }, row.name);
    body.append(el("tr", { "data-uscc": row.uscc },
      el("td", {}, row.rank),
      el("td", {}, link, el("br"), el("small", {}, row.uscc)),
      el("td", {}, row.region_code),
      el("td", {}, row.industry_code),
      el("td", { class: "num" }, row.score.toFixed(3)),
      el("td", {}, row.checks.map(badge)),
      el("td", { class: "reasons" }, row.reasons.slice(0, 2).join("；"),
        row.floor_check ? el("div", { class: "floor" }, row.floor_check) : null)));
  }
  const last = Math.min(list.offset + list.data.length, list.count);
  $("list-summary").textContent =
    `${list.tier_zh} ${list.tier} · 基准日 as of ${list.as_of} · 共${list.count}家 ${list.count} companies · 模型 model ${list.model_id}`;
  $("page").textContent = list.count ? `${list.offset + 1}–${last} / ${list.count}` : "0";
  $("prev").disabled = list.offset === 0;
  $("next").disabled = last >= list.count;
}

async function exportXlsx() {
  const response = await api(`/v1/exports/invitations.xlsx?${filters()}`, { raw: true });
  const blob = await response.blob();
  const link = el("a", { href: URL.createObjectURL(blob), download: `invitations-${$("f-tier").value}.xlsx` });
  document.body.append(link);
  link.click();
  link.remove();
  say("已导出 Exported.", "ok");
}

// -- a company ------------------------------------------------------------------------------
async function loadCompany(uscc) {
  show("company");
  say("正在读取… Loading…", "busy");
  const ticket = ++state.ticket;
  const asOf = $("f-as-of").value;
  const query = asOf ? `?as_of=${asOf}` : "";
  const [company, graph] = await Promise.all([
    api(`/v1/companies/${encodeURIComponent(uscc)}${query}`),
    api(`/v1/companies/${encodeURIComponent(uscc)}/graph${query}`),
  ]);
  if (ticket !== state.ticket) return;
  say("");
  const p = company.profile;
  $("c-name").textContent = `${p.name} · ${p.uscc}`;
  const profile = $("c-profile");
  profile.replaceChildren();
  for (const [zh, en, value] of [
    ["地区", "Region", p.region_code], ["行业", "Industry", p.industry_code],
    ["成立日期", "Established", p.established_on], ["规模", "Size", p.size_class],
    ["主导产品", "Main product", p.main_product], ["基准日", "As of", company.as_of],
  ]) profile.append(el("dt", {}, `${zh} `, el("small", {}, en)), el("dd", {}, value ?? "—"));
  renderTiers(company);
  renderInvite(company);
  renderInvitations(company.invitations);
  renderEvidence(company.evidence);
  drawGraph($("c-graph"), graph);
}

function renderTiers(company) {
  const box = $("c-tiers");
  box.replaceChildren();
  for (const t of company.tiers) {
    const card = el("article", { class: "tier", "data-tier": t.tier });
    card.append(el("h3", {}, `${t.tier_zh} `, el("small", {}, t.tier)));
    if (!t.eligible) {
      card.append(el("p", { class: "gated" }, "不在候选范围 Not a candidate: ", t.gate_reasons.join("；")));
    } else {
      const rank = t.rank ? `名次 rank ${t.rank} · ` : "未列入名单 not listed · ";
      card.append(el("p", { class: "score" }, rank, "预计通过概率 score ",
        el("strong", {}, t.score === null ? "—" : t.score.toFixed(3)),
        t.invitable ? "" : " · 有未达标项，不邀请 misses a threshold, not invited"));
      card.append(el("ul", { class: "checks" }, t.checks.map((c) =>
        el("li", {}, badge(c), ` ${c.label_zh} `, el("small", {}, c.label_en)))));
      card.append(el("ul", { class: "reasons" }, t.reasons.map((r) => el("li", {}, r))));
    }
    box.append(card);
  }
}

function renderInvite(company) {
  const box = $("c-invite");
  box.replaceChildren();
  const role = state.me && state.me.role;
  if (role !== "official" && role !== "admin") return;
  for (const t of company.tiers.filter((x) => x.eligible)) {
    const button = el("button", { type: "button", class: "invite", "data-tier": t.tier },
      `邀请申报${TIERS[t.tier]} `, el("small", {}, `Invite (${t.tier})`));
    button.addEventListener("click", async () => {
      try {
        await api("/v1/invitations", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ tier: t.tier, uscc: [company.profile.uscc] }),
        });
        say("已登记邀请 Invitation recorded.", "ok");
        await loadCompany(company.profile.uscc);
        say("已登记邀请 Invitation recorded.", "ok");
      } catch (e) { say(e.message, "error"); }
    });
    box.append(button);
  }
}

function renderInvitations(rows) {
  const body = $("c-invitations").tBodies[0];
  body.replaceChildren();
  for (const inv of rows) {
    const cell = el("td");
    const choices = NEXT[inv.outcome] || [];
    const role = state.me && state.me.role;
    if (choices.length && role !== "analyst") {
      const select = el("select", { class: "outcome" }, choices.map((o) => el("option", { value: o }, OUTCOMES[o])));
      const button = el("button", { type: "button", class: "record-outcome" }, "登记 ", el("small", {}, "Record"));
      button.addEventListener("click", async () => {
        try {
          await api(`/v1/invitations/${encodeURIComponent(inv.invitation_id)}/outcome`, {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ outcome: select.value }),
          });
          await loadCompany(inv.uscc);
          say("已登记结果 Outcome recorded.", "ok");
        } catch (e) { say(e.message, "error"); }
      });
      cell.append(select, button);
    }
    body.append(el("tr", { "data-invitation": inv.invitation_id },
      el("td", {}, inv.invitation_id), el("td", {}, TIERS[inv.tier] || inv.tier),
      el("td", {}, inv.invited_on), el("td", { class: "outcome-text" }, OUTCOMES[inv.outcome] || inv.outcome), cell));
  }
}

function table(title, columns, rows) {
  const head = el("tr", {}, columns.map(([zh, en]) => el("th", {}, `${zh} `, el("small", {}, en))));
  const body = rows.map((r) => el("tr", {}, columns.map(([, , get]) => el("td", {}, get(r) ?? "—"))));
  return el("div", { class: "evidence-block" }, el("h4", {}, title),
    rows.length ? el("table", { class: "grid" }, el("thead", {}, head), el("tbody", {}, body)) : el("p", {}, "无 none"));
}

function renderEvidence(ev) {
  const party = [["企业", "Company", (r) => r.name], ["自", "Since", (r) => r.since], ["金额(万元)", "Amount", (r) => r.amount_wan]];
  const ip = ev.patents;
  $("c-evidence").replaceChildren(
    table(`客户 Customers (${ev.customers_total})`, party, ev.customers),
    table(`供应商 Suppliers (${ev.suppliers_total})`, party, ev.suppliers),
    table("投资方 Investors", [["投资方", "Investor", (r) => r.name], ["类型", "Type", (r) => r.investor_type], ["日期", "Date", (r) => r.invested_on], ["金额(万元)", "Amount", (r) => r.amount_wan]], ev.investors),
    table("奖项 Awards", [["奖项", "Award", (r) => r.name], ["级别", "Level", (r) => r.level], ["日期", "Date", (r) => r.awarded_on]], ev.awards),
    table("人才 Talents", [["项目", "Programme", (r) => r.program], ["级别", "Level", (r) => r.level], ["加入", "Joined", (r) => r.joined_on]], ev.talents),
    table("已获认定 Certifications", [["层级", "Tier", (r) => TIERS[r.tier] || r.tier], ["认定日", "Certified", (r) => r.certified_on], ["到期", "Expires", (r) => r.expires_on]], ev.certifications),
    el("div", { class: "evidence-block" }, el("h4", {}, "知识产权 IP"),
      el("p", {}, `共${ip.total}项 total ${ip.total}; I类 class I ${ip.class_one} (授权 granted ${ip.class_one_granted}); 自主申请前三 self-filed top-3 ${ip.class_one_self_top3}`)));
}

// -- the neighbourhood drawing: the company in the centre, neighbours on a circle -------------
const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

function drawGraph(root, graph) {
  root.replaceChildren();
  const w = 640, h = 480, cx = w / 2, cy = h / 2;
  const others = graph.nodes.filter((n) => !n.center);
  const pos = {};
  for (const n of graph.nodes) if (n.center) pos[n.id] = [cx, cy];
  const radius = Math.min(w, h) / 2 - 60;
  others.forEach((n, i) => {
    const a = (2 * Math.PI * i) / Math.max(others.length, 1) - Math.PI / 2;
    pos[n.id] = [cx + radius * Math.cos(a), cy + radius * Math.sin(a)];
  });
  const defs = svg("defs", {});
  const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "18", refY: "5", markerWidth: "6", markerHeight: "6", orient: "auto-start-reverse" });
  marker.append(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrow" }));
  defs.append(marker);
  root.append(defs);
  for (const e of graph.edges) {
    const [x1, y1] = pos[e.source] || [cx, cy];
    const [x2, y2] = pos[e.target] || [cx, cy];
    const line = svg("line", { x1, y1, x2, y2, class: `edge ${e.kind}`, "marker-end": "url(#arrow)" });
    const tip = svg("title", {});
    tip.textContent = `${e.kind === "supplies" ? "供货 supplies" : "投资 invests"} ${e.since || ""}${e.amount_wan ? ` · ${e.amount_wan}万元` : ""}`;
    line.append(tip);
    root.append(line);
  }
  for (const n of graph.nodes) {
    const [x, y] = pos[n.id];
    const kind = n.center ? "center" : n.outside_region ? "outside" : n.kind;
    const g = svg("g", { class: `node ${kind}`, transform: `translate(${x},${y})` });
    g.append(svg("circle", { r: n.center ? 14 : 8 }));
    const label = svg("text", { x: 0, y: n.center ? 30 : 20, "text-anchor": "middle" });
    label.textContent = n.label.length > 14 ? `${n.label.slice(0, 13)}…` : n.label;
    const tip = svg("title", {});
    tip.textContent = n.uscc ? `${n.label} ${n.uscc}` : n.label;
    g.append(tip, label);
    if (n.uscc && !n.center) {
      g.classList.add("clickable");
      g.addEventListener("click", () => { location.hash = `#/company/${n.uscc}`; });
    }
    root.append(g);
  }
  if (graph.truncated) {
    const note = svg("text", { x: 10, y: h - 10, class: "note" });
    note.textContent = "仅显示部分邻居 some neighbours are not shown";
    root.append(note);
  }
}

// -- the audit log --------------------------------------------------------------------------
async function loadAudit() {
  show("audit");
  state.ticket++;
  const log = await api("/v1/audit?limit=100");
  const body = $("audit").tBodies[0];
  body.replaceChildren();
  for (const a of log.data) {
    body.append(el("tr", { "data-action": a.action },
      el("td", {}, new Date(a.at).toLocaleString("zh-CN")), el("td", {}, a.key_id), el("td", {}, a.role),
      el("td", {}, a.action), el("td", {}, `${a.method} ${a.route}`),
      el("td", { class: "params" }, JSON.stringify(a.params)), el("td", { class: "num" }, a.rows ?? "—")));
  }
}

// -- routing and sign-in --------------------------------------------------------------------
async function route() {
  if (!sessionStorage.getItem(KEY)) { show("signin"); return; }
  try {
    if (!state.me) {
      state.me = await api("/v1/me");
      const where = state.me.regions.length ? ` · 地区 regions ${state.me.regions.join(",")}` : "";
      $("who").textContent = `${state.me.role} ${state.me.key_id}${where}`;
      $("nav-audit").hidden = !["official", "admin"].includes(state.me.role);
    }
    say("");
    const hash = location.hash || "#/list";
    if (hash.startsWith("#/company/")) await loadCompany(decodeURIComponent(hash.slice(10)));
    else if (hash === "#/audit") await loadAudit();
    else await loadList();
  } catch (e) {
    say(e.message, "error");
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("signin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY, $("key").value.trim());
    $("key").value = "";
    state.me = null;
    say("");
    if (location.hash !== "#/list") location.hash = "#/list"; else route();
  });
  $("sign-out").addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    state.me = null;
    show("signin");
  });
  $("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    state.offset = 0;
    if (location.hash !== "#/list") location.hash = "#/list"; else loadList().catch((e) => say(e.message, "error"));
  });
  $("export-xlsx").addEventListener("click", () => exportXlsx().catch((e) => say(e.message, "error")));
  $("prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE); loadList().catch((e) => say(e.message, "error")); });
  $("next").addEventListener("click", () => { state.offset += PAGE; loadList().catch((e) => say(e.message, "error")); });
  window.addEventListener("hashchange", route);
  route();
});
