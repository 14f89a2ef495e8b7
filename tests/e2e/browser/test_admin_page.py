"""The admin page in headless Chromium, against the real web and worker: logging in, the
version and the rest of the state live (a failed refresh, a pin of the version held),
refresh, pin and unpin, the fleet, and a cross-site form.

The contract these tests read the page by (routes, ids) is the page's; every wait is one of
Playwright's, with a deadline (conftest.DEADLINE_MS), never a sleep."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.async_api import Page, expect

from devtools.processes import ROOT
from tests.conftest import SECRET
from tests.e2e.browser.conftest import Service, log_in, stub_version
from tests.e2e.browser.other_site import auto_submitting_page, other_site
from tests.e2e.browser.steps import (
    NEXT_REVISION,
    OLDER_VERSION,
    failure_elsewhere_shows_as_typed_on,
    pin_of_the_version_held_shows,
    pin_then_unpin,
    version_follows_a_refresh_elsewhere,
    watcher_listed,
)
from tests.e2e.conftest import Launcher

pytestmark = pytest.mark.slow

# The screenshot of each run, for a look (git-ignored; docs/admin-page.png is one of them).
SCREENSHOT = ROOT / ".artifacts" / "admin-page.png"


async def test_a_wrong_secret_shows_the_error_and_sets_no_cookie(
    page: Page, service: Service
) -> None:
    await log_in(page, service, "not-the-secret")
    await expect(page.locator("#login-error")).to_have_text("Wrong secret")
    await expect(page.locator("#current-version")).to_have_count(0)
    assert await page.context.cookies() == []


async def test_the_right_secret_opens_the_dashboard_with_the_version(
    page: Page, service: Service
) -> None:
    await log_in(page, service, SECRET)
    await expect(page.locator("#current-version")).to_have_text(stub_version(service.upstream))
    await expect(page.locator("#pinned")).to_have_text("not pinned")
    assert len(await page.context.cookies()) == 1
    await page.get_by_role("button", name="Log out", exact=True).click()
    await expect(page.locator("#login")).to_be_visible()
    await page.goto(service.admin_url)
    await expect(page.locator("#login")).to_be_visible()


async def test_on_a_phone_nothing_is_wider_than_the_screen(
    dashboard: Page, launch: Launcher
) -> None:
    """A phone's width (375 px): the dashboard, a manager listed, scrolls only down."""
    launch("watcher", WA_MANAGER_ID="browser-test-phone")
    await dashboard.set_viewport_size({"width": 375, "height": 740})
    await expect(dashboard.locator('tr[data-manager-id="browser-test-phone"]')).to_have_count(1)
    widths = await dashboard.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"the page is {widths[0]} px wide on a {widths[1]} px screen"


async def test_a_version_refreshed_elsewhere_appears_without_a_reload(
    page_errors: list[str], dashboard: Page, service: Service
) -> None:
    """WhatsApp Web moves on and something else (the API here) refreshes: the open page
    shows the new version without a reload, its script running under the page's CSP
    without an error (page_errors comes first: it listens from before the login)."""
    await version_follows_a_refresh_elsewhere(dashboard, service)
    assert page_errors == []


async def test_a_refresh_failed_elsewhere_shows_its_error_without_a_reload(
    page_errors: list[str], dashboard: Page, service: Service
) -> None:
    await failure_elsewhere_shows_as_typed_on(dashboard, service)
    assert page_errors == []


async def test_a_pin_of_the_version_held_shows_without_a_reload(
    dashboard: Page, service: Service
) -> None:
    await pin_of_the_version_held_shows(dashboard, service)


async def test_refresh_now_fetches_the_new_version(dashboard: Page, service: Service) -> None:
    service.upstream.configure(revision=NEXT_REVISION)
    fetches = service.upstream.fetches
    # Forced: the fixture's own refresh is within REFRESH_MIN_INTERVAL.
    await dashboard.get_by_label("Force").check()
    await dashboard.get_by_role("button", name="Refresh now", exact=True).click()
    await expect(dashboard.locator("#notice")).to_contain_text(f"2.3000.{NEXT_REVISION}")
    await expect(dashboard.locator("#current-version")).to_have_text(f"2.3000.{NEXT_REVISION}")
    assert service.upstream.fetches == fetches + 1
    assert (await service.held()).version == f"2.3000.{NEXT_REVISION}"


async def test_pin_a_typed_version_then_unpin(dashboard: Page, service: Service) -> None:
    await pin_then_unpin(dashboard, service)


async def test_a_watcher_appears_in_the_fleet_and_disappears_when_it_exits(
    dashboard: Page,
    service: Service,
    launch: Launcher,
    record_property: Callable[[str, object], None],
) -> None:
    """The row comes and goes without a reload. The run's screenshot is taken with the
    watcher listed."""
    async with watcher_listed(dashboard, service, launch, "browser-test-watcher"):
        SCREENSHOT.parent.mkdir(exist_ok=True)
        await dashboard.screenshot(path=SCREENSHOT, full_page=True)
        record_property("artifact", str(SCREENSHOT))  # named at the end of the run


async def test_a_form_posted_from_another_site_is_refused(
    dashboard: Page, service: Service
) -> None:
    """A page on another origin makes the logged-in browser POST a pin: 403, nothing pinned."""
    before = await service.held()
    hostile = auto_submitting_page(f"{service.web.base_url}/admin/pin", {"version": OLDER_VERSION})
    with other_site(hostile) as url:
        async with dashboard.expect_response(f"{service.web.base_url}/admin/pin") as posted:
            await dashboard.goto(url)
        assert (await posted.value).status == 403
    assert await service.held() == before  # nothing pinned, nothing announced
