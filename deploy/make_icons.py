"""Draw the app's PNG icons from our own SVG artwork with the headless Chromium the browser tests use.

Run: python deploy/make_icons.py   (writes trainer/static/icons/icon-*.png)
"""
from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import sync_playwright

ICONS = Path(__file__).resolve().parent.parent / "trainer" / "static" / "icons"
CHROMIUM = os.environ.get("TRAINER_CHROMIUM", "/usr/bin/chromium")
#: (source SVG, output PNG, size in pixels)
TARGETS = [("icon.svg", "icon-192.png", 192), ("icon.svg", "icon-512.png", 512),
           ("icon-maskable.svg", "icon-maskable-512.png", 512), ("icon.svg", "apple-touch-icon.png", 180)]


def main() -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        for source, target, size in TARGETS:
            page = browser.new_page(viewport={"width": size, "height": size})
            svg = (ICONS / source).read_text()
            page.set_content(f'<html><body style="margin:0;background:transparent">'
                             f'<div style="width:{size}px;height:{size}px">{svg.replace("<svg ", f"<svg width={size!s} height={size!s} ", 1)}</div>'
                             f'</body></html>')
            page.screenshot(path=str(ICONS / target), omit_background=True, clip={"x": 0, "y": 0, "width": size, "height": size})
            page.close()
            print(f"{target}: {size}x{size}")
        browser.close()


if __name__ == "__main__":
    main()
