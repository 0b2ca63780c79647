"""expusher.server patches daphne, Twisted and autobahn: it starts only on the releases
it was tested with, and those are the bounds pyproject.toml installs."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from expusher import server

ROOT = Path(__file__).resolve().parent.parent


def test_the_tested_releases_are_pyprojects_bounds():
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    bounds = {}
    for line in dependencies:
        name, spec = re.match(r"([A-Za-z0-9_.-]+)(.*)", line).groups()
        bounds[name] = spec
    assert {name: bounds[name] for name in server.PATCHED_PACKAGES} == server.PATCHED_PACKAGES


def test_the_installed_releases_are_the_tested_ones():
    assert server.untested_packages() == []


def test_it_refuses_to_start_on_an_untested_release(monkeypatch):
    monkeypatch.setitem(server.PATCHED_PACKAGES, "daphne", "<1")
    assert server.untested_packages()[0].startswith("daphne ")
    # And the launcher itself exits, before daphne starts, saying why.
    code = (
        "import sys; from expusher import server; "
        "server.PATCHED_PACKAGES['Twisted'] = '<1'; sys.argv = ['x']; server.main()"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "refusing to start on untested Twisted" in result.stderr
