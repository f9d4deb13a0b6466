"""Every endpoint of the URL map x every role, with the outcome stated per cell in ``access_rules.py``.

A route with no stated rule fails ``test_every_route_has_a_stated_rule`` by name, so a new route cannot
escape the matrix. Each cell runs in an app and database of its own holding one world (see
``access_rules.build_things``): a copy of a world built less than a minute before, so what one cell changes never
reaches another and a cell costs the same however many ran before it. A refused request (redirect to login, 400,
403, 404) must change no row of any table and must not show A's data.
GET/POST routes are also POSTed, with a plausible form, by every role refused on GET. CSRF is off in this
module only: its own enumeration over the URL map is ``test_csrf.py``.
"""
from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest

from tests.conftest import client_as, close_app, keep_database, make_app
from tests.web.access_rules import AWAY, LOGIN, REFUSED, ROLES, RULES, WORLD_KEY, build_things
from trainer.extensions import db

_app, _drop = make_app()
ROUTES = {rule.endpoint: rule for rule in _app.url_map.iter_rules() if rule.endpoint != "static"}
close_app(_app, _drop)

#: (endpoint, role, method, "primary" | "post") -- the cells of the matrix
CELLS = []
for _endpoint in sorted(set(RULES) & set(ROUTES)):
    _rule = RULES[_endpoint]
    for _role in ROLES:
        CELLS.append((_endpoint, _role, _rule.method, "primary"))
        if _rule.post is not None and _rule.expect[_role] != 200:
            CELLS.append((_endpoint, _role, "POST", "post"))


#: how long a world built for the cells is copied for them before a new one is built: its reset and answer tokens,
#: its quiz's window and its running mock exam's clock stay well inside their limits
WORLD_SECONDS = 60
CONFIG = {"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False}


@pytest.fixture(scope="module")
def worlds():
    """``worlds()``: (the database of a world built less than WORLD_SECONDS ago, its things)."""
    kept: dict = {}

    def current():
        if kept and time.monotonic() - kept["at"] < WORLD_SECONDS:
            return kept["database"], kept["things"]
        if kept:
            kept["database"].drop()
        app, drop = make_app(**CONFIG)
        things = build_things(app)
        kept.update(database=keep_database(app, drop), things=things, at=time.monotonic())
        return kept["database"], things
    yield current
    if kept:
        kept["database"].drop()


@pytest.fixture
def cell(worlds):
    """An app on a copy of the current world, and that world's things."""
    database, things = worlds()
    app, drop = make_app(copy_of=database, **CONFIG)
    yield app, things
    close_app(app, drop)


def every_row(app) -> dict:
    """Every row of every table: what a refused request must leave exactly as it was."""
    with app.app_context():
        return {table.name: db.session.execute(table.select().order_by(*table.primary_key.columns)).all()
                for table in db.metadata.sorted_tables}


def outcome(response) -> int | str:
    if response.status_code == 302:
        location = urlsplit(response.headers["Location"])
        return LOGIN if location.path == "/login" and "next=" in location.query else AWAY
    return response.status_code


def test_every_route_has_a_stated_rule():
    missing = sorted(set(ROUTES) - set(RULES))
    assert not missing, ("routes without an access rule (state one in tests/web/access_rules.py): "
                         + ", ".join(f"{e} {ROUTES[e].rule}" for e in missing))
    stale = sorted(set(RULES) - set(ROUTES))
    assert not stale, f"rules for endpoints that no longer exist: {stale}"
    for endpoint, rule in RULES.items():
        assert rule.method in ROUTES[endpoint].methods, f"{endpoint} does not accept {rule.method}"
        assert set(rule.expect) == set(ROLES), endpoint
        if rule.post is not None:
            assert "POST" in ROUTES[endpoint].methods, f"{endpoint} does not accept POST"


def test_the_matrix_counts_its_cells(capsys):
    """How many route x role cells does a run check? (Printed, so a shrinking matrix is noticed.)"""
    endpoints = {e for e, *_ in CELLS}
    with capsys.disabled():
        print(f"\naccess matrix: {len(endpoints)} endpoints x {len(ROLES)} roles -> {len(CELLS)} cells "
              f"({sum(1 for c in CELLS if c[3] == 'post')} of them extra POSTs by refused roles)")
    assert len(endpoints) == len(set(RULES) & set(ROUTES)) and len(CELLS) >= len(endpoints) * len(ROLES)


@pytest.mark.parametrize("endpoint, role, method, kind", CELLS, ids=["-".join(c[:3]) + ("+post" if c[3] == "post" else "")
                                                                     for c in CELLS])
def test_access_matrix(cell, endpoint, role, method, kind):
    rule = RULES[endpoint]
    app, things = cell
    url = rule.url(things)
    form_of = rule.post if kind == "post" else rule.form
    expected = rule.expect[role]
    before = every_row(app)
    client = client_as(app, None if role == "anonymous" else things.w.ids[WORLD_KEY[role]])
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, data=form_of(things) if form_of else {})
    raw = response.get_data()
    body = raw.decode("utf-8", errors="replace")  # a download (an Anki deck) is bytes; refusals are pages
    response.close()                           # a file response holds its file open until closed
    got = outcome(response)
    assert got == expected, f"{role} {method} {url}: expected {expected}, got {got} ({response.status_code})"
    if rule.private is not None and got == 200:
        for text in rule.private(things):
            assert (text in body) is (role in rule.shown_to), f"{role} {url}: {text} shown wrongly"
    if expected in REFUSED or (kind == "post" and expected == AWAY):
        assert every_row(app) == before, f"{role} {method} {url} was refused but changed rows"
        assert "The second option reads oddly." not in body and things.w.emails["learner_x"] not in body
