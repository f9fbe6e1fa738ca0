"""The spec the README shows first is one a user can copy as written."""

from __future__ import annotations

from helpers import REPO
from pipeline.spec import parse_spec


def test_readme_example_spec_is_valid():
    readme = (REPO / "README.md").read_text()
    example = readme.split("```yaml", 1)[1].split("```", 1)[0]
    spec = parse_spec(example, REPO / "assets_spec.yaml")
    assert set(spec.sources) == {"legacy", "scans", "reference"} and set(spec.targets) == {
        "sr2x", "legacy_2x", "legacy_sr", "variants", "scanned", "legacy_dds"}
