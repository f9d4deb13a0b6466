"""Growth curves: one cohort of 50 learners timed as their history grows from ~10k to ~100k to ~1M review rows.

    python bench/growth.py                          # SQLite and PostgreSQL, sizes 10k / 100k / 1M
    python bench/growth.py --db sqlite --scale 0.1  # sizes 1k / 10k / 100k, for a quick look

Step 1 seeds the cohort with seed-scale (50 learners, about 200 reviews each). Steps 2 and 3 add history to the
same 50 learners until the review table holds about 100k and then 1M rows (about 2,000 and 20,000 reviews per
learner, spread over the past year) and memory states for the whole bank from the second size on (a learner's
memory states are bounded by the bank, their reviews are not; each question's first answer finds it new, the
later ones studied). The cohort size stays 50, so any growth in time from the second size to the third comes
from the learners' history, which is what a learner or a school accumulates over years of use.

Timed in-process through the Flask test client (app, middleware, session, database; no network), median and
p95 of --runs requests each, rotating over 10 of the cohort's learners:
  due queue             GET /study/review/next
  answer submission     POST /study/review/answer (a fresh answer token each time)
  learner dashboard     GET /study/dashboard after the learner's page counter moved (as their next answer moves
                        it: the page is built again), and kept
  readiness             services.readiness.forecast for one learner, computed afresh (cached=False), and as
                        kept (the cache key read from the database, the forecast from the per-process store)
  cohort dashboard      GET /school/cohorts/<id> as the school admin after one of its learners studied, and
                        cohorts.build_dashboard alone (the page adds the quiz results of services/cohort_results.py)
  item analysis         GET /analysis/ as the cohort's instructor (when the route exists)
Writes bench/out/growth.md (+ .json, charts) and refreshes bench/REPORT.md unless --no-publish.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import report as rep  # noqa: E402  (bench/report.py)
from scaledb import BENCH_SECRET, ScaleDB  # noqa: E402
from throwaway import learner_studied  # noqa: E402  (bench/throwaway.py)
from timing import pct  # noqa: E402

OPERATIONS = ["due queue", "answer submission", "learner dashboard", "  learner dashboard kept", "readiness",
              "  readiness kept",
              "cohort dashboard", "  build_dashboard only", "item analysis"]
TARGET_GROWTH = 1.5  # from the middle to the largest size, for the learner dashboard, the due queue and readiness
CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


def login(app, email: str, password: str):
    client = app.test_client()
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 302, (email, response.status_code)
    return client, token


def measure(db: ScaleDB, people: dict, runs: int, rng: random.Random) -> dict[str, dict]:
    """Median and p95 (ms) of each operation for the fixed learners and cohort."""
    from itsdangerous import URLSafeSerializer

    from trainer.services.scale import SCALE_PASSWORD
    app = db.flask_app()
    learners = [(lid, *login(app, email, SCALE_PASSWORD)) for lid, email in people["learners"]]
    admin, _ = login(app, people["admin"], SCALE_PASSWORD)
    instructor, _ = login(app, people["instructor"], SCALE_PASSWORD)
    has_analysis = any(r.rule == "/analysis/" for r in app.url_map.iter_rules())
    signer = URLSafeSerializer(BENCH_SECRET, salt="answer-token")

    def timed(fn, before=None) -> dict:
        try:
            fn()  # warm: first use of a statement compiles it
        except AssertionError as exc:  # a broken page is reported, not fatal to the other figures
            print(f"    failed: {exc}", file=sys.stderr)
            return {"error": str(exc)}
        seconds = []
        for i in range(runs):
            if before:
                before(i)  # not timed
            started = time.perf_counter()
            fn(i)
            seconds.append(time.perf_counter() - started)
        ms = [s * 1000 for s in seconds]
        return {"median": statistics.median(ms), "p95": pct(ms, 0.95), "n": len(ms)}

    def get(client, path, i=0):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)

    def answer(i=0):
        lid, client, csrf = learners[i % len(learners)]
        token = signer.dumps({"l": lid, "q": rng.choice(people["questions"]), "a": None, "p": None,
                              "n": secrets.token_hex(8)})
        response = client.post("/study/review/answer", data={"token": token, "choice": "a", "csrf_token": csrf})
        assert response.status_code == 302, response.status_code

    def studied(i: int) -> None:
        learner_studied(app, learners[i % len(learners)][0])

    out = {
        "due queue": timed(lambda i=0: get(learners[i % len(learners)][1], "/study/review/next")),
        "answer submission": timed(answer),
        # Built again, as after the learner's next answer (which moves their page counter), then kept.
        "learner dashboard": timed(lambda i=0: get(learners[i % len(learners)][1], "/study/dashboard"),
                                   before=studied),
        "  learner dashboard kept": timed(lambda i=0: get(learners[i % len(learners)][1], "/study/dashboard")),
        # after one of its learners studied (their figures are counted again, the others' kept ones are used)
        "cohort dashboard": timed(lambda i=0: get(admin, f"/school/cohorts/{people['cohort']}"), before=studied),
    }
    from sqlalchemy import select

    from trainer.extensions import db as sa
    from trainer.models import Cohort
    from trainer.services import cohorts, readiness

    def build(i=0):
        with app.app_context():
            cohorts.build_dashboard(sa.session.scalar(select(Cohort).where(Cohort.id == people["cohort"])))
            sa.session.remove()
    out["  build_dashboard only"] = timed(build)

    def ready(i=0, cached=False):
        with app.app_context():
            readiness.forecast(learners[i % len(learners)][0], pass_mark=app.config["PRACTICE_PASS_MARK"],
                               cached=cached)
            sa.session.remove()
    out["readiness"] = timed(ready)
    for i in range(len(learners)):  # keep every learner's forecast once, then time the kept ones
        ready(i, cached=True)
    out["  readiness kept"] = timed(lambda i=0: ready(i, cached=True))
    if has_analysis:
        out["item analysis"] = timed(lambda i=0: get(instructor, "/analysis/"))
    return out


def fixed_people(db: ScaleDB) -> dict:
    """The first seeded cohort, its school admin and instructor, and 10 of its learners."""
    from sqlalchemy import select

    from trainer.extensions import db as sa
    from trainer.models import Cohort, CohortInstructor, Enrolment, Question, User
    with db.flask_app().app_context():
        cohort = sa.session.scalar(select(Cohort).order_by(Cohort.id).limit(1))
        everyone = sa.session.execute(select(User.id, User.email).join(Enrolment, Enrolment.learner_id == User.id)
                                      .where(Enrolment.cohort_id == cohort.id).order_by(User.id)).all()
        learners = everyone[:10]
        admin = sa.session.scalar(select(User.email).where(User.role == "school_admin",
                                                           User.school_id == cohort.school_id))
        instructor = sa.session.scalar(select(User.email).join(CohortInstructor,
                                                               CohortInstructor.instructor_id == User.id)
                                       .where(CohortInstructor.cohort_id == cohort.id))
        questions = list(sa.session.scalars(select(Question.id).where(
            Question.type == "single", Question.retired_at.is_(None), Question.school_id.is_(None))))
        return {"cohort": cohort.id, "learners": [tuple(r) for r in learners],
                "cohort_learners": [r[0] for r in everyone], "admin": admin,
                "instructor": instructor, "questions": questions}


def grow_history(db: ScaleDB, people: dict, total_rows: int, rng: random.Random) -> None:
    """Add review logs (and memory states, study days) to the cohort's learners until the table has ``total_rows``."""
    from sqlalchemy import func, insert, select

    from trainer.extensions import db as sa
    from trainer.models import ItemState, Question, ReviewLog, User, utcnow
    from trainer.services import study
    with db.flask_app().app_context():
        now = utcnow()
        have = sa.session.scalar(select(func.count()).select_from(ReviewLog))
        learners = people["cohort_learners"]
        per_learner = max(0, total_rows - have) // len(learners)
        bank = sa.session.execute(select(Question.id, Question.current_version_id).where(
            Question.retired_at.is_(None), Question.school_id.is_(None), Question.type == "single")).all()
        started = time.perf_counter()
        for n, lid in enumerate(learners):
            known = set(sa.session.scalars(select(ItemState.question_id).where(ItemState.learner_id == lid)))
            # From the second size on, each learner has studied the whole bank: the third size adds history only
            # (a learner's memory states are bounded by the bank; their reviews are not).
            fresh = [q for q in bank if q[0] not in known]
            states = []
            for qid, _ in fresh:
                last = now - timedelta(days=rng.uniform(0, 60))
                stability = rng.uniform(0.5, 120)
                states.append({"learner_id": lid, "question_id": qid, "state": 2,
                               "step": None, "stability": stability, "difficulty": rng.uniform(2, 9),
                               "due_at": last + timedelta(days=stability * rng.uniform(0.5, 1.5)),
                               "last_review_at": last, "reps": rng.randint(1, 30), "lapses": rng.randint(0, 4),
                               "suspended": False, "version": 1})
            if states:
                sa.session.execute(insert(ItemState), states)
            items = [q for q in bank if q[0] in known] + fresh
            learner = sa.session.get(User, lid)
            for start in range(0, per_learner, 20000):
                logs = []
                for i in range(start, min(start + 20000, per_learner)):
                    # a fresh question's first answer finds it new; every later one finds it studied
                    first = i < len(fresh)
                    qid, vid = fresh[i] if first else items[rng.randrange(len(items))]
                    when = now - timedelta(days=rng.uniform(0, 365))
                    right = rng.random() < 0.85
                    last = when - timedelta(days=rng.uniform(1, 60))
                    logs.append({"learner_id": lid, "question_id": qid, "question_version_id": vid,
                                 "token": uuid.uuid4().hex, "reviewed_at": when, "rating": 3 if right else 1,
                                 "correct": right, "score": 1.0 if right else 0.0, "response": "a" if right else "b",
                                 "duration_ms": rng.randint(4000, 40000),
                                 "state_before": 0 if first else rng.choice([1, 2, 2, 2, 3]),
                                 "stability_before": 10.0, "difficulty_before": 5.0, "retrievability": 0.9,
                                 "due_before": None if first else when - timedelta(days=rng.uniform(0, 2)),
                                 "last_review_before": None if first else last,
                                 "kind": rng.choice(["review"] * 18 + ["practice", "exam"]), "unsafe_choice": False,
                                 "reps_before": 4, "lapses_before": 0})
                sa.session.execute(insert(ReviewLog), logs)
                study.note_study_days(learner, logs)  # the study days count them as the answer path would
            sa.session.commit()
            if (n + 1) % 10 == 0:
                print(f"  {db.kind} history: {n + 1}/{len(learners)} learners "
                      f"({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)


def run(kind: str, args) -> dict:
    sizes = [int(10_000 * args.scale), int(100_000 * args.scale), int(1_000_000 * args.scale)]
    db = ScaleDB.create(kind, args.pg_url, "growth")
    rng = random.Random(5)
    result = {"database": kind, "steps": []}
    try:
        print(f"[{kind}] building schema and content", file=sys.stderr)
        db.initialise()
        have = 0
        people: dict = {}
        for step, target in enumerate(sizes, 1):
            print(f"[{kind}] step {step}/3: growing to about {target:,} review rows "
                  f"(load average {rep.load_average()})", file=sys.stderr, flush=True)
            started = time.perf_counter()
            if step == 1:
                db.seed(50, target, cohort_size=50, schools=1, seed=step, label="cohort")
                people = fixed_people(db)
            else:
                grow_history(db, people, target, rng)
            seconds = time.perf_counter() - started
            db.analyse()
            rows = db.counts()
            have = rows["review rows"]
            print(f"[{kind}] measuring at {have:,} review rows", file=sys.stderr, flush=True)
            timings = measure(db, people, args.runs, rng)
            for name, t in timings.items():
                print(f"    {name:<20} median {t['median']:7.1f} ms   p95 {t['p95']:7.1f} ms", file=sys.stderr)
            result["steps"].append({"rows": rows, "seed_seconds": seconds, "timings": timings,
                                    "loadavg": os.getloadavg()})
    finally:
        db.close(keep=args.keep)
    return result


def summarise(results: dict, args, info: dict) -> str:
    md = ["## Growth curves: the same cohort as the tables grow\n", rep.machine_table(info),
          f"Command: `python bench/growth.py {' '.join(sys.argv[1:])}`. In-process (Flask test client), "
          f"{args.runs} requests per figure, median ms (p95 in brackets). The measured cohort (50 learners, "
          "about 200, 2,000 and 20,000 reviews each) is the same at every size; its history grows. From the "
          "second size on, each learner has studied every single-answer question of the bank (their memory "
          "states are bounded by the bank, their reviews are not), so the third size adds history only; each "
          "question's first answer is its only one from the new state. Medians on a shared virtual machine "
          "move by up to 2× between runs (the 1st and 2nd sizes of one run are not measured at the same "
          "moment as the 3rd), so a ratio well under 1 is noise, not a speed-up.\n"]
    charts = []
    for kind, r in results.items():
        steps = r["steps"]
        sizes = [s["rows"]["review rows"] for s in steps]
        md.append(f"### {kind}\n")
        md.append("Data sets: " + "; ".join(
            f"{s['rows']['review rows']:,} review rows, {s['rows']['item states']:,} item states, "
            f"{s['rows']['users']:,} users (load average after measuring "
            f"{' / '.join(f'{x:.2f}' for x in s['loadavg'])})" for s in steps) + "\n")
        header = ["operation"] + [f"{n:,} rows" for n in sizes] + ["× 1st→2nd", "× 2nd→3rd"]
        body = []
        for op in OPERATIONS:
            ts = [s["timings"].get(op) for s in steps]
            if not all(ts):
                continue
            if any("error" in t for t in ts):
                body.append([op] + [f"error: {t['error']}" if "error" in t else f"{t['median']:.1f}" for t in ts]
                            + ["", ""])
                continue
            med = [t["median"] for t in ts]
            body.append([op] + [f"{t['median']:.1f} ({t['p95']:.1f})" for t in ts]
                        + [f"{med[1] / med[0]:.2f}", f"{med[2] / med[1]:.2f}"])
        md.append(rep.table(header, body))
        ops = [op for op in OPERATIONS if all("median" in s["timings"].get(op, {}) for s in steps)]
        chart = rep.line_chart(rep.OUT / f"growth-{kind}.svg", f"{kind}: median ms by table size", sizes,
                               {op: [s["timings"][op]["median"] for s in steps] for op in ops},
                               "review rows", "median ms")
        charts.append(chart)
    md.append("### Targets (growth from the 2nd to the 3rd size, median)\n")
    trows = []
    for kind, r in results.items():
        steps = r["steps"]
        for op in ("learner dashboard", "due queue", "readiness"):
            if "median" not in steps[1]["timings"][op] or "median" not in steps[2]["timings"][op]:
                trows.append([kind, f"{op} grows < {TARGET_GROWTH}×", "error (see table)", "MISS"])
                continue
            a, b = steps[1]["timings"][op]["median"], steps[2]["timings"][op]["median"]
            trows.append([kind, f"{op} grows < {TARGET_GROWTH}×", f"{a:.1f} → {b:.1f} ms = {b / a:.2f}×",
                          "PASS" if b / a < TARGET_GROWTH else "MISS"])
        for op, what in (("cohort dashboard", "cohort dashboard page"), ("  build_dashboard only",
                                                                       "cohorts.build_dashboard")):
            t = steps[2]["timings"][op]
            trows.append([kind, f"{what} (50 learners) < 300 ms at the largest size",
                          f"{t['median']:.1f} ms" if "median" in t else f"error: {t['error']}",
                          "PASS" if t.get("median", 1e9) < 300 else "MISS"])
    md.append(rep.table(["database", "target", "measured", ""], trows))
    md.append("\n".join(f"![{c.stem}](./{c.name})\n" for c in charts))
    if not any("item analysis" in s["timings"] for r in results.values() for s in r["steps"]):
        md.append("Item analysis: no /analysis/ route in this build, so it was not timed.\n")
    else:
        md.append("Item analysis: seed-scale creates no quizzes, so /analysis/ lists none; the figure shows the "
                  "page's cost against table size, not the statistics themselves (bench/item_analysis.py times "
                  "those on 100,000 responses).\n")
    return "\n".join(md)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-url", default=os.environ.get("PG_URL", "postgresql://postgres@127.0.0.1:5432/"))
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the three sizes (0.1 for a quick run)")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--no-publish", action="store_true")
    parser.add_argument("--from-json", help="re-render the section from a saved bench/out/growth.json (no run)")
    args = parser.parse_args()
    if args.from_json:
        import json
        saved = json.loads(Path(args.from_json).read_text())
        for key, value in saved["args"].items():
            if key not in ("from_json", "no_publish"):
                setattr(args, key, value)
        sys.argv = saved.get("argv", sys.argv)
        markdown = summarise(saved["results"], args, saved["machine"])
        rep.write_section("growth", markdown, saved)
        if not args.no_publish:
            rep.publish()
        return
    rep.OUT.mkdir(parents=True, exist_ok=True)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    start_load = rep.load_average()
    results = {kind: run(kind, args) for kind in kinds}
    info = rep.machine(args.pg_url if "postgresql" in kinds else None)
    info["load average (1/5/15 min)"] = f"{start_load} at start, {info['load average (1/5/15 min)']} at end"
    markdown = summarise(results, args, info)
    rep.write_section("growth", markdown, {"machine": info, "args": vars(args), "results": results,
                                           "argv": sys.argv})
    print(markdown)
    if not args.no_publish:
        rep.publish()


if __name__ == "__main__":
    main()
