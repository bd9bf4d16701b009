"""The officials' page in a real headless Chromium: sign in, filter, search, sort, invite, audit.

Debian's Chromium at /usr/bin/chromium is required (scripts/test.sh installs it);
without it this test fails rather than skips. Screenshots go to the test's
temporary directory, and also to `$DISCOVERY_SCREENSHOTS` when set.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

from api import views
from discovery.names import region_name
from discovery.scope import OUTSIDE_LABEL
from tests.api.conftest import AS_OF, LiveServer, Served

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SLOW = 120_000  # ms: the first list at a new date ranks every company
ROWS = "#ranked tbody tr[data-uscc]"
BADGE = re.compile(r"^\S+ (达标|未达标|未知)")
#: A4 landscape less 10 mm margins, in CSS pixels
A4_WIDTH = round((297 - 20) / 25.4 * 96)


class QuietServer(LiveServer):
    """The session's app in uvicorn without its lifespan (the app is shared with other tests)."""

    def __init__(self, served: Served) -> None:
        super().__init__(served.app)
        config = uvicorn.Config(
            served.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[BrowserContext]:
    if not CHROMIUM.exists():
        pytest.fail(
            "Chromium is not installed at /usr/bin/chromium; "
            "run scripts/test.sh (it installs chromium and fonts-noto-cjk)."
        )
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            args=ARGS,
            headless=True,
            viewport={"width": 1400, "height": 1000},
            locale="zh-CN",
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def live(served: Served) -> Iterator[QuietServer]:
    with QuietServer(served) as server:
        yield server


def watched(browser: BrowserContext, server: LiveServer, problems: list[str]) -> Page:
    """A page whose script errors and requests outside the service are collected.

    Chromium logs every refused request as a console error; the refusals a test
    provokes on purpose (401, 403) are the page's business to explain, not errors.
    """
    page = browser.new_page()
    expected = re.compile(r"status of 40[13]")

    def console(message: object) -> None:
        text = message.text  # type: ignore[attr-defined]
        if message.type == "error" and not expected.search(text):  # type: ignore[attr-defined]
            problems.append(text)

    page.on("console", console)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on(
        "request",
        lambda r: None if r.url.startswith(server.url) else problems.append(f"external {r.url}"),
    )
    page.goto(server.url + "/")
    return page


def shoot(page: Page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    keep = os.environ.get("DISCOVERY_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)
    return path


def sign_in(page: Page, key: str) -> None:
    page.fill("#key", key)
    page.click("#signin")


def settled(page: Page, timeout: float = SLOW) -> None:
    """Wait until the page is no longer loading (its message loses the `busy` class)."""
    expect(page.locator("#message")).not_to_have_class(re.compile("busy"), timeout=timeout)


def column(page: Page, selector: str) -> list[str]:
    return page.locator(f"{ROWS} {selector}").all_inner_texts()


def fresh_companies(served: Served, page: Page, n: int) -> list[str]:
    """`n` listed companies nobody has invited yet."""
    out = []
    for uscc in page.locator(ROWS).evaluate_all("rows => rows.map(r => r.dataset.uscc)"):
        sent = served.client.get(
            "/v1/invitations/records", params={"uscc": uscc}, headers=served.headers("official")
        )
        if sent.json()["count"] == 0:
            out.append(uscc)
        if len(out) == n:
            return out
    raise AssertionError(f"fewer than {n} uninvited companies on the page")


OVERLAPS = """svg => {
  const frame = svg.getBoundingClientRect();
  const boxes = [...svg.querySelectorAll("g.node text")].map((t) => t.getBoundingClientRect());
  let overlaps = 0, outside = 0;
  boxes.forEach((a, i) => {
    if (a.left < frame.left - 1 || a.right > frame.right + 1) outside += 1;
    boxes.slice(i + 1).forEach((b) => {
      if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1) overlaps += 1;
    });
  });
  return { labels: boxes.length, overlaps, outside };
}"""


def test_an_official_signs_in_reads_the_list_opens_a_company_invites_and_audits(
    served: Served, live: QuietServer, browser: BrowserContext, tmp_path: Path
) -> None:
    problems: list[str] = []
    page = watched(browser, live, problems)
    expect(page.locator("#signin-view")).to_be_visible()
    sign_in(page, served.keys["official"])
    expect(page.locator("#list-view")).to_be_visible()
    expect(page.locator("#who")).to_contain_text(served.city)
    expect(page.locator("#who")).to_contain_text(region_name(served.city))

    # the date defaults to the serving model's data date: no banner, the model ID labelled apart
    expect(page.locator("#f-as-of")).to_have_value(AS_OF.isoformat(), timeout=SLOW)
    expect(page.locator(ROWS).first).to_be_visible(timeout=SLOW)
    expect(page.locator("#date-banner")).to_be_hidden()
    summary = page.locator("#list-summary")
    expect(summary).to_contain_text(f"模型数据日期 model's data as of {AS_OF.isoformat()}")
    expect(summary).to_contain_text("模型编号 model ID specialized_sme-")

    # the workbook downloads under the server's name: tier (in Chinese) and the list's date
    with page.expect_download(timeout=SLOW) as download:
        page.click("#export-xlsx")
    name = download.value.suggested_filename
    assert name == f"邀请名单-专精特新中小企业-{AS_OF.isoformat()}.xlsx", name

    # names first, codes beside; scores as percentages, best first
    codes = column(page, "td.region small.code")
    assert codes and all(c.startswith(served.city) for c in codes)
    names = column(page, "td.region")
    assert all(not n[0].isdigit() for n in names), names[:3]
    scores = [int(s.rstrip("%")) for s in column(page, "td.score")]
    assert all(re.fullmatch(r"\d+%", s) for s in column(page, "td.score"))
    assert scores == sorted(scores, reverse=True)

    # badges name their threshold; reasons once each, masked companies said once
    badges = page.locator(f"{ROWS} .badge").all_inner_texts()
    assert badges and all(BADGE.match(b) for b in badges), badges[:5]
    revenue = page.locator(f"{ROWS} .badge[data-check='ss_revenue']").first.inner_text()
    assert revenue.startswith("营收 ")
    assert all(OUTSIDE_LABEL not in cell for cell in column(page, "td.reasons"))
    assert all(zh.count("区外企业") <= 1 for zh in column(page, "li.reason .zh"))
    assert all(en.count("outside your region") <= 1 for en in column(page, "li.reason .en"))
    first_reason = page.locator(f"{ROWS} td.reasons li.reason").first
    expect(first_reason.locator(".zh")).to_be_visible()
    expect(first_reason.locator("small.en")).to_be_visible()
    shoot(page, tmp_path, "list")

    # a company: names, evidence by year and by right, the graph coloured by tier
    uscc = page.locator(ROWS).first.get_attribute("data-uscc")
    assert uscc
    page.locator(f"{ROWS} a.company-link").first.click()
    expect(page.locator("#c-name")).to_contain_text(uscc, timeout=SLOW)
    expect(page.locator("#c-tiers article.tier")).to_have_count(2)
    expect(page.locator("#c-profile")).to_contain_text(f"（{codes[0][:4]}")
    expect(page.locator("#c-profile")).to_contain_text("从事细分市场起")
    expect(page.locator("#ev-financials tbody tr").first).to_be_visible()
    expect(page.locator("#ev-applications")).to_be_visible()
    assert page.locator("#ev-patents tbody tr").count() >= 1
    expect(page.locator("#c-graph g.node.center")).to_have_count(1)
    classes = page.locator("#c-graph g.node").evaluate_all(
        "nodes => nodes.map(n => n.getAttribute('class'))"
    )
    assert len(classes) >= 2
    assert all(re.search(r"\b(t-\w+|outside|investor)\b", c) for c in classes), classes
    expect(page.locator("#c-legend .key")).to_have_count(8)
    drawn = page.locator("#c-graph").evaluate(OVERLAPS)
    assert drawn["labels"] == len(classes) and drawn["overlaps"] == 0 and drawn["outside"] == 0

    # invite it: recorded once, then the button says when it was invited
    page.click("#c-invite button.invite[data-tier='specialized_sme']")
    expect(page.locator("#message")).to_contain_text("已登记邀请", timeout=SLOW)
    expect(page.locator("#c-invitations tbody tr").first).to_contain_text("专精特新中小企业")
    again = page.locator("#c-invite button.invite[data-tier='specialized_sme']")
    expect(again).to_be_disabled()
    expect(again).to_contain_text("已邀请（")
    shoot(page, tmp_path, "company")

    # the audit log shows the invitation
    page.click("#nav-audit")
    expect(page.locator("#audit-view")).to_be_visible()
    invite_row = page.locator("#audit tbody tr[data-action='invite']").first
    expect(invite_row).to_be_visible()
    expect(invite_row).to_contain_text(uscc)
    expect(page.locator("#audit tbody tr[data-action='list']").first).to_be_visible()
    shoot(page, tmp_path, "audit")
    assert not problems, problems


def test_search_sort_districts_batch_invite_date_banner_and_print(
    served: Served, live: QuietServer, browser: BrowserContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    problems: list[str] = []
    page = watched(browser, live, problems)
    sign_in(page, served.keys["official"])
    expect(page.locator(ROWS).first).to_be_visible(timeout=SLOW)
    settled(page)
    total = int(page.locator("#page").inner_text().split("/")[-1])

    def apply() -> None:
        page.click("#apply-filters")
        settled(page)

    # counts per district, names first, over the whole list; a district narrows the list to it
    chips = page.locator("#districts button.district")
    counts = [int(n) for n in page.locator("#districts button.district .n").all_inner_texts()]
    assert sum(counts) == total and counts == sorted(counts, reverse=True)
    assert all(not t[0].isdigit() for t in chips.all_inner_texts())
    county = chips.first.get_attribute("data-region")
    chips.first.click()
    settled(page)
    expect(page.locator("#f-region")).to_have_value(county or "")
    assert set(column(page, "td.region small.code")) == {county}
    assert page.locator(ROWS).count() == counts[0]
    page.fill("#f-region", "")
    apply()

    # search by part of a name, then by the start of a credit code
    name = page.locator(f"{ROWS} a.company-link").nth(1).inner_text()
    page.fill("#f-name", name[2:5])
    apply()
    found = column(page, "a.company-link")
    assert name in found and all(name[2:5] in n for n in found) and len(found) < total
    code = page.locator(ROWS).first.get_attribute("data-uscc") or ""
    page.fill("#f-name", code[:12])
    apply()
    codes = page.locator(ROWS).evaluate_all("rows => rows.map(r => r.dataset.uscc)")
    assert code in codes and all(c.startswith(code[:12]) for c in codes)
    page.fill("#f-name", "")
    apply()

    # sort by a column and back
    page.click("button.sort[data-sort='name']")
    settled(page)
    names = column(page, "a.company-link")
    assert names == sorted(names)
    page.click("button.sort[data-sort='name']")
    settled(page)
    assert column(page, "a.company-link") == sorted(names, reverse=True)
    expect(page.locator("th[aria-sort='descending'] button.sort[data-sort='name']")).to_be_visible()
    page.click("button.sort[data-sort='-score']")
    settled(page)
    scores = [int(s.rstrip("%")) for s in column(page, "td.score")]
    assert scores == sorted(scores, reverse=True)

    # batch invite: three chosen, one of them already invited
    chosen = fresh_companies(served, page, 3)
    earlier = served.client.post(
        "/v1/invitations",
        json={"tier": "specialized_sme", "uscc": [chosen[1]]},
        headers=served.headers("official"),
    )
    assert earlier.status_code == 201
    for uscc in chosen:
        page.check(f"{ROWS}[data-uscc='{uscc}'] input.pick-row")
    expect(page.locator("#batch-count")).to_contain_text("已选3家")
    page.click("#invite-selected")
    message = page.locator("#message")
    expect(message).to_contain_text("已邀请2家；1家此前已邀请", timeout=SLOW)
    expect(message).to_contain_text(earlier.json()["data"][0]["invited_on"])
    expect(page.locator(f"{ROWS} .tag")).to_have_count(3)
    for uscc in chosen:
        sent = served.client.get(
            "/v1/invitations/records", params={"uscc": uscc}, headers=served.headers("official")
        )
        assert sent.json()["count"] == 1

    # a date other than the model's data date is flagged, and the flag goes with it
    later = AS_OF + timedelta(days=1)
    page.fill("#f-as-of", later.isoformat())
    apply()
    banner = page.locator("#date-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(
        f"名单日期 {later.isoformat()} 晚于模型数据日期 {AS_OF.isoformat()}"
    )
    page.fill("#f-as-of", AS_OF.isoformat())
    apply()
    expect(banner).to_be_hidden()

    # checked tables the store lacks are named above the list (the API's `not_on_file`)
    data_banner = page.locator("#data-banner")
    expect(data_banner).to_be_hidden()
    whole = views.full_list

    def lacking_patents(service: Any, tier: str, as_of: date) -> Any:
        ranked = whole(service, tier, as_of)
        return replace(ranked, summary={**ranked.summary, "not_on_file": ["patents"]})

    monkeypatch.setattr(views, "full_list", lacking_patents)
    listed = served.client.get(
        "/v1/invitations", params={"tier": "specialized_sme"}, headers=served.headers("official")
    )
    assert listed.json()["not_on_file"] == [{"table": "patents", "table_zh": "知识产权"}]
    apply()
    expect(data_banner).to_contain_text("未提供的数据：知识产权")
    expect(data_banner).to_contain_text("Data not on file: patents")
    monkeypatch.undo()
    apply()
    expect(data_banner).to_be_hidden()

    # a region outside the official's own is refused in words, not shown as an empty table
    other = "44" if not served.city.startswith("44") else "11"
    page.fill("#f-region", other)
    page.click("#apply-filters")
    expect(page.locator("#message")).to_contain_text("不在您的辖区", timeout=SLOW)
    expect(page.locator(ROWS)).to_have_count(0)
    page.fill("#f-region", "")
    apply()

    # printed: no navigation, no buttons, the table within A4 landscape
    page.emulate_media(media="print")
    page.set_viewport_size({"width": A4_WIDTH, "height": 740})
    expect(page.locator("#nav")).to_be_hidden()
    expect(page.locator("#apply-filters")).to_be_hidden()
    expect(page.locator("#invite-selected")).to_be_hidden()
    expect(page.locator("#ranked thead")).to_be_visible()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    table = page.locator("#ranked").bounding_box()
    assert table and width <= A4_WIDTH and table["width"] <= A4_WIDTH
    assert not problems, problems


def test_sign_in_and_out_start_from_nothing(
    served: Served, live: QuietServer, browser: BrowserContext
) -> None:
    problems: list[str] = []
    page = watched(browser, live, problems)
    # no navigation before signing in; a wrong key is called invalid
    expect(page.locator("#signin-view")).to_be_visible()
    expect(page.locator("#nav")).to_be_hidden()
    sign_in(page, "sdk_000000000000_not-a-key")
    expect(page.locator("#message")).to_contain_text("密钥无效")
    expect(page.locator("#signin-view")).to_be_visible()
    expect(page.locator("#nav")).to_be_hidden()

    # an official opens a company, with its invite button
    sign_in(page, served.keys["official"])
    expect(page.locator(ROWS).first).to_be_visible(timeout=SLOW)
    page.check(f"{ROWS} input.pick-row >> nth=0")
    page.locator(f"{ROWS} a.company-link").first.click()
    expect(page.locator("#c-invite button.invite").first).to_be_visible(timeout=SLOW)

    # signing out clears every view and what was cached for the key
    page.click("#sign-out")
    expect(page.locator("#signin-view")).to_be_visible()
    expect(page.locator("#nav")).to_be_hidden()
    for box in ("#c-name", "#c-profile", "#c-tiers", "#c-invite", "#c-evidence", "#who"):
        expect(page.locator(box)).to_be_empty()
    for rows in ("#ranked tbody tr", "#c-invitations tbody tr", "#audit tbody tr", "#c-graph *"):
        expect(page.locator(rows)).to_have_count(0)
    expect(page.locator("#f-as-of")).to_have_value("")
    assert page.evaluate("() => location.hash") == ""
    assert page.evaluate("() => sessionStorage.length") == 0

    # the platform's key then sees its own list, nothing of the official's
    sign_in(page, served.keys["platform"])
    expect(page.locator(ROWS).first).to_be_visible(timeout=SLOW)
    expect(page.locator("#who")).to_contain_text("platform")
    expect(page.locator("#company-view")).to_be_hidden()
    expect(page.locator("#c-invite button")).to_have_count(0)
    expect(page.locator("#batch")).to_be_hidden()
    expect(page.locator(f"{ROWS} a.company-link")).to_have_count(0)
    expect(page.locator(f"{ROWS} input.pick-row:checked")).to_have_count(0)
    assert not problems, problems
