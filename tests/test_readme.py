"""What the README tells a new user is what the project does: its spec examples can be copied as written,
`.ci/run` runs the commands it shows first, and the figures it gives about the suite are the suite's."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import typer
import yaml
from helpers import REPO
from ops.registry import OPS
from pipeline.cli import _what_a_build_does, app
from pipeline.manifest import Row
from pipeline.spec import SpecError, parse_spec
from pipeline.spec_yaml import SpecLoader
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

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


def _heading_anchors() -> set[str]:
    """The ``#anchor`` of each heading as GitHub makes it: lower case, punctuation dropped, spaces as ``-``, a
    repeated one numbered."""
    anchors: set[str] = set()
    for heading in re.findall(r"^#+ (.*)$", re.sub(r"```.*?```", "", README, flags=re.S), flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(next(f"{slug}-{n}" if n else slug for n in range(len(anchors) + 1)
                         if (f"{slug}-{n}" if n else slug) not in anchors))
    return anchors


def test_every_internal_link_leads_to_a_heading():
    """A heading reworded leaves the links to it leading nowhere: a reader's click stays at the top of the page."""
    links = set(re.findall(r"\]\(#([^)\s]+)\)", README))
    assert links and links - _heading_anchors() == set()


OPS_BY_KEY_TABLE = ("upscale", "train_srcae", "super_resolve", "multiply", "material", "export_dds")
SET_BY_THE_SPEC = {("multiply", "material_maps")}  # from the material chained from, refused in a spec


def _key_tables() -> list[list[tuple[list[str], str]]]:
    """Each op's table of keys and defaults in The ops, as (keys, default as written) rows, in README order."""
    tables = re.findall(r"\n\| key \| default \| (?:notes|values) \|\n\|---\|---\|---\|\n((?:\|.*\n)+)", README)
    return [[(re.findall(r"`(\w+)`", row.split("|")[1]), row.split("|")[2].strip().strip("`"))
             for row in table.splitlines()] for table in tables]


def _plain(value: object) -> object:
    """A default as YAML would write it: models as mappings, tuples as lists."""
    if isinstance(value, BaseModel):
        return _plain(value.model_dump())
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return [_plain(item) for item in value] if isinstance(value, tuple) else value


def test_each_op_s_key_table_names_its_params_and_their_defaults():
    """A user copies a key from these tables into a spec: a key the op does not take is refused by validate, one
    left out is never found, and a default written wrong decides what they set."""
    tables = _key_tables()
    assert len(tables) == len(OPS_BY_KEY_TABLE)
    for op, rows in zip(OPS_BY_KEY_TABLE, tables):
        fields = OPS[op].params_model().model_fields
        settable = {name for name in fields if (op, name) not in SET_BY_THE_SPEC}
        assert ({key for keys, _ in rows for key in keys}, op) == (settable, op)
        for keys, written in rows:
            said = written.split(", ") if len(keys) > 1 and ", " in written else [written] * len(keys)
            for name, default in zip(keys, said):
                code = fields[name].default
                if code not in (None, (), PydanticUndefined):
                    assert (op, name, yaml.load(default, SpecLoader)) == (op, name, _plain(code))


def test_the_manifest_table_names_every_field_a_row_may_hold():
    """A CI script reads the manifest by the README's table: a field added to the rows and not to the table (or
    one the table keeps after it was renamed) is one it cannot know of."""
    table = README.split("### The manifest", 1)[1].split("| field | value |\n|---|---|\n", 1)[1].split("\n\n", 1)[0]
    named = {name for row in table.splitlines() for name in re.findall(r"`(\w+)`", row.split("|")[1])}
    assert named == set(Row.__annotations__)


def _command_lines() -> list[str]:
    """Each ``remaster ...`` command the README shows, in a code span or a code block, one per command of a
    line (``remaster build && built=0 || built=$?`` is one); not a version it prints (``remaster 0.1.0``), nor a
    line of prose that starts with the word."""
    blocks = "".join(re.findall(r"```[^\n]*\n(.*?)```", README, flags=re.S))
    shown = re.findall(r"`(remaster [a-z-][^`]*)`", README) + re.findall(r"^\s*(remaster .*)$", blocks, flags=re.M)
    return [part.strip() for line in shown for part in re.split(r"&&|\|\||;|\|", line)
            if part.split()[:1] == ["remaster"]]


def test_every_command_and_flag_the_readme_gives_is_one_remaster_takes():
    """A command or flag a user copies from the README and remaster refuses (``No such command``, ``No such
    option``) is a contract broken at the first try; a command named without flags (``remaster valdate``) was
    passed over, its words taken for arguments of ``remaster``."""
    lines = _command_lines()
    assert len(lines) > 20
    for line in lines:
        command, words = typer.main.get_command(app), line.split()[1:]
        while words and words[0] in getattr(command, "commands", {}):
            command, words = command.commands[words[0]], words[1:]
        unknown = words[0] if words and hasattr(command, "commands") and not words[0].startswith("-") else None
        assert (line, unknown) == (line, None)
        taken = {option for param in command.params for option in (*param.opts, *param.secondary_opts)}
        assert (line, set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", line)) - taken - {"--help"}) == (line, set())


def test_status_s_line_for_a_ci_log_is_quoted_as_status_prints_it():
    """The README quoted ``... and deletes the outputs of 0``, a line status never prints (an action of no
    partition is left out, lest ``computes at most 0`` read as a promise); it and the ``counts`` quoted for
    ``--json`` describe one build."""
    counts = json.loads(re.search(r"`counts` \| how many of `stale` have each `action`: `(\{[^`]*\})`", README)[1])
    quoted = re.search(r"`counts` give too: `(a build [^`]*)`", README)[1]
    assert " ".join(quoted.split()) == _what_a_build_does(counts)


def test_each_params_change_quoted_gives_the_values_before_and_after():
    """status says ``params changed: count 4 -> 8``; the README quoted ``params changed: count`` alone, which
    status stopped printing when it came to name the values."""
    quoted = re.findall(r"params changed: ([^`;]+)", README)
    assert quoted
    for changes in quoted:
        assert all(re.fullmatch(r"\w+ \S+ -> \S+", " ".join(change.split())) for change in changes.split(", ")), changes


def test_the_indent_hint_quoted_is_what_validate_says_of_the_readme_s_spec():
    """validate's hint for an entry indented off its siblings was reworded ('indented differently from the lines
    above it' became how far to indent it, as which line); the README quotes it for an entry of its own spec,
    so a rewording, or a spec edited above that entry, shows here rather than in a reader's terminal."""
    said = re.search(r"`(\w+)` in the spec of \[How it works\]\(#how-it-works\) indented (\d+) spaces is\s+`([^`]*)`",
                     README)
    assert said is not None
    entry, spaces, quoted = said[1], int(said[2]), " ".join(said[3].split())
    lines = _first_spec().lstrip("\n").splitlines()
    at = next(i for i, line in enumerate(lines) if line.lstrip().startswith(f"{entry}:"))
    lines[at] = " " * spaces + lines[at].lstrip()
    with pytest.raises(SpecError) as refused:
        parse_spec("\n".join(lines), REPO / "assets_spec.yaml")
    assert quoted in str(refused.value), str(refused.value)


def test_the_shared_block_hint_quoted_is_what_validate_says_of_the_readme_s_spec():
    """The README quotes the fix for a block of shared settings written without its x-; the message once went on
    past it with the spec's keys, and a rewording shows here rather than in a reader's terminal."""
    said = re.search(r"named without its\s+`x-` \(`([^`]*)`\) is told to take it: `([^`]*)`", README)
    assert said is not None
    block, quoted = said[1], said[2]
    with pytest.raises(SpecError) as refused:
        parse_spec(f"{_first_spec()}{block}\n", REPO / "assets_spec.yaml")
    assert any(problem.endswith(f"{block.split(':')[0]}: unknown key; it gives the anchor &enlarge, as a block that "
                                f"anchors share does: {quoted}") for problem in refused.value.problems), refused.value
