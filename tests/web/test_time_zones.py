"""Every time on the pages is in the viewer's own zone, with the zone named."""
from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from tests.conftest import Browser
from trainer.extensions import db
from trainer.models import QuizAssignment as Assignment, User
from trainer.services.demo import DEMO_PASSWORD
from trainer.timefmt import local_time

CHICAGO = "America/Chicago"
TIME = re.compile(r"\b\d{1,2}:\d{2} ([A-Z][A-Z0-9+-]{1,5})\b")


def visible(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style|select)[^>]*>.*?</\1>", " ", html, flags=re.S))


def walk(client: Browser, start: list[str], follow: str, limit: int = 60) -> dict[str, str]:
    """The pages at ``start`` and those they link to whose path matches ``follow``."""
    seen: dict[str, str] = {}
    queue = list(start)
    while queue and len(seen) < limit:
        url = queue.pop(0)
        if url in seen:
            continue
        response = client.get(url)
        assert response.status_code == 200, url
        seen[url] = response.get_data(as_text=True)
        queue += [href for href in re.findall(r'href="(/[^"#?]*)"', seen[url]) if re.match(follow, href)]
    return seen


def test_a_chicago_viewer_sees_every_time_in_chicago_time(app, demo):
    cohort_id, ana = demo
    with app.app_context():
        db.session.execute(update(User).values(timezone=CHICAGO))
        db.session.commit()
        assignments = list(db.session.scalars(select(Assignment)))
        expected = [local_time(a.opens_at, CHICAGO) for a in assignments]
    assert assignments and all(re.search(r" C[DS]T$", e) for e in expected)
    pages: dict[str, str] = {}
    for email, start, follow in [
        ("director@demo.test", ["/school/", f"/school/cohorts/{cohort_id}", f"/school/cohorts/{cohort_id}/readiness",
                                "/quizzes/", "/bank/", "/author/reports", "/analysis/"],
         r"^/(quizzes/\d+|quizzes/assignments/\d+(/attempts/\d+)?|quizzes/assignments/\d+/edit|bank/\d+/versions)$"),
        ("ana@demo.test", ["/home", "/study/dashboard", "/study/exams", "/author/my-reports"], r"^/quizzes/(take/\d+|attempts/\d+/result)$"),
    ]:
        client = Browser(app.test_client())
        assert client.login(email, DEMO_PASSWORD).status_code == 302
        pages.update({f"{email} {url}": html for url, html in walk(client, start, follow).items()})
    assert len(pages) > 10
    for where, html in pages.items():
        text = visible(html)
        assert "UTC" not in text, where
        zones = set(TIME.findall(text))
        assert zones <= {"CST", "CDT"}, (where, zones)
    everything = "\n".join(pages.values())
    for shown in expected:  # the assignment's open time, converted to Chicago, is what staff read
        assert shown in everything


def test_signup_keeps_the_browser_zone_and_refuses_an_unknown_one(app, client):
    anon = Browser(client)
    anon.get("/signup")
    anon.post("/signup", {"name": "Chi", "email": "chi@example.com", "password": "a-long-secret-1",
                          "confirm": "a-long-secret-1", "timezone": CHICAGO})
    other = Browser(app.test_client())
    other.get("/signup")
    other.post("/signup", {"name": "Mars", "email": "mars@example.com", "password": "a-long-secret-1",
                           "confirm": "a-long-secret-1", "timezone": "Mars/Olympus_Mons"})
    with app.app_context():
        zones = dict(db.session.execute(select(User.email, User.timezone)).all())
    assert zones["chi@example.com"] == CHICAGO and zones["mars@example.com"] == "UTC"


def test_local_time_names_the_zone_across_daylight_saving():
    from datetime import datetime, timezone
    winter = datetime(2027, 1, 12, 20, 0, tzinfo=timezone.utc)
    summer = datetime(2027, 3, 16, 19, 0, tzinfo=timezone.utc)
    assert local_time(winter, CHICAGO) == "Tue 12 Jan 2027, 14:00 CST"
    assert local_time(summer, CHICAGO) == "Tue 16 Mar 2027, 14:00 CDT"
    assert ZoneInfo(CHICAGO)  # the zone data is installed


def test_an_assignment_set_in_chicago_reads_in_each_viewers_zone(app, world):
    """An instructor in Chicago opens a quiz at 09:00 their time: they read 09:00 CDT, a London learner 15:00 BST."""
    from datetime import datetime, timezone

    from tests.web.test_quizzes import build_and_assign
    with app.app_context():
        db.session.execute(update(User).where(User.id == world.instructor_x).values(timezone=CHICAGO))
        db.session.execute(update(User).where(User.id == world.learner_x).values(timezone="Europe/London"))
        db.session.commit()
    staff, quiz_id, _ = build_and_assign(app, world)
    staff.get(f"/quizzes/{quiz_id}/assign")
    made = staff.post(f"/quizzes/{quiz_id}/assign", {"cohort": world.cohort_x, "timezone": CHICAGO,
                                                     "opens_at": "2030-06-10T09:00", "closes_at": "2030-06-12T17:00"})
    assert made.status_code == 302
    opens = datetime(2030, 6, 10, 14, 0, tzinfo=timezone.utc)
    staff_page = staff.get(made.headers["Location"]).get_data(as_text=True)
    assert local_time(opens, CHICAGO) == "Mon 10 Jun 2030, 09:00 CDT" and local_time(opens, CHICAGO) in staff_page
    learner = Browser(app.test_client())
    learner.login(world.emails["learner_x"], "correct-horse-battery")
    learner.get("/lessons/basics-nociception")       # past the first visit's welcome page
    home = learner.get("/home").get_data(as_text=True)
    assert "Mon 10 Jun 2030, 15:00 BST" in home and "CDT" not in home and "UTC" not in visible(home)
