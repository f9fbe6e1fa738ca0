"""Spec validation: every error names the file, the line, the key and what was expected."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from pipeline.spec import SpecError, load_spec, parse_spec
from pipeline.spec_reload import changed_since_loaded

REPO = Path(__file__).resolve().parents[2]


def problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse_spec(textwrap.dedent(text), Path("/studio/assets_spec.yaml"))
    return caught.value.problems


def test_the_issue_example_is_valid():
    spec = parse_spec(
        textwrap.dedent(
            """
            build_dir: build
            cache_dir: .remaster/cache
            sources:
              legacy:   {kind: textures, root: textures/legacy, glob: "**/*.png"}
              scans:    {kind: photo_pairs, root: photos, flash: "*/flash.*", guide: "*/guide.*"}
            assets:
              legacy_2x: {op: upscale, from: legacy, scale: 2, filter: lanczos}
            """
        ),
        Path("/studio/assets_spec.yaml"),
    )
    assert spec.build_dir == Path("/studio/build")
    assert spec.sources["scans"].patterns == {"flash": "*/flash.*", "guide": "*/guide.*"}
    assert spec.assets["legacy_2x"].params.scale == 2


def test_unknown_keys_are_reported_with_their_lines():
    found = problems(
        """
        build_dir: build
        sauces: {}
        sources:
          legacy: {kind: textures, root: t, globb: "*.png"}
        assets:
          up: {op: upscale, from: legacy, scael: 2}
        """
    )
    assert "/studio/assets_spec.yaml:3: sauces: unknown key; did you mean 'sources'? expected one of" in found[0]
    assert any(p.startswith("/studio/assets_spec.yaml:5: sources.legacy.globb: unknown key") for p in found)
    assert any(p.startswith("/studio/assets_spec.yaml:7: assets.up.scael: unknown key") for p in found)


def test_a_misspelled_section_is_one_error_naming_the_key_meant():
    # Its entries were reported again, each with a wrong name offered: from: legacy, "did you mean 'legacy_dds'?"
    found = problems(
        """
        sourcse:
          legacy: {kind: textures, root: t}
        models:
          sr2x: {op: train_srcae, from: legacy}
        assets:
          legacy_sr: {op: super_resolve, from: legacy, model: sr2x}
          legacy_dds: {op: export_dds, from: legacy_sr}
        """
    )
    assert found == [
        "/studio/assets_spec.yaml:2: sourcse: unknown key; did you mean 'sources'? expected one of build_dir, cache_dir, "
        "device, schedule, timezone, sources, models, assets (or x-<name> for a block that anchors share)"
    ]


@pytest.mark.parametrize(("device", "hint"), [
    ("gpu", "; for the GPU write cuda (cuda:1 for a second GPU)"),
    ("GPU", "; for the GPU write cuda (cuda:1 for a second GPU)"),
    ("nvidia", "; for the GPU write cuda (cuda:1 for a second GPU)"),
    ("cuda1", "; for that GPU write cuda:1"),
    ("cuda0", "; for that GPU write cuda:0"),
    ("gpu0", "; for that GPU write cuda:0"),
    ("GPU 1", "; for that GPU write cuda:1"),
    ("nvidia:2", "; for that GPU write cuda:2"),
    ("CPU", "; did you mean 'cpu'?"),
])
def test_a_device_spelt_as_an_artist_says_it_gets_the_spelling_remaster_takes(device, hint):
    """device: gpu was refused with the four spellings remaster takes, none of which says which is the GPU;
    cuda0 was told to write cuda, which loses the GPU chosen, and nvidia was told nothing."""
    assert problems(f"device: {device}\nsources: {{}}\n") == [
        f"/studio/assets_spec.yaml:1: device: expected auto, cpu, cuda or cuda:N, got {device!r}{hint}"]


def test_build_device_gpu_is_told_to_write_cuda(project, cli):
    """--device gpu, as the spec's device: is told the spelling for the GPU, before anything is built; --device
    cuda0 the spelling of that GPU."""
    code, output = cli(project, "build", "--device", "gpu")
    assert code == 2 and "--device 'gpu': expected auto, cpu, cuda or cuda:N; for the GPU write cuda (cuda:1 for a " \
        "second GPU)" in " ".join(output.split()), output
    code, output = cli(project, "build", "--device", "cuda0")
    assert code == 2 and "--device 'cuda0': expected auto, cpu, cuda or cuda:N; for that GPU write cuda:0" in \
        " ".join(output.split()), output
    assert not (project / "build" / "legacy_2x").exists()


def test_a_name_whose_entry_is_commented_out_says_which_line_to_uncomment():
    """remaster init writes the model and its source commented out: an artist who uncommented the super_resolve
    asset alone was told "'sr2x' names no model; expected one of (none defined)", and a from: naming a commented
    out source offered another name ("did you mean 'legacy_sr'?") where the # was the slip."""
    found = problems(
        """
        sources:
          # legacy: {kind: textures, root: t}
          hires: {kind: textures, root: h}
        # models:
        #   sr2x: {op: train_srcae, from: hires}
        assets:
          legacy_sr: {op: super_resolve, from: legacy, model: sr2x}
        """
    )
    assert found == [
        "/studio/assets_spec.yaml:8: assets.legacy_sr.from: 'legacy' names no source or asset; it is commented out "
        "at line 3: delete the '# ' at its start",
    ]
    found = problems(
        """
        sources:
          hires: {kind: textures, root: h}
        # models:
        #   sr2x: {op: train_srcae, from: hires}
        assets:
          hires_sr: {op: super_resolve, from: hires, model: sr2x}
        """
    )
    assert found == [
        "/studio/assets_spec.yaml:7: assets.hires_sr.model: 'sr2x' names no model; it is commented out at line 5: "
        "delete the '# ' at its start and the '# ' at the start of line 4 (models:)",
    ]


def test_a_commented_out_entry_is_named_only_for_a_key_that_names_its_section():
    """``model: legacy`` was told to uncomment the source ``legacy``, which uncommented names no model still; a
    ``from:`` is sent to a commented-out source or asset, a ``model:`` to a commented-out model."""
    head = "sources:\n  # legacy: {kind: textures, root: t}\n  hires: {kind: textures, root: h}\n"
    assert problems(head + "assets:\n  sr: {op: super_resolve, from: hires, model: legacy}\n") == [
        "/studio/assets_spec.yaml:5: assets.sr.model: 'legacy' names no model; expected one of (none defined) or "
        "{path: weights.pth}"]
    both = head + "# models:\n#   legacy: {op: train_srcae, from: hires}\nassets:\n"
    assert problems(both + "  sr: {op: super_resolve, from: hires, model: legacy}\n") == [
        "/studio/assets_spec.yaml:7: assets.sr.model: 'legacy' names no model; it is commented out at line 5: delete "
        "the '# ' at its start and the '# ' at the start of line 4 (models:)"]
    a_model = "sources:\n  hires: {kind: textures, root: h}\n# models:\n#   sr2x: {op: train_srcae, from: hires}\n"
    assert problems(a_model + "assets:\n  up: {op: upscale, from: sr2x}\n") == [
        "/studio/assets_spec.yaml:6: assets.up.from: 'sr2x' names no source or asset; expected one of hires"]
    an_asset = "sources:\n  hires: {kind: textures, root: h}\nassets:\n  # up: {op: upscale, from: hires}\n"
    assert problems(an_asset + "models:\n  m: {op: train_srcae, from: up}\n") == [
        "/studio/assets_spec.yaml:6: models.m.from: 'up' names no source or asset; expected one of hires"]
    assert problems(an_asset + "  dds: {op: export_dds, from: up}\n") == [
        "/studio/assets_spec.yaml:5: assets.dds.from: 'up' names no source or asset; it is commented out at line 4: "
        "delete the '# ' at its start"]


def test_a_commented_out_entry_names_the_commented_out_entries_it_is_built_from_each_once():
    """An asset commented out with the model it takes and their source: uncommenting the asset alone, as told,
    failed validate on its from: and model:; the source both are built from is said once."""
    text = ("sources:\n  # s: {kind: textures, root: t}\nassets:\n  # a: {op: super_resolve, from: s, model: m}\n"
            "  c: {op: upscale, from: a}\n# models:\n#   m: {op: train_srcae, from: s}\n")
    assert problems(text) == [
        "/studio/assets_spec.yaml:5: assets.c.from: 'a' names no source or asset; it is commented out at line 4: "
        "delete the '# ' at its start; its from: s is commented out too, at line 2: delete the '# ' at its start; its "
        "model: m is commented out too, at line 7: delete the '# ' at its start and the '# ' at the start of line 6 "
        "(models:)"]


def test_uncommenting_as_told_gives_a_spec_that_loads():
    """init's spec comments its model out as "# models:" and "#   sr2x: ...": deleting the # alone, as the message
    said, left " models:" a space in, which YAML refuses (the block of sources ends at it)."""
    text = textwrap.dedent(
        """\
        sources:
          hires: {kind: textures, root: h}
        # models:                       # a model trained on hires
        #   sr2x: {op: train_srcae, from: hires, scale: 2}
        assets:
          hires_sr: {op: super_resolve, from: hires, model: sr2x}
        """
    )
    with pytest.raises(SpecError) as caught:
        parse_spec(text, Path("/studio/assets_spec.yaml"))
    [said] = caught.value.problems
    assert said.endswith("names no model; it is commented out at line 4: delete the '# ' at its start and the '# ' at the start of "
                         "line 3 (models:)"), said
    lines = text.splitlines(keepends=True)
    for number in (3, 4):
        lines[number - 1] = lines[number - 1].replace("# ", "", 1)
    assert parse_spec("".join(lines), Path("/studio/assets_spec.yaml")).models["sr2x"].upstream == "hires"


def test_a_note_in_prose_that_starts_with_a_name_is_not_taken_for_its_entry_commented_out():
    """A comment "# legacy: the 2004 release's textures" above the source legacy_tex was taken for the entry legacy
    commented out, and a from: legacy told to delete its #, which makes the note a key of the spec."""
    found = problems(
        """
        sources:
          # legacy: the 2004 release's textures, from the old server
          legacy_tex: {kind: textures, root: t}
        assets:
          up: {op: upscale, from: legacy}
        """
    )
    assert found == ["/studio/assets_spec.yaml:6: assets.up.from: 'legacy' names no source or asset; expected one of "
                     "legacy_tex; did you mean 'legacy_tex'?"]


@pytest.mark.parametrize(("entry", "line", "section"), [
    ("legacy: {kind: textures, root: t}", 2, "a source"),
    ("sr2x: {op: train_srcae, from: legacy}", 4, "a model"),
    ("legacy_dds: {op: export_dds, from: legacy_sr}", 7, "an asset"),
])
def test_an_entry_at_the_start_of_its_line_is_told_to_be_indented_under_its_section(entry, line, section):
    """The last entry of a section moved to the start of its line (its indent lost in an edit) was called an
    unknown spec key, expected one of build_dir, cache_dir, ..., and a model: naming it, a name defined nowhere
    ("expected one of (none defined)"). The fix is said as other indent fixes are ("2 spaces", not "two spaces"),
    and alone: the list of spec keys after it read as a second fix."""
    text = ("sources:\n  legacy: {kind: textures, root: t}\nmodels:\n  sr2x: {op: train_srcae, from: legacy}\n"
            "assets:\n  legacy_sr: {op: super_resolve, from: legacy, model: sr2x}\n"
            "  legacy_dds: {op: export_dds, from: legacy_sr}\n")
    name, under = entry.split(":")[0], {"a source": "sources", "a model": "models", "an asset": "assets"}[section]
    assert problems(text.replace(f"  {entry}", entry)) == [
        f"/studio/assets_spec.yaml:{line}: {name}: unknown key; it reads as {section} written at the start of its "
        f"line: indent it 2 spaces under {under}:"]


def test_an_entry_at_the_start_of_its_line_is_told_the_indent_of_its_sections_entries():
    """A spec indented 4 spaces was told to indent the entry 2, which YAML refuses beside entries at 4."""
    text = ("sources:\n    legacy: {kind: textures, root: t}\nassets:\n    up: {op: upscale, from: legacy}\n"
            "dds: {op: export_dds, from: up}\n")
    assert problems(text) == ["/studio/assets_spec.yaml:5: dds: unknown key; it reads as an asset written at the "
                              "start of its line: indent it 4 spaces under assets:"]


def test_an_entry_at_the_start_of_its_line_below_an_empty_section_is_told_to_delete_its_braces_too():
    """Below ``assets: {}``, indenting the entry as told made a file YAML refuses (an entry under a section that
    says it holds nothing): the {} is said with the indent, one fix, not two runs of validate."""
    text = "sources:\n  legacy: {kind: textures, root: t}\nassets: {}\nup: {op: upscale, from: legacy}\n"
    assert problems(text) == ["/studio/assets_spec.yaml:4: up: unknown key; it reads as an asset written at the "
                              "start of its line: indent it 2 spaces under assets: and delete the {} after it (line 3)"]
    fixed = text.replace("assets: {}\nup", "assets:\n  up")
    assert list(parse_spec(fixed, Path("/studio/assets_spec.yaml")).assets) == ["up"]


def test_an_entry_at_the_start_of_its_line_named_as_one_of_its_section_is_told_it_is_a_duplicate():
    """A copied entry moved to the start of its line, named as an entry of its section, was told to be indented
    under it, which makes a key given twice: it is named a duplicate of that entry, with its line. Where it stands
    among indented entries (YAML refuses the file), its siblings' names are looked at alike."""
    head = "sources:\n  legacy: {kind: textures, root: t}\nassets:\n  up: {op: upscale, from: legacy}\n"
    assert problems(head + "up: {op: upscale, from: legacy, scale: 4}\n") == [
        "/studio/assets_spec.yaml:5: up: unknown key; it reads as an asset written at the start of its line, and is a "
        "duplicate of the asset up at line 4: delete one of the two (indented under assets:, it would give up twice)"]
    assert problems(head + "up: {op: upscale, from: legacy, scale: 4}\n  dds: {op: export_dds, from: up}\n") == [
        "/studio/assets_spec.yaml:5: not valid YAML: line 5 is indented less than the lines above and below it, and "
        "is a duplicate of the entry up at line 4: delete one of the two (indented as they are, it would give up "
        "twice)"]
    below = head + ("dds: {op: export_dds, from: up}\n  # a note\n  x: {op: upscale, from: legacy}\n\n"
                    "  dds: {op: upscale}\n")
    assert problems(below) == [
        "/studio/assets_spec.yaml:5: not valid YAML: line 5 is indented less than the lines above and below it, and "
        "is a duplicate of the entry dds at line 9: delete one of the two (indented as they are, it would give dds "
        "twice)"]


def test_a_shared_block_named_without_x_is_told_to_take_the_prefix_not_to_be_indented_as_an_entry():
    """README's shared settings, x-enlarge: &enlarge {op: upscale, from: legacy}, written without its x-, was told
    to be indented under assets:, where it becomes an asset of its own that each build makes."""
    found = problems(
        """
        sources:
          legacy: {kind: textures, root: t}
        enlarge: &enlarge {op: upscale, from: legacy}
        assets:
          up2: *enlarge
          up4: {<<: *enlarge, scale: 4}
        """
    )
    assert found == [
        "/studio/assets_spec.yaml:4: enlarge: unknown key; it gives the anchor &enlarge, as a block that anchors share "
        "does: name it x-enlarge"]


@pytest.mark.parametrize(("text", "line"), [
    ("\ufeffenlarge: &enlarge {op: upscale, from: legacy}\nsources:\n  legacy: {kind: textures, root: t}\n", 1),
    ("sources:\n  legacy: {kind: textures, root: \"a\u2028b\"}\nenlarge: &enlarge {op: upscale, from: legacy}\n", 3),
])
def test_a_shared_block_s_anchor_is_read_on_its_own_line(text, line):
    """The anchor is looked for on the key's line as YAML counts lines: Notepad's byte-order mark before the first
    line, or a U+2028 that Python, not YAML, breaks a line at, read another line, and the block was told to be
    indented under assets:, where it becomes an asset."""
    assert problems(text + "assets:\n  up2: *enlarge\n") == [
        f"/studio/assets_spec.yaml:{line}: enlarge: unknown key; it gives the anchor &enlarge, as a block that anchors "
        "share does: name it x-enlarge"]


@pytest.mark.parametrize("section", [
    "  assets:\n    up: {op: upscale, from: legacy}\n",  # its entries indented below it
    "  assets:\n  up: {op: upscale, from: legacy}\n",  # its entries beside it: an empty assets source
])
def test_an_assets_section_indented_under_sources_says_to_move_it(section):
    """The README promised a spec whose ``assets:`` is indented under ``sources:`` was told so; it was read as a
    source named assets and refused as ``sources.assets.kind: expected textures or photo_pairs, got None``."""
    found = problems("sources:\n  legacy: {kind: textures, root: t}\n" + section)
    assert found[0] == (
        "/studio/assets_spec.yaml:3: sources.assets: assets: is indented under sources:, so YAML reads it as a source; "
        "move assets: to the start of its line, as sources: is, keeping its entries indented below it")


@pytest.mark.parametrize(("text", "line", "under", "name"), [
    ("sources:\n  legacy: {kind: textures, root: t}\n  models:\n  sr: {op: train_srcae, from: legacy}\n"
     "assets:\n  up: {op: super_resolve, from: legacy, model: sr}\n", 3, "sources", "models"),
    ("sources:\n  legacy: {kind: textures, root: t}\nmodels:\n  sr: {op: train_srcae, from: legacy}\n  assets:\n"
     "  up: {op: super_resolve, from: legacy, model: sr}\n  dn: {op: upscale, from: up}\n", 5, "models", "assets"),
])
def test_a_section_indented_beside_its_entries_is_the_one_problem(text, line, under, name):
    """The entries below a section indented under another as they are (``  models:`` then ``  sr: {...}``) are
    read as that other's: each was also told its kind is missing (or its op belongs elsewhere), and a model:
    naming one that it names no model, follow-ons of the one line to move."""
    assert problems(text) == [
        f"/studio/assets_spec.yaml:{line}: {under}.{name}: {name}: is indented under {under}:, so YAML reads it as "
        f"{ {'sources': 'a source', 'models': 'a model'}[under]}; move {name}: to the start of its line, as {under}: "
        "is, keeping its entries indented below it"]


def test_a_first_section_indented_as_its_entries_says_once_to_move_it():
    """``  assets:`` indented as the entries beside it, the spec's first line, makes YAML read the whole spec at that
    indent: each entry was told 'indent it 2 spaces under assets:', where it already was, once per entry."""
    text = "  assets:\n  up: {op: upscale, from: legacy}\n  dn: {op: upscale, from: up}\n"
    with pytest.raises(SpecError) as caught:
        parse_spec(text, Path("/studio/assets_spec.yaml"))
    assert caught.value.problems == [
        "/studio/assets_spec.yaml:1: assets: assets: is indented 2 spaces, as its entries beside it are, so YAML "
        "reads them as top-level keys; move assets: to the start of its line, keeping its entries indented below it"]


@pytest.mark.parametrize(("above", "section", "read_as"), [
    ("assets:\n  up: {op: upscale, from: legacy}\n", "models:\n    sr: {op: train_srcae, from: legacy}\n", "an asset"),
    ("models:\n  sr: {op: train_srcae, from: legacy}\n", "assets:\n    up: {op: upscale, from: legacy}\n", "a model"),
    ("assets:\n  up: {op: upscale, from: legacy}\n", "sources:\n    more: {kind: textures, root: t}\n", "an asset"),
])
def test_a_section_indented_under_models_or_assets_says_to_move_it(above, section, read_as):
    """``models:`` indented under ``assets:`` (or the other way round) was read as an entry of that section and
    refused as ``assets.models.op: missing: say which op builds it``, which names no fix."""
    under = above.split(":", 1)[0]
    [found] = problems("sources:\n  legacy: {kind: textures, root: t}\n" + above + "  " + section)
    name = section.split(":", 1)[0]
    assert found == (
        f"/studio/assets_spec.yaml:5: {under}.{name}: {name}: is indented under {under}:, so YAML reads it as "
        f"{read_as}; move {name}: to the start of its line, as {under}: is, keeping its entries indented below it")


def test_unknown_op_lists_the_known_ones():
    [problem] = problems(
        """
        sources:
          legacy: {kind: textures, root: t}
        assets:
          up: {op: enhance, from: legacy}
        """
    )
    assert problem.startswith("/studio/assets_spec.yaml:5: assets.up.op: unknown op 'enhance'; expected one of")
    assert "upscale" in problem


def test_from_naming_nothing():
    [problem] = problems(
        """
        sources:
          legacy: {kind: textures, root: t}
        assets:
          up: {op: upscale, from: legasy}
        """
    )
    assert "assets.up.from: 'legasy' names no source or asset; expected one of legacy; did you mean 'legacy'?" in problem
    assert ":5:" in problem


def test_a_mistyped_op_or_value_is_answered_with_the_likely_one():
    reported = problems(
        """
        sources:
          legacy: {kind: textures, root: t}
        assets:
          a: {op: upscael, from: legacy}
          b: {op: upscale, from: legacy, filter: lanczoz, scale: 2.5}
        """
    )
    assert [p.split(": ", 2)[1:] for p in reported] == [
        ["assets.a.op", "unknown op 'upscael'; expected one of export_dds, material, multiply, super_resolve, upscale; "
                        "did you mean 'upscale'?"],
        ["assets.b.scale", "expected a whole number, got 2.5"],  # was "…with a fractional part, got 2.5"
        ["assets.b.filter", "Input should be 'nearest', 'bicubic' or 'lanczos', got 'lanczoz'; did you mean 'lanczos'?"],
    ]


def test_a_boolean_where_a_number_goes_is_refused_not_read_as_one():
    reported = problems(
        """
        sources:
          legacy: {kind: textures, root: t}
          ref: {kind: textures, root: r}
        models:
          sr: {op: train_srcae, from: ref, learning_rate: true, loss: {hfen: false}}
        assets:
          big: {op: upscale, from: legacy, scale: true, wrap: true}
          up: {op: super_resolve, from: legacy, model: sr, self_ensemble: true, wrap: false}
        """
    )
    assert [p.split(": ", 2)[1:] for p in reported] == [
        ["models.sr.loss.hfen", "expected a number, but YAML reads false as a boolean"],
        ["models.sr.learning_rate", "expected a number, but YAML reads true as a boolean"],
        ["assets.big.scale", "expected a number, but YAML reads true as a boolean"],
    ]


def test_a_boolean_or_nothing_where_a_word_goes_is_not_called_a_number():
    """``filter: true`` was told "expected a number", which filter never is; ``kind:`` left empty was "got None",
    and ``model: ""`` was taken for a path and told to write ``{path: }``."""
    reported = problems(
        """
        sources:
          legacy: {kind: textures, root: t}
        assets:
          up: {op: upscale, from: legacy, filter: true, kind:}
          sr: {op: super_resolve, from: legacy, model: ""}
          sr2: {op: super_resolve, from: legacy, model: false}
        """
    )
    assert [p.split(": ", 2)[1:] for p in reported] == [
        ["assets.up.filter", "Input should be 'nearest', 'bicubic' or 'lanczos', got true"],
        ["assets.up.kind", "Input should be 'color' or 'normal', got nothing"],
        ["assets.sr.model", "expected the name of one model under models:, or a weights file's path as {path: "
         "some.pth}, got nothing"],
        ["assets.sr2.model", "expected the name of one model under models:, or a weights file's path as {path: "
         "some.pth}, got false"],
    ]


def test_cycles_are_named_once_each():
    """A two-asset cycle was said at each member (``a -> b -> a``, then ``b -> a -> b``) and again at each asset
    chained from it: one fix, said as several problems. Each cycle is said once, at its first asset."""
    head = "sources:\n  legacy: {kind: textures, root: t}\nassets:\n"
    two = head + "  a: {op: upscale, from: b}\n  b: {op: upscale, from: a}\n"
    assert problems(two) == ["/studio/assets_spec.yaml:4: assets.a.from: cycle: a -> b -> a"]
    tail_first = head + "  c: {op: upscale, from: b}\n  a: {op: upscale, from: b}\n  b: {op: upscale, from: a}\n"
    assert problems(tail_first) == ["/studio/assets_spec.yaml:5: assets.a.from: cycle: a -> b -> a"]
    assert problems(two + "  d: {op: upscale, from: d}\n") == [
        "/studio/assets_spec.yaml:4: assets.a.from: cycle: a -> b -> a",
        "/studio/assets_spec.yaml:6: assets.d.from: cycle: d -> d"]


def test_names_that_would_escape_build_dir():
    [problem] = problems(
        """
        sources:
          legacy: {kind: textures, root: t}
        assets:
          ../outside: {op: upscale, from: legacy}
        """
    )
    assert "assets.../outside: names are letters, digits and _ only" in problem


@pytest.mark.parametrize(
    ("key", "value"),
    [("0x1F", "31"), ("017", "15"), ("0b101", "5"), ("1_000", "1000"), ("+12", "12"), ("1e3", "1000.0"),
     ("1.50", "1.5"), (".inf", "inf"), ("-.INF", "-inf"), (".nan", "nan")],
)
def test_a_key_yaml_reads_as_a_number_is_named_as_the_spec_writes_it(key, value):
    """The message names the key as typed: ``assets.31`` for ``0x1F:`` names a key the artist cannot find."""
    text = f"sources:\n  legacy: {{kind: textures, root: t}}\nassets:\n  {key}: {{op: upscale, from: legacy}}\n"
    assert problems(text) == [f"/studio/assets_spec.yaml:4: assets.{key}: YAML reads this key as a number ({value}), "
                              "not a name; put it in quotes"]
    twice = text + f"  {key}: {{op: upscale, from: legacy}}\n"
    assert (f"/studio/assets_spec.yaml:5: assets.{key}: this key is given twice; keep one (it is also at line 4, and "
            "YAML would take this one alone)") in problems(twice)
    nested = f"sources:\n  legacy: {{kind: textures, root: t}}\nassets:\n  a: {{op: multiply, from: legacy, checks: {{{key}: off}}}}\n"
    assert problems(nested)[0].startswith(f"/studio/assets_spec.yaml:4: assets.a.checks.{key}: no such guard here")


def test_numbers_are_read_as_yaml_1_2_reads_them():
    """YAML 1.1 read 12:30 as 750, a number in base 60, so the key named an asset 750; and 1e3 as text, since
    its floats need a dot, so steps: 1e3 was no whole number."""
    [problem] = problems("sources:\n  legacy: {kind: textures, root: t}\nassets:\n  12:30: {op: upscale, from: legacy}\n")
    assert problem.startswith("/studio/assets_spec.yaml:4: assets.12:30: names are letters, digits and _ only"), problem
    spec = parse_spec("sources:\n  legacy: {kind: textures, root: t}\nmodels:\n  m: {op: train_srcae, from: legacy, "
                      "steps: 1e3, learning_rate: 2E-3, seed: 1_000}\n", Path("/studio/assets_spec.yaml"))
    params = spec.models["m"].params
    assert (params.steps, params.learning_rate, params.seed) == (1000, 0.002, 1000)


def test_names_may_start_with_a_digit_as_dagster_s_may():
    spec = parse_spec(
        "sources:\n  2k_scans: {kind: textures, root: t}\nassets:\n  4x: {op: upscale, from: 2k_scans, scale: 4}\n",
        Path("/studio/assets_spec.yaml"),
    )
    assert list(spec.assets) == ["4x"] and spec.source_of("4x").name == "2k_scans"


def test_two_targets_writing_the_same_folder():
    found = problems(
        """
        sources:
          legacy: {kind: textures, root: t}
        assets:
          up: {op: upscale, from: legacy}
          up: {op: upscale, from: legacy, scale: 4}
        """
    )
    assert any(":6: assets.up: this key is given twice" in p for p in found)


def test_a_key_given_twice_names_the_line_of_the_other():
    """Two ``assets:`` sections were "given twice; keep one" at the second alone: the artist, scrolling up a long
    spec for the other, was not told that YAML keeps only the later one's entries."""
    assert problems("sources:\n  legacy: {kind: textures, root: t}\nassets:\n  a: {op: upscale, from: legacy}\n"
                    "assets:\n  b: {op: upscale, from: legacy}\n") == [
        "/studio/assets_spec.yaml:5: assets: this key is given twice; keep one (it is also at line 3, and YAML would "
        "take this one alone)"]


def test_a_key_given_twice_is_said_without_the_errors_it_causes():
    """A line copied and not renamed: YAML keeps the second ``up``, built from ``sharp``, which is built from the
    first; the duplicate was followed by two cycle errors its fix removes, as was a ``from:`` given twice. A second
    ``assets:`` drops the first's entries, and a ``from:`` naming one was said to name nothing too. A cycle the
    duplicate is no part of is said."""
    head = "sources:\n  legacy: {kind: textures, root: t}\nassets:\n"
    copied = head + ("  up: {op: upscale, from: legacy}\n  sharp: {op: upscale, from: up}\n"
                     "  up: {op: upscale, from: sharp, scale: 4}\n")
    assert problems(copied) == ["/studio/assets_spec.yaml:6: assets.up: this key is given twice; keep one (it is also "
                                "at line 4, and YAML would take this one alone)"]
    from_twice = head + "  up: {op: upscale, from: legacy, from: sharp}\n  sharp: {op: upscale, from: up}\n"
    assert problems(from_twice) == ["/studio/assets_spec.yaml:4: assets.up.from: this key is given twice; keep one "
                                    "(it is also at line 4, and YAML would take this one alone)"]
    assert problems(head + "  up: {op: upscale, from: legacy}\nassets:\n  dds: {op: export_dds, from: up}\n") == [
        "/studio/assets_spec.yaml:5: assets: this key is given twice; keep one (it is also at line 3, and YAML would "
        "take this one alone)"]
    assert problems(copied + "  a: {op: upscale, from: b}\n  b: {op: upscale, from: a}\n")[1:] == [
        "/studio/assets_spec.yaml:7: assets.a.from: cycle: a -> b -> a"]


def test_a_key_given_three_times_names_the_one_yaml_keeps():
    """With three, the second was told "YAML would take this one alone", where YAML takes the third; two merge keys
    were told one is kept, where PyYAML merges both."""
    entry = "  a: {op: upscale, from: legacy, scale: %d}\n"
    found = problems("sources:\n  legacy: {kind: textures, root: t}\nassets:\n" + "".join(entry % n for n in (2, 3, 4)))
    assert found == [
        "/studio/assets_spec.yaml:5: assets.a: this key is given twice; keep one (it is also at lines 4, 6, and YAML "
        "would take the one at line 6 alone)",
        "/studio/assets_spec.yaml:6: assets.a: this key is given twice; keep one (it is also at lines 4, 5, and YAML "
        "would take this one alone)"]
    merged = problems("x-up: &up {op: upscale}\nx-two: &two {scale: 2}\nsources:\n  legacy: {kind: textures, root: t}\n"
                      "assets:\n  a:\n    <<: *up\n    <<: *two\n    from: legacy\n")
    assert merged == ["/studio/assets_spec.yaml:8: assets.a.<<: this merge key is given twice (also at line 7); merge "
                      "them in one: <<: [*first, *second]"]
    spec = parse_spec("x-up: &up {op: upscale}\nx-two: &two {scale: 2}\nsources:\n  legacy: {kind: textures, root: t}\n"
                      "assets:\n  a:\n    <<: [*up, *two]\n    from: legacy\n", Path("/studio/assets_spec.yaml"))
    assert spec.assets["a"].params.scale == 2
    assert problems("sources:\n  legacy: {kind: textures, root: t}\nassets:\n  a: {op: upscale, from: legacy, "
                    "op: upscale}\n")[0].endswith("also at line 4, and YAML would take this one alone)")


def test_a_model_and_an_asset_sharing_a_name():
    [problem] = problems(
        """
        sources:
          hires: {kind: textures, root: t}
        models:
          up: {op: train_srcae, from: hires}
        assets:
          up: {op: upscale, from: hires}
        """
    )
    assert problem.startswith("/studio/assets_spec.yaml:7: assets.up: this name is already used by a source or model")


def test_names_whose_build_folders_differ_only_in_case_are_refused():
    found = problems(
        """
        sources:
          hires: {kind: textures, root: t}
          Hires: {kind: textures, root: u}
        models:
          sr: {op: train_srcae, from: hires}
        assets:
          SR: {op: upscale, from: hires}
          up: {op: upscale, from: Hires}
          Up: {op: upscale, from: hires}
        """
    )  # two sources may: they have no folder under build_dir
    assert found == [
        "/studio/assets_spec.yaml:8: assets.SR: this name and 'sr' differ only in case, and their folders under build_dir "
        "would be one folder on Windows and macOS; rename one",
        "/studio/assets_spec.yaml:10: assets.Up: this name and 'up' differ only in case, and their folders under build_dir "
        "would be one folder on Windows and macOS; rename one",
    ]


def test_a_name_too_long_for_its_build_folder_is_refused():
    """A 300-character asset name validated, and each build failed every texture: 'File name too long'."""
    found = problems(
        f"""
        sources:
          {"s" * 300}: {{kind: textures, root: t}}
        assets:
          {"a" * 256}: {{op: upscale, from: {"s" * 300}}}
          {"b" * 255}: {{op: upscale, from: {"s" * 300}}}
        """
    )  # a source has no folder under build_dir
    assert found == [f"/studio/assets_spec.yaml:5: assets.{'a' * 256}: this name is 256 characters long, and it names a "
                     "folder under build_dir, which may be 255 at most; shorten it"]


def test_a_key_with_an_invisible_character_names_it():
    """A no-break space pasted before a name made it a top-level key, and a zero-width one broke a name: the
    messages showed the key as it looks, '  up: unknown key', with nothing to see."""
    head = "sources:\n  legacy: {kind: textures, root: t}\nassets:\n"
    assert problems(head + "\u00a0 up: {op: upscale, from: legacy}\n") == [
        "/studio/assets_spec.yaml:4: \u00a0 up: unknown key; it holds an invisible U+00A0 (NO-BREAK SPACE), which YAML "
        "does not read as a space: retype it"]
    assert problems(head + "  up\u200b2: {op: upscale, from: legacy}\n") == [
        "/studio/assets_spec.yaml:4: assets.up\u200b2: names are letters, digits and _ only (they become folder names "
        "under build_dir, so '/', '..' and spaces are not allowed); this one holds an invisible U+200B (ZERO WIDTH "
        "SPACE): retype it"]


def test_outputs_must_not_overwrite_inputs():
    [problem] = problems(
        """
        build_dir: textures
        sources:
          legacy: {kind: textures, root: textures/legacy}
        """
    )
    assert "build_dir: /studio/textures contains the source 'legacy'" in problem


@pytest.mark.parametrize("build, cache", [("out", "out"), ("out", "out/.cache"), ("out/build", "out")])
def test_the_cache_and_the_outputs_must_not_share_a_folder(build, cache):
    [problem] = problems(
        f"""
        build_dir: {build}
        cache_dir: {cache}
        sources:
          legacy: {{kind: textures, root: textures}}
        """
    )
    assert problem.startswith(f"/studio/assets_spec.yaml:3: cache_dir: build_dir /studio/{build} and cache_dir") and "overlap" in problem


def test_a_build_dir_moved_into_the_default_cache_folder_is_reported_at_build_dir():
    [problem] = problems(
        """
        build_dir: .remaster
        sources:
          legacy: {kind: textures, root: textures}
        """
    )
    assert problem.startswith("/studio/assets_spec.yaml:2: build_dir: build_dir /studio/.remaster and cache_dir")


def test_outputs_must_not_become_inputs():
    [problem] = problems(
        """
        build_dir: textures/out
        sources:
          legacy: {kind: textures, root: textures}
        """
    )
    assert "build_dir: /studio/textures/out is inside the root of source 'legacy'" in problem


def test_a_root_holding_the_default_build_and_cache_folders_says_how_to_fix_it():
    """root: . (the textures beside the spec) was refused as "outputs would become inputs", naming neither the
    default folders the artist never wrote nor what to change."""
    build, cache = problems(
        """
        sources:
          legacy: {kind: textures, root: ., exclude: [build]}
        """
    )
    assert build == ("/studio/assets_spec.yaml: build_dir: /studio/build (the default) is inside the root of source "
                     "'legacy'; outputs would become inputs: set build_dir to a folder outside /studio, or move the "
                     "source's files into a folder of their own and give that as its root")
    assert cache.startswith("/studio/assets_spec.yaml: cache_dir: /studio/.remaster/cache (the default) is inside")


def test_bad_param_values_say_what_was_expected():
    [problem] = problems(
        """
        sources:
          legacy: {kind: textures, root: t}
        assets:
          up: {op: upscale, from: legacy, scale: two, filter: lanczos}
        """
    )
    assert problem.startswith("/studio/assets_spec.yaml:5: assets.up.scale:")
    assert "whole number" in problem and "'two'" in problem


def test_a_number_with_a_unit_or_in_words_is_told_to_be_written_in_digits_alone():
    """``size: 512px`` was only "should be a valid integer", which an artist who wrote a size in pixels reads as
    being told that 512 is none."""
    reported = problems(
        """
        sources:
          legacy: {kind: textures, root: t}
        assets:
          v: {op: multiply, from: legacy, size: 512px, count: four}
          up: {op: upscale, from: legacy, scale: 2x}
          up2: {op: upscale, from: legacy, scale: "2.5"}
        """
    )
    assert [p.split(": ", 2)[1:] for p in reported] == [
        ["assets.v.count", "expected a whole number, got 'four'; write the number in digits"],
        ["assets.v.size", "expected a whole number, got '512px'; write the number alone, without a unit: 512"],
        ["assets.up.scale", "expected a whole number, got '2x'; write the number alone, without a unit: 2"],
        ["assets.up2.scale", "expected a whole number, got '2.5'"],
    ]


def test_a_number_with_thousands_a_sign_or_an_exponent_is_suggested_whole():
    """``steps: 3,000`` was told to be written ``3``, ``seed: -7x`` as 7 and ``learning_rate: 2e-4 per step`` as 2:
    a fix that, taken, trains another model without a word."""
    reported = problems(
        """
        sources:
          legacy: {kind: textures, root: t}
        models:
          m: {op: train_srcae, from: legacy, steps: "3,000", seed: -7x, learning_rate: 2e-4 per step}
        """
    )
    assert [p.split("; ", 1)[1] for p in reported] == ["write the number without commas: 3000",
                                                       "write the number alone, without a unit: 2e-4",
                                                       "write the number alone, without a unit: -7"]


def test_a_decimal_comma_is_told_to_be_a_point_not_cut_at_the_comma():
    """``normal_strength: 0,5`` (a decimal comma, which YAML reads as text) was told to be written ``0``, and
    ``seed: 1,5`` ``1``: fixes that, taken, make other maps without a word. In braces, where a comma ends an entry,
    the 5 of ``seed: 1,5`` was refused as pydantic's "Keys should be strings", at a key named 5."""
    reported = problems(
        """
        sources:
          legacy: {kind: textures, root: t}
        assets:
          floors:
            op: material
            from: legacy
            method: from_texture
            normal_strength: 0,5
          variants:
            op: multiply
            from: legacy
            seed: 1,5
          more: {op: multiply, from: legacy, seed: 1,5}
        """
    )
    assert reported == [
        "/studio/assets_spec.yaml:9: assets.floors.normal_strength: expected a number, got '0,5'; write the number with "
        "a point for its decimals, not a comma: 0.5",
        "/studio/assets_spec.yaml:13: assets.variants.seed: expected a whole number, got '1,5'; a comma is no decimal "
        "point, and this key takes no decimals: write one whole number in digits",
        "/studio/assets_spec.yaml:14: assets.more.5: YAML reads this key as a number (5), not a name: where a comma "
        "inside { } split a number (seed: 1,5 reads as seed: 1 and a key 5), write a decimal with a point (1.5) and a "
        "large number without commas (3000)",
    ]


def test_a_decimal_comma_before_three_digits_after_a_zero_is_no_thousands_separator():
    """``normal_strength: 0,250`` was told to be written ``0250``, taken for thousands: no number of thousands
    begins with 0."""
    [problem] = problems("sources:\n  legacy: {kind: textures, root: t}\nassets:\n"
                         "  floors:\n    op: material\n    from: legacy\n    method: from_texture\n"
                         "    normal_strength: 0,250\n")
    assert problem.endswith("assets.floors.normal_strength: expected a number, got '0,250'; write the number with a "
                            "point for its decimals, not a comma: 0.250"), problem


def test_a_number_with_thousands_in_spaces_is_suggested_whole():
    """``steps: 3 000`` was told to be written ``3``, without a unit."""
    [problem] = problems("sources:\n  legacy: {kind: textures, root: t}\nmodels:\n"
                         "  m: {op: train_srcae, from: legacy, steps: 3 000}\n")
    assert problem.endswith("models.m.steps: expected a whole number, got '3 000'; write the number without spaces: "
                            "3000"), problem


def test_a_key_of_several_types_gets_one_line_for_its_one_mistake():
    reported = problems(
        """
        sources:
          legacy: {kind: textures, root: t}
        models:
          sr2x: {op: train_srcae, from: legacy, widths: [8, 8]}
        assets:
          a: {op: super_resolve, from: legacy, model: sr2x, wrap: maybe}
          b: {op: super_resolve, from: legacy, model: {path: x.pth, extra: 1}}
        """
    )
    assert reported == [
        "/studio/assets_spec.yaml:5: models.sr2x: widths needs down_blocks + 1 = 3 numbers (one per encoder level), got 2: [8, 8]",
        "/studio/assets_spec.yaml:7: assets.a.wrap: Input should be 'auto' or a valid boolean, got 'maybe'",
        "/studio/assets_spec.yaml:8: assets.b.model.extra: unknown key (keys here: path)",
    ]


def test_a_model_neither_a_name_nor_a_path_says_what_model_takes():
    """``model: [sr2x]`` was refused in pydantic's words, "a valid string or a valid dictionary or instance of
    WeightsFile"; a nested params key given no mapping (``loss: 5``), or a path given a list, named Python classes."""
    reported = problems(
        """
        sources:
          legacy: {kind: textures, root: t}
        models:
          sr2x: {op: train_srcae, from: legacy, loss: 5}
        assets:
          a: {op: super_resolve, from: legacy, model: [sr2x]}
          b: {op: super_resolve, from: legacy, model:}
          c: {op: super_resolve, from: legacy, model: {path: [x.pth]}}
        """
    )
    assert reported == [
        "/studio/assets_spec.yaml:5: models.sr2x.loss: Input should be a mapping like {mse: ..., hfen: ..., vgg: ..., "
        "gan: ...}, got 5",
        "/studio/assets_spec.yaml:7: assets.a.model: expected the name of one model under models:, or a weights file's "
        "path as {path: some.pth}, got ['sr2x']",
        "/studio/assets_spec.yaml:8: assets.b.model: expected the name of one model under models:, or a weights file's "
        "path as {path: some.pth}, got nothing",
        "/studio/assets_spec.yaml:9: assets.c.model.path: Input should be a file's path, got ['x.pth']",
    ]


def test_a_model_written_as_a_path_says_how_a_path_is_given():
    """``model: weights/esrgan.pth`` was told it names no model; a model's own weights, by path, its name."""
    reported = problems(
        """
        sources:
          legacy: {kind: textures, root: t}
        models:
          sr2x: {op: train_srcae, from: legacy}
        assets:
          a: {op: super_resolve, from: legacy, model: weights/esrgan.pth}
          b: {op: super_resolve, from: legacy, model: build/sr2x/model.pt}
          c: {op: super_resolve, from: legacy, model: sr2X}
        """
    )
    assert reported == [
        "/studio/assets_spec.yaml:7: assets.a.model: 'weights/esrgan.pth' is a path, not a model's name: a weights "
        "file is given as model: {path: weights/esrgan.pth}",
        "/studio/assets_spec.yaml:8: assets.b.model: 'build/sr2x/model.pt' is the weights file model sr2x writes: "
        "name the model, model: sr2x",
        "/studio/assets_spec.yaml:9: assets.c.model: 'sr2X' names no model; expected one of sr2x or {path: weights.pth}; "
        "did you mean 'sr2x'?",
    ]


def test_a_top_level_key_under_an_entry_is_said_to_be_the_spec_s():
    """``device: cpu`` on one asset was an "unknown key" among the op's keys, as though misspelt."""
    reported = problems(
        """
        sources:
          legacy: {kind: textures, root: t, build_dir: out}
        models:
          sr2x: {op: train_srcae, from: legacy, schedule: "0 3 * * *"}
        assets:
          a:
            op: super_resolve
            from: legacy
            model: sr2x
            device: cpu
        """
    )
    assert reported == [
        "/studio/assets_spec.yaml:3: sources.legacy.build_dir: build_dir is a top-level key of the spec, not a "
        "source's: move it to the top of the file, unindented, where it holds for the whole spec",
        "/studio/assets_spec.yaml:5: models.sr2x.schedule: schedule is a top-level key of the spec, not a model's: "
        "move it to the top of the file, unindented, where it holds for the whole spec",
        "/studio/assets_spec.yaml:11: assets.a.device: device is a top-level key of the spec (or --device for one "
        "build), not an asset's: move it to the top of the file, unindented, where it holds for the whole spec",
    ]


def test_a_word_naming_no_choice_is_matched_to_the_choice_whose_description_holds_it():
    """``alpha_mode: cutout`` was offered 'auto' (the nearest spelling), where the description calls 'mask' a
    cut-out; ``method: flash_only``, near no choice, was offered nothing: it is shown what each method takes."""
    reported = problems(
        """
        sources:
          legacy: {kind: textures, root: t}
        assets:
          a: {op: material, from: legacy, method: from_texture, alpha_mode: cutout}
          b: {op: material, from: legacy, method: flash_only}
          c: {op: upscale, from: legacy, filter: lanczoz, alpha: gloss}
        """
    )
    assert [p.split(": ", 2)[1:] for p in reported] == [
        ["assets.a.alpha_mode", "Input should be 'auto', 'mask' or 'blend', got 'cutout'; did you mean 'mask'?"],
        ["assets.b.method", "Input should be 'two_shot', 'one_shot' or 'from_texture', got 'flash_only'; two_shot (a "
         "flash photo and a no-flash guide photo of one flat surface), one_shot (a flash photo alone), from_texture (a "
         "colour texture, no photos)"],
        ["assets.c.filter", "Input should be 'nearest', 'bicubic' or 'lanczos', got 'lanczoz'; did you mean 'lanczos'?"],
        ["assets.c.alpha", "Input should be 'auto', 'coverage' or 'data', got 'gloss'; did you mean 'data'?"],
    ]


def test_an_asset_from_a_model_or_a_list_says_what_from_takes():
    """``from: sr2x`` on an upscale asset was told to name the model under ``model:``, a key upscale has not;
    ``from: [legacy, walls]`` was said to name no source or asset, as though misspelt."""
    reported = problems(
        """
        sources:
          legacy: {kind: textures, root: t}
          walls: {kind: textures, root: w}
        models:
          sr2x: {op: train_srcae, from: legacy}
        assets:
          up: {op: upscale, from: sr2x}
          sr: {op: super_resolve, from: sr2x, model: {path: x.pth}}
          sr2: {op: super_resolve, from: sr2x, model: sr2x}
          both: {op: upscale, from: [legacy, walls]}
        """
    )
    assert [p.split(": ", 2)[1:] for p in reported] == [
        ["assets.both.from", "expected one source or asset, got a list ['legacy', 'walls']: make one asset for each, "
         "or one source whose glob takes them all"],
        ["assets.up.from", "'sr2x' is a model, not images to build from: give from: a source or asset; a model is "
         "used by op: super_resolve (with model: sr2x), not by upscale"],
        ["assets.sr.from", "'sr2x' is a model, not images to build from: give from: the source or asset to build "
         "from, and name the model under model: sr2x"],
        ["assets.sr2.from", "'sr2x' is a model, not images to build from: give from: the source or asset to build from"],
    ]


def test_checks_name_the_op_s_guards_and_a_level():
    reported = problems(
        """
        sources:
          legacy: {kind: textures, root: t}
        assets:
          a: {op: multiply, from: legacy, checks: {not_a_copy: ignore}}
          b: {op: multiply, from: legacy, tileable: false, checks: {seamless: off}}
        """
    )
    assert reported == [
        "/studio/assets_spec.yaml:5: assets.a.checks.not_a_copy: expected one of error, warn, off, got 'ignore'",
        "/studio/assets_spec.yaml:6: assets.b.checks.seamless: no such guard here; this op's are not_a_copy, variants_differ, keeps_coverage",
    ]


def test_a_capitalised_key_is_named_beside_another_mistake_and_checks_is_hinted():
    reported = problems(
        """
        sources:
          legacy: {kind: textures, root: t}
        assets:
          a: {op: upscale, from: legacy, Scale: 2, filter: foo, chekcs: {}}
          b: {Op: upscale, from: legacy}
        """
    )
    assert [p.split(": ", 2)[1:] for p in reported] == [
        ["assets.a.filter", "Input should be 'nearest', 'bicubic' or 'lanczos', got 'foo'"],
        ["assets.a.Scale", "unknown key; did you mean 'scale'? (keys here: alpha, checks, filter, from, kind, op, scale, wrap)"],
        ["assets.a.chekcs", "unknown key; did you mean 'checks'? (keys here: alpha, checks, filter, from, kind, op, scale, wrap)"],
        ["assets.b.op", "missing: say which op builds it; expected one of export_dds, material, multiply, super_resolve, upscale"],
    ]


def test_a_spec_that_is_not_a_mapping_is_reported_at_its_first_line():
    assert problems("- a\n- b\n")[0].startswith("/studio/assets_spec.yaml:1: (top level): the spec must be a mapping")


def test_a_seed_too_large_for_torch_is_a_spec_error_not_a_training_crash():
    [problem] = problems(
        """
        sources:
          ref: {kind: textures, root: t}
        models:
          sr: {op: train_srcae, from: ref, seed: 18446744073709551616}
        """
    )
    assert problem.startswith("/studio/assets_spec.yaml:5: models.sr.seed:") and "less than or equal" in problem


def test_a_nan_is_called_not_a_number_not_out_of_bounds():
    """A bounded float given .nan was told 'Input should be less than or equal to 1, got nan'."""
    assert problems(
        """
        sources:
          ref: {kind: textures, root: t}
        models:
          sr: {op: train_srcae, from: ref, learning_rate: .nan, holdout: .NaN}
        """
    ) == [f"/studio/assets_spec.yaml:5: models.sr.{key}: expected a number, got .nan (not a number)"
          for key in ("learning_rate", "holdout")]


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("sources:\n  legacy: {kind: textures\n", 2, "the { opened at line 2 is never closed"),
        ('sources:\n  legacy: {kind: "textures}\nassets: {}\n', 2, "a quote opened at line 2 is never closed"),
        ('sources:\n  legacy:\n    kind: "textures', 3, "a quote opened at line 3 is never closed"),  # no last newline
        ("sources:\n  legacy:\n    kind: textures\n   root: t\n", 4, "line 4 is indented 3 spaces, unlike the lines "
         "above it: indent it 4 spaces, as line 3, or 2 spaces, as line 2, whichever entry it belongs to"),
        # an entry moved to the start of its line: PyYAML notices it only at the next entry, which is right
        ("assets:\n  a: {op: upscale}\nb: {op: upscale}\n  c: {op: upscale}\n", 3, "line 3 is indented less than the "
         "lines above and below it: indent it 2 spaces, as line 4"),
        ("models:\n    a: {op: train_srcae}\nb: {op: train_srcae}\n    c: {op: train_srcae}\n", 3, "line 3 is indented "
         "less than the lines above and below it: indent it 4 spaces, as line 4"),
        # ... after an entry written as a block, whose keys below it are indented deeper than the entries
        ("assets:\n  a:\n    op: upscale\nb: {op: upscale}\n  c: {op: upscale}\n", 4, "line 4 is indented less than "
         "the lines above and below it: indent it 2 spaces, as line 5"),
        ("assets:\n  a: {op: upscale}\n\n# b\nb: {op: upscale}\n\n  c: {op: upscale}\n", 5, "line 5 is indented less"),
        # a section's own line is right at the start of its line, where `assets: {}` is the slip
        ("sources:\n  legacy: {kind: textures}\nassets: {}\n  up: {op: upscale}\n", 3,
         "line 4 is indented under line 3, whose {} says it holds nothing: delete the {} on line 3"),
        ('sources:\n  legacy:\n    kind: "textures\n    root: "t"\n', 3, "the quote opened at line 3 is closed only at line 4"),
        ('sources:\n  legacy:\n    kind: textures\n    root: "Bob\'s"/legacy\n', 4, "line 4 has more after its value"),
        ('sources:\n  legacy:\n    kind: "textures"\n   root: t\n', 4, "indent it 4 spaces, as line 3"),  # a closed quote above
        ("sources:\n  legacy: {kind: textures,\n           root: t\n           glob: x}\n", 4, "inside the { opened at line 2"),
        ('sources:\n  legacy:\n    kind: textures\n    root: "textures"/legacy\n', 4, "put the whole value in quotes"),
        ("sources:\n  legacy: {kind: textures} extra\n", 2, "line 2 has more after its value"),
        ("sources:\n  legacy: {kind: textures}\n  other\n  more: {kind: textures}\n", 3, "line 3 has a key without its"),
        ("sources:\n  legacy:\n    widths: [8, 8, 8\n    from: legacy\n", 3, "the [ opened at line 3 is not closed before line 4"),
        # left open at a line's end or after a comma: PyYAML marks the end of the file, and said [ for a {
        ("sources:\n  legacy: {kind: textures,\n\n", 2, "the { opened at line 2 is never closed"),
        ("sources:\n  legacy:\n    widths: [\n", 3, "the [ opened at line 3 is never closed"),
        ("sources:\n\tlegacy: {kind: textures}\n", 2, "use spaces, not tabs"),
        ("sources:\u2028  legacy: {kind: textures}\n\tassets: {}\n", 2, "use spaces, not tabs"),  # a line break to PyYAML
        ("sources:\r  legacy:\r    kind: textures\r      root: t\r", 4, "indented deeper than the key above it"),
        ("sources:\n  a: &t {kind: textures}\n  b: &t {kind: textures}\n", 3, "first occurrence at line 2"),
        ("sources:\n  legacy: {kind: text\x07ures}\n", 2, "control character (U+0007) is on this line"),
        ("sources:\n  legacy\n    kind: textures\n", 2, "line 2 has a key without its ':' (write legacy:)"),
        ("sources:\n  legacy\n\n    kind: textures\n", 2, "(write legacy:)"),
        ("assets:\n  up:\n    op: upscale\n     from: legacy\n", 4, "line 4 is indented deeper than the key above "
         "it: indent it 4 spaces, as line 3"),
        # a key's first entry slipped out to its indent: told to indent line 4 as line 3, each line below followed
        ("sources:\n  legacy:\n  kind: textures\n    root: t\n    glob: '*.png'\n", 3, "line 3 is indented as line "
         "2, whose key holds its entries on the lines below it: indent it 4 spaces, as line 4"),
        # the same a space out: told to indent it 2 spaces, as line 2 (legacy:), it left legacy empty
        ("sources:\n  legacy:\n kind: textures\n    root: t\n", 3, "line 3 is indented 1 space, unlike the lines "
         "below it: indent it 4 spaces, as line 4"),
        ("sources:\n  legacy:\n    root: a: b\n", 3, "or a value with ': ' in it needs quotes"),
        ('sources:\n  legacy: {kind: textures, root: "C:\\Users\\me"}\n', 2, "write paths with / or in single quotes"),
        # a name deleted, its ':' left: the first line stopped validate with Python's "min() arg is an empty sequence"
        (": {kind: textures, root: t}\nassets:\n", 1, "line 1 has a ':' with no name before it: write the key's name "
         "before the ':'"),
        ("sources:\n  legacy: {kind: textures, root: t}\n: {op: upscale}\n", 3, "line 3 has a ':' with no name before"),
    ],
)
def test_yaml_syntax_errors_name_the_line_of_the_slip(text, line, says):
    [problem] = problems(text)
    assert problem.startswith(f"/studio/assets_spec.yaml:{line}: not valid YAML") and says in problem


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("sources:\n  legacy: {kind: textures, root: t}\n other: {kind: textures, root: u}\n",
         "3: not valid YAML: line 3 is indented 1 space, unlike the lines above it: indent it 2 spaces, as line 2"),
        ("sources:\n  legacy: {kind: textures, root: t}\n   other: {kind: textures, root: u}\n",
         "3: not valid YAML: line 3 is indented 3 spaces, unlike the lines above it: indent it 2 spaces, as line 2"),
        ("sources:\n  legacy: {kind: textures, root: t}\nassets:\n    up: {op: upscale, from: legacy}\n\n"
         "   dn: {op: upscale, from: legacy}\n",
         "6: not valid YAML: line 6 is indented 3 spaces, unlike the lines above it: indent it 4 spaces, as line 4"),
        ("sources:\n  legacy: {kind: textures, root: t}\nmodels:\n  sr: {op: train_srcae, from: legacy}\n  # 4x\n"
         " sr4: {op: train_srcae, from: legacy, scale: 4}\n",
         "6: not valid YAML: line 6 is indented 1 space, unlike the lines above it: indent it 2 spaces, as line 4"),
        ("assets:\n  up:\n    op: upscale\n    from: legacy\n dn:\n    op: upscale\n",
         "5: not valid YAML: line 5 is indented 1 space, unlike the lines above it: indent it 2 spaces, as line 2"),
        ("assets:\n  up:\n    op: upscale\n    from: legacy\n   dn:\n    op: upscale\n",
         "5: not valid YAML: line 5 is indented 3 spaces, unlike the lines above it: indent it 4 spaces, as line 4, or "
         "2 spaces, as line 2, whichever entry it belongs to"),
        # the first entry slipped, not the ones below it: each of those was said in turn
        ("assets:\n   up: {op: upscale}\n  dn: {op: upscale}\n  # x\n  x: {op: upscale}\n",
         "2: not valid YAML: line 2 is indented 3 spaces, unlike the lines below it: indent it 2 spaces, as line 3"),
    ],
)
def test_an_entry_indented_a_space_off_its_siblings_is_told_their_indent(text, says):
    """One space more or less than the entries above (under sources, models, assets; one-line entries and
    entries over several lines) was "indented differently from the lines above it", which did not say how."""
    assert problems(text) == [f"/studio/assets_spec.yaml:{says}"]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        # a section's first entry moved to the start of its line: 'move line 3 there too' emptied sources line by line
        ("sources:\nlegacy: {kind: textures, root: t}\n  other: {kind: textures, root: u}\n",
         "2: not valid YAML: line 2 is not indented, unlike the lines below it: indent it 2 spaces, as line 3"),
        # the first entry indented far in: 'indent line 1 (assets:) 2 spaces' broke the spec more
        ("assets:\n     up: {op: upscale}\n  dn: {op: upscale}\n  x: {op: upscale}\n",
         "2: not valid YAML: line 2 is indented 5 spaces, unlike the lines below it: indent it 2 spaces, as line 3"),
        # a section indented a space: 'indent it 2 spaces' made models a source
        ("sources:\n  legacy: {kind: textures, root: t}\n models:\n  sr: {op: train_srcae, from: legacy}\n",
         "3: not valid YAML: line 3 is indented 1 space, unlike the lines above it: move it to the start of its "
         "line, as line 1"),
        # a top-level setting, or a block that anchors share, indented a space: 'indent it 2 spaces' put it in sources
        ("sources:\n  legacy: {kind: textures, root: t}\n build_dir: out\nassets:\n  a: {op: upscale, from: legacy}\n",
         "3: not valid YAML: line 3 is indented 1 space, unlike the lines above it: move it to the start of its "
         "line, as line 1"),
        ("sources:\n  legacy: {kind: textures, root: t}\n x-up: &up {op: upscale}\nassets:\n"
         "  a: {<<: *up, from: legacy}\n",
         "3: not valid YAML: line 3 is indented 1 space, unlike the lines above it: move it to the start of its "
         "line, as line 1"),
        # an entry nearer the top's indent than its block's: 'move it to the start' made it an unknown top key
        ("sources:\n     scans: {kind: textures, root: t}\n  flashes: {kind: textures, root: u}\nassets:\n",
         "3: not valid YAML: line 3 is indented 2 spaces, unlike the lines above it: indent it 5 spaces, as line 2"),
        # a setting added on its own line under a one-line entry: 'indent it 2 spaces' made scale an asset
        ("assets:\n  up: {op: upscale, from: legacy}   # 2x\n    scale: 4\n  dn: {op: upscale, from: legacy}\n",
         "3: not valid YAML: line 3 is indented under line 2, whose {} holds its entries on that line: move "
         "'scale: 4' inside the {} on line 2, after a comma"),
        ("sources:\n  legacy: {kind: textures, root: t, exclude: [wip]}\n    - old\n",
         "3: not valid YAML: line 3 is indented under line 2, whose [] holds its entries on that line: move 'old' "
         "inside the [] on line 2, after a comma"),
        # a list entry among keys, at their indent: 'indent it 2 spaces', where it had them
        ("sources:\n  legacy: {kind: textures, root: t}\n  - other\n",
         "3: not valid YAML: line 3 is a list entry ('-') among the keys above it, which YAML cannot mix; write it "
         "as a key (name: value), or put the list under a key of its own, its '-' lines indented below it"),
        # a list's entry slipped out to its key's indent: 'indent it 4 spaces', the ones it had
        ("sources:\n  legacy:\n    kind: textures\n    exclude:\n      - a\n    - b\n",
         "6: not valid YAML: line 6 is indented 4 spaces, unlike the lines above it: indent it 6 spaces, as line 5"),
        # a one-line entry written over several lines: the indent of the line inside its {} is no entry's
        ("assets:\n  up: {op: upscale,\n      from: legacy}\n    dn: {op: upscale, from: legacy}\n",
         "4: not valid YAML: line 4 is indented 4 spaces, unlike the lines above it: indent it 2 spaces, as line 2"),
        ("sources:\n  legacy: {kind: textures,\n    root: t}\n   b: {kind: textures, root: u}\n",
         "4: not valid YAML: line 4 is indented 3 spaces, unlike the lines above it: indent it 2 spaces, as line 2"),
        # a name without its colon, a comment between it and its keys: 'indent it 2 spaces' left it without one
        ("sources:\n  legacy\n  # the old ones\n    kind: textures\n",
         "2: not valid YAML: line 2 has a key without its ':' (write legacy:)"),
        # a bracket closed on its own line is no name without its colon ('write }:')
        ("assets:\n  up: {op: upscale,\n  }\n    dn: {op: upscale}\n",
         "4: not valid YAML: line 4 is indented 4 spaces, unlike the lines above it: indent it 2 spaces, as line 2"),
        ("sources:\n  legacy:\n    exclude: [a,\n  ]\n      root: t\n",
         "5: not valid YAML: line 5 is indented 6 spaces, unlike the lines above it: indent it 4 spaces, as line 3"),
        # a key among a list's entries: "while parsing a block collection ... found '?'"
        ("sources:\n  legacy:\n    exclude:\n      - a\n      kind: textures\n",
         "5: not valid YAML: line 5 is a key among the list entries ('-') above it, which YAML cannot mix: if it "
         "ends the list, indent it 4 spaces, as line 3; if it is one more entry, start it with '- '"),
        # the spec's first lines indented: "expected '<document start>'" at the line below them
        ("  build_dir: build\nsources:\n  legacy: {kind: textures, root: t}\n",
         "1: not valid YAML: line 1 is indented 2 spaces, unlike the lines below it: move it to the start of its "
         "line, as line 2"),
        ("\ufeff# a spec\r\n  sources:\r\n    legacy: {kind: textures, root: t}\r\nassets:\r\n  up: {op: upscale}\r\n",
         "2: not valid YAML: lines 2 to 3 are indented 2 spaces more than line 4, and YAML takes the first line's "
         "indent for the whole spec: take 2 spaces off each of them"),
        ("# made by hand\n   assets:\n  up: {op: upscale}\n",
         "2: not valid YAML: line 2 is indented 3 spaces: move it to the start of its line, its entries indented "
         "below it"),
        # the first section alone slipped, its entries beside it: 'take 2 spaces off' lines 1 and 2 moved sr out
        ("  models:\n  sr: {op: train_srcae, from: legacy}\nassets:\n  up: {op: upscale, from: legacy}\n",
         "1: not valid YAML: line 1 is indented 2 spaces: move it to the start of its line, its entries indented "
         "below it"),
    ],
)
def test_an_indent_fix_never_moves_an_entry_to_the_top_or_a_section_into_another(text, says):
    """The indent hint's fix, made, gives the spec meant, not one broken further: a spec's top level holds its
    sections (sources:, models:, assets:), so an entry is never told to move there, nor a section to be indented
    as an entry, and a block's first entry that slipped is named, not each line below it in turn."""
    assert problems(text) == [f"/studio/assets_spec.yaml:{says}"]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("sources:\n  legacy:\n  \tkind: textures\n", "3: not valid YAML: this line has a tab where YAML reads an "
         "indent or a value, and YAML takes spaces only: use spaces, not tabs"),
        ("assets:\n  up: {op: upscale from: legacy}\n", "2: not valid YAML: inside the { on this line, a ',' is "
         "missing between two entries (expected ',' or '}', but got ':'), or a value with ': ' in it needs quotes"),
        ("sources:\n  legacy: {kind: textures, root: t}}\n", "2: not valid YAML: line 2 has a } that closes no "
         "bracket; delete it"),
    ],
)
def test_yaml_slips_within_a_line_are_told_in_words(text, says):
    """A tab was "found character '\\t' that cannot start any token", a missing comma PyYAML's tokens alone, and
    a bracket closed twice was told to put the value in quotes."""
    assert problems(text) == [f"/studio/assets_spec.yaml:{says}"]


@pytest.mark.parametrize("text", ["", "  \n\n", "# all commented out\n", "\ufeff", "---\n"])
def test_an_empty_spec_is_refused(text):
    assert problems(text) == ["/studio/assets_spec.yaml: the spec is empty; restore it from version control, or "
                              "write one (see README)"]


def test_a_top_level_x_block_holds_settings_that_anchors_share():
    spec = parse_spec(
        textwrap.dedent(
            """
            x-enlarge: &enlarge {op: upscale, from: legacy, filter: bicubic}
            sources:
              legacy: {kind: textures, root: t}
            assets:
              up2: *enlarge
              up4: {<<: *enlarge, scale: 4}
            """
        ),
        Path("/studio/assets_spec.yaml"),
    )
    assert [(a.params.filter, a.params.scale) for a in spec.assets.values()] == [("bicubic", 2), ("bicubic", 4)]
    assert "(or x-<name> for a block that anchors share)" in problems("common: {filter: bicubic}\n")[0]


def test_an_alias_inside_its_own_anchor_is_refused():
    assert problems("sources: &a\n  legacy: *a\n") == [
        "/studio/assets_spec.yaml:2: sources.legacy: this alias names a mapping or list it is inside of; copy what "
        "you meant instead"]


def test_aliases_that_repeat_into_millions_of_entries_are_refused_at_once():
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 9)]  # 10**9 entries in a8
    assert problems("\n".join(lines) + "\n") == [
        "/studio/assets_spec.yaml:6: a5: its aliases (*name) repeat anchored entries into more entries than any "
        "spec needs; write out what you meant instead"]


def test_names_and_values_yaml_1_1_read_as_booleans_stay_words():
    spec = parse_spec(
        textwrap.dedent(
            """
            sources:
              on: {kind: textures, root: t}
              no: {kind: textures, root: n}
            assets:
              y: {op: upscale, from: on, scale: 2, wrap: yes}
              n: {op: multiply, from: no, tileable: off, checks: {not_a_copy: off}}
            """
        ),
        Path("/studio/assets_spec.yaml"),
    )
    assert set(spec.sources) == {"on", "no"} and spec.assets["y"].upstream == "on"
    assert spec.assets["y"].params.wrap is True and spec.assets["n"].params.tileable is False
    assert spec.assets["n"].checks == {"not_a_copy": "off"}


def test_names_dagster_reserves_or_yaml_reads_as_values_are_refused_before_a_build():
    assert problems(
        """
        sources:
          input: {kind: textures, root: t}
          true: {kind: textures, root: t}
          ~: {kind: textures, root: t}
        assets:
          class: {op: upscale, from: input}
        """
    ) == [
        "/studio/assets_spec.yaml:3: sources.input: Dagster reserves the name 'input' (Python keywords, input, "
        "output, type, config, context, ...); pick another",
        "/studio/assets_spec.yaml:4: sources.true: YAML reads this key as a boolean, not a name; pick another name",
        "/studio/assets_spec.yaml:5: sources.~: YAML reads this key as nothing, not a name; pick another name",
        "/studio/assets_spec.yaml:7: assets.class: Dagster reserves the name 'class' (Python keywords, input, "
        "output, type, config, context, ...); pick another",
    ]


def test_a_guard_s_level_takes_the_words_yaml_1_1_read_as_booleans():
    spec = parse_spec(
        textwrap.dedent(
            """
            sources:
              legacy: {kind: textures, root: t}
            assets:
              a: {op: multiply, from: legacy, checks: {not_a_copy: no, variants_differ: Yes}}
              b: {op: multiply, from: legacy, checks: {not_a_copy: OFF, variants_differ: Warn}}
            """
        ),
        Path("/studio/assets_spec.yaml"),
    )
    assert spec.assets["a"].checks == {"not_a_copy": "off", "variants_differ": "error"}
    assert spec.assets["b"].checks == {"not_a_copy": "off", "variants_differ": "warn"}


@pytest.mark.parametrize("value", ["*.png", "*png", "'*/15 * * * *'", "@daily"])
def test_an_unquoted_glob_or_schedule_is_told_to_take_quotes(value):
    key = "schedule" if value.endswith(("'", "daily")) else "glob"
    text = f"sources:\n  a: {{kind: textures, root: t, glob: {value}}}\n" if key == "glob" else (
        f"schedule: {value.strip(chr(39))}\nsources:\n  a: {{kind: textures, root: t}}\n")
    [problem] = problems(text)
    assert problem.startswith("/studio/assets_spec.yaml:") and "not valid YAML" in problem
    assert problem.endswith('needs quotes: glob: "*.png", schedule: "*/15 * * * *"'), problem
    assert not any(word in problem for word in ("scanning", "token", "found")), problem  # PyYAML's scanner's words


@pytest.mark.parametrize("merged, alias", [("*varaints", "varaints"), ("[*gpu, *varaints]", "varaints"),
                                           ("*Variants", "Variants")])
def test_a_misspelt_alias_is_told_the_anchor_spelt_closest_to_it(merged, alias):
    """``<<: *varaints`` for ``&variants`` was told to put the value in quotes, as ``glob: *png`` is: a merge key
    quoted is a string, and the entry would lose every setting the anchor shares."""
    text = ("x-variants: &variants {op: multiply, count: 4}\nx-gpu: &gpu {device: cuda}\nsources:\n"
            "  walls: {kind: textures, root: t}\nassets:\n  quilted:\n    from: walls\n"
            f"    <<: {merged}\n")
    assert problems(text) == [f"/studio/assets_spec.yaml:8: not valid YAML: YAML reads *{alias} as an alias, and no "
                              f"anchor &{alias} is in the file; did you mean *variants? (the anchor &variants is on "
                              "line 1)"]


def test_an_alias_far_from_every_anchor_is_still_told_to_take_quotes():
    [problem] = problems("x-variants: &variants {op: multiply}\nsources:\n  a: {kind: textures, root: t, glob: *png}\n")
    assert problem.endswith('no anchor &png is in the file; a value starting with *, @ or ` needs quotes: glob: '
                            '"*.png", schedule: "*/15 * * * *"'), problem


def test_an_alias_above_its_anchor_is_told_to_move_the_anchor_not_to_quote_it():
    """The README's shared settings written in the wrong order: quoting `*enlarge`, as the hint for a glob said,
    would make the asset a string."""
    text = ("sources:\n  legacy: {kind: textures, root: t}\nassets:\n  up2: *enlarge\n"
            "x-enlarge: &enlarge {op: upscale, from: legacy}\n")
    [problem] = problems(text)
    assert problem.startswith("/studio/assets_spec.yaml:4: not valid YAML: found undefined alias 'enlarge'"), problem
    assert "needs quotes" not in problem
    assert problem.endswith("(its anchor &enlarge is on a later line: YAML reads an anchor only above its aliases, so move "
                            "the entry with &enlarge above this line)"), problem


@pytest.mark.parametrize("text, says", [
    ("sources:\n  a: {kind: [textures], root: t}\n", "sources.a.kind: expected textures or photo_pairs, got ['textures']"),
    ("sources:\n  a: {kind: textures,\n      root: !!int abc}\n",
     "assets_spec.yaml:3: not valid YAML: 'abc' is tagged int but is not a whole number; remove the tag or fix the value"),
    ("sources:\n  a: {kind: textures,\n      root: 2024-02-30}\n",  # a ValueError from a date that is none, as from a tag
     "assets_spec.yaml:3: not valid YAML: YAML reads '2024-02-30' as a date, and it is none (day is out of range for "
     "month); put it in quotes, or fix it"),
    ("sources:\n  a: {kind: textures, root: !!bool maybe}\n",  # PyYAML's KeyError came out as a traceback
     "assets_spec.yaml:2: not valid YAML: 'maybe' is tagged bool but is not true or false; remove the tag or fix the value"),
    ("sources: " + "[" * 3000 + "]" * 3000 + "\n", "not valid YAML: brackets or indents nest too deeply to read"),
])
def test_odd_yaml_is_a_spec_error_not_a_traceback(text, says):
    [problem] = problems(text)
    assert says in problem


def test_a_folder_named_like_a_date_or_a_number_is_told_to_take_quotes():
    assert problems("sources:\n  a: {kind: textures, root: 2024-05-01}\n  b: {kind: textures, root: t, exclude: [2019]}\n"
                    "assets:\n  c: {op: super_resolve, from: a, model: {path: 2024-05-01}}\n") == [
        "/studio/assets_spec.yaml:2: sources.a.root: expected text, but YAML reads the unquoted value as a date "
        "(2024-05-01); put it in quotes",
        "/studio/assets_spec.yaml:3: sources.b.exclude.0: expected text, but YAML reads the unquoted value as a number "
        "(2019); put it in quotes",
        "/studio/assets_spec.yaml:5: assets.c.model.path: expected text, but YAML reads the unquoted value as a date "
        "(2024-05-01); put it in quotes",  # a weights file's path: "not a valid path for <class 'pathlib.Path'>"
    ]


def test_lines_are_counted_as_an_editor_counts_them():
    [problem] = problems("sources:\n  legacy: {kind: textures, root: t}\u2028\nassets:\n  x: {from: legacy}\n")
    assert problem.startswith("/studio/assets_spec.yaml:4: assets.x.op: missing")


def test_a_spec_path_that_is_missing_or_a_folder_says_which_file_to_give(tmp_path):
    """remaster run from a subfolder of the project, or --spec given the project's folder: the message said only
    "No such file or directory" or "Is a directory", not where the spec is looked for or how to name it."""
    (tmp_path / "assets_spec.yaml").write_text("sources: {}\n")
    (tmp_path / "art").mkdir()
    for given, expected in ((tmp_path / "art" / "assets_spec.yaml", "there is no spec file here"),
                            (tmp_path, f"a folder; give the spec file in it: --spec {tmp_path / 'assets_spec.yaml'}"),
                            (tmp_path / "art", "a folder, and holds no assets_spec.yaml; give the spec file's path")):
        with pytest.raises(SpecError) as caught:
            load_spec(given)
        [problem] = caught.value.problems
        assert problem.startswith(f"{given}: ") and expected in problem and "--spec" in problem, problem


def test_a_spec_path_s_fix_is_a_command_that_works_where_the_project_folder_has_spaces(tmp_path):
    """``--spec /studio/Mein Projekt/assets_spec.yaml``, pasted, gave remaster two arguments; from a subfolder
    (``textures/``) it did not say where the project's spec is."""
    project = tmp_path / "Mein Projekt é"
    (project / "textures" / "Wände").mkdir(parents=True)
    (project / "assets_spec.yaml").write_text("sources: {}\n")
    quoted = f"--spec '{project / 'assets_spec.yaml'}'"
    for given in (project, project / "textures" / "Wände" / "assets_spec.yaml"):
        with pytest.raises(SpecError) as caught:
            load_spec(given)
        [problem] = caught.value.problems
        assert quoted in problem and problem.count(str(project / "assets_spec.yaml")) == 1, problem  # said once


def test_links_that_lead_back_to_themselves_are_said_so_not_a_traceback(tmp_path):
    """Path.resolve raised RuntimeError ('Symlink loop') on Python 3.11 and 3.12: validate, build and every
    sensor tick ended in a traceback."""
    spec = tmp_path / "assets_spec.yaml"
    spec.write_text("sources:\n  legacy: {kind: textures, root: textures}\n")
    (tmp_path / "textures").symlink_to("art")  # a root link whose target was made a link back to it
    (tmp_path / "art").symlink_to("textures")
    loaded = load_spec(spec)
    assert loaded.sources["legacy"].root == tmp_path / "textures"  # its scan says the folder is not there
    spec.rename(tmp_path / "kept.yaml")
    spec.symlink_to("loop.yaml")
    (tmp_path / "loop.yaml").symlink_to("assets_spec.yaml")
    with pytest.raises(SpecError) as caught:
        load_spec(spec)
    assert caught.value.problems == [f"{spec}: cannot read the spec: it is a link that leads back to itself; point "
                                     "it at the spec file"]
    assert changed_since_loaded(loaded).startswith(f"{spec} no longer loads ({spec}: cannot read the spec: it is a link")


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="no /proc")
def test_a_spec_path_that_is_a_pipe_or_a_device_says_to_give_a_file():
    """--spec /dev/stdin (a CI script piping the spec in) said there was no spec file, naming /proc/<pid>/fd/pipe:[...];
    /dev/zero was read until the memory ran out."""
    read, write = os.pipe()
    try:
        os.write(write, b"sources: {}\n")
        for given in (f"/proc/self/fd/{read}", "/dev/null"):
            with pytest.raises(SpecError) as caught:
                load_spec(given)
            assert caught.value.problems == [f"{given}: cannot read the spec: it is a pipe or a device, not a file; save "
                                             "the spec as a file and give its path with --spec (its folders are read "
                                             "from the folder it is in)"]
    finally:
        os.close(read)
        os.close(write)


def test_a_spec_saved_in_another_encoding_says_so_and_a_home_root_is_expanded(tmp_path, monkeypatch):
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"sources:\n  s: {kind: textures, root: \"textures/caf\xe9\"}\n")
    with pytest.raises(SpecError) as caught:
        load_spec(latin)
    assert caught.value.problems == [f"{latin}:2: the spec is not UTF-8 text; save it as UTF-8"]
    monkeypatch.setenv("HOME", str(tmp_path))
    home = tmp_path / "home.yaml"
    home.write_text("sources:\n  s: {kind: textures, root: ~/textures}\n")
    assert load_spec(home).sources["s"].root == tmp_path / "textures"
    home.write_text("sources:\n  s: {kind: textures, root: ~backup/textures}\n")  # a folder, not a user's home
    assert load_spec(home).sources["s"].root == tmp_path / "~backup" / "textures"


def test_root_spec_is_the_demo_spec_and_valid():
    root = REPO / "assets_spec.yaml"
    assert root.read_text() == (REPO / "pipeline" / "demo_spec.yaml").read_text()
    spec = load_spec(root)
    assert spec.assets


def test_a_schedule_dagster_would_refuse():
    found = problems(
        """
        schedule: "0 25 * * *"
        sources:
          models: {kind: textures, root: t}
        """
    )
    assert found[0].startswith("/studio/assets_spec.yaml:2: schedule: expected a cron expression"), found


@pytest.mark.parametrize(("given", "said"), [
    ("PST", "got 'PST'"),
    ("", "got nothing"),  # read 'None', as the word
    ("localtime", "got 'localtime'"),  # Dagster took it: the hours of whichever machine runs the daemon
    ("europe/berlin", "got 'europe/berlin'; did you mean 'Europe/Berlin'?"),  # taken where the disk ignores case
])
def test_a_time_zone_other_than_an_iana_name_as_the_database_spells_it_is_refused(given, said):
    found = problems(
        f"""
        schedule: "0 3 * * *"
        timezone: {given}
        sources:
          models: {{kind: textures, root: t}}
        """
    )
    assert found == [f"/studio/assets_spec.yaml:3: timezone: expected a time zone name such as Europe/Berlin or "
                     f"America/Los_Angeles (the one the schedule's hours are in), {said}"]


def test_an_empty_device_or_schedule_is_called_empty():
    found = problems(
        """
        device:
        schedule:
        sources:
          models: {kind: textures, root: t}
        """
    )
    assert [problem.rpartition(", got ")[2] for problem in found] == ["nothing", "nothing"], found


def test_every_problem_is_reported_in_one_pass_with_a_hint():
    found = problems(
        """
        sources:
          tex: {kind: textures, root: t, globb: "*.png"}
          scans: {kind: photo_pairs, root: p, flash: "*/flash.*", guide: "*/guide.*"}
          flat: {kind: textures, root: f}
        models:
          sr: {op: train_srcae, from: up}
        assets:
          up: {op: upscale, from: tex, filtr: lanczos}
          bare: {op: upscale}
          mat: {op: material, from: flat, method: two_shot}
          chained: {op: upscale, from: mat}
          enlarged: {op: super_resolve, from: scans}
        """
    )
    assert found == [
        "/studio/assets_spec.yaml:3: sources.tex.globb: unknown key; did you mean 'glob'? (keys here: exclude, glob, kind, root)",
        "/studio/assets_spec.yaml:9: assets.up.filtr: unknown key; did you mean 'filter'? (keys here: alpha, checks, filter, from, kind, op, "
        "scale, wrap)",
        "/studio/assets_spec.yaml:10: assets.bare.from: missing: say what it is built from, one of chained, enlarged, "
        "flat, mat, scans, tex, up",
        "/studio/assets_spec.yaml:13: assets.enlarged.model: missing: this key is required",
        "/studio/assets_spec.yaml:7: models.sr.from: a model trains from a source (a folder of reference textures), "
        "not an asset",
        "/studio/assets_spec.yaml:11: assets.mat.from: material with these params takes a flash and a guide photo per "
        "partition (a photo_pairs source), but 'flat' gives one image per partition (a textures source or a one-image "
        "asset); method two_shot fits a flash and a guide photo: give it a photo_pairs source, or set method: one_shot "
        "for flash photos alone, from_texture for textures",
        "/studio/assets_spec.yaml:12: assets.chained.from: 'mat' writes several files per input (albedo.png, "
        "normal.png, roughness.png, specular.png, height.png, ao.png, orm.png, preview.png, material.gltf); chain "
        "from a one-image asset, or export its maps with export_dds's maps",
    ]


@pytest.mark.parametrize(("method", "fix"), [
    ("one_shot", "set method: two_shot for photo pairs, or give it a textures source of their flash photos (the pairs' "
     "root, glob: \"*/flash.*\")"),
    ("from_texture", "set method: two_shot for photo pairs"),
])
def test_a_one_image_material_method_from_photo_pairs_says_which_method_or_source_to_give(method, fix):
    """It said only that "material with these params" takes one image, not which param, nor how to fit the
    flash photos of pairs alone to compare one_shot with two_shot."""
    [problem] = problems(
        f"""
        sources:
          scans: {{kind: photo_pairs, root: photos, flash: "*/flash.*", guide: "*/guide.*"}}
        assets:
          mat: {{op: material, from: scans, method: {method}}}
        """
    )
    assert problem.startswith("/studio/assets_spec.yaml:5: assets.mat.from: material with these params takes one image")
    assert problem.endswith(f"; method {method} {'fits one flash photo' if method == 'one_shot' else 'reads one texture'}: {fix}")


def test_validate_warns_of_a_material_setting_its_method_does_not_read():
    """``normal_strength: 2`` on a two_shot material was taken without a word and changed nothing: the artist
    got the same flat normals and no clue why. Settings of the method given are not warned of."""
    spec = parse_spec(textwrap.dedent(
        """
        sources:
          scans: {kind: photo_pairs, root: photos, flash: "*/flash.*", guide: "*/guide.*"}
          flat: {kind: textures, root: t}
        assets:
          scanned: {op: material, from: scans, method: two_shot, iterations: 500, max_shift: 0, normal_strength: 2}
          single:
            op: material
            from: flat
            method: one_shot
            max_shift: 0.1
          floors: {op: material, from: flat, method: from_texture, normal_strength: 2, alpha: data, alpha_mode: mask}
        """), Path("/studio/assets_spec.yaml"))
    assert spec.warnings() == [
        "/studio/assets_spec.yaml:6: assets.scanned.normal_strength: not read with the params given here, so it "
        "changes nothing (a setting of method from_texture): remove it",
        "/studio/assets_spec.yaml:11: assets.single.max_shift: not read with the params given here, so it changes "
        "nothing (a setting of two_shot's alignment of the guide photo, which one_shot has not): remove it",
        "/studio/assets_spec.yaml:12: assets.floors.alpha_mode: not read with the params given here, so it changes "
        "nothing (a setting of a coverage alpha: with alpha: data the glTF is opaque): remove it",
    ]


def test_a_photo_pairs_source_with_one_glob_for_flash_and_guide_is_refused():
    [problem] = problems(
        """
        sources:
          scans: {kind: photo_pairs, root: photos, flash: "*/IMG_*.jpg", guide: "*/IMG_*.jpg"}
        """
    )
    assert problem == ("/studio/assets_spec.yaml:3: sources.scans.guide: the same glob as flash (*/IMG_*.jpg): each "
                       "pair would take one photo for both; give each its own (flash: \"*/flash.*\", guide: "
                       "\"*/guide.*\")")


def test_validate_warns_of_a_multiply_setting_its_method_does_not_read():
    """``steps: 300`` on a patch multiply (or ``patch_size`` on a gram one) was taken without a word and changed
    nothing: the artist waited for finer variants and got the same ones. The cache keys are as they were."""
    spec = parse_spec(textwrap.dedent(
        """
        sources:
          walls: {kind: textures, root: t}
        assets:
          quilted: {op: multiply, from: walls, method: patch, patch_size: 32, steps: 300}
          matched: {op: multiply, from: walls, steps: 300, patch_size: 32}
        """), Path("/studio/assets_spec.yaml"))
    assert spec.warnings() == [
        "/studio/assets_spec.yaml:5: assets.quilted.steps: not read with the params given here, so it changes "
        "nothing (a setting of method gram): remove it",
        "/studio/assets_spec.yaml:6: assets.matched.patch_size: not read with the params given here, so it changes "
        "nothing (a setting of method patch): remove it",
    ]


def test_a_setting_shared_through_a_merge_key_is_not_warned_of_where_unread():
    """Settings of both methods shared through ``<<: *variants`` were each warned of as "remove it" on the asset
    whose method does not read them: nothing is to be removed there, the other asset reads them. One the entry
    writes itself still is."""
    spec = parse_spec(textwrap.dedent("""
        x-variants: &variants {op: multiply, count: 4, steps: 200, patch_size: 32}
        sources:
          walls: {kind: textures, root: t}
        assets:
          quilted: {<<: *variants, from: walls, method: patch}
          matched: {<<: *variants, from: walls, method: gram, patch_size: 16}
        """), Path("/studio/assets_spec.yaml"))
    assert spec.warnings() == ["/studio/assets_spec.yaml:7: assets.matched.patch_size: not read with the params given "
                               "here, so it changes nothing (a setting of method patch): remove it"]


@pytest.mark.parametrize("glob", ["../textures/*.png", "/abs/*.png", "{floors,../walls}/*.png", "{floors,/etc}/*.png",
                                  "{{a,/etc},b}/*.png", "{,/etc}/*.png"])
def test_a_glob_that_leaves_its_root_is_refused(glob: str):
    [problem] = problems(
        f"""
        sources:
          legacy: {{kind: textures, root: t, glob: "{glob}"}}
        assets:
          up: {{op: upscale, from: legacy}}
        """
    )
    assert problem == f"/studio/assets_spec.yaml:3: sources.legacy.glob: {glob!r} leaves root; a glob must stay inside it"


@pytest.mark.parametrize(("glob", "stray"), [("**/*.{png,tga", "a { that is never closed"),
                                             ("**/*.png}", "a } that closes no {"),
                                             ("{{a,b}/*.png", "a { that is never closed")])
def test_a_glob_whose_braces_do_not_pair_up_is_refused(glob: str, stray: str):
    """It matched only files named with the brace, so the source found none and a build just warned."""
    [problem] = problems(
        f"""
        sources:
          legacy: {{kind: textures, root: t, glob: '{glob}'}}
        assets:
          up: {{op: upscale, from: legacy}}
        """
    )
    assert problem == (f"/studio/assets_spec.yaml:3: sources.legacy.glob: {glob!r} has {stray}; close it ({{png,tga}}), "
                       "or write \\{ or \\} for a brace in a file name")


def test_escaped_braces_pair_up_with_nothing():
    spec = parse_spec("sources:\n  legacy: {kind: textures, root: t, glob: '**/\\{old\\}.png'}\n", Path("/studio/assets_spec.yaml"))
    assert spec.sources["legacy"].patterns["image"] == "**/\\{old\\}.png"


def test_exclude_takes_a_glob_or_a_list_and_each_must_stay_inside_root():
    problems_ = problems(
        """
        sources:
          one: {kind: textures, root: t, exclude: "**/*_n.png"}
          many: {kind: textures, root: t, exclude: ["**/*_n.png", "wip/**", "../x/*.png"]}
          bad: {kind: textures, root: t, exclude: 3}
          blank: {kind: textures, root: t, exclude: ["a/**", " ", "./"]}
          commented_out:
            kind: textures
            root: t
            exclude:
              # - wip/**
        assets:
          up: {op: upscale, from: one}
        """
    )
    assert problems_[0] == ("/studio/assets_spec.yaml:4: sources.many.exclude: '../x/*.png' leaves root; "
                            "a glob must stay inside it")
    assert problems_[1].startswith("/studio/assets_spec.yaml:5: sources.bad.exclude:")
    assert problems_[2:] == [f"/studio/assets_spec.yaml:6: sources.blank.exclude: {blank!r} names the root, not files; "
                             "for every file write **/*; to leave nothing out, remove it" for blank in (" ", "./")]


def test_a_glob_whose_braces_make_too_many_patterns_is_a_spec_error_and_an_empty_alternative_is_fine():
    [problem] = problems(
        """
        sources:
          legacy: {kind: textures, root: t, glob: "tex{1..1001}.png"}
        assets:
          up: {op: upscale, from: legacy}
        """
    )
    assert problem == ("/studio/assets_spec.yaml:3: sources.legacy.glob: its braces make more than 1000 patterns; "
                       "use fewer alternatives or a wildcard")  # was a traceback from bracex
    spec = parse_spec("sources:\n  legacy: {kind: textures, root: t, glob: '{,old}/*.png'}\n", Path("/studio/assets_spec.yaml"))
    assert spec.sources["legacy"].patterns == {"image": "{,old}/*.png"}  # this folder's and old/'s: was "must stay inside root"


def test_a_name_dagster_gives_a_models_files_asset_is_refused():
    [problem] = problems(
        """
        sources:
          reference: {kind: textures, root: t}
        models:
          sr2x: {op: train_srcae, from: reference}
        assets:
          reference__files: {op: upscale, from: reference}
        """
    )
    assert problem.startswith("/studio/assets_spec.yaml:7: assets.reference__files: this name is taken by reference/files")
    [problem] = problems(
        """
        sources:
          reference: {kind: textures, root: t}
          reference__files: {kind: textures, root: u}
        models:
          sr2x: {op: train_srcae, from: reference}
        """
    )
    assert problem.startswith("/studio/assets_spec.yaml:4: sources.reference__files: this name is taken by reference/files")


def test_a_glob_may_start_with_an_empty_alternative_or_have_one_before_a_folder():
    for glob in ("{,old}/*.png", "{a,b}{,/c}/*.png", "textures{,/old}/*.png", "{{a,b},c}/*.png"):
        spec = parse_spec(f"sources:\n  legacy: {{kind: textures, root: t, glob: '{glob}'}}\n", Path("/studio/assets_spec.yaml"))
        assert spec.sources["legacy"].patterns["image"] == glob


def test_a_path_or_glob_with_windows_backslashes_is_refused_with_the_one_every_system_reads():
    assert problems(
        r"""
        build_dir: out\build
        sources:
          legacy: {kind: textures, root: textures\legacy, glob: walls\*.png, exclude: [old\*]}
        """
    ) == [
        "/studio/assets_spec.yaml:2: build_dir: 'out\\build' holds a backslash; write / between folders, which every "
        "system reads: 'out/build'",
        *(f"/studio/assets_spec.yaml:4: sources.legacy.{key}: '{given}' holds a backslash; write / between folders, "
          f"which every system reads: '{fixed}'"
          for key, given, fixed in (("root", "textures\\legacy", "textures/legacy"), ("glob", "walls\\*.png", "walls/*.png"),
                                    ("exclude", "old\\*", "old/*"))),
    ]


def test_a_glob_s_escaped_braces_are_no_windows_backslashes(tmp_path):
    from pipeline.resources import RemasterResource

    (tmp_path / "t" / "walls").mkdir(parents=True)
    for name in ("{a,b}.png", "a.png"):
        (tmp_path / "t" / "walls" / name).write_bytes(b"")
    spec_file = tmp_path / "assets_spec.yaml"
    spec_file.write_text(r"""
sources:
  legacy: {kind: textures, root: t, glob: 'walls/\{a,b\}.png'}
assets:
  up: {op: upscale, from: legacy}
""")
    assert list(RemasterResource().builder(load_spec(spec_file)).partitions("legacy")) == ["walls/{a,b}.png"]


MATERIAL = """
sources:
  legacy: {kind: textures, root: t}
assets:
  floors: {op: material, from: legacy, method: from_texture, orm: false}
  copies: {op: multiply, from: legacy, count: 2}
"""


@pytest.mark.parametrize(("entry", "problem"), [
    ("{op: export_dds, from: floors, maps: [albedo, orm]}", "assets.d.maps: 'floors' writes no orm.png with its params; "
     "its maps are albedo, normal, roughness, specular, height, ao, preview"),
    ("{op: export_dds, from: floors}", "assets.d.from: 'floors' writes several files per input (albedo.png, normal.png, "
     "roughness.png, specular.png, height.png, ao.png, preview.png, material.gltf); chain from a one-image asset, or "
     "export its maps"),
    ("{op: export_dds, from: copies, maps: [variant_00]}", "assets.d.from: 'copies' writes several files per input "
     "(variant_00.png, variant_01.png); chain from a one-image asset"),
    ("{op: export_dds, from: ok, maps: [albedo]}", "assets.d.from: 'ok' writes several files per input (albedo.dds, "
     "normal.dds, ao.dds); chain from a one-image asset"),  # its field maps once hid the method that says so
    ("{op: export_dds, from: legacy, maps: [albedo]}", "assets.d.from: export_dds with these params takes the maps "
     "albedo of an asset that writes several (a material), but 'legacy' gives one image per partition"),
    ("{op: export_dds, from: floors, maps: [albedo], kind: data}", "with maps, each map is exported as its own kind"),
    ("{op: export_dds, from: floors, maps: [albedo, normal: bc9]}", "assets.d.maps: map normal: format 'bc9' is none "
     "export_dds writes; give one of auto, bc1, bc1a, bc3, bc3n, bc4, bc5, bc7, uncompressed"),
    ("{op: export_dds, from: floors, maps: [albedo, normla: bc3n]}", "assets.d.maps: 'floors' writes no normla.png "
     "with its params; its maps are albedo, normal, roughness, specular, height, ao, preview"),
    ("{op: export_dds, from: floors, maps: [albedo, Normal: bc5]}", "assets.d.maps: 'floors' writes no Normal.png "),
    ("{op: export_dds, from: floors, maps: [albedo, orm: bc1]}", "assets.d.maps: 'floors' writes no orm.png with its "
     "params; its maps are albedo, normal, roughness, specular, height, ao, preview"),
])
def test_export_dds_reads_a_material_s_maps_by_name(entry, problem):
    exported = MATERIAL + "  ok: {op: export_dds, from: floors, maps: [albedo, normal, ao]}\n"
    spec = parse_spec(exported, Path("/studio/assets_spec.yaml"))
    assert spec.assets["ok"].params.input_roles() == {"albedo.png", "normal.png", "ao.png"}
    with pytest.raises(SpecError) as caught:
        parse_spec(exported + f"  d: {entry}\n", Path("/studio/assets_spec.yaml"))
    assert any(problem in line for line in caught.value.problems), caught.value.problems
    assert "maps" in problem or not any("export its maps" in line for line in caught.value.problems)
    assert "fits only" in problem or not any("fits only" in line for line in caught.value.problems)  # normla: bc3n


def test_multiply_from_a_material_quilts_all_its_maps_with_patch_alone():
    """A material's variants are folders of its maps (not its preview) and a glTF, the maps quilted in register;
    gram, a kind, or the maps given by hand are refused at the entry's from; gram left to the default is said to be
    it, where the message named a method the spec did not."""
    spec = parse_spec(MATERIAL + "  d: {op: multiply, from: floors, method: patch, count: 2}\n",
                      Path("/studio/assets_spec.yaml"))
    maps = ("albedo.png", "normal.png", "roughness.png", "specular.png", "height.png", "ao.png")
    assert spec.assets["d"].params.input_roles() == {*maps, "material.gltf"}
    assert spec.output_names(spec.assets["d"]) == tuple(
        f"variant_0{i}/{name}" for i in range(2) for name in (*maps, "material.gltf"))
    for entry, problem in (
        ("{op: multiply, from: floors}", "assets.d.from: 'floors': a material's variants are quilted, every map with "
         "the same blocks and seam cuts so that they stay in register, which method gram, multiply's default, cannot "
         "do: set method: patch"),
        ("{op: multiply, from: floors, method: gram}", "assets.d.from: 'floors': a material's variants are quilted, "
         "every map with the same blocks and seam cuts so that they stay in register, which method gram cannot do: "
         "set method: patch"),
        ("{op: multiply, from: floors, method: patch, kind: normal}", "assets.d.from: 'floors': from a material, each "
         "map is taken as its own kind"),
        ("{op: multiply, from: legacy, method: patch, material_maps: [albedo.png]}", "assets.d.from: 'legacy': "
         "material_maps is set from the material asset a multiply is chained from: leave it out"),
    ):
        with pytest.raises(SpecError) as caught:
            parse_spec(MATERIAL + f"  d: {entry}\n", Path("/studio/assets_spec.yaml"))
        assert any(problem in line for line in caught.value.problems), caught.value.problems


def test_an_upscale_of_the_variants_of_a_photo_pairs_material_is_not_told_to_upscale_the_pairs():
    """An upscale of a multiply of a material was told to chain the material from an upscale: from photo pairs,
    which upscale does not take, a fix that the next validate refused. It says what gives more detail or size."""
    spec = """
sources:
  scans: {kind: photo_pairs, root: photos, flash: "*/flash.*", guide: "*/guide.*"}
assets:
  scanned: {op: material, from: scans, method: two_shot}
  v: {op: multiply, from: scanned, method: patch, count: 2}
  d: {op: upscale, from: v, scale: 2}
"""
    with pytest.raises(SpecError) as caught:
        parse_spec(spec, Path("/studio/assets_spec.yaml"))
    [problem] = [line for line in caught.value.problems if "assets.d.from" in line]
    assert "chain 'scanned' from an asset" not in problem
    assert problem.endswith("; 'scanned' is fitted from the photo pairs of 'scans', which upscale does not take: its "
                            "maps have as many texels as the photos, so for more detail photograph the surface closer "
                            "or at a higher resolution, and for larger variants raise v's size"), problem


def test_export_dds_reads_its_maps_in_each_variant_of_a_materials_multiply():
    """export_dds with maps from a multiply of a material was refused, naming every file of every variant: it reads
    the maps it names in each variant's folder and writes them into one of its own; a map the material lacks is
    refused as from the material, and an op that takes one image is refused naming one variant's files."""
    variants = MATERIAL + "  v: {op: multiply, from: floors, method: patch, count: 3}\n"
    spec = parse_spec(variants + "  d: {op: export_dds, from: v, maps: [normal, albedo]}\n",
                      Path("/studio/assets_spec.yaml"))
    assert spec.images_each(spec.assets["d"]) == tuple(
        f"variant_0{i}/{name}.png" for i in range(3) for name in ("albedo", "normal"))
    assert spec.output_names(spec.assets["d"]) == tuple(
        f"variant_0{i}/{name}.dds" for i in range(3) for name in ("albedo", "normal"))
    files = ("variant_00/albedo.png, variant_00/normal.png, variant_00/roughness.png, variant_00/specular.png, "
             "variant_00/height.png, variant_00/ao.png, variant_00/material.gltf, and so on in each of its 3 "
             "variants' folders")
    for entry, problem in (
        ("{op: export_dds, from: v, maps: [albedo, orm]}", "assets.d.maps: 'v' writes no orm.png with its params; "
         "its maps are albedo, normal, roughness, specular, height, ao"),
        ("{op: export_dds, from: v}", f"assets.d.from: 'v' writes several files per input ({files}); chain from a "
         "one-image asset, or export its maps with export_dds's maps"),
        ("{op: upscale, from: v}", f"assets.d.from: 'v' writes several files per input ({files}); chain from a "
         "one-image asset, or export its maps with export_dds's maps; to upscale them, upscale the textures before "
         "the material: chain 'floors' from an asset with op: upscale"),
    ):
        with pytest.raises(SpecError) as caught:
            parse_spec(variants + f"  d: {entry}\n", Path("/studio/assets_spec.yaml"))
        assert any(line.endswith(problem) for line in caught.value.problems), caught.value.problems


def test_an_op_that_takes_one_image_chained_from_multiply_is_applied_to_each_variant():
    # An artist who wanted the variants as DDS or enlarged was refused ("chain from a one-image asset") and sent to
    # write a second spec. An op that takes one image now takes each variant, and one chained from that takes each
    # of its files in turn where they are PNGs.
    chained = MATERIAL + ("  dds: {op: export_dds, from: copies}\n  big: {op: upscale, from: copies}\n"
                          "  big_dds: {op: export_dds, from: big}\n")
    spec = parse_spec(chained, Path("/studio/assets_spec.yaml"))
    assert spec.images_each(spec.assets["dds"]) == ("variant_00.png", "variant_01.png")
    assert spec.output_names(spec.assets["dds"]) == ("variant_00.dds", "variant_01.dds")
    assert spec.output_names(spec.assets["big"]) == ("variant_00.png", "variant_01.png")
    assert spec.images_each(spec.assets["big_dds"]) == ("variant_00.png", "variant_01.png")
    assert spec.images_each(spec.assets["copies"]) == () and spec.output_names(spec.assets["copies"]) == (
        "variant_00.png", "variant_01.png")
    # An op that makes several files from one image is still refused, told of a second spec, naming its source.
    for entry, op in (("{op: multiply, from: copies}", "multiply"),
                      ("{op: material, from: copies, method: from_texture}", "material")):
        with pytest.raises(SpecError) as caught:
            parse_spec(chained + f"  d: {entry}\n", Path("/studio/assets_spec.yaml"))
        assert any(line.endswith(f"chain from a one-image asset; to give its files to {op}, make /studio/build/copies "
                                 "the root of a textures source in a second spec (with a build_dir of its own) and "
                                 "build that after this one") for line in caught.value.problems), caught.value.problems
    # The DDS of each variant, a material's maps and a two_shot material's photo pair are no image to take each of.
    for entry in ("{op: upscale, from: dds}", "{op: upscale, from: floors}", "{op: material, from: copies, "
                  "method: two_shot}", "{op: export_dds, from: copies, maps: [variant_00]}"):
        with pytest.raises(SpecError) as caught:
            parse_spec(chained + f"  d: {entry}\n", Path("/studio/assets_spec.yaml"))
        assert [line for line in caught.value.problems if "one-image" in line][0].endswith(
            ("chain from a one-image asset", "export its maps with export_dds's maps")), caught.value.problems


def test_one_value_where_a_list_goes_is_told_to_be_put_in_brackets():
    """export_dds's ``maps: albedo`` was refused as 'Input should be a valid tuple, got 'albedo'', Python's word."""
    reported = problems(
        """
        sources:
          scans: {kind: photo_pairs, root: p, flash: "*/flash.*", guide: "*/guide.*"}
          ref: {kind: textures, root: r}
        models:
          sr: {op: train_srcae, from: ref, widths: 16}
        assets:
          mat: {op: material, from: scans, method: two_shot}
          dds: {op: export_dds, from: mat, maps: albedo}
        """
    )
    assert [p.split(": ", 2)[1:] for p in reported] == [
        ["models.sr.widths", "expected a list in brackets, such as [16], got 16"],
        ["assets.dds.maps", "expected a list in brackets, such as [albedo], got 'albedo'"],
    ]


def test_a_mistyped_source_kind_is_answered_with_the_likely_one():
    """kind: photo_pair was told 'expected textures or photo_pairs' with no hint, where a mistyped op or filter gets one."""
    assert [p.split(": ", 2)[1:] for p in problems(
        """
        sources:
          scans: {kind: photo_pair, root: p, flash: "*/flash.*", guide: "*/guide.*"}
          legacy: {kind: Textures, root: t}
        """
    )] == [
        ["sources.scans.kind", "expected textures or photo_pairs, got 'photo_pair'; did you mean 'photo_pairs'?"],
        ["sources.legacy.kind", "expected textures or photo_pairs, got 'Textures'; did you mean 'textures'?"],
    ]


def test_a_weights_file_in_the_build_folder_is_refused_naming_the_model_that_writes_it():
    """model: {path: build/sr2x/model.pt} was taken: a build that retrained sr2x made the asset from the old weights
    first (it does not wait for a file the way it waits for a model), reported success, and left it stale for the
    next build."""
    first, second = problems(
        """
        sources:
          reference: {kind: textures, root: hires}
          legacy: {kind: textures, root: legacy}
        models:
          sr2x: {op: train_srcae, from: reference}
        assets:
          by_path: {op: super_resolve, from: legacy, model: {path: build/sr2x/model.pt}}
          other: {op: super_resolve, from: legacy, model: {path: build/by_path/weights.pth}}
          kept: {op: super_resolve, from: legacy, model: {path: build/weights/4x.pth}}
        """
    )  # kept: a folder under build_dir that no model or asset builds to
    assert first == ("/studio/assets_spec.yaml:8: assets.by_path.model: /studio/build/sr2x/model.pt is the weights "
                     "file model sr2x writes, which a build may retrain after by_path is made from it: write "
                     "model: sr2x")
    assert second == ("/studio/assets_spec.yaml:9: assets.other.model: /studio/build/by_path/weights.pth is inside "
                      "the folder by_path builds to, whose files builds replace and delete: keep weights files "
                      "outside it (copy a trained model.pt elsewhere to keep it as it is)")


def test_flatten_with_kind_normal_is_refused_at_the_key_flatten_and_its_line():
    """The check of flatten against kind named the asset and its line (assets.stone_n), where the key to take out is
    flatten."""
    reported = problems(
        """
        sources:
          legacy: {kind: textures, root: t}
        assets:
          stone_n:
            op: multiply
            from: legacy
            method: patch
            kind: normal
            flatten: true
        """
    )
    assert reported == ["/studio/assets_spec.yaml:10: assets.stone_n.flatten: flatten evens out the lighting of a "
                        "colour texture; a normal map (kind: normal) holds directions, not light: leave flatten out"]
