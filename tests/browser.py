"""Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven by selenium
through Debian's /usr/bin/chromedriver. Selenium is never allowed to download a browser or a
driver. Where they are missing the tests skip, except under CI=true, where they fail."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
# The last run's screenshots, kept for a person to look at.
SCREENSHOTS = Path(
    os.environ.get("BPKIT_SCREENSHOTS", Path(tempfile.gettempdir()) / "backprop-kit-screenshots")
)


def require_chromium():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        message = f"{' and '.join(missing)} missing (Debian packages chromium, chromium-driver; `make test` installs them as root)"
        if os.environ.get("CI"):
            pytest.fail(f"CI=true: browser tests refuse to skip: {message}")
        pytest.skip(message)


def chrome(width=1280, height=1000):
    require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"  # selenium-manager: never fetch anything
    options = Options()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--window-size={width},{height}",
        "--no-first-run",
        "--disable-extensions",
    ):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def screenshot_folder(name):
    folder = SCREENSHOTS / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    print(f"\nscreenshots: {folder}")
    return folder
