"""The fault suite's table: for each fault kind, how many operations it hit, how many finished
correctly, how many failed cleanly, how many were lost or left half-made (goal 0), and the
longest recovery (fault → operation ended; for the paused host: how long a change on another
host waited to start).

Run as root:  bench/fault_table.py   (uses ./test, so its private Redis may be restarted;
set KVMWEB_TEST_REDIS_PORT / KVMWEB_TEST_LAB_PREFIX / KVMWEB_TEST_LAB_SUBNET to stay apart
from other runs). The table is also left in $KVMWEB_STATE_DIR/fault_table.txt (var/test).
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__":
    run = subprocess.run([str(ROOT / "test"), "tests/operations/test_faults_lab.py", "-q",
                          *sys.argv[1:]], cwd=ROOT)
    table = ROOT / "var" / "test" / "fault_table.txt"
    if table.exists():
        print(table.read_text())
    sys.exit(run.returncode)
