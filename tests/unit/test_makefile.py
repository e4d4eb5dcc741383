"""`make run` installs only what the app needs; the test targets add the dev extra; the README
says how to choose another port and keeps its two set-up commands."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def planned(*args: str) -> str:
    """What make would run for `args` from scratch (-B: every target out of date; -n: nothing
    is run)."""
    done = subprocess.run(["make", "-n", "-B", "-C", str(ROOT), *args], capture_output=True,
                          text=True, check=True)  # fmt: skip
    return done.stdout


@pytest.mark.parametrize("target", ["run", "serve"])
def test_run_and_serve_install_the_package_without_the_test_tools(target):
    commands = planned(target)
    assert "pip install --quiet -e .\n" in commands
    assert "[dev]" not in commands


@pytest.mark.parametrize("target", ["test", "check", "lint"])
def test_the_test_targets_install_the_dev_extra(target):
    assert "pip install --quiet -e '.[dev]'" in planned(target)


def test_another_port_is_chosen_on_the_command_line():
    commands = planned("run", "PORT=8080")
    assert "screening run --port 8080" in commands
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make run PORT=8080" in readme
    quickstart = readme.split("## Quickstart", 1)[1].split("```", 2)[1]
    assert [line.split()[:2] for line in quickstart.strip().splitlines()] == [
        ["make", "run"], ["make", "test"]]
