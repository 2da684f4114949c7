"""CI's short, bounded pass of the coverage-guided fuzzer: `python -m tests.fuzz --seconds 10`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_ten_seconds_of_coverage_guided_fuzzing_find_no_crash() -> None:
    pytest.importorskip("atheris")
    done = subprocess.run([sys.executable, "-m", "tests.fuzz", "--seconds", "10"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "Done" in done.stderr and " runs in " in done.stderr
