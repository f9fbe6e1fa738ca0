"""Shared fixtures: small projects on disk, built through the real CLI and Dagster."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import UPSCALE_SPEC, write_spec, write_textures


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A spec with one upscale asset over five small textures."""
    write_textures(tmp_path / "textures", 5)
    write_spec(tmp_path, UPSCALE_SPEC)
    return tmp_path


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch):
    """Run ``remaster`` in-process from a folder; returns (exit code, output)."""
    from pipeline.cli import app

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
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
