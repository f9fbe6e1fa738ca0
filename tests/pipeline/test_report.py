"""``remaster report``: the review page of the last build, through the CLI on small built projects."""

from __future__ import annotations

import logging
import os
import re
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import xxhash
from PIL import Image as PILImage

from helpers import UPSCALE_SPEC, manifest_rows, write_spec, write_textures
from ops.image_io import Image, write_image

REVIEWED = UPSCALE_SPEC + """\
  floors: {op: material, from: legacy, method: from_texture}
  legacy_dds: {op: export_dds, from: legacy_2x}
"""


class _Page(HTMLParser):
    """What a browser takes from the page: its tags, the files they name, and its text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.links: list[str] = []
        self.images: list[str] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        named = dict(attrs)
        if tag == "a":
            self.links.append(str(named["href"]))
        if tag == "img":
            self.images.append(str(named["src"]))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _page(path: Path) -> _Page:
    return _Page(path.read_text(encoding="utf-8"))


def _files(page_path: Path, hrefs: list[str]) -> list[Path]:
    """The files ``hrefs`` lead to, as a browser follows a link (``#`` starts a fragment, ``%`` an escape)."""
    return [(page_path.parent / unquote(urlsplit(href).path)).resolve() for href in hrefs]


def _previews(folder: Path) -> set[str]:
    return {path.name for path in (folder / "build" / ".report").iterdir()}


def test_the_page_shows_every_partition_with_previews_of_its_files(tmp_path, cli):
    """Each partition of each asset is on the page, its input beside its outputs (the material's maps, the DDS
    decoded) as thumbnails no larger than 256 px, each linked to its file and named by its path below their shared
    folder; the enlargement gets its crops."""
    write_textures(tmp_path / "textures", 2, size=160)
    write_spec(tmp_path, REVIEWED)
    assert cli(tmp_path, "build")[0] == 0
    code, output = cli(tmp_path, "report")
    page_path = tmp_path / "build" / "report.html"
    assert code == 0 and f"report: {page_path} (6 partitions; " in output, output
    page = _page(page_path)
    text = " ".join(page.text)
    for row in manifest_rows(tmp_path):
        assert row["partition"] in text
        for listed in [*row["outputs"], *row["inputs"]]:
            assert (tmp_path / listed).resolve() in _files(page_path, page.links), listed
    assert all(path.is_file() for path in _files(page_path, page.links))
    thumbnails = _files(page_path, page.images)
    assert thumbnails and all(path.parent == (tmp_path / "build" / ".report").resolve() for path in thumbnails)
    sides = {max(PILImage.open(path).size) for path in thumbnails}
    assert max(sides) == 256 and 160 in sides, sides  # the 320 px outputs reduced; the inputs as they are
    assert sum(path.name.endswith("-high.png") for path in set(thumbnails)) == 2  # legacy_2x's crops
    assert sum("normal.png" in listed for listed in page.links) == 2 and "dds/floors/tex000.dds" in " ".join(page.links)
    assert sum(said.startswith("albedo.png (") for said in page.text) == 2  # named below the folder the maps share
    assert str(tmp_path) not in page_path.read_text()  # all relative: the page of a CI job, opened elsewhere


def test_a_second_report_makes_only_the_previews_of_what_changed(project, cli):
    """Previews are named by the content hash of what they show: after one texture of five changed, a report
    makes its thumbnail, its enlargement's and their crops, and drops the three it showed before, and what a report
    killed while writing left two hours ago."""
    assert cli(project, "build")[0] == 0
    assert "previews: 15 made, 0 kept" in cli(project, "report")[1]
    killed = project / "build" / ".report" / ".0f1e.png.k3j_a9zq.tmp"  # a report killed writing a preview
    killed.write_bytes(b"half")
    os.utime(killed, (time.time() - 7200, time.time() - 7200))
    before = _previews(project) - {killed.name}
    write_image(project / "textures" / "floors" / "tex000.png", Image(np.full((16, 16, 3), 0.5, np.float32)))
    assert cli(project, "build")[0] == 0
    code, output = cli(project, "report")
    after = _previews(project)
    assert code == 0 and "previews: 3 made, 12 kept" in output, output
    assert len(after - before) == len(before - after) == 4  # a thumbnail each, and the two crops
    assert not killed.exists()


class _CountedReads:
    """``xxhash`` as ``pipeline.hashing`` uses it, counting the files read through to hash them."""

    def __init__(self) -> None:
        self.files = 0

    def xxh3_128(self) -> xxhash.xxh3_128:
        self.files += 1
        return xxhash.xxh3_128()

    def __getattr__(self, name: str) -> object:
        return getattr(xxhash, name)


def test_a_report_reads_again_only_the_files_changed_since_the_build(project, cli, monkeypatch):
    """The build's stat index holds the hashes of what it read and wrote: a report of five textures and their
    enlargements reads none of them again (a project's gigabytes of textures, at every report), and after one
    texture is edited, that one alone."""
    import pipeline.hashing

    assert cli(project, "build")[0] == 0
    reads = _CountedReads()
    monkeypatch.setattr(pipeline.hashing, "xxhash", reads)
    assert cli(project, "report")[0] == 0
    assert reads.files == 0
    write_image(project / "textures" / "floors" / "tex000.png", Image(np.full((16, 16, 3), 0.5, np.float32)))
    assert cli(project, "report")[0] == 0
    assert reads.files == 1


def test_names_that_hold_markup_are_shown_as_text(tmp_path, cli):
    """A texture named ``R&D <old> #2 "wall".png`` is named on the page as it is, and breaks no tag; its links,
    from a page written elsewhere with --out, lead to its files."""
    write_textures(tmp_path / "textures", 1)
    floors = tmp_path / "textures" / "floors"
    (floors / "tex000.png").rename(floors / 'R&D <old> #2 "wall".png')
    write_spec(tmp_path, UPSCALE_SPEC)
    assert cli(tmp_path, "build")[0] == 0
    code, output = cli(tmp_path, "report", "--out", "review/today.html")
    page_path = tmp_path / "review" / "today.html"
    assert code == 0 and page_path.is_file(), output
    page = _page(page_path)
    assert "old" not in page.tags and 'floors/R&D <old> #2 "wall".png' in page.text
    assert {path.name for path in _files(page_path, page.links) if path.is_file()} >= {'R&D <old> #2 "wall".png'}
    assert all(path.is_file() for path in _files(page_path, page.links + page.images))


def test_a_multiply_of_a_material_shows_its_maps_in_the_order_of_its_variants(tmp_path, cli):
    """The maps a multiply of a material reads come in the order its variants' maps do (albedo, normal, roughness
    first), so that an artist compares each with its own, not the albedo beside an ao; its figures say what its
    checks found, ``none`` too."""
    write_textures(tmp_path / "textures", 1, size=64)
    write_spec(tmp_path, UPSCALE_SPEC.replace("  legacy_2x:", """  floors: {op: material, from: legacy, method: from_texture}
  variants: {op: multiply, from: floors, count: 1, size: 64, method: patch}
  legacy_2x:"""))
    assert cli(tmp_path, "build")[0] == 0
    assert cli(tmp_path, "report")[0] == 0
    text = _page(tmp_path / "build" / "report.html").text
    row = text[next(at for at, said in enumerate(text) if said.startswith("variants")):]
    read = [said.split(" (")[0] for said in row if re.fullmatch(r"\w+\.png \(.*\)", said)]  # its inputs' captions
    assert read[:4] == ["albedo.png", "normal.png", "roughness.png", "ao.png"], read
    assert row[row.index("seams") + 1] == "none"  # what its check found: no seam, not a figure missing


def test_messages_name_files_below_the_project_only_where_a_path_starts():
    """A project at ``/`` (a CI container's): its paths lose their ``/``, a ratio or a path elsewhere keeps it."""
    from pipeline.report import _in_project

    said = "/textures/a.png reads 4/5 of '/textures/b.png' (as /mnt/textures/c.png)"
    assert _in_project(said, Path("/")) == "textures/a.png reads 4/5 of 'textures/b.png' (as mnt/textures/c.png)"
    assert _in_project(said, Path("/mnt")) == said.replace("/mnt/", "")


def test_sizes_are_said_as_a_file_manager_says_them():
    from pipeline.report import _bytes

    said = [_bytes(count) for count in (999, 2872, 999_940, 999_960, 1_400_000, 999_960_000, 5 * 10 ** 12)]
    assert said == ["999 bytes", "2.9 KB", "999.9 KB", "1.0 MB", "1.4 MB", "1.0 GB", "5000.0 GB"]


def test_out_a_folder_writes_the_page_in_it(project, cli):
    """``--out`` a folder (the one a CI job hands on as its artifact) writes ``report.html`` in it, its links
    leading from there."""
    assert cli(project, "build")[0] == 0
    (project / "artifact").mkdir()
    code, output = cli(project, "report", "--out", "artifact")
    page_path = project / "artifact" / "report.html"
    assert code == 0 and f"report: {page_path} (5 partitions; " in output, output
    page = _page(page_path)
    assert page.links and all(path.is_file() for path in _files(page_path, page.links + page.images))


def test_out_elsewhere_keeps_the_previews_beside_the_page(project, cli):
    """A CI job hands on only its ``--out`` folder: its page showed no image, the previews staying in the build
    folder's ``.report``. They go to ``report_files`` beside the page, made again only where what they show
    changed; the links to the full files still lead into the build folder."""
    assert cli(project, "build")[0] == 0
    assert "previews: 15 made, 0 kept" in cli(project, "report", "--out", "artifact/")[1]
    page_path = project / "artifact" / "report.html"
    page = _page(page_path)
    previews = project / "artifact" / "report_files"
    assert page.images and {path.parent for path in _files(page_path, page.images)} == {previews.resolve()}
    assert all(path.is_file() for path in _files(page_path, page.links + page.images))
    assert not (project / "build" / ".report").exists()
    write_image(project / "textures" / "floors" / "tex000.png", Image(np.full((16, 16, 3), 0.5, np.float32)))
    assert cli(project, "build")[0] == 0
    code, output = cli(project, "report", "--out", "artifact/")
    assert code == 0 and "previews: 3 made, 12 kept" in output, output
    assert len(list(previews.iterdir())) == 20  # ten thumbnails, five pairs of crops: the old dropped


def test_out_a_folder_not_made_yet_given_with_its_slash_writes_the_page_in_it(project, cli):
    """``--out artifact/`` before the folder is made (a CI job's first step) wrote the page as a file named
    ``artifact``, with no ``.html`` a browser opens it by; the slash says a folder, as to ``cp``."""
    assert cli(project, "build")[0] == 0
    code, output = cli(project, "report", "--out", "artifact/")
    page_path = project / "artifact" / "report.html"
    assert code == 0 and f"report: {page_path} (5 partitions; " in output, output
    assert page_path.is_file()


def test_a_failed_partition_shows_its_error(project, cli):
    """A texture that is not an image fails its partition; the page shows that row failed, with its message, the
    files it names as the manifest names them: the page of a CI job is read on other machines."""
    (project / "textures" / "walls" / "tex001.png").write_bytes(b"not a png")
    assert cli(project, "build")[0] == 1
    assert cli(project, "report")[0] == 0
    error = next(row["error"] for row in manifest_rows(project) if row["partition"] == "walls/tex001.png")
    page = (project / "build" / "report.html").read_text()
    text = _Page(page).text
    at = text.index("walls/tex001.png")
    assert error.startswith(f"{project / 'textures' / 'walls' / 'tex001.png'} is not a PNG, JPEG, TGA, DDS or TIFF")
    assert text[at:at + 3] == ["walls/tex001.png", "failed", error.replace(f"{project}/", "")]
    assert "no preview: textures/walls/tex001.png is not a PNG" in page and str(project) not in page


class _BuildBeside(logging.Handler):
    """A build running beside the report: it removes ``path`` (the output of a texture deleted) once the report
    has read the manifest that lists it, as the report comes to it."""

    def __init__(self, path: Path) -> None:
        super().__init__(logging.DEBUG)
        self.path = path

    def emit(self, record: logging.LogRecord) -> None:
        if self.path.as_posix().endswith(f"/{getattr(record, 'note', None)}"):
            self.path.unlink(missing_ok=True)


def _report_while_a_build_beside_removes(project: Path, cli, beside: logging.Handler):
    """The report of the project, built first, with ``beside`` (a build running beside it, which removes a file
    when the report's progress reaches some point) listening to that progress."""
    from pipeline.progress import progress_log
    from pipeline.report import write_report
    from pipeline.spec import load_spec

    assert cli(project, "build")[0] == 0
    level = progress_log.level
    progress_log.addHandler(beside)
    progress_log.setLevel(logging.DEBUG)
    try:
        return write_report(load_spec(project / "assets_spec.yaml"))
    finally:
        progress_log.removeHandler(beside)
        progress_log.setLevel(level)


def test_a_file_removed_while_the_report_runs_is_said_missing(project, cli):
    """A file that a build running beside the report removes after the report read the manifest is said missing on
    the page, without its crops, where the report stopped on it with 'No such file or directory'."""
    removed = project / "build" / "legacy_2x" / "floors" / "tex000.png"
    written = _report_while_a_build_beside_removes(project, cli, _BuildBeside(removed))
    page = _page(written.page)
    assert not removed.exists() and "tex000.png: missing: not on disk (deleted since the build?)" in page.text
    assert sum(source.endswith("-high.png") for source in page.images) == 4  # the crops of the other four


class _BuildBesideAtTheEnd(_BuildBeside):
    """A build running beside the report that removes ``path`` once the report has made every preview, as it
    writes the page."""

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "done", None) == getattr(record, "total", 0):
            self.path.unlink(missing_ok=True)


def test_a_file_removed_after_its_preview_was_made_is_said_missing(project, cli):
    """A file removed by a build beside the report after its preview was made, as the page is written, is said
    missing, where the report stopped on 'No such file or directory' taking its size."""
    removed = project / "build" / "legacy_2x" / "floors" / "tex000.png"
    written = _report_while_a_build_beside_removes(project, cli, _BuildBesideAtTheEnd(removed))
    text = _page(written.page).text
    said_missing = ": missing: not on disk (deleted since the build?)"
    missing = [said.removesuffix(said_missing) for said in text if said.endswith(said_missing)]
    assert not removed.exists() and missing == ["tex000.png", "tex000.png at 6×, nearest-neighbour"], missing
    assert "tex000.png (16 × 16 px, " in " ".join(text)  # its input, as it was, beside them


def test_the_op_s_version_is_said_as_one_not_as_a_number_beside_its_name(project, cli):
    """The figures said ``upscale 9`` beside a 2x enlargement, which an artist read as a factor."""
    assert cli(project, "build")[0] == 0
    assert cli(project, "report")[0] == 0
    text = _page(project / "build" / "report.html").text
    versions = {row["op_version"] for row in manifest_rows(project)}
    assert [text[at + 1] for at, said in enumerate(text) if said == "op"] == [
        f"upscale (version {version})" for version in versions] * 5


def test_the_crops_of_a_narrow_sprite_are_shown_at_one_size_that_fits_a_screen(tmp_path, cli):
    """Both crops were set 192 px wide by the page's style, their height following: an 8 x 64 sprite's crops were
    drawn 1,152 px tall."""
    rng = np.random.default_rng(0)
    write_image(tmp_path / "textures" / "strip.png", Image(rng.random((64, 8, 3), dtype=np.float32)))
    write_spec(tmp_path, UPSCALE_SPEC)
    assert cli(tmp_path, "build")[0] == 0
    assert cli(tmp_path, "report")[0] == 0
    text = (tmp_path / "build" / "report.html").read_text(encoding="utf-8")
    crops = re.findall(r'<img src="[^"]*-(low|high)\.png" width="(\d+)" height="(\d+)"', text)
    assert sorted(crops) == [("high", "32", "192"), ("low", "32", "192")], crops
    assert "width:192px" not in text


def test_without_a_build_it_says_to_build_first(project, cli):
    code, output = cli(project, "report")
    assert code == 1 and "run remaster build first" in output, output
    assert not (project / "build" / "report.html").exists()


def test_build_report_writes_the_page_after_a_failure_too(project, cli):
    """``build --report`` writes the page as ``report`` does, and where a partition failed, shows it; the build's exit
    status stays its own."""
    (project / "textures" / "walls" / "tex001.png").write_bytes(b"not a png")
    code, output = cli(project, "build", "--report")
    text = _page(project / "build" / "report.html").text
    assert code == 1 and f"report: {project / 'build' / 'report.html'} (5 partitions; " in output, output
    assert text[text.index("walls/tex001.png"):][:2] == ["walls/tex001.png", "failed"]


def test_a_model_row_counts_its_textures_and_shows_its_failed_check(project, cli):
    """A model's row says how many textures it trained on rather than showing each (a source's thousands), and the
    check that failed on it; each texture it enlarges gets the crops of the same region of input and output."""
    (project / "textures" / "walls" / "tex001.png").write_bytes(b"not a png")
    write_spec(project, UPSCALE_SPEC.replace("assets:", """models:
  sr2x: {op: train_srcae, from: legacy, scale: 2, steps: 2, patch_size: 16, batch_size: 2}
assets:
  legacy_sr: {op: super_resolve, from: legacy, model: sr2x}"""))
    assert cli(project, "build")[0] == 1
    assert cli(project, "report")[0] == 0
    page = _page(project / "build" / "report.html")
    at = page.text.index("(model)")
    assert page.text[at + 1] == "computed" and "trained on 5 files" in page.text[at:at + 5]
    assert "model.pt" in page.text
    assert page.text[at + 2].startswith("check failed: sr2x: inputs_readable: unreadable_images 1, must be below 1")
    assert sum(source.endswith("-high.png") for source in page.images) == 8  # legacy_2x's and legacy_sr's, of 4


def test_without_a_terminal_its_progress_comes_as_lines(project, cli, monkeypatch):
    """A report over thousands of textures takes minutes: in a CI log it says how far it got, as a build does."""
    from pipeline.progress import ProgressLines

    assert cli(project, "build")[0] == 0
    monkeypatch.setattr(ProgressLines, "interval", 0.0)  # a line per update instead of per 30 s
    code, output = cli(project, "report")
    lines = [line.partition(" (")[0] for line in output.splitlines()]  # less the times each line ends with
    assert code == 0 and "report 0/15 textures/floors/tex000.png" in lines and "report 15/15" in lines, output


def _imgs(text: str) -> dict[str, tuple[int, int, str, str]]:
    """Each image of the page by its file's path and its caption (``textures/a.png: a.png at 2×``): its sides as
    drawn, its attributes after them and its preview."""
    return {f"{title}: {alt}": (int(width), int(height), rest, src) for title, src, width, height, rest, alt in
            re.findall(r'<figure title="([^"]*)"><a href="[^"]*"><img src="([^"]*)" width="(\d+)" height="(\d+)"'
                       r'([^>]*?) alt="([^"]*)"', text)}


def _figure_values(page: _Page, name: str) -> list[str]:
    return [page.text[at + 1] for at, said in enumerate(page.text) if said == name]


def test_a_row_shows_its_input_and_enlargement_at_one_scale_captioned_with_their_sides(tmp_path, cli):
    """Each thumbnail was scaled on its own: a 22 x 21 sprite was drawn at 110 x 105, its 2x enlargement at 88 x 84,
    smaller than its input."""
    rng = np.random.default_rng(0)
    write_image(tmp_path / "textures" / "preel1.png", Image(rng.random((21, 22, 3), dtype=np.float32)))
    write_spec(tmp_path, UPSCALE_SPEC)
    assert cli(tmp_path, "build")[0] == 0
    assert cli(tmp_path, "report")[0] == 0
    page_path = tmp_path / "build" / "report.html"
    images = _imgs(page_path.read_text(encoding="utf-8"))
    assert images["textures/preel1.png: preel1.png"][:2] == (44, 42), images
    assert images["build/legacy_2x/preel1.png: preel1.png"][:2] == (88, 84), images
    text = " ".join(_page(page_path).text)
    assert text.count("preel1.png (22 × 21 px, ") == text.count("preel1.png (44 × 42 px, ") == 1, text


def test_a_reduced_row_s_thumbnails_are_made_at_the_size_the_page_shows_them(tmp_path, cli):
    """A 200 px texture beside its 400 px enlargement: both thumbnails were made 256 px, and the input's drawn at
    128, the browser shrinking (and softening) it; each is made at the size it is shown, and drawn as it is."""
    rng = np.random.default_rng(0)
    write_image(tmp_path / "textures" / "wall.png", Image(rng.random((150, 200, 3), dtype=np.float32)))
    write_spec(tmp_path, UPSCALE_SPEC)
    assert cli(tmp_path, "build")[0] == 0
    assert cli(tmp_path, "report")[0] == 0
    page_path = tmp_path / "build" / "report.html"
    images = _imgs(page_path.read_text(encoding="utf-8"))
    thumbnails = {name: (width, height, PILImage.open(page_path.parent / src).size)
                  for name, (width, height, _, src) in images.items() if "at " not in name}  # not the crops
    assert thumbnails == {"textures/wall.png: wall.png": (128, 96, (128, 96)),
                          "build/legacy_2x/wall.png: wall.png": (256, 192, (256, 192))}, thumbnails


def test_the_crops_are_captioned_with_their_true_magnification_and_drawn_sharp(tmp_path, cli):
    """A 44 px crop drawn at 176 px was captioned ``at 1:1``; the page's style smoothed none, but made a reduced
    thumbnail alias: only what is drawn larger than its preview is drawn with its texels sharp."""
    rng = np.random.default_rng(0)
    write_image(tmp_path / "textures" / "preel1.png", Image(rng.random((21, 22, 3), dtype=np.float32)))
    write_image(tmp_path / "textures" / "wall.png", Image(rng.random((300, 300, 3), dtype=np.float32)))
    write_spec(tmp_path, UPSCALE_SPEC)
    assert cli(tmp_path, "build")[0] == 0
    assert cli(tmp_path, "report")[0] == 0
    text = (tmp_path / "build" / "report.html").read_text(encoding="utf-8")
    images = _imgs(text)
    assert images["textures/preel1.png: preel1.png, the same region at 8×, nearest-neighbour"][:2] == (176, 168)
    assert images["build/legacy_2x/preel1.png: preel1.png at 4×, nearest-neighbour"][:2] == (176, 168), images
    assert images["build/legacy_2x/wall.png: wall.png at 2×, nearest-neighbour"][:2] == (192, 192), images
    assert "at 1:1" not in text
    sharp = {name for name, (_, _, rest, _) in images.items() if 'class="enlarged"' in rest}
    assert sharp == set(images) - {"textures/wall.png: wall.png", "build/legacy_2x/wall.png: wall.png"}, sharp
    assert "img.enlarged{image-rendering:pixelated}" in text and text.count("pixelated") == 1


def test_a_cached_row_says_it_came_from_the_cache_and_how_long_it_took_to_make(tmp_path, cli):
    """A cached material said ``took 0 s`` beside ``seconds 37.04``, which read as a contradiction; a cached model
    said only ``from the cache``, where a built one's row told how long it trained: each now says how long it
    took to make (or train) and when the cache stored it."""
    write_textures(tmp_path / "textures", 2, size=32)
    write_spec(tmp_path, UPSCALE_SPEC.replace("assets:", """models:
  sr2x: {op: train_srcae, from: legacy, scale: 2, steps: 2, patch_size: 16, batch_size: 1}
assets:""") + "  floors: {op: material, from: legacy, method: from_texture}\n")
    code, output = cli(tmp_path, "build")
    assert code == 0, output
    assert cli(tmp_path, "build", "--force")[0] == 0  # hashes stored; the next build finds every row cached
    assert cli(tmp_path, "build")[0] == 0
    stored = time.mktime((2026, 1, 2, 3, 4, 0, 0, 0, 0)) - time.timezone  # 2026-01-02 03:04 UTC
    for entry in (tmp_path / ".remaster" / "cache" / "entries").rglob("*.json"):
        os.utime(entry, (stored, stored))
    assert cli(tmp_path, "report")[0] == 0
    rows = manifest_rows(tmp_path)
    assert {row["status"] for row in rows} == {"cached"}
    made = {"legacy_2x": "", "floors": "made in {seconds:.1f} s, ", "sr2x": "trained in {train_seconds:.1f} s, "}
    took = _figure_values(_page(tmp_path / "build" / "report.html"), "took")
    assert sorted(took) == sorted(f"from the cache ({made[row['asset']].format(**row['metadata'])}2026-01-02 03:04 UTC)"
                                  for row in rows), took


def test_yes_or_no_figures_are_said_in_one_style(project, cli):
    """``wrap_x 1`` and ``adapted 0`` stood beside ``aligned False``; a count (``tiles 1``) stays a number."""
    from pipeline.report import _value

    assert cli(project, "build")[0] == 0
    assert cli(project, "report")[0] == 0
    page = _page(project / "build" / "report.html")
    said = _figure_values(page, "wrap_x") + _figure_values(page, "wrap_y")
    assert len(said) == 10 and set(said) <= {"yes", "no"}, said
    assert [_value("aligned", False), _value("adapted", 1), _value("self_ensemble", 0)] == ["no", "yes", "no"]
    assert [_value("tiles", 1), _value("passes", 0), _value("adapted", 2)] == ["1", "0", "2"]


def test_normal_maps_are_told_by_the_spec_or_a_separated_name_not_by_a_name_s_last_letters(tmp_path, cli):
    """``abnormal.png`` was reduced as a normal map, its colours renormalized as vectors; ``brick_n.png`` and a
    texture of an asset of ``kind: normal`` are."""
    rng = np.random.default_rng(0)
    texels = rng.random((16, 16, 3), dtype=np.float32)
    for name in ("abnormal.png", "brick_n.png"):
        write_image(tmp_path / "textures" / name, Image(texels))
    write_image(tmp_path / "bumps" / "plain.png", Image(texels))
    bumps = "  bumps: {kind: textures, root: bumps, glob: \"*.png\"}\n"
    write_spec(tmp_path, UPSCALE_SPEC.replace("sources:\n", f"sources:\n{bumps}")
               + "  bumps_2x: {op: upscale, from: bumps, scale: 2, filter: lanczos, kind: normal}\n")
    assert cli(tmp_path, "build")[0] == 0
    assert cli(tmp_path, "report")[0] == 0
    page_path = tmp_path / "build" / "report.html"
    shown = {name.split(": ")[0]: src for name, (*_, src) in _imgs(page_path.read_text(encoding="utf-8")).items()
             if not src.endswith(("-low.png", "-high.png"))}  # the thumbnails, not the crops
    as_stored = np.asarray(PILImage.open(tmp_path / "textures" / "abnormal.png"))[..., :3]
    colour = np.asarray(PILImage.open(page_path.parent / shown["textures/abnormal.png"]))[..., :3]
    assert np.array_equal(colour, as_stored)  # as it is: reduced as colour, which a 16 px texture is not
    for name in ("textures/brick_n.png", "bumps/plain.png"):
        vectors = np.asarray(PILImage.open(page_path.parent / shown[name]))[..., :3]
        assert not np.array_equal(vectors, as_stored), name  # made unit length


def test_out_beside_a_folder_of_the_artist_s_own_images_leaves_them(project, cli):
    """``--out docs/notes.html`` beside a ``docs/notes_files`` of the artist's: the report took it for its previews
    folder and deleted every PNG in it that the page did not show."""
    assert cli(project, "build")[0] == 0
    own = project / "docs" / "notes_files"
    own.mkdir(parents=True)
    write_image(own / "sketch.png", Image(np.full((8, 8, 3), 0.5, np.float32)))
    code, output = cli(project, "report", "--out", "docs/notes.html")
    assert code == 0 and "previews: 15 made" in output, output
    assert (own / "sketch.png").is_file()
    assert len(list(own.glob("*.png"))) == 21  # its own, ten thumbnails, five pairs of crops
