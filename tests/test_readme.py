"""What the README tells a new user is what the project does: its spec examples can be copied as written,
`.ci/run` runs the commands it shows first, and the figures it gives about the suite are the suite's."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import yaml
from helpers import REPO
from pipeline.spec import parse_spec

README = (REPO / "README.md").read_text()
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
                "thirteen", "fourteen", "fifteen", "sixteen")


def _first_spec() -> str:
    return README.split("```yaml", 1)[1].split("```", 1)[0]


def test_readme_example_spec_is_valid():
    spec = parse_spec(_first_spec(), REPO / "assets_spec.yaml")
    assert set(spec.sources) == {"legacy", "scans", "reference"} and set(spec.targets) == {
        "sr2x", "legacy_2x", "legacy_sr", "variants", "scanned", "legacy_dds"}


def test_inline_asset_examples_fit_the_readme_spec():
    """An entry quoted in a sentence (`planks: {op: multiply, ...}`) is one a user adds to the spec the README
    shows first: it used to chain a multiply from `floors`, the material asset of the README and the demo, which
    validate refuses."""
    inline = sorted(set(re.findall(r"`(\w+: \{op: [^`]*\})`", README)))
    assert inline
    for entry in inline:
        name, settings = next(iter(yaml.safe_load(entry).items()))
        spec = yaml.safe_load(_first_spec())
        spec["assets"][name] = settings
        assert name in parse_spec(yaml.safe_dump(spec), REPO / "assets_spec.yaml").targets, entry


def test_ci_runs_exactly_the_readme_s_first_commands():
    shown = README.split("```bash", 1)[1].split("```", 1)[0]
    ci = (REPO / ".ci" / "run").read_text()

    def commands(script: str) -> list[str]:
        return [line for line in script.splitlines() if line.strip() and not line.lstrip().startswith("#")]

    assert commands(shown) == commands(ci)[-2:]
    assert all(line.startswith(("set ", "cd ")) for line in commands(ci)[:-2])


def test_the_count_of_slow_tests_is_the_suite_s():
    said = re.search(r'`-m "not slow"` skips the (\w+)\s+long ones', README)
    assert said is not None
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests"), *sys.path])}
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "slow", "-n", "0", "-p", "no:cacheprovider"],
        cwd=REPO, env=env, capture_output=True, text=True)
    assert collected.returncode == 0, collected.stdout + collected.stderr
    slow = [line for line in collected.stdout.splitlines() if "::" in line]
    assert said.group(1) == NUMBER_WORDS[len(slow)], f"the README says {said.group(1)}; the suite has {len(slow)}"


def _nightly_recipe() -> str:
    """The nightly lines of the README's CI job, from the one saying so on."""
    job = README.split("### In CI", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    lines = job.splitlines()
    return "\n".join(lines[next(i for i, line in enumerate(lines) if "# nightly" in line):])


@pytest.mark.parametrize("errexit", ["set -e", "set +e"])
@pytest.mark.parametrize(("build", "gc", "status"), [(0, 0, 0), (1, 0, 1), (2, 1, 2), (0, 1, 1)])
def test_the_nightly_recipe_runs_gc_whatever_the_build_did_and_exits_as_it_says(tmp_path, errexit, build, gc,
                                                                                   status):
    """A CI runner runs its script with ``set -e``: the recipe's ``remaster build; built=$?`` ended the job at a
    failed build, and gc never ran, the very night it was written for. Run as written, with a ``remaster`` that
    exits as told, gc runs after a failed build too, and the job exits as the build did, else as gc did (a build
    that stopped before it began, exit 2, leaves gc refusing)."""
    fake = f'remaster() {{ echo "$*" >> ran; [ "$1" = build ] && return {build}; return {gc}; }}'
    done = subprocess.run(["bash", "-c", f"{errexit}\n{fake}\n{_nightly_recipe()}"], cwd=tmp_path)
    ran = (tmp_path / "ran").read_text().splitlines()
    assert (ran, done.returncode) == (["build", "cache gc --forget-missing --wait"], status)
