"""ops/ never imports Dagster or the CLI stack; pipeline/ never does pixel math, nor reaches into Dagster's private modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from helpers import REPO

FORBIDDEN = {
    "ops": {"dagster", "typer", "rich", "pipeline"},
    "pipeline": {"numpy", "torch", "PIL", "scipy", "skimage", "imageio", "png", "ops.image_io"},
}


def imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports(layer):
    offenders = [
        f"{path.relative_to(REPO)} imports {name}"
        for path in sorted((REPO / layer).rglob("*.py"))
        for name in imports(path)
        if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[layer])
    ]
    assert not offenders, offenders


def test_only_dagsters_public_api():
    """``dagster._core`` and the like change without notice between releases, so the product stays off them;
    tests reach in only where Dagster has no public API for what they check (``helpers.ui_statuses``, and the
    event-log test of test_build.py and an interrupt test of test_interrupts.py)."""
    offenders = [
        f"{path.relative_to(REPO)} imports {name}"
        for layer in ("ops", "pipeline", "bench")
        for path in sorted((REPO / layer).rglob("*.py"))
        for name in imports(path)
        if name.startswith("dagster._")
    ]
    assert not offenders, offenders
