"""`trainer demo-take`: the demo cohort's learners take a quiz an instructor has just assigned."""
from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import with_appcontext

from ..extensions import db


def register(app: Flask) -> None:
    @app.cli.command("demo-take")
    @click.option("--assignment", "assignment_id", type=int, required=True, help="The assignment's id (in its page's address).")
    @with_appcontext
    def demo_take_command(assignment_id: int):
        """Have the learners of an assignment's cohort take it now with simulated answers (demo data)."""
        from ..services.demo import simulate_assignment
        from ..services.quizzes import QuizError
        try:
            taken = simulate_assignment(assignment_id)
        except QuizError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        db.session.commit()
        click.echo(f"{taken} learner{'s' if taken != 1 else ''} took assignment {assignment_id}.")
