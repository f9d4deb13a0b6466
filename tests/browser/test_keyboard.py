"""Keyboard only, no mouse and no scripted focus: log in, open a lesson, work through a practice set.

test_flows.py has a practice set by keyboard shortcuts, but it places focus with scripted ``focus()`` and
a click; here every step is Tab, Shift+Tab, Space, Enter or typing, as for someone who cannot use a mouse,
and every control reached must show where the focus is.
"""
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

FOCUSED = "() => { const e = document.activeElement; return e ? e.outerHTML.slice(0, 200) : ''; }"


def tab_to(page, test_js: str, limit: int = 80) -> None:
    """Press Tab until the focused element passes ``test_js`` (a function of the element)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => {{ const e = document.activeElement; return !!e && ({test_js})(e); }}"):
            assert_focus_visible(page)
            return
    raise AssertionError(f"Tab never reached {test_js} on {page.url}; focus ended on {page.evaluate(FOCUSED)}")


def assert_focus_visible(page) -> None:
    """The focused control has a visible focus indicator (an outline or a box shadow)."""
    style = page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
        return [s.outlineStyle, s.outlineWidth, s.boxShadow]; }""")
    outline_style, outline_width, shadow = style
    assert (outline_style != "none" and outline_width not in ("0px", "")) or shadow not in ("none", ""), \
        f"no visible focus on {page.evaluate(FOCUSED)}: {style}"


def test_a_practice_set_from_login_to_summary_by_keyboard_alone(live_server, page, learner):
    page.goto(live_server + "/login")
    tab_to(page, "e => e.name === 'email'")
    page.keyboard.type(learner[1])
    page.keyboard.press("Tab")
    page.keyboard.type("correct-horse-battery")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile("Welcome"))).to_be_visible()

    page.goto(live_server + "/lessons/basics-nociception")          # typed in the address bar
    tab_to(page, "e => e.tagName === 'BUTTON' && /Practise this lesson/.test(e.textContent)")
    page.keyboard.press("Enter")
    answered = 0
    for _ in range(12):
        if page.get_by_role("heading", name=re.compile("Practice set done")).count():
            break
        expect(page.locator("#stem")).to_be_visible()
        page.wait_for_load_state("load")
        groups = page.eval_on_selector_all("form[data-question-form] input[type=radio], "
                                           "form[data-question-form] input[type=checkbox]",
                                           "els => [...new Set(els.map(e => e.name))]")
        assert groups, f"only choice questions are expected in this lesson's practice: {page.url}"
        for name in groups:                       # reach each group by Tab, choose with Space
            tab_to(page, f"e => e.name === {name!r}")
            page.keyboard.press("Space")
            assert page.locator(f"input[name='{name}']:checked").count() >= 1, name
        tab_to(page, "e => e.id === 'submit-answer'")
        page.keyboard.press("Enter")
        expect(page.locator("#next-link")).to_be_visible()
        answered += 1
        page.wait_for_load_state("load")
        tab_to(page, "e => e.id === 'next-link'")
        with page.expect_navigation():
            page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile("Practice set done"))).to_be_visible()
    assert answered >= 2
    assert page.js_errors == []
