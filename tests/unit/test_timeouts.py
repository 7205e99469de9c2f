"""A test that overruns its timeout fails, and the run goes on to the next test (under
eventlet, pytest-timeout's own fallback would end the whole run with os._exit)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

OVERRUN = '''
import time
import pytest

@pytest.mark.timeout(1)
def test_overruns():
    time.sleep(30)

def test_runs_afterwards():
    pass
'''


def test_an_overrun_fails_that_test_and_the_run_goes_on(tmp_path):
    (tmp_path / "test_overrun.py").write_text(OVERRUN)
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest",
                          "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
                          str(tmp_path / "test_overrun.py")],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "ran longer than 1 s" in run.stdout, run.stdout + run.stderr
    assert "1 failed, 1 passed" in run.stdout, run.stdout + run.stderr
