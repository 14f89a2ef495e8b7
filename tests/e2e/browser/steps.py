"""What a person does on the admin page and what they must see, step by step: shared by
the page's tests on one server (test_admin_page.py) and on Sentinel and a Cluster
(test_admin_page_ha.py), so each deployment is held to the same behaviour."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from playwright.async_api import Dialog, Locator, Page, expect

from tests.e2e.browser.conftest import Service, stub_version
from tests.e2e.conftest import Launcher

NEXT_REVISION = 1026132000
OLDER_VERSION = "2.3000.1026131000"


@contextmanager
def no_reload(page: Page) -> Iterator[None]:
    """Fail unless the page stays the same document throughout: no reload, no navigation."""
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    yield
    assert navigations == [], f"the page navigated: {navigations}"


async def accept(dialog: Dialog) -> None:
    await dialog.accept()


async def version_follows_a_refresh_elsewhere(dashboard: Page, service: Service) -> None:
    """WhatsApp Web moves on and something else (the API) refreshes: the open page shows
    the new version from its event stream, as the same document (a marker on `window`
    survives)."""
    service.upstream.configure(revision=NEXT_REVISION)
    with no_reload(dashboard):
        await dashboard.evaluate("window.sameDocument = true")
        assert await service.refresh() == f"2.3000.{NEXT_REVISION}"
        await expect(dashboard.locator("#current-version")).to_have_text(f"2.3000.{NEXT_REVISION}")
        assert await dashboard.evaluate("window.sameDocument") is True


async def failure_elsewhere_shows_as_typed_on(dashboard: Page, service: Service) -> None:
    """Upstream serves a page without the version and something else (the API) refreshes:
    no version changes, so no event comes, yet the open page shows the error. Meanwhile
    someone types a version to pin: the field keeps the focus and what was typed."""
    field = dashboard.get_by_label("Version to pin")
    await expect(dashboard.locator("#last-error")).to_have_text("none")
    service.upstream.configure(without_revision=True)
    with no_reload(dashboard):
        await field.click()
        await dashboard.keyboard.type("2.3000.")
        error = await service.failed_refresh()
        await expect(dashboard.locator("#last-error")).to_have_text(error)
        await dashboard.keyboard.type("1")
        await expect(field).to_be_focused()
        await expect(field).to_have_value("2.3000.1")
    await expect(dashboard.locator("#current-version")).to_have_text(stub_version(service.upstream))


async def pin_of_the_version_held_shows(dashboard: Page, service: Service) -> None:
    """A pin through the API of the version already held: no version event (the version
    stays), yet the open page shows it pinned."""
    held = await service.held()
    await expect(dashboard.locator("#pinned")).to_have_text("not pinned")
    with no_reload(dashboard):
        await service.pin(held.version)
        await expect(dashboard.locator("#pinned")).to_have_text("pinned")
    await expect(dashboard.locator("#current-version")).to_have_text(held.version)
    assert await service.held() == held._replace(pinned=True)


async def pin_then_unpin(dashboard: Page, service: Service) -> None:
    """An older build typed and pinned (rolling back is what pins are for), then the pin
    undone: each seen on the page and held by the API."""
    fetched = stub_version(service.upstream)
    dashboard.on("dialog", accept)  # the page asks confirm() before pin and unpin
    await dashboard.get_by_label("Version to pin").fill(OLDER_VERSION)
    await dashboard.get_by_role("button", name="Pin", exact=True).click()
    await expect(dashboard.locator("#pinned")).to_have_text("pinned")
    await expect(dashboard.locator("#current-version")).to_have_text(OLDER_VERSION)
    await expect(dashboard.locator("#notice")).to_contain_text(OLDER_VERSION)
    assert (await service.held())[:2] == (OLDER_VERSION, True)

    await dashboard.get_by_role("button", name="Unpin", exact=True).click()
    await expect(dashboard.locator("#pinned")).to_have_text("not pinned")
    await expect(dashboard.locator("#current-version")).to_have_text(fetched)
    assert (await service.held())[:2] == (fetched, False)


@asynccontextmanager
async def watcher_listed(
    dashboard: Page, service: Service, launch: Launcher, manager_id: str, **env: str
) -> AsyncIterator[Locator]:
    """A watcher started as `manager_id` (with `env`): its row in the fleet, once listed
    with the version held; on leaving, the watcher stopped and its row gone. The fleet
    section refreshes itself: all of it without a reload."""
    row = dashboard.locator(f'#fleet tr[data-manager-id="{manager_id}"]')
    with no_reload(dashboard):
        watcher = launch("watcher", WA_MANAGER_ID=manager_id, **env)
        await expect(row).to_have_count(1)
        await expect(row).to_have_attribute("data-version", stub_version(service.upstream))
        yield row
        watcher.stop()
        await expect(row).to_have_count(0)
