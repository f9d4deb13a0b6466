"""Commands on a read-only database: reading works, writing says the database is read-only, in one line.

Run as real processes: the one-line message comes from the `trainer` command group itself.
"""
import shutil

from tests.test_upgrade import RELEASE, trainer_process as trainer


def test_read_only_database_reads_and_refuses_writes_in_one_line(tmp_path):
    shutil.copy(RELEASE / "trainer.db", tmp_path / "ro.db")
    url = f"sqlite:///file:{tmp_path / 'ro.db'}?mode=ro&uri=true"  # the file opened read-only, as on a read-only mount
    verified = trainer("verify", url=url, tmp_path=tmp_path)
    assert verified.returncode == 0 and "all consistent" in verified.stdout, verified.stderr
    upgraded = trainer("init", url=url, tmp_path=tmp_path)
    assert upgraded.returncode == 1 and "Traceback" not in upgraded.stderr
    assert upgraded.stderr.strip().splitlines()[-1] == (
        "error: the database is read-only (check the file's permissions or mount, or that DATABASE_URL points at "
        "the primary server) [attempt to write a readonly database]")
