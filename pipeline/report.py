"""``remaster report``: one static HTML page to review what the last build made, written from its manifest.

After a nightly or CI build an artist opened the outputs one by one. The page shows, per asset and partition,
the input beside the outputs, the figures the manifest holds (guards' among them) and links to the full files.
The pixel work is ``ops.preview``'s; this module decides what to show and writes the HTML. The previews are kept
beside the page (``<build_dir>/.report/``, or ``<page>_files/`` for a page elsewhere) under the content hash of
what they show, so a second report after a small change makes only the new ones; the page needs nothing else (no
script, nothing fetched from the network).
"""

from __future__ import annotations

import contextlib
import html
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import quote

from ops.atomic import remove_stale_temporaries, unlink, write_bytes_atomic
from ops.formats import may_be_image
from ops.preview import CROPS_VERSION, THUMBNAIL_SIDE, Preview, crops, sides, thumbnail
from pipeline.cache import ContentStore
from pipeline.guards import failed_guards
from pipeline.hashing import HASH_INDEX, HashIndex
from pipeline.init import NORMAL_ENDINGS
from pipeline.manifest import Row, manifest_path, manifest_problem, read_manifest
from pipeline.progress import handled, report_progress
from pipeline.spec import Spec
from pipeline.words import counted

REPORT = "report.html"
PREVIEWS = ".report"
_PREVIEW_NAME = re.compile(r"[0-9a-f]{32}[-\w]*\.png")  # a content hash first: how ``_Previews`` names them
TASK = "report"
_ENLARGED = ("upscale", "super_resolve")  # ops whose crops at 1:1 show what the enlargement added
_SHOWN_SIDE = 128  # px: a smaller thumbnail (a 16 px sprite) is shown enlarged by a whole factor, texels kept sharp
_CROP_SHOWN = 192  # px, the longer side both crops of an enlargement are shown at, side by side
_MAPS_FIRST = ("preview", "albedo", "basecolor", "normal", "roughness")  # a material's maps, as an artist reads them
_MISSING = "missing: not on disk (deleted since the build?)"
_FLAGS = ("adapted", "self_ensemble", "wrap_x", "wrap_y")  # figures the manifest writes as 0 or 1 for no or yes


class NoBuild(Exception):
    """There is no manifest to report on (no build yet), or it cannot be read; the message says what to do."""


@dataclass
class Shown:
    """A file of a row as the page shows it: a preview (or why there is none) beside a link to the file."""

    path: Path
    listed: str  # as the manifest names it
    label: str  # its path below the folder the row's files share: ``variant_00/albedo.png``
    preview: Preview | None = None
    problem: str | None = None
    sides: tuple[int, int] | None = None  # (width, height) of the file itself, in px
    normal_map: bool | None = None  # True where the spec or its name says so; None: its texels decide


@dataclass
class Entry:
    """A manifest row with its files as shown: the inputs, the outputs and, for an enlargement, its crops."""

    row: Row
    inputs: list[Shown]
    outputs: list[Shown]
    crops: tuple[Shown, Shown] | None = None
    guards: list[str] = field(default_factory=list)  # each failed check, as the build says it
    note: str = ""  # said in place of the inputs
    error: str = ""  # why it failed, as the build said it
    stored: float | None = None  # a cached row's: when the cache stored what it gives (seconds since the epoch)


@dataclass(frozen=True)
class Written:
    """What ``write_report`` did: the page, and how many previews it made and found made before."""

    page: Path
    partitions: int
    made: int
    kept: int


def default_page(spec: Spec) -> Path:
    return spec.build_dir / REPORT


def page_at(out: str) -> Path:
    """The page ``--out`` names: ``out``, or its ``report.html`` where it ends with a slash, which says a folder
    where none is made yet (``artifact/``, as to ``cp``): a Path drops the slash, and the page was written as a
    file named ``artifact``, with no ``.html`` a browser opens it by."""
    return Path(out, REPORT) if out.endswith(("/", os.sep)) else Path(out)


def write_report(spec: Spec, page: Path | None = None) -> Written:
    """Write the review page of ``spec``'s last build to ``page`` (``<build_dir>/report.html``; a folder: its
    ``report.html``, as a CI job names the folder it hands on), making the previews it lacks, and drop the previews
    no page shows any more. Raises ``NoBuild`` where there is no manifest to read."""
    rows = _rows(spec)
    page = (page or default_page(spec)).absolute()
    if page.is_dir():
        page /= REPORT
    previews = _Previews(previews_folder(spec, page), HashIndex(spec.cache_dir / HASH_INDEX))
    with contextlib.ExitStack() as quiet:  # the build said its warnings of these files (a colour profile) already
        for name in ("ops", "imagecodecs"):
            quiet.enter_context(handled(logging.getLogger(name), level=logging.ERROR))
        entries = list(_entries(spec, rows, previews))
    write_bytes_atomic(page, _html(spec, entries, page.parent).encode())
    previews.drop_unused()
    return Written(page, len(entries), previews.made, previews.kept)


def previews_folder(spec: Spec, page: Path) -> Path:
    """Where the previews of ``page`` go: ``<build_dir>/.report`` for a page in the build folder, else
    ``<page>_files`` beside it (``artifact/report_files``), as a browser saves a page: a CI job that hands on
    only the ``--out`` folder hands on its images with it, where they stayed in a build folder not handed on.
    Not hidden: an artifact upload leaves out hidden folders."""
    if page.parent.resolve() == spec.build_dir.resolve():
        return spec.build_dir / PREVIEWS
    return page.with_name(f"{page.stem}_files")


def _rows(spec: Spec) -> list[Row]:
    """The manifest's rows, or ``NoBuild`` saying why there are none."""
    if (problem := manifest_problem(spec.build_dir)) is not None:
        raise NoBuild(f"{problem}; run remaster build first, then remaster report")
    rows = read_manifest(spec.build_dir)
    if not rows:
        raise NoBuild(f"nothing built yet: {manifest_path(spec.build_dir)} is missing or lists nothing (build_dir in "
                      f"{spec.path}); run remaster build first, then remaster report")
    return rows


class _Previews:
    """The previews folder: each preview named by the content hash of what it shows, made only where missing.
    The hashes come from the build's stat index (``index``), so that a report reads again only the files changed
    since the build hashed them, not every texture of a project; the index is not saved: a report writes nothing
    to the cache, which may be a share it may only read."""

    def __init__(self, folder: Path, index: HashIndex) -> None:
        self.folder = folder
        self.index = index
        self.used: dict[Path, Preview] = {}  # shown on this page
        self.made = self.kept = 0

    def thumbnail(self, shown: Shown, side: int) -> None:
        """Give ``shown`` its thumbnail of at most ``side`` px a side (the size the page shows it at), or the
        problem that stops one (an unreadable file); a file whose header gave no sides, those of its thumbnail."""
        if (digest := self._hashed(shown.path)) is None:
            shown.problem = _MISSING
            return
        normal = shown.normal_map
        name = self.folder / f"{digest}-{side}{'-normal' if normal else ''}.png"
        try:
            shown.preview, = self._made((name,), lambda: (thumbnail(shown.path, name, normal_map=normal, side=side),))
        except ValueError as exc:  # ImageReadError: the file is damaged, or no image remaster reads
            shown.problem = str(exc)
        preview = shown.preview
        if shown.sides is None and preview is not None and max(preview.width, preview.height) < THUMBNAIL_SIDE:
            shown.sides = preview.width, preview.height  # a DDS Pillow cannot open: a thumbnail is never enlarged

    def crops(self, low: Shown, high: Shown) -> tuple[Shown, Shown] | None:
        """The crops of the same region of ``low`` and its enlargement ``high``, made as one preview; None where
        either cannot be read or is gone (their thumbnails say why)."""
        if (names := self._crop_names(low.path, high.path)) is None:
            return None
        try:
            made_low, made_high = self._made(names, lambda: crops(low.path, high.path, names))
        except ValueError:
            return None
        return (Shown(low.path, low.listed, f"{low.label}, the same region", made_low),
                Shown(high.path, high.listed, high.label, made_high))

    def _crop_names(self, low: Path, high: Path) -> tuple[Path, Path] | None:
        """The files of the crops of ``low`` and ``high``, named by both their hashes (and the version of how
        crops are cut); None where either is gone."""
        digests = (self._hashed(low), self._hashed(high))
        if None in digests:
            return None
        stem = f"{digests[0]}-{digests[1]}-v{CROPS_VERSION}"
        return self.folder / f"{stem}-low.png", self.folder / f"{stem}-high.png"

    def _hashed(self, path: Path) -> str | None:
        """``path``'s content hash; None where it is gone since the manifest was read: a build running beside the
        report removes the outputs of a texture deleted, and the page then says the file is missing."""
        try:
            return self.index.hash(path)
        except FileNotFoundError:
            return None

    def _made(self, names: tuple[Path, ...], make: Callable[[], tuple[Preview, ...]]) -> tuple[Preview, ...]:
        """The previews ``names``, counted as one: shown already on this page (one input of many rows, an
        upscale's and a material's texture), found made before, or made now by ``make``, which raises
        ValueError where its file cannot be read."""
        if all(name in self.used for name in names):
            return tuple(self.used[name] for name in names)
        found = [preview for name in names if (preview := self._found(name)) is not None]
        if len(found) == len(names):
            made, self.kept = tuple(found), self.kept + 1
        else:
            made, self.made = make(), self.made + 1
        self.used.update(zip(names, made))
        return made

    def _found(self, path: Path) -> Preview | None:
        found = sides(path) if path.is_file() else None
        return None if found is None else Preview(path, *found)

    def drop_unused(self) -> None:
        """Remove the previews this page does not show (of files changed or gone since), and those a report killed
        while writing them left half-written an hour ago or more, so the folder does not grow with every build;
        files of other names are left alone: ``<page>_files`` beside a page elsewhere may be a folder of the
        artist's own, whose every PNG was deleted."""
        if not self.folder.is_dir():
            return
        for path in self.folder.iterdir():
            if _PREVIEW_NAME.fullmatch(path.name) and path not in self.used and path.is_file():
                unlink(path)
        remove_stale_temporaries(self.folder)


def _entries(spec: Spec, rows: list[Row], previews: _Previews) -> Iterator[Entry]:
    """Each row with its previews made, reporting progress file by file."""
    guards = _failed_checks(spec, rows)
    store = ContentStore(spec.cache_dir, make=False)  # read only: a report writes nothing to the cache
    entries = [_entry(spec, row) for row in rows]
    total, done = sum(len(_images(entry)) + (entry.crops is not None) for entry in entries), 0
    for entry in entries:
        entry.guards = guards.get((str(entry.row["asset"]), str(entry.row["partition"])), [])
        entry.error = _in_project(str(entry.row.get("error") or ""), spec.root_dir)
        if entry.row["status"] == "cached":
            entry.stored = store.stored_at(str(entry.row.get("cache_key") or ""))
        images = _images(entry)
        for shown in images:
            shown.sides = sides(shown.path)
        scale = _row_scale(images)
        for shown in images:
            report_progress(TASK, done, total, shown.listed)
            previews.thumbnail(shown, _thumbnail_side(shown, scale))
            if shown.problem is not None:
                shown.problem = _in_project(shown.problem, spec.root_dir)
            done += 1
        if entry.crops is not None:
            report_progress(TASK, done, total, entry.crops[1].listed)
            entry.crops = previews.crops(*entry.crops)
            done += 1
        yield entry
    report_progress(TASK, total, total)


def _failed_checks(spec: Spec, rows: list[Row]) -> dict[tuple[str, str], list[str]]:
    """Each failed check of ``rows``, as the build says it (``check failed``, or ``check warning`` for an advisory
    one), by the (asset, partition) it is of."""
    checks: dict[tuple[str, str], list[str]] = {}
    for guard in failed_guards(spec, rows):
        said = "check failed" if guard.blocking else "check warning"
        message = _in_project(f"{said}: {guard.message}", spec.root_dir)
        checks.setdefault((guard.asset, guard.partition), []).append(message)
    return checks


def _in_project(message: str, project: Path) -> str:
    """``message`` with the ``project``'s folder left out of the paths it names, which are then named as the
    manifest names them: the page of a CI job is read on other machines, where the build machine's folders mean
    nothing. Only where a path starts: a project at ``/`` (a CI container's) keeps the ``/`` of ``4/5``."""
    return re.sub(rf"(?<![^\s'\"(\[]){re.escape(os.path.join(project, ''))}", "", message)


def _entry(spec: Spec, row: Row) -> Entry:
    """``row``'s files; an enlargement of one image gets its crops (made later, as previews are). A model's
    inputs are counted, not shown: a source's every texture, which the rows of its assets show."""
    target = spec.assets.get(str(row["asset"]))
    normal = target is not None and getattr(target.params, "kind", None) == "normal"  # an op's of normal maps
    outputs = _shown(spec, sorted(row["outputs"], key=_map_order), normal)
    if not row["partition"]:
        return Entry(row, [], outputs, note=f"trained on {counted(len(row['inputs']), 'file')}")
    # a multiply's material: its maps in its variants' order
    inputs = _shown(spec, sorted(row["inputs"], key=_map_order), normal)
    images_in, images_out = [s for s in inputs if _is_image(s)], [s for s in outputs if _is_image(s)]
    pair = row["op"] in _ENLARGED and len(images_in) == 1 and len(images_out) == 1 and row["status"] != "failed"
    return Entry(row, inputs, outputs, (images_in[0], images_out[0]) if pair else None)


def _map_order(path: str) -> tuple[str, int, str]:
    """Files in their folder's order, a material's preview and main maps first in each folder."""
    parent, _, name = path.rpartition("/")
    stem = name.rsplit(".", 1)[0].lower()
    return parent, _MAPS_FIRST.index(stem) if stem in _MAPS_FIRST else len(_MAPS_FIRST), name


def _shown(spec: Spec, listed: list[str], normal: bool) -> list[Shown]:
    """The files ``listed``, each labelled by its path below the folder they share: the whole path of each of a
    material's maps made every caption the same but for its end. ``normal``: the spec says they are normal maps."""
    shared = len(os.path.commonprefix([path.split("/")[:-1] for path in listed]))
    return [_one(spec.resolve(each), each, "/".join(each.split("/")[shared:]), normal) for each in listed]


def _one(path: Path, listed: str, label: str, normal: bool) -> Shown:
    missing = None if path.is_file() else _MISSING
    return Shown(path, listed, label, problem=missing, normal_map=True if normal or _named_normal(path) else None)


def _named_normal(path: Path) -> bool:
    """Whether ``path`` is named as a normal map: a material's ``normal.png``, or ``brick_n``, ``_normal``,
    ``_nrm``, as a source's normal maps are told apart. A name merely ending in the word (``abnormal.png``) is
    colour: reduced as vectors, its thumbnail came out a flat pastel."""
    stem = path.stem.lower()
    return stem == "normal" or stem.endswith(NORMAL_ENDINGS)


def _is_image(shown: Shown) -> bool:
    return shown.problem is None and may_be_image(shown.path.suffix)


def _images(entry: Entry) -> list[Shown]:
    return [shown for shown in (*entry.inputs, *entry.outputs) if _is_image(shown)]


_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;background:#f6f6f4;color:#222}
h2{margin-top:2em;border-bottom:1px solid #bbb}
table{border-collapse:collapse;width:100%}
td{vertical-align:top;padding:.5em;border-bottom:1px solid #ddd}
tr.failed td{background:#fde8e6}
figure{display:inline-block;margin:0 .5em .5em 0;vertical-align:top;max-width:260px}
figcaption{font-size:12px;word-break:break-all}
img{background:repeating-conic-gradient(#ccc 0 25%,#fff 0 50%) 0 0/16px 16px}
img.enlarged{image-rendering:pixelated}
.status{font-weight:bold}.failed .status,.error,.guard{color:#a4161a}
.figures td{padding:0 .5em 0 0;border:0;font-size:12px}
"""


def _html(spec: Spec, entries: list[Entry], folder: Path) -> str:
    """The whole page: a summary, then per asset a table of its partitions. It names the spec by a link, as
    every file: a CI job's page is opened on another machine, where the build machine's folders are not."""
    by_asset: dict[str, list[Entry]] = {}
    for entry in entries:
        by_asset.setdefault(str(entry.row["asset"]), []).append(entry)
    failed = sum(entry.row["status"] == "failed" for entry in entries)
    summary = (f"{counted(len(entries), 'partition')} of {counted(len(by_asset), 'asset')} in "
               f"{_link(manifest_path(spec.build_dir), folder, 'the manifest')}; {failed} failed")
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>remaster report: {_text(spec.path.name)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>remaster report</h1><p>{_link(spec.path, folder, spec.path.name)}: {summary}</p>",
        *(_asset_section(asset, rows, folder) for asset, rows in by_asset.items()),
        "</body></html>", ""])


def _asset_section(asset: str, entries: list[Entry], folder: Path) -> str:
    row = entries[0].row
    made_from = f" from {_text(str(row.get('from')))}" if row.get("from") else ""
    lines = [f'<h2 id="{_text(asset)}">{_text(asset)} <small>{_text(str(row["op"]))}{made_from}</small></h2>',
             "<table><tr><th>partition</th><th>input</th><th>outputs</th><th>figures</th></tr>"]
    lines += [_entry_row(entry, folder) for entry in entries]
    return "\n".join([*lines, "</table>"])


def _entry_row(entry: Entry, folder: Path) -> str:
    row = entry.row
    status = str(row["status"])
    said = [f'<span class="status">{_text(status)}</span>']
    said += [f'<div class="error">{_text(entry.error)}</div>'] if entry.error else []
    said += [f'<div class="guard">{_text(message)}</div>' for message in entry.guards]
    crops = "" if entry.crops is None else _crops(entry.crops, folder)
    scale = _row_scale([*entry.inputs, *entry.outputs])
    return (f'<tr class="{_text(status)}"><td>{_text(str(row["partition"]) or "(model)")}<br>{"".join(said)}</td>'
            f"<td>{_text(entry.note)}{_figures_of(entry.inputs, folder, scale)}</td>"
            f"<td>{_figures_of(entry.outputs, folder, scale)}{crops}</td>"
            f"<td>{_figures_table(row, entry.stored)}</td></tr>")


def _row_scale(files: list[Shown]) -> float:
    """The one scale a row's thumbnails are shown at, so that their sizes relate: a 2x enlargement shown twice
    the size of its input. Each was scaled on its own, and a 22 px input came out larger than its 44 px
    enlargement. Small files are enlarged by a whole factor (texels kept sharp) until the largest is about
    ``_SHOWN_SIDE`` px; large ones reduced until the largest is ``THUMBNAIL_SIDE`` px."""
    largest = max((max(shown.sides) for shown in files if shown.sides is not None), default=0)
    if largest == 0:
        return 1.0
    if largest < _SHOWN_SIDE:
        return float(_SHOWN_SIDE // largest)
    return min(1.0, THUMBNAIL_SIDE / largest)


def _thumbnail_side(shown: Shown, scale: float) -> int:
    """The longer side of ``shown``'s thumbnail: as the page shows it where its row is reduced, so that a browser
    does not shrink a 256 px thumbnail to 128 (fetching and scaling twice the texels, and softening them); else
    ``THUMBNAIL_SIDE``, a small file's thumbnail being the file itself, enlarged on the page by a whole factor."""
    drawn = _scaled(shown, scale) if scale < 1 else None
    return THUMBNAIL_SIDE if drawn is None else max(drawn)


def _figures_of(files: Iterable[Shown], folder: Path, scale: float) -> str:
    """The figures of ``files``, drawn at the row's ``scale`` where it enlarges them; a reduced one's thumbnail
    was made at the size it is shown (``_thumbnail_side``), so it is drawn as it is."""
    return "".join(_figure(shown, folder, _scaled(shown, scale) if scale > 1 else None) for shown in files)


def _scaled(shown: Shown, scale: float) -> tuple[int, int] | None:
    if shown.sides is None:
        return None
    return max(1, round(shown.sides[0] * scale)), max(1, round(shown.sides[1] * scale))


def _crops(pair: tuple[Shown, Shown], folder: Path) -> str:
    """The crops of an enlargement, both shown at the high one's shape, enlarged by the whole factor that brings
    its longer side nearest ``_CROP_SHOWN`` px, each captioned with its true magnification: a width alone made the
    crop of an 8 px wide sprite 1,152 px tall, and a crop captioned ``at 1:1`` was drawn at 2x."""
    low, high = pair
    if high.preview is None or low.preview is None:
        return f'<div class="crops">{_figure(low, folder)}{_figure(high, folder)}</div>'
    times = max(1, _CROP_SHOWN // max(high.preview.width, high.preview.height))
    drawn = high.preview.width * times, high.preview.height * times
    shown = (replace(low, label=f"{low.label} {_magnified(drawn[0] / low.preview.width)}"),
             replace(high, label=f"{high.label} {_magnified(times)}"))
    return f'<div class="crops">{"".join(_figure(crop, folder, drawn) for crop in shown)}</div>'


def _magnified(times: float) -> str:
    """How much a crop is enlarged, as its caption says it: ``at 1:1``, ``at 4x, nearest-neighbour``."""
    return "at 1:1" if times == 1 else f"at {times:.3g}×, nearest-neighbour"


def _figure(shown: Shown, folder: Path, drawn: tuple[int, int] | None = None) -> str:
    """A file's preview, linked to the file, with its name, pixel size, size on disk and the preview's problem if
    any; its whole path as the manifest names it in its tooltip. ``drawn``: its sides on the page, where known
    (else the preview's own); an image drawn larger than its preview is marked to keep its texels sharp, which a
    browser would smooth."""
    caption, opened = _text(shown.label), f'<figure title="{_text(shown.listed)}">'
    try:
        on_disk = shown.path.stat().st_size
    except FileNotFoundError:  # gone since the manifest was read, or since its preview was made: a build beside
        return f"{opened}<figcaption>{caption}: {_text(shown.problem or _MISSING)}</figcaption></figure>"
    pixels = "" if shown.sides is None else f"{shown.sides[0]} × {shown.sides[1]} px, "  # a crop's: none
    size = f" ({pixels}{_bytes(on_disk)})"
    if shown.preview is None:
        note = f'<div class="error">no preview: {_text(shown.problem)}</div>' if shown.problem else ""
        return f"{opened}{_link(shown.path, folder, shown.label)}{size}{note}</figure>"
    preview = shown.preview
    width, height = drawn or (preview.width, preview.height)
    enlarged = ' class="enlarged"' if width > preview.width else ""
    image = (f'<img src="{_href(preview.path, folder)}" width="{width}" height="{height}"{enlarged} alt="{caption}" '
             'loading="lazy">')
    return f'{opened}<a href="{_href(shown.path, folder)}">{image}</a><figcaption>{caption}{size}</figcaption></figure>'


def _figures_table(row: Row, stored: float | None) -> str:
    """The row's figures: how it was made and what its op and guards measured. The op's version is said as one:
    beside a 2x enlargement, ``upscale 9`` read as a factor."""
    made = {"op": f"{row['op']} (version {row['op_version']})", "took": _took(row, stored)}
    cells = [f"<tr><td>{_text(key)}</td><td>{_text(_value(key, value))}</td></tr>"
             for key, value in [*made.items(), *sorted(row["metadata"].items())]]
    return f'<table class="figures">{"".join(cells)}</table>'


def _took(row: Row, stored: float | None) -> str:
    """How long this build took over the row; a cached one is said as such, with how long it took to make (or
    to train, a model's ``train_seconds``) where the op measured it, and when the cache stored it (``stored``):
    ``took 0 s`` beside ``seconds 37.04`` read as a contradiction, and a cached model said only ``from the
    cache``, not whether it was trained last night or last month."""
    if row["status"] != "cached":
        return f"{row['seconds']:.3g} s"
    said = [f"{verb} in {seconds:.1f} s" for verb, key in (("made", "seconds"), ("trained", "train_seconds"))
            if isinstance(seconds := row["metadata"].get(key), (int, float))]
    if stored is not None:
        said.append(time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(stored)))
    return "from the cache" + (f" ({', '.join(said)})" if said else "")


def _value(key: str, value: object) -> str:
    """A figure as the page says it: an empty one (a multiply's ``seams``, ``alike``: what its checks found) as
    ``none``, where an empty cell read as a figure missing; a yes-or-no one (``aligned``, and those written as 0 or
    1: ``wrap_x``, ``adapted``) as ``yes`` or ``no``, where ``wrap_x 1`` beside ``aligned False`` mixed styles."""
    if value == "":
        return "none"
    if isinstance(value, bool) or (key in _FLAGS and value in (0, 1)):
        return "yes" if value else "no"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _bytes(count: int) -> str:
    """A file's size as a file manager gives it: ``2872 bytes``, ``1.4 MB``."""
    if count < 1000:
        return f"{count} bytes"
    exponent = 1
    while exponent < 3 and round(count / 1000 ** exponent, 1) >= 1000:  # 999 960 bytes: 1.0 MB, not 1000.0 KB
        exponent += 1
    return f"{count / 1000 ** exponent:.1f} {('KB', 'MB', 'GB')[exponent - 1]}"


def _link(path: Path, folder: Path, label: str) -> str:
    return f'<a href="{_href(path, folder)}">{_text(label)}</a>'


def _href(path: Path, folder: Path) -> str:
    """``path`` relative to the page's ``folder``, escaped for an attribute: a name with ``#``, ``?``, ``<`` or
    ``&`` links to that file. On another drive (Windows) no relative path leads there: its file URL then."""
    try:
        relative = Path(os.path.relpath(path, folder)).as_posix()
    except ValueError:
        return _text(path.as_uri())
    return _text(quote(relative))


def _text(text: str) -> str:
    return html.escape(text, quote=True)
