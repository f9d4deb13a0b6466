"""A live server in a thread and a real headless Chromium driven by Playwright."""
import os
import shutil
import threading
import time

import pytest
from werkzeug.serving import make_server

from tests.conftest import close_app, make_app

CHROMIUM = os.environ.get("TRAINER_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-quic", "--no-first-run", "--disable-sync"]


@pytest.fixture
def app():
    """The app on a database of its own that the live server's threads share as production's workers do."""
    app, drop = make_app(served=True)
    yield app
    close_app(app, drop)


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # Links meant to be opened later (reset links) point at this server, as `trainer serve --dev` does.
    app.config["BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    # A request Chromium gave up on may still be running and holding a database connection until its app
    # context ends; wait for those threads, so the app's engine is disposed with every connection back in it.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(t.name.endswith("(process_request_thread)")
                                              for t in threading.enumerate()):
        time.sleep(0.05)


@pytest.fixture(scope="session")
def chromium():
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"Chromium not found at {CHROMIUM}; CI must install Debian's chromium package")
        pytest.skip(f"Chromium not found at {CHROMIUM}: install Debian's 'chromium' package to run browser tests")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 390, "height": 844})  # a phone
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.js_errors = errors
    yield page
    context.close()
