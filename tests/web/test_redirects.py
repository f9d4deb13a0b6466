"""``next`` after logging in (and everywhere else it is read) leads only to a path on this site."""
from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest

from tests.conftest import PASSWORD
from trainer.web import safe_next

EVIL = [
    "//evil.example", "///evil.example", "////evil.example/x", "/\\evil.example", "\\\\evil.example",
    "/\\/evil.example", "https://evil.example", "http:evil.example", "javascript:alert(1)", "evil.example",
    "/\t/evil.example", "/\n/evil.example", "/\r/evil.example", "/\r\nSet-Cookie: x=1", "/\x0b/evil.example",
    "/\x0c/evil.example", "/ /evil.example", "/\u00a0/evil.example", "/\u3000/evil.example",
    "/\u200b/evil.example", "/\ufeff/evil.example", "/\x7f/evil.example", "/\x85/evil.example",
    "\t//evil.example", " /home", "//evil.example@home", "/" + "a" * 3000, "", "data:text/html,x",
    "/\u2028/evil.example", "/\u202e/evil.example",
]
GOOD = ["/home", "/study/review?deck=1&x=%2F%2Fevil", "/learn/lessons/basics#part-2", "/%2F%2Fevil.example",
        "/lesson/évaluation", "/a//b"]


@pytest.mark.parametrize("target", EVIL)
def test_safe_next_refuses_everything_that_could_leave_the_site(target):
    assert safe_next(target, "/fallback") == "/fallback"


@pytest.mark.parametrize("target", GOOD)
def test_safe_next_keeps_paths_of_this_site(target):
    assert safe_next(target, "/fallback") == target


#: ``next`` exactly as it stands in the address bar
RAW_EVIL = [quote(t, safe="") for t in ("//evil.example", "/\\evil.example", "https://evil.example")] + [
    "/%09/evil.example", "/%0a/", "/%0d%0a/evil", "/%5cevil.example", "%2F%2Fevil.example", "/%E3%80%80/evil.example",
    "/%00/evil"]


@pytest.mark.parametrize("raw", RAW_EVIL)
def test_login_with_an_evil_next_lands_at_home(browser, learner, raw):
    browser.get("/login")
    response = browser.post("/login?next=" + raw, {"email": learner[1], "password": PASSWORD})
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert not location.netloc and location.path == "/home"
    assert browser.get("/home").status_code == 200


def test_login_follows_a_next_path_on_this_site(browser, learner):
    browser.get("/login")
    response = browser.post("/login?next=" + quote("/study/dashboard"), {"email": learner[1], "password": PASSWORD})
    assert response.headers["Location"] == "/study/dashboard"
