// A company's page: profile, assessment per tier, invitations, evidence, and its neighbourhood.
// Uses the helpers of app.js (loaded first). Data is always written with textContent.
"use strict";

const OUTCOMES = { pending: "待反馈 pending", declined: "婉拒 declined", applied: "已申报 applied", approved: "已认定 approved", rejected: "未通过 rejected" };
const NEXT = { pending: ["declined", "applied", "approved", "rejected"], applied: ["approved", "rejected"] };
const APPLICATION_OUTCOMES = { approved: "已认定 approved", rejected: "未通过 rejected", withdrawn: "已撤回 withdrawn", pending: "审核中 pending" };
const IP_TYPES = {
  invention: "发明专利 invention", utility_model: "实用新型 utility model", design: "外观设计 design",
  software_copyright: "软件著作权 software", ic_layout: "集成电路布图 IC layout",
  plant_variety: "植物新品种 plant variety", new_drug: "新药 new drug",
};
const LEVELS = { national: "国家级 national", provincial: "省级 provincial", municipal: "市级 municipal" };
const PRIZES = { special: "特等奖", first: "一等奖", second: "二等奖", third: "三等奖" };
const INVESTORS = { gov_fund: "政府引导基金 government fund", vc: "创投 VC", pe: "私募股权 PE", corporate: "产业资本 corporate", angel: "天使 angel", other: "其他 other" };
const labelled = (name, code) => (name ? `${name}（${code}）` : code);
const wan = (x) => (x === null || x === undefined ? null : Number(x).toLocaleString("zh-CN", { maximumFractionDigits: 0 }));

function clearCompany() {
  for (const id of ["c-name", "c-profile", "c-tiers", "c-invite", "c-evidence", "c-graph", "c-legend"]) $(id).replaceChildren();
  $("c-invitations").tBodies[0].replaceChildren();
}

async function loadCompany(uscc) {
  show("company");
  clearCompany();
  say("正在读取… Loading…", "busy");
  const ticket = ++state.ticket;
  const asOf = $("f-as-of").value;
  const query = asOf ? `?as_of=${asOf}` : "";
  const [company, graph] = await Promise.all([
    api(`/v1/companies/${encodeURIComponent(uscc)}${query}`),
    api(`/v1/companies/${encodeURIComponent(uscc)}/graph${query}`),
  ]);
  if (ticket !== state.ticket) return; // a newer request (or a sign-out) came meanwhile
  say("");
  const p = company.profile;
  $("c-name").replaceChildren(`${p.name} `, el("small", { class: "code" }, p.uscc));
  const niche = p.niche_since
    ? `${p.niche_since}（约${((new Date(company.as_of) - new Date(p.niche_since)) / 3.15576e10).toFixed(1)}年）` : null;
  $("c-profile").replaceChildren(...[
    ["地区", "Region", labelled(p.region_name, p.region_code)],
    ["行业", "Industry", labelled(p.industry_name, p.industry_code)],
    ["规模", "Size", p.size_name ? `${p.size_name} ${p.size_class}` : null],
    ["成立日期", "Established", p.established_on],
    ["从事细分市场起", "In its niche since", niche],
    ["主导产品", "Main product", p.main_product],
    ["基准日", "As of", company.as_of],
  ].flatMap(([zh, en, value]) => [el("dt", {}, ...both(zh, en)), el("dd", {}, value ?? "—")]));
  renderTiers(company);
  renderInvite(company);
  renderInvitations(company.invitations);
  renderEvidence(company.evidence);
  drawGraph($("c-graph"), graph);
}

function renderTiers(company) {
  $("c-tiers").replaceChildren(...company.tiers.map((t) => {
    const card = el("article", { class: "tier", "data-tier": t.tier }, el("h3", {}, ...both(t.tier_zh, t.tier)));
    if (!t.eligible) {
      card.append(el("p", { class: "gated" }, "不在候选范围 Not a candidate: ", t.gate_reasons.join("；")));
      return card;
    }
    const rank = t.rank ? `名次 rank ${t.rank} · ` : "未列入名单 not listed · ";
    card.append(
      el("p", { class: "score" }, rank, ...both("预计通过概率", "score"), " ", el("strong", {}, pct(t.score)),
        t.invitable ? "" : " · 有未达标项，不邀请 misses a threshold, not invited"),
      el("div", { class: "checks" }, t.checks.map(badge)),
      el("ul", { class: "reasons" }, reasonItems(t.reason_lines)));
    return card;
  }));
}

function renderInvite(company) {
  const box = $("c-invite");
  box.replaceChildren();
  if (!canInvite()) return;
  for (const t of company.tiers.filter((x) => x.eligible)) {
    const open = company.invitations.find((i) => i.tier === t.tier && OPEN.includes(i.outcome));
    const button = el("button", { type: "button", class: "invite", "data-tier": t.tier, disabled: Boolean(open) },
      ...(open ? both(`已邀请（${open.invited_on}）`, `Already invited for ${t.tier}`) : both(`邀请申报${TIERS[t.tier]}`, `Invite (${t.tier})`)));
    button.addEventListener("click", () => invite(company, t.tier).catch((e) => say(e.message, "error")));
    box.append(button);
  }
}

async function invite(company, tier) {
  const answer = await api("/v1/invitations", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ tier, uscc: [company.profile.uscc] }),
  });
  const made = answer.data[0];
  const text = made.already_invited
    ? `已于${made.invited_on}邀请过，未重复登记 Already invited on ${made.invited_on}; not recorded twice.`
    : `已登记邀请 ${made.invitation_id} Invitation recorded.`;
  await loadCompany(company.profile.uscc);
  say(text, "ok");
}

function renderInvitations(rows) {
  const body = $("c-invitations").tBodies[0];
  body.replaceChildren();
  for (const inv of rows) {
    const cell = el("td");
    const choices = NEXT[inv.outcome] || [];
    if (choices.length && role() !== "analyst") {
      const select = el("select", { class: "outcome" }, choices.map((o) => el("option", { value: o }, OUTCOMES[o])));
      const button = el("button", { type: "button", class: "record-outcome" }, ...both("登记", "Record"));
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

function table(id, title, columns, rows, note) {
  const head = el("tr", {}, columns.map(([zh, en]) => el("th", {}, ...both(zh, en))));
  const body = rows.map((r) => el("tr", {}, columns.map(([, , get, cls]) => el("td", { class: cls || "" }, get(r) ?? "—"))));
  return el("div", { class: "evidence-block", id }, el("h4", {}, ...title),
    note ? el("p", { class: "hint" }, note) : null,
    rows.length ? el("table", { class: "grid" }, el("thead", {}, head), el("tbody", {}, body)) : el("p", { class: "hint" }, "无 none"));
}

function renderEvidence(ev) {
  const party = [["企业", "Company", (r) => (r.outside_region ? "区外企业" : r.name)], ["自", "Since", (r) => r.since], ["金额(万元)", "Amount", (r) => wan(r.amount_wan), "num"]];
  const ip = ev.patents;
  const share = (f) => (f.revenue_wan && f.rd_expense_wan !== null ? `${((100 * f.rd_expense_wan) / f.revenue_wan).toFixed(1)}%` : null);
  $("c-evidence").replaceChildren(
    table("ev-financials", both("财务（按年度）", "Financials by year"), [
      ["年度", "Year", (f) => f.year], ["营业收入(万元)", "Revenue", (f) => wan(f.revenue_wan), "num"],
      ["研发费用(万元)", "R&D", (f) => wan(f.rd_expense_wan), "num"], ["研发占比", "R&D share", share, "num"],
      ["净利润(万元)", "Net profit", (f) => wan(f.net_profit_wan), "num"], ["员工", "Staff", (f) => f.employees, "num"],
      ["研发人员", "R&D staff", (f) => f.rd_staff, "num"], ["报送日", "Reported", (f) => f.reported_on]], ev.financials),
    table("ev-applications", both("历次申报", "Past applications"), [
      ["层级", "Tier", (a) => TIERS[a.tier] || a.tier], ["申报日", "Applied", (a) => a.applied_on],
      ["决定日", "Decided", (a) => a.decided_on], ["结果", "Outcome", (a) => APPLICATION_OUTCOMES[a.outcome] || a.outcome]], ev.applications),
    table("ev-certifications", both("已获认定", "Certifications"), [
      ["层级", "Tier", (r) => TIERS[r.tier] || r.tier], ["认定日", "Certified", (r) => r.certified_on],
      ["到期", "Expires", (r) => r.expires_on], ["撤销", "Revoked", (r) => r.revoked_on]], ev.certifications),
    table("ev-patents", both(`知识产权（共${ip.total}项）`, `IP rights (${ip.total})`), [
      ["编号", "Number", (r) => r.ip_id], ["类型", "Type", (r) => IP_TYPES[r.ip_type] || r.ip_type],
      ["申请日", "Filed", (r) => r.filed_on], ["授权日", "Granted", (r) => r.granted_on],
      ["自主申请", "Own filing", (r) => (r.self_filed === null ? null : r.self_filed ? "是 yes" : "否 no")],
      ["申请人排名", "Applicant rank", (r) => r.applicant_rank, "num"], ["失效", "Lapsed", (r) => r.lapsed_on]],
    ev.patent_items,
    `I类 class I ${ip.class_one}（授权 granted ${ip.class_one_granted}）；自主申请且排名前三 self-filed, top-3 applicant ${ip.class_one_self_top3}；失效 lapsed ${ip.lapsed}` +
      (ip.total > ev.patent_items.length ? `；显示最近${ev.patent_items.length}项 the latest ${ev.patent_items.length} shown` : "")),
    table("ev-customers", both(`客户（${ev.customers_total}）`, "Customers"), party, ev.customers),
    table("ev-suppliers", both(`供应商（${ev.suppliers_total}）`, "Suppliers"), party, ev.suppliers),
    table("ev-investors", both("投资方", "Investors"), [
      ["投资方", "Investor", (r) => (r.outside_region ? "区外企业" : r.name)], ["类型", "Type", (r) => INVESTORS[r.investor_type] || r.investor_type],
      ["日期", "Date", (r) => r.invested_on], ["金额(万元)", "Amount", (r) => wan(r.amount_wan), "num"]], ev.investors),
    table("ev-awards", both("奖项", "Awards"), [
      ["奖项", "Award", (r) => `${r.name}${r.prize ? ` ${PRIZES[r.prize] || r.prize}` : ""}`],
      ["级别", "Level", (r) => LEVELS[r.level] || r.level], ["日期", "Date", (r) => r.awarded_on]], ev.awards),
    table("ev-talents", both("人才", "Talents"), [
      ["项目", "Programme", (r) => r.program], ["级别", "Level", (r) => LEVELS[r.level] || r.level],
      ["加入", "Joined", (r) => r.joined_on]], ev.talents));
}

// -- the neighbourhood: suppliers and investors left, the company centre, customers right -----
const SVG = "http://www.w3.org/2000/svg";
const GRAPH = { w: 760, step: 22, top: 40, left: 210, right: 550, chars: 12 };
const KINDS = [
  ["t-little_giant", '专精特新"小巨人"', "little giant"], ["t-specialized_sme", "专精特新中小企业", "specialized SME"],
  ["t-innovative_sme", "科技型/创新型中小企业", "tech or innovative SME"], ["t-none", "其他企业", "other company"],
  ["outside", "区外企业", "outside your region"], ["investor", "投资方", "investor"],
];

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function nodeClass(n) {
  if (n.kind === "investor") return n.outside_region ? "investor outside" : "investor";
  if (n.outside_region) return "outside";
  const tier = n.tier === "tech_sme" ? "innovative_sme" : n.tier || "none";
  return `t-${tier}`;
}

const shortLabel = (n) => {
  const text = n.outside_region ? "区外企业" : n.label;
  return text.length > GRAPH.chars ? `${text.slice(0, GRAPH.chars - 1)}…` : text;
};

function drawGraph(root, graph) {
  root.replaceChildren();
  const center = graph.nodes.find((n) => n.center);
  const side = {};
  for (const e of graph.edges) {
    if (e.kind === "supplies" && e.source === center.id) side[e.target] ??= "right";
    else side[e.source] ??= e.kind === "invested_in" ? "investor" : "left";
  }
  const others = graph.nodes.filter((n) => !n.center);
  const left = others.filter((n) => side[n.id] === "left").concat(others.filter((n) => side[n.id] === "investor"));
  const right = others.filter((n) => side[n.id] === "right");
  const h = Math.max(240, GRAPH.top * 2 + GRAPH.step * Math.max(left.length, right.length, 1));
  root.setAttribute("viewBox", `0 0 ${GRAPH.w} ${h}`);
  const pos = { [center.id]: [GRAPH.w / 2, h / 2] };
  const column = (nodes, x) => nodes.forEach((n, i) => {
    pos[n.id] = [x, h / 2 + (i - (nodes.length - 1) / 2) * GRAPH.step];
  });
  column(left, GRAPH.left);
  column(right, GRAPH.right);
  const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "16", refY: "5", markerWidth: "6", markerHeight: "6", orient: "auto-start-reverse" });
  marker.append(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrow" }));
  root.append(svg("defs", {}), svg("text", { x: GRAPH.left, y: 18, class: "heading", "text-anchor": "middle" }, "供应商 · 投资方 suppliers · investors"),
    svg("text", { x: GRAPH.right, y: 18, class: "heading", "text-anchor": "middle" }, "客户 customers"));
  root.firstChild.append(marker);
  for (const e of graph.edges) {
    const [x1, y1] = pos[e.source];
    const [x2, y2] = pos[e.target];
    const line = svg("line", { x1, y1, x2, y2, class: `edge ${e.kind}`, "marker-end": "url(#arrow)" });
    line.append(svg("title", {}, `${e.kind === "supplies" ? "供货 supplies" : "投资 invests"} ${e.since || ""}${e.amount_wan ? ` · ${wan(e.amount_wan)}万元` : ""}`));
    root.append(line);
  }
  for (const n of graph.nodes) {
    const [x, y] = pos[n.id];
    const g = svg("g", { class: `node ${nodeClass(n)}${n.center ? " center" : ""}`, transform: `translate(${x},${y})`, "data-id": n.id });
    g.append(n.kind === "investor" ? svg("rect", { x: -6, y: -6, width: 12, height: 12 }) : svg("circle", { r: n.center ? 13 : 7 }));
    const onLeft = !n.center && x < GRAPH.w / 2;
    const label = n.center
      ? svg("text", { x: 0, y: 30, "text-anchor": "middle", class: "label" }, n.label)
      : svg("text", { x: onLeft ? -12 : 12, y: 4, "text-anchor": onLeft ? "end" : "start", class: "label" }, shortLabel(n));
    const tier = n.tier && n.tier !== "none" ? ` · ${TIERS[n.tier]}` : "";
    g.append(svg("title", {}, `${n.label}${n.uscc ? ` ${n.uscc}` : ""}${tier}`), label);
    if (n.uscc && !n.center && canOpen()) {
      g.classList.add("clickable");
      g.addEventListener("click", () => { location.hash = `#/company/${n.uscc}`; });
    }
    root.append(g);
  }
  const notes = [];
  if (!others.length) notes.push("无在册供应链或投资关系 no supply or investment links on file");
  if (graph.truncated) notes.push("仅显示部分邻居 some neighbours are not shown");
  notes.forEach((t, i) => root.append(svg("text", { x: 10, y: h - 10 - 16 * i, class: "note" }, t)));
  $("c-legend").replaceChildren(...KINDS.map(([cls, zh, en]) => el("span", { class: "key" },
    el("span", { class: `dot ${cls}` }), ...both(zh, en))),
  el("span", { class: "key" }, ...both("— 实线 供货", "solid: supplies")), el("span", { class: "key" }, ...both("- - 虚线 投资", "dashed: invests")));
}
