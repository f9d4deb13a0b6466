"""The `trainer` command: init, serve, check, users, demo, bank."""
from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import inspect, select

from .database import complete_statistics
from .domain.fields import email_problem, name_problem
from .extensions import db


def _progress(label: str):
    def report(done: int, total: int) -> None:
        click.echo(f"\r{label}: {done}/{total}", nl=False, err=True)
        report.open = done < total
        if not report.open:
            click.echo(err=True)
    #: True while the progress line has no newline yet (an error message then starts a line of its own)
    report.open = False
    return report


def _checked(problem_of):
    """A click callback applying a shared field rule: a bad value stops the command in one line, before any
    prompt (the password) is shown."""
    def callback(ctx: click.Context, _param, value):
        if value is not None:
            problem = problem_of(value)
            if problem:
                click.echo(f"error: {problem}", err=True)
                ctx.exit(1)
        return value
    return callback


def _require_database() -> None:
    from .database import check_connection
    problem = check_connection(db.engine, current_app.config["SQLALCHEMY_DATABASE_URI"])
    if problem:
        click.echo(f"error: {problem}", err=True)
        sys.exit(1)


def database_is_empty() -> bool:
    return "user" not in inspect(db.engine).get_table_names()


def initialise(quiet: bool = False, yes: bool = False) -> None:
    """Create or upgrade the schema with the migrations, then sync content into it.

    Refuses (exit 1, database content unchanged) when the content has any problem, and when the sync would
    retire more than RETIRE_CONFIRM_THRESHOLD questions without ``yes``. Prints what it retires before it does.
    """
    from flask_migrate import upgrade

    from .content.store import content
    from .services.content_sync import RETIRE_CONFIRM_THRESHOLD, planned_retirements, sync_content
    loaded = content()
    if loaded.problems:
        for problem in loaded.problems:
            click.echo(str(problem), err=True)
        click.echo(f"error: the content has {len(loaded.problems)} problem(s), listed above; nothing was synced "
                   "and the database keeps the content it had. Fix the files and run the command again.", err=True)
        sys.exit(1)
    upgrade()
    from . import page_versions
    with db.engine.begin() as connection:
        for name in page_versions.repair(connection):
            click.echo(f"made again: trigger {name} (kept learner pages follow that table's changes again)")
        counted = complete_statistics(connection)
        if counted and not quiet:
            click.echo(f"counted {len(counted)} new index(es) for the query planner")
    planned = planned_retirements(loaded)
    questions = [name for name in planned if name.startswith("question ")]
    if planned:
        click.echo(f"no longer in the files, to be retired ({len(planned)}; learners' history is kept):")
        for name in planned:
            click.echo(f"  {name}")
    if len(questions) > RETIRE_CONFIRM_THRESHOLD and not yes:
        click.echo(f"error: this would retire {len(questions)} questions (more than {RETIRE_CONFIRM_THRESHOLD}), "
                   "taking them out of every learner's review; nothing was changed. If they were removed from "
                   "the files on purpose, run `trainer init --yes`; if not, restore the files.", err=True)
        sys.exit(1)
    report = sync_content(loaded, progress=None if quiet else _progress("syncing questions"))
    db.session.commit()
    if not quiet:
        click.echo(f"database ready: {report.modules} modules, {report.lessons} lessons, "
                   f"{report.questions} questions ({report.new_versions} new versions)"
                   + (f", retired {len(report.retired)}" if report.retired else ""))


def register_cli(app: Flask) -> None:
    from .quizzes.cli import register as register_quiz_cli
    register_quiz_cli(app)

    @app.cli.command("init")
    @click.option("--yes", is_flag=True, help="Retire more than 10 questions that left the files.")
    @with_appcontext
    def init_command(yes: bool):
        """Create or upgrade the database and load the content into it (refused while the content has errors)."""
        _require_database()
        initialise(yes=yes)

    @app.cli.command("check")
    def check_command():
        """Validate modules/ and question_bank/; print every problem as path:line: message."""
        from .content.store import content
        loaded = content()
        for problem in loaded.problems:
            click.echo(str(problem))
        course, bank = loaded.course, loaded.bank
        generated = sum(1 for q in bank.questions.values() if q.generated)
        summary = (f"{len(course.modules)} modules, {len(course.lessons)} lessons, "
                   f"{len(bank.questions) - generated} written + {generated} generated questions, "
                   f"{len({t.term for t in course.glossary.values()})} glossary terms, {len(course.muscles)} muscles")
        if loaded.problems:
            click.echo(f"{len(loaded.problems)} problem(s) found ({summary})", err=True)
            sys.exit(1)
        click.echo(f"content OK: {summary}")

    @app.cli.command("serve")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=5000, show_default=True, type=int)
    @click.option("--workers", default=2, show_default=True, type=int)
    @click.option("--dev", is_flag=True, help="Flask's development server with the reloader.")
    @click.option("--pid", "pidfile", type=click.Path(dir_okay=False),
                  help="Write the gunicorn master's process id to this file (removed when it stops).")
    @with_appcontext
    def serve_command(host: str, port: int, workers: int, dev: bool, pidfile: str | None):
        """Serve the app with gunicorn (initialising an empty database with demo accounts first)."""
        if current_app.config["BASE_URL"] is None:
            # Production cannot get here (its configuration requires TRAINER_BASE_URL). On one machine, links
            # in e-mails point at this server; anything reachable from elsewhere must say its address.
            if host not in ("127.0.0.1", "localhost", "::1"):
                click.echo("error: set TRAINER_BASE_URL to the address users open (for example "
                           "TRAINER_BASE_URL=https://trainer.example.org): reset links are built on it, and this "
                           f"server listens on {host}, not only on this machine.", err=True)
                sys.exit(1)
            current_app.config["BASE_URL"] = f"http://127.0.0.1:{port}"
        _require_database()
        if database_is_empty():
            initialise()
            if current_app.config["TRAINER_ENV"] != "production":
                from .services.demo import create_demo
                logins = create_demo(progress=_progress("simulating demo study history"))
                db.session.commit()
                _print_logins(logins)
        else:
            initialise(quiet=True)
        db.session.remove()
        db.engine.dispose()  # workers open their own connections
        click.echo(f"serving on http://{host}:{port}/  (Ctrl+C to stop)")
        if dev:
            current_app.run(host=host, port=port, debug=True, use_reloader=True)
            return
        from .serving import exec_gunicorn
        exec_gunicorn(host, port, workers, pidfile)

    users = click.Group("users", help="Manage accounts.")
    app.cli.add_command(users)

    @users.command("create")
    @click.option("--email", required=True, callback=_checked(lambda v: email_problem(v)))
    @click.option("--role", required=True, type=click.Choice(["learner", "instructor", "school_admin", "site_admin"]))
    @click.option("--school", "school_name", help="School name (instructors and school admins).",
                  callback=_checked(lambda v: name_problem(v, "school name")))
    @click.option("--name", default="", callback=_checked(lambda v: name_problem(v) if v.strip() else None))
    @click.password_option()
    @with_appcontext
    def users_create(email, role, school_name, name, password):
        """Create an account."""
        from .models import School
        from .services.accounts import AccountError, create_school, create_user
        _require_database()
        try:
            school_id = None
            if school_name is not None:
                school = db.session.scalar(select(School).where(School.name == school_name.strip())) \
                    or create_school(school_name)
                school_id = school.id
            user = create_user(email, name or email.strip().split("@")[0], password, role, school_id)
        except AccountError as exc:
            db.session.rollback()
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        db.session.commit()
        click.echo(f"created {role} {user.email}")

    @app.cli.command("demo")
    @with_appcontext
    def demo_command():
        """Create the demo school, its accounts and simulated study history."""
        from .services.demo import create_demo
        _require_database()
        if database_is_empty():
            initialise()
        logins = create_demo(progress=_progress("simulating demo study history"))
        from .services import readiness
        readiness.refresh_all()  # what the nightly `trainer srs difficulties` would count from that history
        db.session.commit()
        _print_logins(logins)

    @app.cli.command("seed-scale")
    @click.option("--learners", default=2000, show_default=True, type=click.IntRange(1, 1_000_000))
    @click.option("--reviews", default=2_000_000, show_default=True, type=click.IntRange(1, 100_000_000))
    @click.option("--schools", default=4, show_default=True, type=click.IntRange(1, 1000))
    @click.option("--cohort-size", default=50, show_default=True, type=click.IntRange(1, 10_000))
    @click.option("--days", default=365, show_default=True, type=click.IntRange(7, 3650))
    @click.option("--seed", default=1, show_default=True, type=int)
    @with_appcontext
    def seed_scale_command(learners, reviews, schools, cohort_size, days, seed):
        """Fill the database with synthetic schools, learners and review history for benchmarks."""
        import time as _time

        from .services.scale import seed_scale
        _require_database()
        if database_is_empty():
            initialise()
        started = _time.perf_counter()
        counts = seed_scale(learners, reviews, schools=schools, cohort_size=cohort_size, days=days, seed=seed,
                            progress=_progress("learners"))
        db.session.commit()
        click.echo(", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items())
                   + f" in {_time.perf_counter() - started:.1f} s")

    @app.cli.command("verify")
    @with_appcontext
    def verify_command():
        """Replay every review log and check it against the stored schedules; exit 1 on any mismatch."""
        from .services.integrity import verify
        _require_database()
        report = verify(progress=_progress("verifying learners"))
        for problem in report.problems[:200]:
            click.echo(problem)
        click.echo(f"{report.learners} learners, {report.logs} answers replayed, {report.states} schedules checked: "
                   + ("all consistent" if report.ok else f"{len(report.problems)} problem(s)"))
        sys.exit(0 if report.ok else 1)

    @app.cli.command("backup")
    @click.argument("path", type=click.Path(dir_okay=False))
    @click.option("--portable", is_flag=True, help="Write the portable format (gzip JSON) even on SQLite.")
    @with_appcontext
    def backup_command(path, portable):
        """Write a consistent snapshot while the app runs (SQLite online backup, or portable gzip JSON)."""
        from pathlib import Path as _Path

        from .services.integrity import CorruptDatabase, backup_portable, backup_sqlite, check_sqlite_engine
        _require_database()
        try:
            if db.engine.dialect.name == "sqlite" and not portable:
                backup_sqlite(db.engine, _Path(path))
                click.echo(f"SQLite snapshot written to {path}")
                return
            if db.engine.dialect.name == "sqlite":
                problem = check_sqlite_engine(db.engine)
                if problem:
                    raise CorruptDatabase(f"the database is {problem}; no backup was written (restore the last "
                                          "good backup)")
            counts = backup_portable(_Path(path), progress=_progress("tables"))
        except CorruptDatabase as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        click.echo(f"portable backup written to {path}: {sum(counts.values())} rows in {len(counts)} tables")

    @app.cli.command("restore")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    @with_appcontext
    def restore_command(path):
        """Load a backup into an empty database and upgrade it to this release's schema.

        A portable backup of an older release is loaded at its own schema revision, then upgraded.
        """
        from pathlib import Path as _Path

        from flask_migrate import upgrade

        from .services.integrity import RestoreError, current_revision, known_revisions, restore_portable, \
            restore_sqlite
        _require_database()
        with open(path, "rb") as fh:
            is_sqlite = fh.read(16).startswith(b"SQLite format 3")
        progress = None
        try:
            if is_sqlite:
                if db.engine.dialect.name != "sqlite":
                    raise RestoreError("an SQLite snapshot restores into SQLite only; make a --portable backup "
                                       "to move to PostgreSQL")
                if not database_is_empty():
                    raise RestoreError("the target database is not empty (it already has tables): restore an SQLite "
                                       "snapshot into a new, empty database file")
                restore_sqlite(db.engine, _Path(path))
                revision = current_revision()
                if revision not in known_revisions():
                    raise RestoreError(f"the snapshot is at schema revision {revision}, which this release does not "
                                       "know (a newer release made it): serve it with that release or a newer one")
                upgrade()
                from .services.integrity import _new_page_epoch
                _new_page_epoch()
                click.echo(f"restored {path}")
                return
            progress = _progress("tables")
            counts = restore_portable(_Path(path), progress=progress)
        except RestoreError as exc:
            db.session.rollback()
            if progress is not None and progress.open:
                click.echo(err=True)
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        click.echo(f"restored {sum(counts.values())} rows in {len(counts)} tables from {path}")

    from .bank_cli import bank
    app.cli.add_command(bank)
    from .srs_cli import srs
    app.cli.add_command(srs)


def _print_logins(logins: list[tuple[str, str, str]]) -> None:
    click.echo("\nDemo logins (change these before real use):")
    for role, email, password in logins:
        click.echo(f"  {role:<13} {email:<32} {password}")
    click.echo()


def _create_app(*_args, **_kwargs):
    from . import create_app
    return create_app()


class TrainerGroup(FlaskGroup):
    """Flask's command group, with a full disk or a read-only database told in one line instead of a traceback."""

    def invoke(self, ctx):
        from sqlalchemy.exc import DBAPIError

        from .config import ConfigError
        from .database import storage_problem
        try:
            return super().invoke(ctx)
        except ConfigError as exc:  # a setting to fix: say which, in one line
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)
        except DBAPIError as exc:
            kind = storage_problem(exc)
            if kind is None:
                raise
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            message = {"full": "the database could not write: no space left on the disk (free some space and "
                               "run the command again)",
                       "read-only": "the database is read-only (check the file's permissions or mount, or that "
                                    "DATABASE_URL points at the primary server)"}[kind]
            click.echo(f"error: {message} [{reason}]", err=True)
            ctx.exit(1)


@click.group(cls=TrainerGroup, create_app=_create_app, add_version_option=False, add_default_commands=False,
             load_dotenv=False, set_debug_flag=False)
def main():
    """Massage therapy training platform."""
