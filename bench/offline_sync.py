"""How long one offline sync of a full batch takes: 200 queued answers, graded again and applied to FSRS.

    python bench/offline_sync.py [--answers 200] [--rounds 3]
    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/trainer_x python bench/offline_sync.py

Builds the test course with ``--answers`` extra single-answer questions in a temp dir (a SQLite file, or a
fresh schema on PostgreSQL when TEST_DATABASE_URL is set), downloads them for one learner as the phone does,
answers each offline a second apart, and times POST /study/offline/sync with the whole batch through the Flask
test client (request parsing, CSRF, the service, the commit; no network). Prints ms per batch and per answer;
the budget is a batch of 200 in under one second.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select  # noqa: E402

from tests.conftest import COURSE, client_as, close_app, make_app  # noqa: E402
from trainer.extensions import db  # noqa: E402
from trainer.models import Lesson, ReviewLog  # noqa: E402
from trainer.services import accounts, progress  # noqa: E402


def one_round(size: int, workdir: Path) -> float:
    bank = workdir / "bank"
    shutil.rmtree(bank, ignore_errors=True)
    shutil.copytree(COURSE / "question_bank", bank)
    extra = [{"id": f"bench-{i:04d}", "type": "single", "module": "basics", "exam_area": "AP", "difficulty": 1,
              "lesson": "basics-nociception#nociception", "stem": f"Bench question {i}?",
              "options": [{"text": f"Right {i}", "correct": True}, {"text": f"Wrong {i}"}],
              "explanation": "Because."} for i in range(size)]
    (bank / "bench.yaml").write_text(yaml.safe_dump(extra, sort_keys=False))
    database = workdir / "bench.db"
    database.unlink(missing_ok=True)
    import os
    options = {} if os.environ.get("TEST_DATABASE_URL") else {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}", "SQLALCHEMY_ENGINE_OPTIONS": {}}
    app, drop = make_app(bank=bank, RATELIMIT_ENABLED=False, **options)
    try:
        with app.app_context():
            user = accounts.create_user("bench-rider@example.com", "Bench Rider", "correct-horse-battery")
            user.new_per_day = size + 50
            for lesson in db.session.scalars(select(Lesson)):
                progress.mark_complete(user.id, lesson.id)
            db.session.commit()
            learner_id = user.id
        client = client_as(app, learner_id)
        body = client.get(f"/study/offline/download.json?n={size + 30}").get_json()
        items = [it for it in body["items"] if it["type"] == "single"][:size]
        start = datetime.fromisoformat(body["issued_at"])
        answers = [{"token": it["token"], "response": next(o["id"] for o in it["options"] if o["correct"]),
                    "answered_at": (start + timedelta(milliseconds=i)).isoformat(), "duration_ms": 5000}
                   for i, it in enumerate(items)]
        csrf = client.get("/study/offline/session.json").get_json()["csrf_token"]
        began = time.perf_counter()
        reply = client.post("/study/offline/sync", json={"answers": answers}, headers={"X-CSRFToken": csrf})
        elapsed = time.perf_counter() - began
        assert reply.status_code == 200, reply.get_data(as_text=True)[:300]
        statuses = [r["status"] for r in reply.get_json()["results"]]
        assert statuses == ["saved"] * len(answers), statuses
        with app.app_context():
            stored = db.session.scalar(select(func.count(ReviewLog.id)).where(ReviewLog.learner_id == learner_id))
        assert stored == len(answers) == size, (stored, len(answers))
        return elapsed
    finally:
        close_app(app, drop)


def download_size(workdir: Path) -> str:
    """Bytes the phone keeps for a day's load of the real course: the download JSON for a learner who read every
    lesson (15 new a day, nothing due yet: the default size of at least 20 questions), and the app shell."""
    import os
    root = Path(__file__).resolve().parent.parent
    options = {} if os.environ.get("TEST_DATABASE_URL") else {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'size.db'}", "SQLALCHEMY_ENGINE_OPTIONS": {}}
    app, drop = make_app(modules=root / "modules", bank=root / "question_bank", RATELIMIT_ENABLED=False, **options)
    try:
        with app.app_context():
            user = accounts.create_user("bench-size@example.com", "Bench Size", "correct-horse-battery")
            for lesson in db.session.scalars(select(Lesson)):
                progress.mark_complete(user.id, lesson.id)
            db.session.commit()
            learner_id = user.id
        client = client_as(app, learner_id)
        body = client.get("/study/offline/download.json").get_data()
        count = len(client.get("/study/offline/download.json").get_json()["items"])
        shell = sum(len(client.get(u).get_data()) for u in (
            "/study/offline", "/static/css/app.css", "/static/js/app.js", "/static/js/offline.js",
            "/static/js/offline-register.js", "/static/js/offline-lessons.js", "/static/favicon.svg",
            "/static/icons/icon.svg", "/static/icons/icon-192.png", "/manifest.webmanifest"))
        return (f"a day's download of the real course: {count} questions, {len(body) / 1024:.0f} kB JSON "
                f"({len(body) / max(count, 1) / 1024:.1f} kB per question); app shell {shell / 1024:.0f} kB")
    finally:
        close_app(app, drop)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        times = [one_round(args.answers, Path(tmp)) for _ in range(args.rounds)]
        print(download_size(Path(tmp)))
    best, median = min(times), statistics.median(times)
    print(f"offline sync of {args.answers} answers: median {median * 1000:.0f} ms "
          f"({median * 1000 / args.answers:.2f} ms per answer), best {best * 1000:.0f} ms over {args.rounds} rounds;"
          f" budget 1000 ms: {'met' if median < 1 else 'MISSED'}")


if __name__ == "__main__":
    main()
