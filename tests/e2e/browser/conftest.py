"""The admin page in a real browser: a web and a worker (the Procfile's processes) on the
session's Redis, fetching from the stub upstream, and a page of headless Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import httpx
import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright, expect

from devtools.stub_upstream import StubUpstream
from tests.conftest import SECRET
from tests.e2e.browser.chromium import launch_chromium
from tests.e2e.conftest import Launcher
from tests.e2e.processes import Process
from tests.support import AUTH, REFRESH, VERSION

# Generous, as the suite runs six test processes on two cores: a Chromium, a web and a
# worker each. Every wait in these tests is one of Playwright's, bounded by this.
DEADLINE_MS = 30_000
expect.set_options(timeout=DEADLINE_MS)


class Held(NamedTuple):
    version: str
    pinned: bool
    seq: int


@dataclass
class Service:
    """The running web (with its worker) and the upstream it fetches from."""

    web: Process
    upstream: StubUpstream

    @property
    def admin_url(self) -> str:
        return f"{self.web.base_url}/admin/"

    async def held(self) -> Held:
        """What the API says is held now: the page's actions are checked against it."""
        data = (await self._api("GET", VERSION, 200))["data"]
        return Held(data["wa_web_version"]["string"], data["pinned"], data["seq"])

    async def refresh(self) -> str:
        """A forced refresh through the API, another channel than the page; the version."""
        data = (await self._api("POST", REFRESH, 200, params={"force": "true"}))["data"]
        version: str = data["wa_web_version"]["string"]
        return version

    async def failed_refresh(self) -> str:
        """A forced refresh through the API that upstream makes fail; why it failed."""
        error: str = (await self._api("POST", REFRESH, 500, params={"force": "true"}))["error"]
        return error

    async def pin(self, version: str) -> None:
        """A pin through the API."""
        await self._api("PUT", VERSION, 200, json={"version": version})

    async def _api(self, method: str, path: str, status: int, **request: Any) -> Any:
        """The JSON API's answer, which must have `status`."""
        async with httpx.AsyncClient(base_url=self.web.base_url, timeout=30) as api:
            answer = await api.request(method, path, headers=AUTH, **request)
        assert answer.status_code == status, answer.text
        return answer.json()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await launch_chromium(playwright)
        yield chromium
        await chromium.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A page of a new browser context: no cookies, nothing cached."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(DEADLINE_MS)
    yield await context.new_page()
    await context.close()


@pytest.fixture
def page_errors(page: Page) -> list[str]:
    """What the page's script threw and what the console reported as errors (a script
    or style the CSP blocked among them), as they happen."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    page.on("console", lambda message: _console_error(message, errors))
    return errors


def _console_error(message: ConsoleMessage, errors: list[str]) -> None:
    # The page names its icon (an empty data: URL), so not even the browser's own ask for
    # /favicon.ico is excused.
    if message.type == "error":
        errors.append(f"{message.text} ({message.location['url']})")


@pytest.fixture
async def service(
    launch: Launcher, start_web: Callable[..., Process], upstream: StubUpstream
) -> Service:
    """Web and worker running, one version already fetched from the stub."""
    launch("worker")
    running = Service(start_web(), upstream)
    assert await running.refresh() == stub_version(upstream)
    return running


@pytest.fixture
async def dashboard(page: Page, service: Service) -> Page:
    """The page logged in, on the dashboard."""
    await log_in(page, service, SECRET)
    await expect(page.locator("#current-version")).to_be_visible()
    return page


async def log_in(page: Page, service: Service, secret: str) -> None:
    """Through the login form, as a person would."""
    await page.goto(service.admin_url)
    await page.get_by_label("Admin secret").fill(secret)
    await page.get_by_role("button", name="Log in", exact=True).click()


def stub_version(upstream: StubUpstream) -> str:
    return f"2.3000.{upstream.behaviour.revision}"
