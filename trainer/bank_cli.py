"""`trainer bank ...`: statistics, import and export of the question bank."""
from __future__ import annotations

import json
import sys
from collections import Counter

import click
from flask.cli import with_appcontext


@click.group("bank", help="Question bank: stats, import, export.")
def bank():
    pass


def bank_stats(questions) -> dict:
    """Counts per type, module, lesson and exam area for a list of BankQuestion."""
    written = [q for q in questions if not q.generated]
    return {
        "total": len(questions),
        "generated": len(questions) - len(written),
        "by_type": dict(Counter(q.data["type"] for q in questions)),
        "by_module": dict(Counter(q.data["module"] for q in questions)),
        "by_lesson": dict(Counter(q.data["lesson"].split("#")[0] for q in questions)),
        "by_exam_area": dict(Counter(q.data["exam_area"] for q in questions)),
        "written": {
            "total": len(written),
            "by_type": dict(Counter(q.data["type"] for q in written)),
            "by_exam_area": dict(Counter(q.data["exam_area"] for q in written)),
        },
        "mocks": mock_capacity(questions),
    }


def mock_capacity(questions) -> dict:
    """How many full mock exams with no question in common the bank can fill, per exam area.

    A mock draws single-answer items by the blueprint (``allocate(100, EXAM_WEIGHTS)``). ``non_overlapping``
    counts hand-written items only; ``with_generated`` adds generated items that passed their distractor
    check, which mocks also draw."""
    from .content.generate import UNCHECKED_TAG
    from .content.source import EXAM_WEIGHTS
    from .domain.blueprint import allocate
    from .services.exams import EXAM_TYPES, FULL_LENGTH
    per_mock = allocate(FULL_LENGTH, EXAM_WEIGHTS)
    singles = [q for q in questions if q.data["type"] in EXAM_TYPES]
    written = Counter(q.data["exam_area"] for q in singles if not q.generated)
    drawable = Counter(q.data["exam_area"] for q in singles if UNCHECKED_TAG not in (q.data.get("tags") or []))
    areas = {area: {"per_mock": n, "single_written": written[area], "non_overlapping": written[area] // n,
                    "with_generated": drawable[area] // n} for area, n in per_mock.items()}
    return {"by_exam_area": areas, "non_overlapping": min(a["non_overlapping"] for a in areas.values()),
            "with_generated": min(a["with_generated"] for a in areas.values())}


@bank.command("stats")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def stats_command(as_json: bool):
    """Counts of the bank per type, module, lesson and exam area."""
    from .content.store import content
    stats = bank_stats(list(content().bank.questions.values()))
    if as_json:
        click.echo(json.dumps(stats, indent=2, sort_keys=True))
        return
    click.echo(f"{stats['total']} questions ({stats['written']['total']} written, {stats['generated']} generated)")
    for title, key in (("type", "by_type"), ("module", "by_module"), ("exam area", "by_exam_area"),
                       ("lesson", "by_lesson")):
        click.echo(f"\nby {title}:")
        for name, count in sorted(stats[key].items()):
            click.echo(f"  {name:<40} {count:>5}")
    mocks = stats["mocks"]
    click.echo(f"\nnon-overlapping mocks available: {mocks['non_overlapping']} from hand-written single-answer items "
               f"({mocks['with_generated']} with checked generated items)")
    for area, row in sorted(mocks["by_exam_area"].items()):
        click.echo(f"  {area:<8} {row['single_written']:>4} single-answer / {row['per_mock']:>2} per mock = "
                   f"{row['non_overlapping']} mocks")


@bank.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", required=True, type=click.Choice(["gift", "aiken", "moodle-xml", "csv", "qti"]))
@click.option("--to", "target", type=click.Path(dir_okay=False), help="Write the questions to this bank file.")
@click.option("--dry-run", is_flag=True, help="Check and report; write nothing.")
@click.option("--only-valid", is_flag=True, help="Write the valid questions even when others have errors.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def import_command(paths, fmt, target, dry_run, only_valid, as_json):
    """Import GIFT, Aiken, Moodle XML, CSV files or QTI packages (.zip) into the native bank format."""
    from .content.formats import import_files, write_native
    from .content.store import content
    result = import_files(list(paths), fmt, course=content().course)
    summary = result.summary()
    wrote = False
    if target and not dry_run and result.questions and (not result.errors or only_valid):
        write_native(result.questions, target)
        wrote = True
    if as_json:
        summary["items"] = result.per_question()
        click.echo(json.dumps(summary, indent=2))
    else:
        for err in summary["errors"]:
            click.echo(f"{err['file']}:{err['line']}: {err['message']}")
        for skip in summary["skipped"]:
            click.echo(f"{skip['file']}:{skip['line']}: skipped: {skip['reason']}")
        click.echo(f"{summary['questions']} question(s) read: "
                   + ", ".join(f"{n} {t}" for t, n in sorted(summary["by_type"].items())))
        if wrote:
            click.echo(f"wrote {len(result.questions)} question(s) to {target}")
        elif target and result.errors and not dry_run:
            click.echo("nothing written: fix the errors above, or pass --only-valid", err=True)
    sys.exit(1 if result.errors else 0)


@bank.command("export")
@click.option("--format", "fmt", required=True, type=click.Choice(["gift", "moodle-xml", "csv", "native", "aiken", "qti"]))
@click.option("--module", "module_id")
@click.option("--tag")
@click.option("-o", "output", required=True, type=click.Path(dir_okay=False))
@with_appcontext
def export_command(fmt, module_id, tag, output):
    """Export the bank (or a filtered part) to GIFT, Moodle XML, CSV or the native YAML."""
    from .content.formats import export_losses, export_questions
    from .content.store import content
    questions = [q.data for q in content().bank.questions.values()
                 if (not module_id or q.data["module"] == module_id) and (not tag or tag in q.data.get("tags", []))]
    text, skipped = export_questions(questions, fmt)
    if isinstance(text, bytes):          # a QTI package is a zip
        with open(output, "wb") as fh:
            fh.write(text)
    else:
        with open(output, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    for item in skipped:
        click.echo(f"skipped {item['id']}: {item['reason']}", err=True)
    gone = {item["id"] for item in skipped}
    for q in questions:
        lost = export_losses(q, fmt) if q["id"] not in gone else []
        if lost:
            click.echo(f"partly carried {q['id']}: {fmt} does not carry {'; '.join(lost)}", err=True)
    click.echo(f"exported {len(questions) - len(skipped)} question(s) to {output}"
               + (f"; {len(skipped)} skipped (type not carried by {fmt})" if skipped else ""))
