"""The documented backup and restore works: a restored copy has the same rows."""

import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "backup-restore-check"


def test_backup_restores_into_a_fresh_database_with_equal_counts(app, database_url, tmp_path):
    result = subprocess.run(
        [str(SCRIPT), database_url, str(tmp_path / "bridge.dump")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "restore verified" in result.stdout
    tables = int(result.stdout.split("restore verified: ")[1].split(" tables")[0])
    assert tables >= 10
