"""Kept learner pages (services/page_cache.py): the home and progress pages are built once and kept until a
database trigger says the learner's records, their cohorts or the bank changed, or the clock moves them on.

The whole suite runs with ``PAGE_CACHE_VERIFY``: every kept page served is compared with one built afresh. These
tests prove that the counters move for each kind of change (and only for that learner), that a kept page is
really served, that each change shows at once, and that the verification itself catches a stale page."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event, select, text, update

from trainer import page_versions
from trainer.extensions import db
from trainer.models import Cohort, ItemState, Question, utcnow
from trainer.services import accounts, page_cache
from trainer.domain import scheduling as sched

from tests.web.test_study import complete_basics, form_of


def counters(app, learner_id):
    with app.app_context():
        return page_cache.versions(learner_id)


def count_statements(app):
    """A list that collects the statements run on the app's engine while it is kept."""
    seen = []
    with app.app_context():
        engine = db.engine

    def note(conn, cursor, statement, *args):
        seen.append(statement)
    event.listen(engine, "before_cursor_execute", note)
    return seen, lambda: event.remove(engine, "before_cursor_execute", note)


def cohort_of(app, learner_id: int, school_name: str) -> tuple[int, int]:
    """A new school with one cohort that the learner joins; returns (school id, cohort id)."""
    with app.app_context():
        school = accounts.create_school(school_name)
        cohort = accounts.create_cohort(school.id, "Spring")
        db.session.commit()
        accounts.join_cohort(learner_id, cohort.join_code)
        db.session.commit()
        return school.id, cohort.id


def test_every_trigger_is_in_a_database_built_from_the_models(app):
    with app.app_context(), db.engine.connect() as conn:
        assert page_versions.trigger_names(conn) == page_versions.expected_names()
        assert conn.execute(text("SELECT version FROM site_state WHERE id = 1")).scalar() is not None


def test_a_learners_changes_move_their_counter_and_no_one_elses(app, logged_in, learner, make_user):
    other, _ = make_user("learner")
    before, site = counters(app, learner[0])
    other_before = counters(app, other)[0]
    complete_basics(logged_in)  # lesson progress
    after_lesson = counters(app, learner[0])[0]
    assert after_lesson > before
    page = logged_in.get("/study/review/next")
    token, _, _ = form_of(page)
    logged_in.post("/study/review/answer", {"token": token, "choice": "a", "text": "x", "number": "0",
                                            "region": "calf"})  # a review answer: log, memory state, study day
    assert counters(app, learner[0])[0] > after_lesson
    assert counters(app, other)[0] == other_before
    assert counters(app, learner[0])[1] == site  # nothing site-wide changed


def test_cohort_and_bank_changes_move_the_members_and_the_site_counters(app, learner, make_user):
    outsider, _ = make_user("learner")
    _, cohort_id = cohort_of(app, learner[0], "Counter School")
    member, site = counters(app, learner[0])
    outside = counters(app, outsider)[0]
    with app.app_context():
        db.session.execute(update(Cohort).where(Cohort.id == cohort_id).values(exam_date=utcnow().date()))
        db.session.commit()
    assert counters(app, learner[0])[0] > member and counters(app, outsider)[0] == outside
    with app.app_context():
        question = db.session.scalar(select(Question).limit(1))
        question.updated_at = utcnow()
        db.session.commit()
    assert counters(app, learner[0])[1] > site and counters(app, outsider)[1] > site


def test_counters_read_with_the_signed_in_user_hold_only_until_the_transaction_ends(app, learner):
    """The page counters come with the signed-in user's row and stand for the rest of that transaction; a request
    that commits a change to the bank (an author saving a question, then a page built) reads them again, so no page
    is kept under the counter from before its own change."""
    from trainer.models import User
    with app.test_request_context():
        session_id = f"{learner[0]}-{db.session.get(User, learner[0]).session_version or 0}"
        db.session.commit()  # a fresh transaction, as a request starts with
        loaded = app.login_manager._user_callback(session_id)  # the app's user loader, as each request runs it
        learner_version, site = page_cache.versions(learner[0])
        assert learner_version == loaded.data_version
        seen, stop = count_statements(app)
        assert page_cache.versions(learner[0]) == (learner_version, site) and page_cache.site_version() == site
        stop()
        assert seen == []  # as read with the user: no statement of their own
        question = db.session.scalar(select(Question).limit(1))
        question.updated_at = utcnow()
        db.session.commit()
        assert page_cache.site_version() > site
        assert page_cache.versions(learner[0])[1] == page_cache.site_version()


def test_a_kept_home_page_is_served_and_each_change_shows_at_once(app, logged_in, learner):
    complete_basics(logged_in)
    logged_in.get("/home")  # shows (and so ends) the "lesson complete" message
    first = logged_in.get("/home").get_data(as_text=True)
    app.config["PAGE_CACHE_VERIFY"] = False  # (verifying builds the page again: counted here, it would hide a miss)
    seen, stop = count_statements(app)
    again = logged_in.get("/home").get_data(as_text=True)
    stop()
    app.config["PAGE_CACHE_VERIFY"] = True
    assert again == first.replace(re.search(r'name="csrf_token" value="[^"]+"', first).group(0),
                                  re.search(r'name="csrf_token" value="[^"]+"', again).group(0))
    # Kept: the user, the two counters and the difficulties' freshness, not the page's dozen reads.
    assert len(seen) <= 4, seen
    due_new = re.search(r'<span class="stat">(\d+)</span> due · <span class="stat">(\d+)</span> new', first).groups()
    page = logged_in.get("/study/review/next")
    token, _, _ = form_of(page)
    logged_in.post("/study/review/answer", {"token": token, "choice": "a", "text": "x", "number": "0",
                                            "region": "calf"})
    now = logged_in.get("/home").get_data(as_text=True)
    after = re.search(r'<span class="stat">(\d+)</span> due · <span class="stat">(\d+)</span> new', now).groups()
    assert after != due_new  # one new question met: the new count falls (or a learning step is now due)
    assert int(after[1]) == int(due_new[1]) - 1


def test_the_progress_page_keeps_its_forms_working_per_session(app, browser, learner):
    """The kept progress page carries a placeholder for the CSRF token: each session gets its own token in the
    page's forms, and a form of a page kept for another session works."""
    browser.login(learner[1])
    complete_basics(browser)
    token, _, _ = form_of(browser.get("/study/review/next"))
    browser.post("/study/review/answer", {"token": token, "choice": "a", "text": "x", "number": "0",
                                          "region": "calf"})  # a studied lesson: the page offers to practise it
    page = browser.get("/study/dashboard").get_data(as_text=True)
    from tests.conftest import Browser
    second = Browser(app.test_client())
    second.login(learner[1])
    kept = second.get("/study/dashboard").get_data(as_text=True)
    assert page_cache.CSRF_MARK not in page and page_cache.CSRF_MARK not in kept
    mine = re.findall(r'name="csrf_token" value="([^"]+)"', page)
    theirs = re.findall(r'name="csrf_token" value="([^"]+)"', kept)
    assert len(theirs) >= 2 and set(theirs).isdisjoint(mine)  # the practise form and the layout's, per session
    lesson = re.search(r'name="lesson" value="([^"]+)"', kept).group(1)
    response = second.post("/study/practice", {"lesson": lesson, "csrf_token": theirs[-1]})
    assert response.status_code in (302, 303) and "/study/practice/" in response.headers["Location"]


def test_a_learning_step_entering_the_learn_ahead_window_ends_the_kept_page(app, logged_in, learner, monkeypatch):
    from trainer.services import study
    complete_basics(logged_in)
    page = logged_in.get("/study/review/next")
    token, _, _ = form_of(page)
    logged_in.post("/study/review/answer", {"token": token, "choice": "a", "text": "x", "number": "0",
                                            "region": "calf"})
    with app.app_context():
        state = db.session.scalar(select(ItemState).where(ItemState.learner_id == learner[0]))
        # a learning step due 7 minutes after it enters the learn-ahead window
        db.session.execute(update(ItemState).where(ItemState.id == state.id).values(
            state=sched.LEARNING, step=0, due_at=utcnow() + sched.LEARN_AHEAD + timedelta(minutes=7)))
        db.session.commit()
        change = study.next_due_change(learner[0], utcnow())
        assert timedelta(minutes=6) < change - utcnow() <= timedelta(minutes=7)
    # The clock's quarter hour is held still, so only the page's own "holds until" can end it.
    still = page_cache.step_start(utcnow())
    monkeypatch.setattr(page_cache, "step_start", lambda now: still)
    monkeypatch.setattr(page_cache, "STEP", timedelta(days=1))
    before = logged_in.get("/home").get_data(as_text=True)
    due_before = int(re.search(r'<span class="stat">(\d+)</span> due', before).group(1))
    assert logged_in.get("/home").get_data(as_text=True).count(f'<span class="stat">{due_before}</span> due') == 1
    later = utcnow() + timedelta(minutes=8)
    monkeypatch.setattr(page_cache, "utcnow", lambda: later)
    after = logged_in.get("/home").get_data(as_text=True)
    assert int(re.search(r'<span class="stat">(\d+)</span> due', after).group(1)) == due_before + 1


def test_the_verification_catches_a_page_kept_past_a_change_the_counters_missed(app, logged_in, learner):
    complete_basics(logged_in)
    logged_in.get("/home")
    with app.app_context():
        for statement in page_versions.drop_statements(db.engine.dialect.name):
            if "lesson_progress" in statement:
                db.session.execute(text(statement))
        db.session.commit()
    logged_in.post("/lessons/basics-sensitisation/complete")  # the module's lessons done: 1 of 2 -> 2 of 2
    with pytest.raises(page_cache.StaleKeptPage):
        logged_in.get("/home")


def test_verify_names_a_missing_trigger_and_repair_makes_it_again(app, runner):
    with app.app_context():
        db.session.execute(text(page_versions.drop_statements(db.engine.dialect.name)[0]))
        db.session.commit()
    result = runner.invoke(args=["verify"])
    assert "trigger pv_item_state_insert is missing" in result.output and result.exit_code != 0
    with app.app_context(), db.engine.begin() as conn:  # what `trainer init` runs after the migrations
        assert page_versions.repair(conn) == ["pv_item_state_insert"]
    with app.app_context(), db.engine.connect() as conn:
        assert page_versions.trigger_names(conn) == page_versions.expected_names()
    assert "trigger" not in runner.invoke(args=["verify"]).output


def test_pages_kept_in_redis_are_served_from_it_and_never_stale(app, logged_in, learner, own_redis):
    """A page kept in Redis (which every worker and host shares) is served from it, and an answer shows at once."""
    import redis
    url = own_redis(4)
    complete_basics(logged_in)
    logged_in.get("/home")
    first = logged_in.get("/home").get_data(as_text=True)
    assert any(k.startswith(b"trainer:page:") for k in redis.Redis.from_url(url).keys())
    page = logged_in.get("/study/review/next")
    token, _, _ = form_of(page)
    logged_in.post("/study/review/answer", {"token": token, "choice": "a", "text": "x", "number": "0",
                                            "region": "calf"})
    after = logged_in.get("/home").get_data(as_text=True)
    new = lambda html: int(re.search(r'<span class="stat">(\d+)</span> new', html).group(1))  # noqa: E731
    assert new(after) == new(first) - 1


def test_the_shipped_migration_makes_the_triggers_the_models_make():
    """page_versions.py (create_all, `trainer init`'s repair) and migration page01versions (written out, as a
    migration must be) make the same triggers: a change to one without a new migration fails here."""
    import importlib.util
    from pathlib import Path
    path = Path(page_versions.__file__).parent / "migrations" / "versions" / "page01versions_learner_page_counters.py"
    spec = importlib.util.spec_from_file_location("page01versions", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    for dialect in ("sqlite", "postgresql"):
        assert migration._statements(dialect) == page_versions.statements(dialect)


def test_a_kept_cohort_dashboard_shows_a_members_progress_at_once(app, logged_in, learner, make_user, client):
    """The cohort dashboard's block is kept under its members' counters: opened again with nothing changed it
    runs a handful of statements; a member finishing a lesson shows on the next load."""
    from tests.conftest import Browser
    school_id, cohort_id = cohort_of(app, learner[0], "Kept Dashboards")
    _, admin_email = make_user("school_admin", school=school_id)
    staff = Browser(app.test_client())
    staff.login(admin_email)
    url = f"/school/cohorts/{cohort_id}"

    def completed_cells(html: str) -> list[str]:
        return re.findall(r'data-module="[^"]+">([^<]*)<', html)
    first = staff.get(url).get_data(as_text=True)
    app.config["PAGE_CACHE_VERIFY"] = False  # (verifying would build it again and hide a miss)
    seen, stop = count_statements(app)
    again = staff.get(url).get_data(as_text=True)
    stop()
    app.config["PAGE_CACHE_VERIFY"] = True
    assert len(seen) <= 5, seen  # the viewer, the cohort, its roster with their counters, the site counter
    assert completed_cells(again) == completed_cells(first)
    complete_basics(logged_in)
    after = staff.get(url).get_data(as_text=True)
    assert completed_cells(after) != completed_cells(first)
    assert any(cell.strip() not in ("0%", "0 %", "") for cell in completed_cells(after)), completed_cells(after)
