"""`trainer srs ...`: fit FSRS parameters and count item difficulties from the review logs (run both nightly: see
README, "Scheduled jobs")."""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext


@click.group("srs", help="Spaced repetition: fit the scheduler's parameters and count item difficulties from the review logs.")
def srs():
    pass


@srs.command("optimize")
@click.option("--cohort", "cohort_id", type=click.IntRange(min=1), help="Fit one cohort (its current learners).")
@click.option("--learner", "learner_id", type=click.IntRange(min=1), help="Fit one learner on their own answers.")
@click.option("--all", "everything", is_flag=True, help="Every cohort, then every learner with 1,000+ answers.")
@with_appcontext
def optimize_command(cohort_id, learner_id, everything):
    """Fit FSRS-6 parameters; keep them only when they predict the latest reviews better."""
    from .extensions import db
    from .models import Cohort, User
    from .services import srs_fits
    if sum(bool(x) for x in (cohort_id, learner_id, everything)) != 1:
        click.echo("error: give exactly one of --cohort ID, --learner ID or --all", err=True)
        sys.exit(2)
    if cohort_id and db.session.get(Cohort, cohort_id) is None:
        click.echo(f"error: no cohort {cohort_id}; `trainer users` and the school console list cohorts", err=True)
        sys.exit(1)
    if learner_id and db.session.get(User, learner_id) is None:
        click.echo(f"error: no learner {learner_id}", err=True)
        sys.exit(1)
    if everything:
        outcomes = srs_fits.optimize_all(progress=lambda what: click.echo(f"fitting {what} ...", err=True))
    elif cohort_id:
        outcomes = [srs_fits.optimize_cohort(cohort_id)]
    else:
        outcome = srs_fits.optimize_learner(learner_id)
        if outcome is None:
            click.echo(f"learner {learner_id} has fewer than {srs_fits.LEARNER_MIN_REVIEWS} scheduling answers: "
                       "their cohort's parameters schedule them")
            return
        outcomes = [outcome]
    db.session.commit()
    for outcome in outcomes:
        fit = outcome.fit
        click.echo(f"{outcome.scope}: {fit.reviews} answers, {fit.items} training items. {fit.note}"
                   + (f" Now scheduling {outcome.learners_updated} learner(s)." if fit.kept else ""))


@srs.command("difficulties")
@with_appcontext
def difficulties_command():
    """Count every exam item's first answers, every learner's recall offset and the mock correction's prior
    again (the readiness forecast's item difficulties, how each learner forgets against the fitted curve, and
    how far the model misses learners' mock scores)."""
    from .extensions import db
    from .services import readiness
    items, learners, prior = readiness.refresh_all()
    db.session.commit()
    click.echo(f"readiness: first answers counted for {items} question(s), recall offsets for {learners} "
               f"learner(s); a learner's mock correction weighs their mock answers against {prior:.0f} answers' prior")
