"""`trainer bank import/export` from the command line, on the real Moodle files and broken ones."""
import json
from pathlib import Path

import pytest

from tests.test_cli import trainer

INTEROP = next((p / "shared" / "interop" / "moodle" for p in Path(__file__).resolve().parents[2:4]
                if (p / "shared" / "interop" / "moodle").is_dir()),
               Path(__file__).resolve().parents[2] / "shared" / "interop" / "moodle")
needs_interop = pytest.mark.skipif(not INTEROP.is_dir(), reason="../shared/interop/ is not beside the repository")


@needs_interop
def test_import_json_summary_and_write(tmp_path):
    target = tmp_path / "imported.yaml"
    result = trainer("bank", "import", str(INTEROP / "questions_in_category.gift.txt"), "--format", "gift",
                     "--to", str(target), "--json")
    summary = json.loads(result.stdout)
    assert result.returncode == 0
    assert summary["questions"] == 4 and summary["by_type"] == {"matching": 1, "short": 1, "single": 1, "truefalse": 1}
    assert summary["errors"] == [] and target.exists()


@needs_interop
def test_import_with_errors_writes_nothing_unless_only_valid(tmp_path):
    target = tmp_path / "aiken.yaml"
    failed = trainer("bank", "import", str(INTEROP / "aiken_errors.txt"), "--format", "aiken", "--to", str(target))
    assert failed.returncode == 1 and not target.exists()
    assert "aiken_errors.txt:3:" in failed.stdout and "nothing written" in failed.stderr
    partial = trainer("bank", "import", str(INTEROP / "aiken_errors.txt"), "--format", "aiken", "--to", str(target),
                      "--only-valid", "--json")
    assert partial.returncode == 1 and target.exists()
    assert json.loads(partial.stdout)["questions"] == 1


def test_export_then_import_round_trip(tmp_path):
    out = tmp_path / "bank.xml"
    exported = trainer("bank", "export", "--format", "moodle-xml", "-o", str(out))
    assert exported.returncode == 0 and "skipped (type not carried by moodle-xml)" in exported.stdout
    back = json.loads(trainer("bank", "import", str(out), "--format", "moodle-xml", "--json").stdout)
    assert back["errors"] == [] and back["questions"] == 22   # 25 in the fixture bank less two hotspots and one case


@needs_interop
def test_import_json_lists_each_question_with_its_type_key_and_warnings():
    result = trainer("bank", "import", str(INTEROP / "questions.gift.txt"), "--format", "gift", "--json")
    items = json.loads(result.stdout)["items"]
    by_title = {i["title"]: i for i in items}
    assert by_title["colours"]["type"] == "multiple" and by_title["colours"]["key"] == ["a", "c"]
    assert by_title["Shortanswer"]["key"] == ["Frog"]
    assert any("wildcard" in w for w in by_title["Shortanswer"]["warnings"])
    assert by_title["Q8"]["status"] == "skipped" and by_title["Q8"]["key"] is None
    assert by_title["Q1"]["key"] is False and by_title["Q1"]["line"] == 41


def test_export_lists_what_each_question_loses(tmp_path):
    out = tmp_path / "bank.aiken.txt"
    exported = trainer("bank", "export", "--format", "aiken", "-o", str(out))
    assert exported.returncode == 0
    lost = [line for line in exported.stderr.splitlines() if line.startswith("partly carried ")]
    assert lost and all("aiken does not carry" in line and "the explanation" in line for line in lost)


def test_import_a_qti_package_made_by_text2qti_and_export_qti(tmp_path):
    pytest.importorskip("text2qti", reason="text2qti (test extra) makes the QTI 1.2 input")
    from text2qti.config import Config
    from text2qti.qti import QTI
    from text2qti.quiz import Quiz
    quiz = ("Quiz title: Hip\n\n1.  Which muscle rotates the hip laterally?\n*a) Piriformis\nb) Sartorius\n\n"
            "2.  Resting heart rate in bpm?\n=   70 +- 10\n\n3.  Describe your intake.\n____\n")
    package = tmp_path / "canvas.zip"
    package.write_bytes(QTI(Quiz(quiz, config=Config(), source_name="quiz.md")).zip_bytes())
    result = trainer("bank", "import", str(package), "--format", "qti", "--json")
    summary = json.loads(result.stdout)
    assert result.returncode == 0 and summary["questions"] == 2
    assert [i["type"] for i in summary["items"]] == ["single", "numeric", "essay"]
    assert summary["items"][0]["key"] == ["a"] and summary["items"][1]["key"] == {"answer": 70, "tolerance": 10}
    out = tmp_path / "bank.qti.zip"
    exported = trainer("bank", "export", "--format", "qti", "--module", "basics", "-o", str(out))
    assert exported.returncode == 0 and out.read_bytes()[:2] == b"PK"
