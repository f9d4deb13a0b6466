"""Readiness calibration and scheduling on simulated learners with a known truth.

    python bench/learners.py [--learners 100 --days 45 --new 6 --truth default|fast|both]
    DATABASE_URL=postgresql://postgres@127.0.0.1/bench python bench/learners.py   # throw-away schema

Ground truth (stated, not fitted): each learner has an ability theta ~ N(0, 1) and a forgetting multiplier;
each exam item a difficulty b ~ N(0, 1.2) and 1/options chance of a right guess. Before studying, a learner
knows an item with probability sigmoid(theta - b) (then its stability is long). Studying a new item gives a
true stability of 1.5 days x multiplier; a recalled review multiplies it by 1.6 + 4(1 - R); a forgotten one
cuts it to 40 %. Recall R = (1 + t / (9 S))^-1. A learner answers right when they recall, else guesses.

The learners study every day at 18:00 UTC through the real services (study.record_answer with review
tokens; all due reviews, then ``--new`` new items), sit one full mock at two thirds of the period
(exams.start_exam / exams.answer / exams.finish), and at the end the new readiness (services/readiness.py)
and the old formula are compared with the truth: the expected mock score from the true per-item P, and a
pass outcome drawn from a simulated 100-item blueprint mock. The oracle is P(pass) from the true P.

The learners form one cohort, and every ``--optimize-every`` days (before that day's study) the bench fits
their cohort and each learner with enough answers of their own, as the nightly ``trainer srs optimize --all``
cron line does in production, so the schedule and the forecast use parameters fitted to the learners' own
forgetting (``--optimize-every 0``: never, the default parameters throughout).
"""
from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from throwaway import bench_app  # noqa: E402

TRUTHS = {"default": {"forget": (1.0, 0.3)}, "fast": {"forget": (0.35, 0.3)}}


def sig(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def run(app, truth: str, args) -> dict:
    from sqlalchemy import select

    from trainer.content.source import EXAM_WEIGHTS
    from trainer.domain import readiness as rd
    from trainer.domain import scheduling as sched
    from trainer.domain.blueprint import draw
    from trainer.extensions import db
    from trainer.models import ItemState, User
    from trainer.services import accounts, cohorts, exams, srs_fits, study
    from trainer.services import readiness as rs

    rng = random.Random(11 if truth == "default" else 12)
    secret = app.config["SECRET_KEY"]
    pass_mark = app.config["PRACTICE_PASS_MARK"]
    fmean, fsd = TRUTHS[truth]["forget"]
    bank = rs._bank()
    items = list(zip(bank.ids.tolist(), (bank.areas[a] for a in bank.area.tolist()), bank.guess.tolist()))
    rs.clear_cache()
    from trainer.models import Question, QuestionVersion
    data = {qid: d for qid, d in db.session.execute(select(Question.id, QuestionVersion.data).join(
        QuestionVersion, QuestionVersion.id == Question.current_version_id).where(Question.id.in_([i[0] for i in items])))}
    right = {qid: next(o["id"] for o in d["options"] if o.get("correct")) for qid, d in data.items()}
    wrong = {qid: [o["id"] for o in d["options"] if not o.get("correct")] for qid, d in data.items()}
    b = {qid: rng.gauss(0.3, 1.2) for qid, _, _ in items}
    area_of = {qid: a for qid, a, _ in items}
    guess = {qid: g for qid, _, g in items}
    order = [qid for qid, _, _ in items]
    start = datetime(2026, 1, 5, 18, 0, tzinfo=timezone.utc)
    learners = []
    cohort = accounts.create_cohort(accounts.create_school(f"Sim school {truth}").id, f"Sim {truth}")
    fits = []
    for n in range(args.learners):
        u = accounts.create_user(f"sim-{truth}-{n}@example.com", f"Sim {n}", "sim-password-123", "learner")
        u.timezone, u.day_start_hour = "UTC", 4
        learners.append({"id": u.id, "theta": rng.gauss(0, 1), "mult": math.exp(rng.gauss(math.log(fmean), fsd)),
                         "S": {}, "last": {}, "queue": rng.sample(order, len(order))})
        cohorts.enrol(u.id, cohort)
    db.session.commit()
    true_r_at_review, late, reviews = [], 0, 0

    def true_recall(L, qid, now):
        if qid not in L["S"]:
            return sig(L["theta"] - b[qid])
        t = (now - L["last"][qid]).total_seconds() / 86400
        return (1 + t / (9 * L["S"][qid])) ** -1

    def answer(L, qid, now, correct_known):
        ok = correct_known or rng.random() < guess[qid]
        return right[qid] if ok else rng.choice(wrong[qid])

    def learn(L, qid, now, recalled):
        if qid not in L["S"]:
            known = rng.random() < sig(L["theta"] - b[qid])
            L["S"][qid] = (60.0 if known else 1.5) * L["mult"]
        elif recalled:
            r = true_recall(L, qid, now)
            L["S"][qid] *= 1.6 + 4 * (1 - r)
        else:
            L["S"][qid] = max(L["S"][qid] * 0.4, 0.5 * L["mult"])
        L["last"][qid] = now

    mock_day = (2 * args.days) // 3
    t0 = time.perf_counter()
    answers = 0
    for day in range(args.days):
        if day and hasattr(rs, "refresh_offsets"):  # the nightly `trainer srs difficulties`
            rs.refresh_difficulties(start + timedelta(days=day) - timedelta(hours=12))
            rs.refresh_offsets(start + timedelta(days=day) - timedelta(hours=12))
            rs.refresh_mock_prior(start + timedelta(days=day) - timedelta(hours=12))
            db.session.commit()
        if args.optimize_every and day and day % args.optimize_every == 0:
            outcomes = [srs_fits.optimize_cohort(cohort.id)] + [srs_fits.optimize_learner(L["id"]) for L in learners]
            fits += [(day, o.scope, o.fit.kept) for o in outcomes if o]
            db.session.commit()
        for L in learners:
            now = start + timedelta(days=day, minutes=rng.randint(0, 60))
            learner = db.session.get(User, L["id"])
            if day == mock_day:
                attempt = exams.start_exam(L["id"], now=now, rng=rng)
                for item in attempt.items:
                    qid = item.question_id
                    rec = rng.random() < true_recall(L, qid, now)
                    tok = study.issue_token(secret, L["id"], qid, attempt.id, item.position, seen="")
                    exams.answer(L["id"], attempt, item.position, tok, answer(L, qid, now, rec), secret=secret, now=now)
                    now += timedelta(seconds=40)
                exams.finish(attempt, now)
                answers += len(attempt.items)
            for _ in range(2000):
                qid = db.session.scalar(select(ItemState.question_id).where(
                    ItemState.learner_id == L["id"], study.due_clause(learner, now, ahead=True),
                    ItemState.suspended.is_(False)).order_by(ItemState.due_at).limit(1))
                if qid is None:
                    break
                st = study.get_state(L["id"], qid)
                if st.state == sched.REVIEW:
                    reviews += 1
                    true_r_at_review.append(true_recall(L, qid, now))
                    if sched.study_day(now, "UTC", 4) > sched.study_day(st.due_at, "UTC", 4):
                        late += 1
                rec = rng.random() < true_recall(L, qid, now)
                study.record_answer(L["id"], study.review_token(secret, L["id"], qid), answer(L, qid, now, rec),
                                    secret=secret, kind="review", now=now)
                learn(L, qid, now, rec)
                answers += 1
                now += timedelta(seconds=30)
            for _ in range(args.new):
                if not L["queue"]:
                    break
                qid = L["queue"].pop()
                rec = rng.random() < true_recall(L, qid, now)
                study.record_answer(L["id"], study.review_token(secret, L["id"], qid), answer(L, qid, now, rec),
                                    secret=secret, kind="review", now=now)
                learn(L, qid, now, rec)
                answers += 1
                now += timedelta(seconds=30)
            db.session.commit()
    sim_s = time.perf_counter() - t0

    end = start + timedelta(days=args.days, hours=1)
    counts = rd.area_counts({a: w for a, w in EXAM_WEIGHTS.items() if a in set(area_of.values())}, 100)
    pools: dict[str, list[int]] = {}
    for qid in order:
        pools.setdefault(area_of[qid], []).append(qid)
    truths = []  # what the model may never see: kept apart from the database, for scoring only
    for L in learners:
        p_true = {qid: guess[qid] + (1 - guess[qid]) * true_recall(L, qid, end) for qid in order}
        means = {a: statistics.fmean(p_true[q] for q in qs) for a, qs in pools.items()}
        oracle, true_score = rd.pass_probability_from_means(means, counts, pass_mark)
        picked = draw(pools, 100, {a: EXAM_WEIGHTS[a] for a in pools}, rng).items
        passed = sum(rng.random() < p_true[q] for q in picked) >= math.ceil(pass_mark * 100 - 1e-9)
        truths.append((L["id"], true_score, oracle, passed))
    res = {"end": end, "truths": truths, "learners": [(L["id"], L["theta"], L["mult"]) for L in learners],
           "p_true": {L["id"]: [guess[q] + (1 - guess[q]) * true_recall(L, q, end) for q in order] for L in learners},
           "order": order, "difficulty": [b[q] for q in order], "recall_at_review": true_r_at_review, "late": late,
           "reviews": reviews, "sim_s": sim_s, "answers": answers, "fits": fits, "pass_mark": pass_mark}
    return res | score(res)


def score(res: dict) -> dict:
    """The platform's forecasts for the simulated learners at the end, beside the truth."""
    from trainer.extensions import db
    from trainer.services import readiness as rs
    if hasattr(rs, "refresh_offsets"):  # the nightly count before the morning the forecasts are read
        rs.refresh_difficulties(res["end"] - timedelta(hours=12))
        rs.refresh_offsets(res["end"] - timedelta(hours=12))
        rs.refresh_mock_prior(res["end"] - timedelta(hours=12))
        db.session.commit()
    rs.clear_cache()
    rows, timings = [], []
    for lid, true_score, oracle, passed in res["truths"]:
        t1 = time.perf_counter()
        f = rs.forecast(lid, pass_mark=res["pass_mark"], now=res["end"]).today
        timings.append((time.perf_counter() - t1) * 1000)
        old = rs.old_readiness(lid, res["end"])
        rows.append((f.expected_score, f.probability, old, true_score, oracle, passed))
    return {"rows": rows, "timings": timings}


def report(truth: str, res: dict, desired: float) -> None:
    rows = res["rows"]
    n = len(rows)
    bias_new = statistics.fmean(r[0] - r[3] for r in rows)
    bias_old = statistics.fmean(r[2] - r[3] for r in rows)
    brier = statistics.fmean((r[1] - r[5]) ** 2 for r in rows)
    brier_oracle = statistics.fmean((r[4] - r[5]) ** 2 for r in rows)
    old_p = [1.0 if r[2] >= 0.7 else 0.0 for r in rows]  # the old figure read against the pass mark
    brier_old = statistics.fmean((p - r[5]) ** 2 for p, r in zip(old_p, rows))
    passers = [r for r in rows if r[5]]
    at_risk_new = sum(1 for r in passers if r[1] < 0.5) / len(passers) if passers else float("nan")
    at_risk_old = sum(1 for r in passers if r[2] < 0.5) / len(passers) if passers else float("nan")
    print(f"\n== truth: {truth}  learners {n}, answers {res['answers']} in {res['sim_s']:.0f} s "
          f"({res['sim_s'] / max(res['answers'], 1) * 1000:.1f} ms each)")
    print(f"true expected mock score: mean {statistics.fmean(r[3] for r in rows):.3f}; "
          f"true pass rate {sum(r[5] for r in rows) / n:.2f}")
    print(f"readiness bias (predicted - true expected score): before {bias_old:+.3f}  after {bias_new:+.3f}")
    gaps = [(r[1] - r[5]) ** 2 - (r[4] - r[5]) ** 2 for r in rows]  # paired: the same learners and outcomes
    print(f"Brier of P(pass): after {brier:.3f}  oracle {brier_oracle:.3f}  "
          f"(before, old readiness >= pass mark as 0/1: {brier_old:.3f})")
    print(f"Brier gap to the oracle: {statistics.fmean(gaps):+.3f} +- {statistics.stdev(gaps) / math.sqrt(n):.3f} "
          f"(standard error over learners); against the expected outcome (oracle P, no draw noise): "
          f"{statistics.fmean((r[1] - r[4]) ** 2 for r in rows):.3f}")
    print(f"true passers flagged at risk: before (readiness < 50 %) {at_risk_old:.2f}  after (P(pass) < 0.5) {at_risk_new:.2f}")
    print("decile of predicted P(pass): n, mean predicted, observed pass rate, mean oracle")
    ranked = sorted(rows, key=lambda r: r[1])
    for d in range(10):
        chunk = ranked[d * n // 10:(d + 1) * n // 10]
        if chunk:
            print(f"  {d + 1:2d}: {len(chunk):3d}  {statistics.fmean(r[1] for r in chunk):.2f}  "
                  f"{statistics.fmean(r[5] for r in chunk):.2f}  {statistics.fmean(r[4] for r in chunk):.2f}")
    rr = res["recall_at_review"]
    print(f"true recall at scheduled reviews: {statistics.fmean(rr) if rr else float('nan'):.3f} "
          f"(desired {desired:.2f}, {len(rr)} reviews)")
    print(f"reviews a study day or more late (learners study daily): {res['late']}/{res['reviews']} "
          f"= {res['late'] / max(res['reviews'], 1):.3f}")
    kept = [f"day {day} {scope}" for day, scope, ok in res["fits"] if ok]
    print(f"optimizer runs: {len(res['fits'])}, kept: {len(kept)}" + (f" ({', '.join(kept[:6])})" if kept else ""))
    t = sorted(res["timings"])
    print(f"readiness per learner: median {t[len(t) // 2]:.1f} ms, p95 {t[int(len(t) * .95)]:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=100)
    parser.add_argument("--days", type=int, default=45)
    parser.add_argument("--new", type=int, default=6, help="new items per learner per day")
    parser.add_argument("--truth", choices=("default", "fast", "both"), default="both")
    parser.add_argument("--optimize-every", type=int, default=7,
                        help="days between simulated nightly optimizer runs (0: never)")
    parser.add_argument("--save", metavar="DIR", help="keep the simulated database (SQLite) and the truth in DIR, "
                        "to score later versions of the forecast on the same learners with --rescore")
    parser.add_argument("--rescore", metavar="DIR", help="score the current forecast on a run kept with --save "
                        "(no simulation: readiness never changes what the learners do)")
    args = parser.parse_args()
    import pickle
    import shutil

    from flask_migrate import upgrade

    from trainer.content.store import content
    from trainer.services.content_sync import sync_content
    if args.rescore:
        saved = Path(args.rescore)
        for kept in sorted(saved.glob("*.pickle")):
            res = pickle.loads(kept.read_bytes())
            work = Path(tempfile.mkdtemp(prefix="trainer-rescore-")) / "bench.db"
            shutil.copy(saved / f"{kept.stem}.db", work)
            os.environ["DATABASE_URL"] = f"sqlite:///{work}"
            with bench_app() as app, app.app_context():
                upgrade()
                report(kept.stem, res | score(res), 0.9)
        return
    with bench_app() as app, app.app_context():
        upgrade()
        sync_content(content())
        from trainer.extensions import db
        db.session.commit()
        for truth in (("default", "fast") if args.truth == "both" else (args.truth,)):
            res = run(app, truth, args)
            report(truth, res, 0.9)
            if args.save:
                if db.engine.url.get_backend_name() != "sqlite":
                    sys.exit("--save keeps SQLite runs only")
                Path(args.save).mkdir(parents=True, exist_ok=True)
                db.session.commit()
                import sqlite3
                with sqlite3.connect(db.engine.url.database) as src, \
                        sqlite3.connect(Path(args.save) / f"{truth}.db") as dst:
                    src.backup(dst)
                keep = {k: v for k, v in res.items() if k not in ("rows", "timings")}
                (Path(args.save) / f"{truth}.pickle").write_bytes(pickle.dumps(keep))


if __name__ == "__main__":
    main()
