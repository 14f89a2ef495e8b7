"""Debian's headless Chromium, driven by Playwright: never a browser build of Playwright's
own (nothing here downloads one; `./dev test` installs Debian's `chromium` when missing)."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, Playwright

CHROMIUM = Path("/usr/bin/chromium")

# What this machine's closed network needs (the machine notes): without the background
# networking flags Chromium's calls to Google's hosts are refused, noisily, at each start.
# Playwright adds --headless and --no-sandbox (chromium_sandbox=False) and a new empty
# --user-data-dir of its own per launch.
FLAGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    """The system Chromium; a clear failure (not a skip: CI must run these) without it."""
    assert CHROMIUM.exists(), (
        f"{CHROMIUM} is missing: the admin page's browser tests need Debian's chromium "
        "(apt-get install chromium; ./dev test installs it when it runs as root)"
    )
    return str(CHROMIUM)


async def launch_chromium(playwright: Playwright) -> Browser:
    return await playwright.chromium.launch(
        executable_path=chromium_path(), headless=True, chromium_sandbox=False, args=FLAGS
    )
