"""The `trainer` command: init, serve, check, users, demo, bank."""
from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import inspect, select

from .extensions import db


def _progress(label: str):
    def report(done: int, total: int) -> None:
        click.echo(f"\r{label}: {done}/{total}", nl=False, err=True)
        if done >= total:
            click.echo(err=True)
    return report


def _require_database() -> None:
    from .database import check_connection
    problem = check_connection(db.engine, current_app.config["SQLALCHEMY_DATABASE_URI"])
    if problem:
        click.echo(f"error: {problem}", err=True)
        sys.exit(1)


def database_is_empty() -> bool:
    return "user" not in inspect(db.engine).get_table_names()


def initialise(quiet: bool = False) -> None:
    """Create or upgrade the schema with the migrations, then sync content into it."""
    from flask_migrate import upgrade

    from .content.store import content
    from .services.content_sync import sync_content
    upgrade()
    loaded = content()
    if loaded.problems:
        click.echo(f"warning: content has {len(loaded.problems)} problem(s); broken files were left out "
                   "(run `trainer check`)", err=True)
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
    @with_appcontext
    def init_command():
        """Create or upgrade the database and load the content into it."""
        _require_database()
        initialise()

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
    @with_appcontext
    def serve_command(host: str, port: int, workers: int, dev: bool):
        """Serve the app with gunicorn (initialising an empty database with demo accounts first)."""
        if current_app.config["BASE_URL"] is None:
            if not dev:
                click.echo("error: set TRAINER_BASE_URL to the address users open (for example "
                           "TRAINER_BASE_URL=https://trainer.example.org, or http://127.0.0.1:5000 on this machine): "
                           "reset links are built on it. Only `trainer serve --dev` works without it.", err=True)
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
        from .serving import run_gunicorn
        run_gunicorn(host, port, workers)

    users = click.Group("users", help="Manage accounts.")
    app.cli.add_command(users)

    @users.command("create")
    @click.option("--email", required=True)
    @click.option("--role", required=True, type=click.Choice(["learner", "instructor", "school_admin", "site_admin"]))
    @click.option("--school", "school_name", help="School name (instructors and school admins).")
    @click.option("--name", default="")
    @click.password_option()
    @with_appcontext
    def users_create(email, role, school_name, name, password):
        """Create an account."""
        from .models import School
        from .services.accounts import AccountError, create_school, create_user
        _require_database()
        school_id = None
        if school_name:
            school = db.session.scalar(select(School).where(School.name == school_name)) or create_school(school_name)
            school_id = school.id
        try:
            user = create_user(email, name or email.split("@")[0], password, role, school_id)
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

        from .services.integrity import backup_portable, backup_sqlite
        _require_database()
        if db.engine.dialect.name == "sqlite" and not portable:
            backup_sqlite(db.engine, _Path(path))
            click.echo(f"SQLite snapshot written to {path}")
            return
        counts = backup_portable(_Path(path), progress=_progress("tables"))
        click.echo(f"portable backup written to {path}: {sum(counts.values())} rows in {len(counts)} tables")

    @app.cli.command("restore")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    @with_appcontext
    def restore_command(path):
        """Load a backup into an empty database (run `trainer init` on it first for the portable format)."""
        from pathlib import Path as _Path

        from .services.integrity import RestoreError, restore_portable, restore_sqlite
        _require_database()
        with open(path, "rb") as fh:
            is_sqlite = fh.read(16).startswith(b"SQLite format 3")
        try:
            if is_sqlite:
                if db.engine.dialect.name != "sqlite":
                    raise RestoreError("an SQLite snapshot restores into SQLite only; make a --portable backup "
                                       "to move to PostgreSQL")
                if database_is_empty():
                    restore_sqlite(db.engine, _Path(path))
                    click.echo(f"restored {path}")
                    return
                raise RestoreError("the target database is not empty (it already has tables): restore an SQLite snapshot into a "
                                   "new, empty database file")
            if database_is_empty():
                from flask_migrate import upgrade
                upgrade()
            counts = restore_portable(_Path(path), progress=_progress("tables"))
            db.session.commit()
        except RestoreError as exc:
            db.session.rollback()
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        click.echo(f"restored {sum(counts.values())} rows in {len(counts)} tables from {path}")

    from .bank_cli import bank
    app.cli.add_command(bank)


def _print_logins(logins: list[tuple[str, str, str]]) -> None:
    click.echo("\nDemo logins (change these before real use):")
    for role, email, password in logins:
        click.echo(f"  {role:<13} {email:<32} {password}")
    click.echo()


def _create_app(*_args, **_kwargs):
    from . import create_app
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False, add_default_commands=False,
             load_dotenv=False, set_debug_flag=False)
def main():
    """Massage therapy training platform."""
