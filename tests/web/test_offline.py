"""Study on the bus, from the web: the download carries review questions with their keys and one-time
tokens, and the batch sync applies queued answers once each, at their offline time, refusing bad items
with a reason."""
from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import client_as
from trainer.extensions import db
from trainer.models import ItemState, Lesson, Question, ReviewLog, StudyDay, utcnow
from trainer.services import integrity, progress


@pytest.fixture
def reader(app, learner):
    """A learner who has read every lesson (so every question of the course is new for review)."""
    with app.app_context():
        for lesson in db.session.scalars(select(Lesson)):
            progress.mark_complete(learner[0], lesson.id)
        db.session.commit()
    client = client_as(app, learner[0])
    return client, learner[0]


def download(client, n=None):
    response = client.get("/study/offline/download.json" + (f"?n={n}" if n else ""))
    assert response.status_code == 200
    return response.get_json()


def answer_for(item: dict, right: bool = True):
    if item["type"] == "truefalse":
        return item["answer"] if right else not item["answer"]
    wanted = [o["id"] for o in item["options"] if o["correct"] == right]
    return wanted[0] if item["type"] == "single" else ([o["id"] for o in item["options"] if o["correct"]]
                                                     if right else wanted[:1])


def sync(client, answers, **extra):
    token = client.get("/study/offline/session.json").get_json()["csrf_token"]
    return client.post("/study/offline/sync", json={"answers": answers, **extra}, headers={"X-CSRFToken": token})


def logs(app, learner_id):
    with app.app_context():
        return list(db.session.execute(select(ReviewLog.question_id, ReviewLog.reviewed_at, ReviewLog.correct)
                                       .where(ReviewLog.learner_id == learner_id).order_by(ReviewLog.reviewed_at)))


def test_the_download_holds_review_questions_with_keys_tokens_and_lesson_links(app, reader):
    client, _ = reader
    body = download(client, 5)
    assert 0 < len(body["items"]) <= 5
    item = body["items"][0]
    assert item["token"] and item["stem_html"] and "explanation_html" in item
    assert item["type"] in ("single", "multiple", "truefalse")
    assert body["csrf_token"]


def test_queued_answers_are_applied_once_in_answer_time_order_at_their_offline_time(app, reader):
    client, learner_id = reader
    body = download(client, 3)
    items = body["items"][:3]
    start = datetime.fromisoformat(body["issued_at"]) + timedelta(milliseconds=100)
    queued = [{"token": it["token"], "response": answer_for(it, i != 1),
               "answered_at": (start + timedelta(milliseconds=100 * i)).isoformat(), "duration_ms": 4000}
              for i, it in enumerate(items)]
    time.sleep(0.5)  # the answers were made after the download and before the sync
    reply = sync(client, list(reversed(queued)), download=True)
    assert reply.status_code == 200, reply.get_data(as_text=True)
    body = reply.get_json()
    assert [r["status"] for r in body["results"]] == ["saved"] * 3
    assert [r["correct"] for r in reversed(body["results"])] == [True, False, True]
    stored = logs(app, learner_id)
    assert [row.question_id for row in stored] == [it["question_id"] for it in items]
    assert abs((stored[0].reviewed_at.replace(tzinfo=start.tzinfo) - start).total_seconds()) < 0.01
    assert body["download"]["items"] and set(map(int, body["states"])) == {it["question_id"] for it in items}
    # The reply was lost: the phone sends the same batch again. Acknowledged, nothing applied twice.
    again = sync(client, queued).get_json()
    assert [r["status"] for r in again["results"]] == ["duplicate"] * 3
    assert len(logs(app, learner_id)) == 3
    with app.app_context():
        assert integrity.verify().ok
        # Each saved answer counts once towards its study day (the streak and active days), however sent.
        assert db.session.scalar(select(func.sum(StudyDay.answers)).where(StudyDay.learner_id == learner_id)) == 3


@pytest.mark.parametrize("change, reason", [
    (lambda a: {**a, "token": a["token"][:-3] + "xyz"}, "not valid"),
    (lambda a: {**a, "response": "no-such-option"}, "option"),
    (lambda a: {**a, "response": {"x": [1]}}, ""),
    (lambda a: {**a, "answered_at": (utcnow() + timedelta(days=1)).isoformat()}, "future"),
    (lambda a: {**a, "answered_at": (utcnow() - timedelta(days=1)).isoformat()}, "before the question"),
    (lambda a: {**a, "answered_at": "yesterday"}, "time"),
    (lambda a: "not an object", "token"),
])
def test_a_tampered_item_is_refused_with_a_reason_and_the_others_are_saved(app, reader, change, reason):
    client, learner_id = reader
    items = download(client, 2)["items"]
    good = [{"token": it["token"], "response": answer_for(it), "answered_at": utcnow().isoformat(),
             "duration_ms": 1000} for it in items[:2]]
    reply = sync(client, [change(good[0]), good[1]])
    assert reply.status_code == 200
    first, second = reply.get_json()["results"]
    assert first["status"] == "refused" and reason in first["reason"]
    assert second["status"] == "saved"
    assert len(logs(app, learner_id)) == 1


def test_a_sync_without_json_or_too_large_is_refused(app, reader):
    client, _ = reader
    token = client.get("/study/offline/session.json").get_json()["csrf_token"]
    assert client.post("/study/offline/sync", data="nope", headers={"X-CSRFToken": token}).status_code == 400
    many = [{"token": "x"}] * 501
    assert client.post("/study/offline/sync", json={"answers": many}, headers={"X-CSRFToken": token}).status_code == 413
    assert client.post("/study/offline/sync", json={"answers": []}).status_code == 400  # no CSRF token


def test_two_devices_answering_one_question_keep_both_reviews_in_time_order(app, reader):
    """Phone and tablet downloaded the same question and both answered it offline. Synced in time order,
    both answers are distinct reviews (logged, FSRS applied to each). An answer older than a review already
    stored is refused with its reason, never stored out of order."""
    client, learner_id = reader
    phone, tablet, third = (download(client, 1)["items"][0] for _ in range(3))
    assert phone["question_id"] == tablet["question_id"] == third["question_id"] and phone["token"] != tablet["token"]
    t0 = utcnow()
    time.sleep(0.4)
    first = {"token": phone["token"], "response": answer_for(phone, False), "answered_at": t0.isoformat()}
    second = {"token": tablet["token"], "response": answer_for(tablet),
              "answered_at": (t0 + timedelta(milliseconds=200)).isoformat()}
    assert sync(client, [first]).get_json()["results"][0]["status"] == "saved"
    assert sync(client, [second]).get_json()["results"][0]["status"] == "saved"
    assert [row.correct for row in logs(app, learner_id)] == [False, True]
    with app.app_context():
        state = db.session.scalar(select(ItemState).where(ItemState.learner_id == learner_id))
        assert state.reps == 2 and integrity.verify().ok
    # The third device answered between the two but syncs last: refused with its reason, nothing stored.
    old = {"token": third["token"], "response": answer_for(third),
           "answered_at": (t0 + timedelta(milliseconds=100)).isoformat()}
    result = sync(client, [old]).get_json()["results"][0]
    assert result["status"] == "refused" and "reviewed after this answer" in result["reason"]
    assert len(logs(app, learner_id)) == 2


def test_the_manifest_and_service_worker_are_served_for_the_whole_site(client):
    manifest = client.get("/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    body = manifest.get_json()
    assert body["start_url"] == "/study/offline" and body["display"] == "standalone"
    for icon in body["icons"]:
        assert client.get(icon["src"]).status_code == 200
    worker = client.get("/sw.js")
    assert worker.status_code == 200 and worker.mimetype == "text/javascript"
    assert worker.headers["Service-Worker-Allowed"] == "/"
    assert "script-src 'self'" in worker.headers["Content-Security-Policy"]
