"""Time item analysis through the service, database rows to figures: one question with 100,000 responses.

    python bench/item_stats_db.py [--attempts 100000 --items 10 --runs 5 --seed 8 --whole-quiz]
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench python bench/item_stats_db.py

Builds (SQLite file in a temp dir unless DATABASE_URL is set; tables from the models) one school, one cohort
taught by one instructor, one fixed quiz of ``--items`` questions from the test course's bank, and
``--attempts`` submitted attempts, each holding every question: answers come from a latent-ability model
(ability theta ~ N(0, 1), P(right) = 1/4 + 3/4 / (1 + exp(-1.7 (theta - b)))), a wrong single-choice answer
picks a distractor with weights 6:3:1; attempts are stored submitted, with their raw total, as the app
submits them, and their answer sheets (``--no-sheets``: none, so the whole quiz is read from its item rows).
Then, as the instructor, times ``item_stats.version_analysis`` for the
first single-choice question (that question's rows only, each with its attempt's stored raw total) and,
with ``--whole-quiz``, ``item_stats.quiz_analysis`` (every attempt's answer sheet). Tables are ANALYZEd after
seeding, as on a live database. Prints median and spread of the runs and the figures themselves.
"""
from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from throwaway import bench_app  # noqa: E402  (bench/throwaway.py)
from timing import report  # noqa: E402  (bench/timing.py)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--whole-quiz", action="store_true", help="also time the whole-quiz page's analysis")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL schema for profiling")
    parser.add_argument("--no-sheets", action="store_true",
                        help="write no answer sheets: the whole-quiz analysis reads every AttemptItem row instead")
    args = parser.parse_args()

    from sqlalchemy import insert, select, text

    from trainer.content.store import content
    from trainer.extensions import db
    from trainer.models import Attempt, AttemptItem, Question, Quiz, QuizAssignment, User
    from trainer.services import accounts, answer_sheets, item_stats
    from trainer.services.content_sync import sync_content

    course = ROOT / "tests" / "fixtures" / "course"
    overrides: dict = {"MODULES_DIR": course / "modules", "QUESTION_BANK_DIR": course / "question_bank"}
    rng = random.Random(args.seed)
    with bench_app(overrides, args.keep) as app:
        with app.app_context():
            db.create_all()
            sync_content(content())
            school = accounts.create_school("Bench School")
            cohort = accounts.create_cohort(school.id, "Bench cohort")
            instructor = accounts.create_invited_user("teacher@bench.test", "Bench Teacher", "instructor", school.id)
            accounts.attach_instructor(cohort.id, instructor.id)
            learner = accounts.create_invited_user("learner@bench.test", "Bench Learner")
            questions = db.session.execute(
                select(Question.id, Question.current_version_id, Question.exam_area, Question.type)
                .where(Question.type == "single").order_by(Question.id)).all()
            questions = (questions * args.items)[:args.items]  # the bank may hold fewer single-choice questions
            # A question may not repeat within an attempt: fall back to distinct ones of any type.
            if len({q.id for q in questions}) < len(questions):
                questions = db.session.execute(
                    select(Question.id, Question.current_version_id, Question.exam_area, Question.type)
                    .order_by(Question.type != "single", Question.id).limit(args.items)).all()
            quiz = Quiz(school_id=school.id, title="Bench quiz", mode="fixed",
                        spec={"questions": [q.id for q in questions]})
            db.session.add(quiz)
            db.session.flush()
            opens = datetime(2027, 3, 1, tzinfo=timezone.utc)
            assignment = QuizAssignment(quiz_id=quiz.id, cohort_id=cohort.id, opens_at=opens,
                                        closes_at=opens + timedelta(days=7))
            db.session.add(assignment)
            db.session.flush()
            # Many attempts by one learner: the statistics do not care whose attempt it is.
            started = time.perf_counter()
            difficulty = [rng.gauss(0.0, 1.0) for _ in questions]
            batch = 10_000
            for first in range(0, args.attempts, batch):
                size = min(batch, args.attempts - first)
                answers = []  # per attempt: (right, response) per question
                for _ in range(size):
                    theta = rng.gauss(0.0, 1.0)
                    answers.append([(right, "a" if right else rng.choices("bcd", weights=(6, 3, 1))[0])
                                    for b in difficulty
                                    for right in [rng.random() < 0.25 + 0.75 / (1 + math.exp(-1.7 * (theta - b)))]])
                # Submitted as the app submits: the raw total and the fraction.
                db.session.execute(insert(Attempt), [
                    {"learner_id": learner.id, "kind": "quiz", "assignment_id": assignment.id, "scope": {},
                     "started_at": opens, "submitted_at": opens + timedelta(minutes=30),
                     "total": float(sum(right for right, _ in answered)),
                     "score": sum(right for right, _ in answered) / len(answered)}
                    for answered in answers])
                ids = list(db.session.scalars(select(Attempt.id).order_by(Attempt.id.desc()).limit(size)))[::-1]
                rows = []
                for attempt_id, answered in zip(ids, answers):
                    for position, (q, (right, response)) in enumerate(zip(questions, answered), 1):
                        rows.append({"attempt_id": attempt_id, "position": position, "question_id": q.id,
                                     "question_version_id": q.current_version_id, "exam_area": q.exam_area,
                                     "option_order": None, "response": response if q.type == "single" else None,
                                     "score": 1.0 if right else 0.0, "answered_at": opens})
                db.session.execute(insert(AttemptItem), rows)
            db.session.commit()
            print(f"inserted {args.attempts:,} attempts x {len(questions)} items in "
                  f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
            # The answer sheets the app writes at each submission, written here for the bulk-loaded attempts.
            started = time.perf_counter()
            if not args.no_sheets:
                answer_sheets.backfill()
                db.session.commit()
                print(f"wrote their answer sheets in {time.perf_counter() - started:.1f} s", file=sys.stderr)
            # Planner statistics, as autovacuum (PostgreSQL) or a periodic ANALYZE keep them on a live database.
            if db.engine.dialect.name == "postgresql":
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(text("VACUUM ANALYZE"))
            else:
                db.session.execute(text("ANALYZE"))
                db.session.commit()

            teacher = db.session.get(User, instructor.id)
            quiz = db.session.get(Quiz, quiz.id)
            found = item_stats.visible_version(teacher, questions[0].current_version_id)
            seconds, result = [], None
            for _ in range(args.runs):
                db.session.expire_all()
                started = time.perf_counter()
                result = item_stats.version_analysis(teacher, quiz, *found)
                seconds.append(time.perf_counter() - started)
            report("version_analysis", seconds)
            s = result.stats
            print(f"  {s.attempts:,} responses: facility {s.facility:.4f}  sd {s.sd:.4f}  "
                  f"discrimination {s.discrimination_index:.4f}  efficiency {s.discriminative_efficiency:.4f}")
            print("  choices (all / strong third):",
                  ", ".join(f"{o.option}{'*' if o.correct else ''} {o.count}/{o.strong_count}" for o in result.options))
            print("  flags:", [f.code for f in result.flags] or "none")
            if args.whole_quiz:
                seconds = []
                for _ in range(max(1, args.runs // 2)):
                    db.session.expire_all()
                    started = time.perf_counter()
                    whole = item_stats.quiz_analysis(teacher, quiz)
                    seconds.append(time.perf_counter() - started)
                report("quiz_analysis (all items)", seconds)
                print(f"  {whole.test.attempts:,} attempts x {whole.test.items} items: mean {whole.test.mean:.3f}  "
                      f"sd {whole.test.sd:.3f}  alpha {whole.test.cronbach_alpha:.3f}")
                first = whole.items[0].stats
                print(f"  question 1: facility {first.facility:.4f}  discrimination {first.discrimination_index:.4f}  "
                      f"efficiency {first.discriminative_efficiency:.4f}  choices {first.choice_counts}  "
                      f"strong third {first.strong_choice_counts}")
            print(f"  median {statistics.median(seconds) * 1000:.0f} ms for the last measure", file=sys.stderr)


if __name__ == "__main__":
    main()
