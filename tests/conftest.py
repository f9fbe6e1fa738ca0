"""Shared fixtures: small projects on disk, built through the real CLI and Dagster."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import REPO, UPSCALE_SPEC, write_spec, write_textures


@pytest.fixture(autouse=True, scope="session")
def children_import_this_checkout():
    """A program a test starts imports this checkout's code, not the copy pip installed in the environment
    (an editable install of another clone), which would pass or fail in its stead."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
        yield


@pytest.fixture(autouse=True)
def no_dagster_home_of_the_user(monkeypatch: pytest.MonkeyPatch) -> None:
    """The README has users export DAGSTER_HOME: a test that builds records into its own instance or none,
    never into theirs, where one test's project would refuse the next one's."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A spec with one upscale asset over five small textures."""
    write_textures(tmp_path / "textures", 5)
    write_spec(tmp_path, UPSCALE_SPEC)
    return tmp_path


@pytest.fixture
def cli():
    """Run ``remaster`` in-process from a folder; returns (exit code, output)."""
    from pipeline.cli import app

    runner = CliRunner()

    def invoke(folder: Path, *args: str) -> tuple[int, str]:
        previous = os.getcwd()
        os.chdir(folder)
        try:
            result = runner.invoke(app, list(args), catch_exceptions=False)
        finally:
            os.chdir(previous)
        return result.exit_code, result.output

    return invoke
