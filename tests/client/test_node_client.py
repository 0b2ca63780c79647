"""Runs the Node tests of the /js/pusher.js bundle (tests/client/*.test.js) under pytest."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE = shutil.which("node")

needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [NODE, *args], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )


@needs_node
def test_it_passes_the_node_test_suite():
    result = _run("--test", "tests/client/")
    assert result.returncode == 0, result.stdout + result.stderr


@needs_node
@pytest.mark.skipif(
    not (ROOT / "node_modules" / "esbuild").exists(), reason="run `npm install` to check the build"
)
def test_it_ships_a_bundle_built_from_the_current_sources():
    result = _run("client/build.mjs", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
