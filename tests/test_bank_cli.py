"""`trainer bank import/export` from the command line, on the real Moodle files and broken ones."""
import json
from pathlib import Path

import pytest

from tests.test_cli import trainer

INTEROP = Path(__file__).resolve().parents[2] / "shared" / "interop" / "moodle"
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
