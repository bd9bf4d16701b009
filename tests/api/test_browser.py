"""The officials' page in a real headless Chromium: sign in, filter, open a company, invite, audit.

Debian's Chromium at /usr/bin/chromium is required (scripts/test.sh installs it);
without it this test fails rather than skips. Screenshots go to the test's
temporary directory, and also to `$DISCOVERY_SCREENSHOTS` when set.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

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


def shoot(page: Page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path))
    keep = os.environ.get("DISCOVERY_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)
    return path


def test_an_official_signs_in_filters_opens_invites_and_audits(
    served: Served, browser: BrowserContext, tmp_path: Path
) -> None:
    problems: list[str] = []
    with QuietServer(served) as server:
        page = browser.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on(
            "request",
            lambda r: (
                None if r.url.startswith(server.url) else problems.append(f"external {r.url}")
            ),
        )
        page.goto(server.url + "/")
        expect(page.locator("#signin-view")).to_be_visible()
        page.fill("#key", served.keys["official"])
        page.click("#signin")
        expect(page.locator("#list-view")).to_be_visible()
        expect(page.locator("#who")).to_contain_text(served.city)

        # filter: the tier, the decision date and a lowest score
        page.select_option("#f-tier", "specialized_sme")
        page.fill("#f-as-of", AS_OF.isoformat())
        page.fill("#f-min-score", "0.2")
        page.click("#apply-filters")
        expect(page.locator("#list-summary")).to_contain_text(AS_OF.isoformat(), timeout=SLOW)
        rows = page.locator("#ranked tbody tr")
        expect(rows.first).to_be_visible(timeout=SLOW)
        regions = page.locator("#ranked tbody tr td:nth-child(3)").all_inner_texts()
        assert regions and all(r.startswith(served.city) for r in regions)
        scores = [float(s) for s in page.locator("#ranked tbody td.num").all_inner_texts()]
        assert min(scores) >= 0.2 and scores == sorted(scores, reverse=True)
        shoot(page, tmp_path, "list")

        # open the first company
        uscc = rows.first.get_attribute("data-uscc")
        assert uscc
        rows.first.locator("a.company-link").click()
        expect(page.locator("#company-view")).to_be_visible()
        expect(page.locator("#c-name")).to_contain_text(uscc, timeout=SLOW)
        expect(page.locator("#c-tiers article.tier")).to_have_count(2)
        expect(page.locator("#c-graph g.node.center")).to_have_count(1)
        assert page.locator("#c-graph g.node").count() >= 2

        # invite it, and see the invitation recorded
        page.click("#c-invite button.invite[data-tier='specialized_sme']")
        expect(page.locator("#message")).to_contain_text("已登记邀请", timeout=SLOW)
        expect(page.locator("#c-invitations tbody tr").first).to_contain_text("专精特新中小企业")
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
