"""The ``remaster`` command: thin commands that parse, call one function and render the result."""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import json
import logging
import math
import os
import re
import signal
import sqlite3
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape as escape_markup
from rich.measure import Measurement
from rich.progress import (
    BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TaskID, TextColumn, TimeElapsedColumn,
)
from rich.segment import Segment, SegmentLines
from rich.table import Table
from rich.text import Text

from pipeline.claims import check_build_dir, check_instance, dagster_home, make_project_instance, project_instance
from pipeline.dagster_names import name_clashes
from pipeline.guards import FailedGuard, Unmeasured
from pipeline.manifest import Row, manifest_path, partition_label, rows_by_key
from pipeline.progress import ProgressLines, SaidOnce, clock_time, handled, progress_log, progress_of
from pipeline.sources import (
    empty_inputs, missing_photo, nothing_found, one_photo_for_both, passed_over_by_default, scan_for_build,
    unreadable_by_name,
)
from pipeline.spec import SPEC_FILE, Source, Spec, SpecError, load_spec
from pipeline.words import counted, some
from pipeline.write_errors import file_problem

if TYPE_CHECKING:
    from pipeline.init import Started
    from pipeline.removed import Removed
    from pipeline.runs import BuildReport  # imported when a build runs: the other commands stay quick
    from pipeline.staleness import StatusReport

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
K = TypeVar("K")

app = typer.Typer(
    help="Build remastered textures from assets_spec.yaml, recomputing only what changed.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
cache_app = typer.Typer(help="Manage the content-addressed cache.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")
console = Console(stderr=True)
out = Console()

SpecOption = Annotated[Path, typer.Option("--spec", "-s", help="The spec file.", show_default=True)]
DEFAULT_SPEC = Path(SPEC_FILE)


def _print_version(asked: bool) -> None:
    """``--version``: the package's version alone, so a CI log records which remaster built (cache keys hold each
    op's version), without importing Dagster or torch."""
    if not asked:
        return
    found = _version()
    typer.echo(f"remaster {found}" if found else
               "remaster: version unknown (neither installed nor run from its source folder: pip install -e . there)")
    raise typer.Exit()


def _version() -> str | None:
    """The version of the remaster running: its source folder's pyproject.toml where it runs from one (a checkout
    on PYTHONPATH, whose installed metadata, if any, is another copy's; an editable install bumped since), else
    its installed metadata; None where there is neither."""
    import tomllib
    from importlib.metadata import PackageNotFoundError, version

    try:
        with (Path(__file__).resolve().parent.parent / "pyproject.toml").open("rb") as file:
            project = tomllib.load(file).get("project", {})
        if project.get("name") == "remaster" and isinstance(project.get("version"), str):
            return str(project["version"])
    except (OSError, tomllib.TOMLDecodeError):
        pass
    try:
        return version("remaster")
    except PackageNotFoundError:
        return None


@app.callback()
def _options(
    context: typer.Context,
    show_version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                               help="Print remaster's version and exit.")] = False,
) -> None:
    """Options of the remaster program itself, before any command. A command may point ``DAGSTER_HOME`` at the
    project's own instance (``_load``): a larger process that calls ``app`` (a test) gets its own back at the end."""
    context.call_on_close(functools.partial(_put_back_dagster_home, os.environ.get("DAGSTER_HOME")))


def _put_back_dagster_home(value: str | None) -> None:
    if value is None:
        os.environ.pop("DAGSTER_HOME", None)
    else:
        os.environ["DAGSTER_HOME"] = value


def _load(spec_path: Path, *, as_build: bool = False, make_instance: bool = False) -> Spec:
    """The spec, where this command may use it, else exit 2. ``as_build``: the command says what a build would do
    (``status``, ``validate``), so it refuses a Dagster instance the build would refuse (another project's, of the
    same names). Where ``DAGSTER_HOME`` is unset, the project's own instance stands for it, where there is one (or
    is made: ``make_instance``)."""
    try:
        spec = load_spec(spec_path)
        if clashes := name_clashes(spec):  # a CLI build would run, and the UI then load nothing
            raise SpecError(clashes)
        check_build_dir(spec)
        if (home := dagster_home()) is None and make_instance:
            make_project_instance(spec)
        if home is None and project_instance(spec).is_dir():  # as if the artist had exported it: Dagster reads it
            home = project_instance(spec)
            os.environ["DAGSTER_HOME"] = str(home)
        if home is not None and as_build:
            check_instance(home, spec)
    except SpecError as exc:
        _fail(exc.problems, 2)
    except ValueError as exc:  # the environment's DAGSTER_HOME, or a project instance that cannot be made
        _fail([str(exc)], 2)
    return spec


_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064"
                       "\u2066-\u206f\ud800-\udfff\ufeff]")


def shown(text: str) -> str:
    """``text`` with its control and invisible characters written as escapes (``\\n``, ``\\x1b``, ``\\u202e``,
    ``\\u200b``): the one rule for every name the CLI prints. File names, link targets, spec values and the
    contents of files reach messages, and a terminal would obey an escape sequence among them: clear the screen,
    retitle the window, print a fake "ok" in green; a bidirectional override would show a name reversed; a line
    break would split one message into two lines a CI log reads as two entries; a zero-width space would make two
    names print alike; a name in another encoding (Latin-1's ``caf\\xe9``, kept as ``\\udce9``) could not be written
    to a UTF-8 terminal or log at all. Each message is one line: the CLI prints a list of them, never one with a
    break of its own."""
    return _CONTROLS.sub(lambda m: ascii(m.group())[1:-1], text)


def escape(text: str) -> str:
    """``text`` for a rich console: control characters shown, markup (``wall [old].png``) taken as text."""
    return escape_markup(shown(text))


class _Shown(logging.Filter):
    """Log records with their control characters shown, as ``shown`` says why."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = shown(record.getMessage()), None
        return True


class _ToTheConsole(logging.Handler):
    """Log records printed through the console as ``level message``, as the CLI prints its own (``warning ...``:
    Python's ``WARNING ...`` made a CI log hold two forms, and a search for one missed the other). Through the
    console, not a stream of its own: a warning written to stderr while the progress bars were drawn was glued to
    the end of a bar's line, and the bars redrawn below it; the console prints it above them, on a line of its own."""

    def emit(self, record: logging.LogRecord) -> None:
        level = record.levelname.lower()
        style = "yellow" if record.levelno < logging.ERROR else "red"
        console.print(Text.assemble((level, style), " ", self.format(record)), highlight=False, soft_wrap=True)


def _log_to_stderr(*filters: logging.Filter) -> None:
    """Warnings to stderr, as ``level message`` (nothing changes where logging is already set up, as under pytest)."""
    handler = _ToTheConsole(logging.WARNING)  # a run raises the ops' loggers to INFO for Dagster's log, not this one
    handler.setFormatter(logging.Formatter("%(message)s"))  # and a record's traceback, where it has one
    for extra in (*filters, _Shown()):
        handler.addFilter(extra)
    logging.basicConfig(level=logging.WARNING, handlers=[handler])


_AS_PROGRAM = False  # True in the remaster program (``main``), not where ``app`` is called in a larger process


class _Refused(typer.Exit):
    """An exit for problems printed as errors, which keeps them for whoever says them again elsewhere."""

    def __init__(self, problems: list[str], code: int) -> None:
        super().__init__(code)
        self.problems = problems


def _fail(problems: list[str], code: int) -> NoReturn:
    """Print each problem as an error, with no traceback, and exit with ``code``."""
    for problem in problems:
        console.print(f"[red]error[/red] {escape(problem)}", highlight=False, soft_wrap=True)
    raise _Refused(problems, code)


@contextlib.contextmanager
def _errors_as_json(as_json: bool) -> Iterator[None]:
    """With ``as_json``, a refusal inside also goes to stdout as ``{"up_to_date": false, "errors": [...]}``: a CI bot
    that reads ``status --json`` found an empty stdout after a bad spec edit, which failed its JSON parse without
    saying why; now it can quote the error on the merge request."""
    try:
        yield
    except _Refused as refused:
        if as_json:
            typer.echo(json.dumps({"up_to_date": False, "errors": refused.problems}, indent=2))
        raise


def _fail_on_files(exc: OSError, spec: Spec | None) -> NoReturn:
    """A read-only or full build folder or cache, or a folder where a file should be: which, and the spec
    setting that names it, not a traceback."""
    _fail([(spec and file_problem(exc, spec)) or str(exc)], 1)


class _ProgressHandler(logging.Handler):
    """Turns ``remaster.progress`` log records into rich progress bars."""

    def __init__(self, progress: Progress):
        super().__init__(logging.DEBUG)
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def emit(self, record: logging.LogRecord) -> None:
        reported = progress_of(record)
        if reported is None:
            return
        task, done, total, note = reported.task, reported.done, reported.total, shown(reported.note)
        if task not in self.tasks:
            self.tasks[task] = self.progress.add_task(shown(task), total=total, note=note)
        self.progress.update(self.tasks[task], completed=done, total=total, note=note)
        if "[" in task and done >= total:  # an op's inner loop: drop its bar once finished
            self.progress.remove_task(self.tasks.pop(task))


class _NoScanSkips(logging.Filter):
    """Drops a source scan's warnings of what it cannot build (a missing root, a glob that matches nothing):
    ``validate`` prints them among its own warnings, and ``build`` after its table as "not built", in one form."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, "skip", False)


def _log_warnings_once() -> SaidOnce:
    """Warnings to stderr, each once; returns the filter, which keeps the files of what it held back."""
    said = SaidOnce(each_message_of=("pipeline.sources",))
    _log_to_stderr(_NoScanSkips(), said)
    return said


def _print_line(line: str) -> None:
    console.print(escape(line), highlight=False, soft_wrap=True)


def _on_a_terminal() -> bool:
    """Whether bars, redrawn in place, suit where the progress goes. Rich takes any stream for a terminal where
    FORCE_COLOR is set, as CI services set it to colour their logs, and a log keeps every redraw of every bar:
    those get the progress lines any other log gets, in colour. So does a CI job run under a pseudo-terminal
    (Buildkite's, ``docker run -t`` in a job's script), which CI services tell by setting CI."""
    return console.is_interactive and _writes_to_a_terminal(console)


def _writes_to_a_terminal(where: Console) -> bool:
    """Whether ``where`` writes to a terminal a person reads, not a CI log (CI set, even under a pseudo-terminal)."""
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false"):
        return False
    isatty = getattr(where.file, "isatty", None)
    return isatty is not None and isatty()


def _with_progress(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """``fn(*args, **kwargs)`` with the progress records it logs drawn as bars (plain lines without a terminal)."""
    progress = Progress(
        TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        _TimeLeft(),
        TextColumn("{task.fields[note]}", markup=False),  # "sr2x [model]", a file named "wall [old].png"
        console=console, transient=False, disable=not (bars := _on_a_terminal()),
    )
    handler = _ProgressHandler(progress) if bars else ProgressLines(_print_line)
    terminal = _on_the_terminal_itself() if bars else contextlib.nullcontext()
    with terminal, handled(progress_log, handler, propagate=False), progress:  # drawn here, not printed again
        return fn(*args, **kwargs)


class _TimeLeft(ProgressColumn):
    """``0:24:10 left``, once a bar's pace is known, and nothing before or once it is done: a training of minutes
    said how far it was, and not when it would end."""

    def render(self, task: Task) -> Text:
        left = task.time_remaining
        return Text("" if left is None or task.finished else f"{clock_time(left)} left", style="progress.remaining")


@contextlib.contextmanager
def _on_the_terminal_itself() -> Iterator[None]:
    """The console writes to the terminal through a handle of its own meanwhile. Under ``DAGSTER_HOME`` a run points
    the process's stderr at a step's log file while the step runs (a ``tail`` copies the file back to the terminal):
    Rich, finding no terminal there, stopped redrawing the bars, so a training of minutes showed no step of it until
    it ended; and redraws that went to the file would fill the step's log."""
    stream = console.file
    terminal = os.fdopen(os.dup(stream.fileno()), "w", encoding=getattr(stream, "encoding", None) or "utf-8",
                         errors="replace")
    console.file = terminal
    try:
        yield
    finally:
        console.file = None  # type: ignore[assignment]  # Rich's None: sys.stderr as it is when it writes
        terminal.close()


def _say_interrupted(where: str, going_on: str = "") -> NoReturn:
    """One line for a stopped build: ``where`` it stopped, and ``going_on``, what the next build does there."""
    _say_stopped(f"{where} (nothing is half-written); run remaster build again to go on{going_on}")
    raise typer.Exit(130)


def _say_stopped(said: str) -> None:
    """``interrupted`` and ``said``, in one line; a CI runner's second SIGTERM changes nothing from then on."""
    signal.signal(signal.SIGTERM, lambda *_: None)
    console.print(f"[red]interrupted[/red]{escape(said)}", highlight=False, soft_wrap=True)


def _going_on(spec: Spec, step: str) -> str:
    """What the next build does with ``step``, the one a Ctrl-C stopped: a model trains on from its last
    checkpoint (stopped before its first, it starts over), an asset makes again the partitions it had not
    finished (those it had are kept)."""
    if step in spec.models:
        return f": model {step} trains on from its last checkpoint, or from the start where it reached none"
    return f": {step} makes again what it had not finished" if step else ""


@app.command(epilog="Exit status: 0 when everything asked for is built; 1 when a partition, a step or a blocking check "
                     "failed, a file was left out or a source it reads has no files (a missing root), the build or "
                     "cache folder could not be written, or Dagster's run storage failed or was held by another "
                     "process; 2 for a bad spec, --select or --device, or a Dagster instance (DAGSTER_HOME, or the "
                     "project's .dagster) or build_dir it cannot use (another spec's); "
                     "130 when stopped (Ctrl-C, or SIGTERM from a cancelled CI job).")
def build(
    spec: SpecOption = DEFAULT_SPEC,
    select: Annotated[
        list[str] | None,
        typer.Option("--select", help="Build these models/assets (and what they are built from, where that is "
                     "out of date): --select a b, or --select a --select b."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Recompute the selection (everything without --select) and overwrite the cache.")] = False,
    device: Annotated[str | None, typer.Option(help="auto, cpu, cuda or cuda:N (default: the spec's device).")] = None,
    more: Annotated[list[str] | None, typer.Argument(metavar="ASSET", help="Same as --select.")] = None,
    with_report: Annotated[bool, typer.Option("--report", help="Then write the review page, as remaster report does "
                                              "(after failures too: it shows them).")] = False,
) -> None:
    """Sync partitions with the files on disk, build through Dagster, write manifest.json."""
    select = [*(select or []), *(more or [])] or None  # an option takes one value: ``--select a b`` puts b in more
    with _sigterm_as_ctrl_c():
        try:
            _build(spec, select, force, device)
        except typer.Exit as ended:  # a partition or check failed (1, said already), where a review is most wanted
            if with_report and type(ended) is typer.Exit and ended.exit_code == 1:
                _report(spec, None)
            raise
        if with_report:
            _report(spec, None)


@contextlib.contextmanager
def _sigterm_as_ctrl_c() -> Iterator[None]:
    """A CI job cancelled (SIGTERM) stops the command inside as Ctrl-C does: one line, exit 130. Python's own
    SIGTERM ended a nightly ``cache gc --wait`` with 143 and not a word after its waiting line."""
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        # The remaster program ends here, and Python puts back SIGTERM's default action as it exits: a CI runner's
        # second SIGTERM would turn a stopped command's 130 into 143, so it is ignored. A larger process gets its
        # own back.
        signal.signal(signal.SIGTERM, signal.SIG_IGN if _AS_PROGRAM else previous)


@contextlib.contextmanager
def _stopped_in_one_line(command: str) -> Iterator[None]:
    """Ctrl-C, or SIGTERM from a cancelled CI job, stops ``command`` (status, validate: they write no more than
    the hashes they read, each file of them whole) with one line and exit 130, as build and cache gc: SIGTERM
    ended a status hashing a fresh clone's files with Python's 143 and not a word, and Ctrl-C with "Aborted!"."""
    try:
        with _sigterm_as_ctrl_c():
            yield
    except KeyboardInterrupt:  # SIGTERM ignored by now: a CI runner's second changes nothing
        said = f"{command} (nothing is half-written); run it again"
        console.print(f"[red]interrupted[/red] {escape(said)}", highlight=False, soft_wrap=True)
        raise _Refused([f"interrupted {said}"], 130) from None  # for status --json's errors too


def _build(spec: Path, select: list[str] | None, force: bool, device: str | None, *,
           make_instance: bool = False) -> None:
    """``make_instance``: make the project's instance where ``DAGSTER_HOME`` is unset (``_load``), to build in."""
    loaded = None
    try:
        from pipeline.runs import run_build

        loaded = _load(spec, make_instance=make_instance)
        said = _log_warnings_once()
        report = _with_progress(run_build, loaded, select=select, force=force, device=device)
    except KeyboardInterrupt:  # before the first run: run_build reports a later one
        _say_interrupted(" before any step started: what is stale is not built")
    except ValueError as exc:
        _fail([str(exc)], 2)
    except OSError as exc:
        _fail_on_files(exc, loaded)
    except Exception as exc:
        if (cause := _database_error(exc)) is None:
            raise
        _fail([_storage_failed(cause)], 1)
    if report.interrupted is not None:
        _say_interrupted(f" during {report.interrupted}: what it had not finished, and what follows it, is not built"
                         if report.interrupted else ": what follows is not built", _going_on(loaded, report.interrupted))
    _print_summary(report, loaded, said)
    if report.failed or report.run_errors or report.skipped or any(guard.blocking for guard in report.guards):
        raise typer.Exit(1)


def _print_summary(report: BuildReport, loaded: Spec, said: SaidOnce) -> None:
    """The finished build's table and lines, then the warnings held back; stopped meanwhile, one line saying the
    build was over: Typer's own exit 130 said nothing, and the table was cut short."""
    try:
        _render_build(report, loaded)
        for line in [*loaded.unread_warnings(), *said.held_back()]:  # validate's too: an unread param changes nothing
            console.print(f"[yellow]warning[/yellow] {escape(line)}", highlight=False, soft_wrap=True)
    except KeyboardInterrupt:
        _say_stopped(" as the build's summary was printed, the build over: its manifest lists what it did "
                     "(remaster status says what is still stale)")
        raise typer.Exit(130) from None


def _database_error(exc: BaseException | None) -> sqlite3.Error | None:
    """The SQLite error behind an exception from Dagster's storage (SQLAlchemy wraps it), if any."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:  # a chain can loop
        if isinstance(exc, sqlite3.Error):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _storage_failed(cause: sqlite3.Error) -> str:
    home = os.environ.get("DAGSTER_HOME")  # as checked when the build started: it may be gone since
    where = f"in the Dagster instance {home}" if home else "in a temporary folder"  # the artist's, or .dagster
    text = str(cause)
    if "locked" in text or "busy" in text:  # the UI, the daemon or another build writing at length
        return f"Dagster's run storage {where} is held by another process ({text}); build again once it lets go"
    if not home:
        return f"Dagster's run storage {where} failed ({text}); if that disk is full, free some space"
    return (f"Dagster's run storage {where} failed ({text}). If its disk is full, free some space; otherwise its "
            f"database may be damaged: move it aside ({Path(home).expanduser() / 'history'}, unless dagster.yaml puts "
            "it elsewhere) and build again (the run history starts anew; outputs and the cache are kept)")


def _folding_table(title: str, *headers: str) -> Table:
    """A table whose long cells wrap where it is printed to a width (``_print_table``): two long asset names cut
    to one prefix could not be told apart."""
    table = Table(title=title)
    for header in headers:
        table.add_column(header, overflow="fold")
    return table


def _print_table(table: Table) -> None:
    """``table`` on stdout, folded to the terminal's width; in a CI log, or any output that is no terminal, each
    row on one line, however long, unless COLUMNS gives a width. Rich's width without a terminal is 80 columns:
    a CI log's rows were folded over several lines, and a grep for a partition found half its row, or none."""
    options = out.options
    if not (_writes_to_a_terminal(out) or os.environ.get("COLUMNS", "").strip()):
        options = options.update_width(Measurement.get(out, options.update_width(sys.maxsize), table).maximum)
        table.title_justify = "left"  # centred over rows that long, it began past a hundred spaces
    lines = out.render_lines(table, options, pad=False)
    out.print(SegmentLines([_without_trailing_spaces(line) for line in lines], new_lines=True),
              crop=False)  # wider than the console: a line is not cut at its width either


def _without_trailing_spaces(line: list[Segment]) -> list[Segment]:
    """``line`` less the spaces that end it: the title's line was padded to the table's width, which a CI log kept,
    and a diff of two logs showed it changed where only the width had."""
    kept = list(line)
    while kept and not kept[-1].control and not kept[-1].text.rstrip():
        kept.pop()
    if kept and not kept[-1].control:
        kept[-1] = Segment(kept[-1].text.rstrip(), kept[-1].style)
    return kept


def _render_build(report: BuildReport, loaded: Spec) -> None:
    """The summary table, then every failure, skipped file, removal and failed guard, one line each."""
    table = _folding_table("remaster build", "asset", "computed", "cached", "failed", "seconds")
    rank = _in_spec_order(loaded)
    for asset, line in sorted(report.summary().items(), key=lambda item: rank(item[0])):
        table.add_row(asset, *(str(int(line[k])) for k in ("computed", "cached", "failed")), f"{line['seconds']:.2f}")
    _print_table(table)
    _print_failures(report.failed, loaded)
    for error in report.run_errors:
        console.print(f"[red]failed[/red] {escape(error)}", highlight=False, soft_wrap=True)
    for message in report.skipped:
        console.print(f"[red]not built[/red] {escape(message)}", highlight=False, soft_wrap=True)
    _print_removed(report.sync.forgotten)
    _print_held(report.sync.held)
    _print_guards([guard for guard in report.guards if guard.blocking or not guard.earlier])
    _print_earlier_warnings([guard for guard in report.guards if not guard.blocking and guard.earlier])
    _print_unmeasured(report.unmeasured)
    out.print(f"manifest: {escape(str(manifest_path(loaded.build_dir)))}", highlight=False, soft_wrap=True)


def _in_spec_order(spec: Spec) -> Callable[[str], int]:
    """A sort key that puts assets in the order the spec lists them (its models, then its assets), and those it no
    longer has last: the build table listed them by name and the status table in build order, so an asset was on
    another line in each, and on neither where the artist had written it."""
    rank = {name: position for position, name in enumerate(spec.targets)}
    return lambda asset: rank.get(asset, len(rank))


def _print_removed(forgotten: list[Removed]) -> None:
    """A line for the first partition of each asset whose outputs were deleted for one reason, one for the rest."""
    shown, left_out = _first_of_each(forgotten, lambda removed: (removed.asset, removed.why))
    for asset, key, why in shown:
        out.print(escape(f"removed the outputs of {partition_label(asset, key)}: {why}"), highlight=False, soft_wrap=True)
    for (asset, why), more in left_out.items():
        out.print(escape(f"removed the outputs of {asset} [{more} more partitions]: {why} "
                         "(the manifest no longer lists them)"), highlight=False, soft_wrap=True)


def _print_held(held: list[str]) -> None:
    """Each source's line naming the runs that keep the partitions of its deleted files (``said_held``), as a tick
    and Observe say it: the UI lists those partitions until the runs end."""
    for said in held:
        out.print(escape(said), highlight=False, soft_wrap=True)


def _first_of_each(items: list[T], group: Callable[[T], K]) -> tuple[list[T], dict[K, int]]:
    """The first ``_NAMED`` items of each group (all of a group where one more would be left out), and how many
    of each group are left out: a CI log that repeats one line per texture at every build buries the rest."""
    counts = Counter(group(item) for item in items)
    seen: Counter[K] = Counter()
    shown = []
    for item in items:
        seen[key := group(item)] += 1
        if counts[key] <= _NAMED + 1 or seen[key] <= _NAMED:
            shown.append(item)
    return shown, {key: count - _NAMED for key, count in counts.items() if count > _NAMED + 1}


def _print_failures(failed: list[Row], loaded: Spec) -> None:
    """Each failure on a line of its own, but those of one asset with the same error (a weights file not
    checked out, a model whose reference textures are away) in one line, and then those that follow from
    another (their upstream asset failed for the same partition, or their model failed) in one line per
    asset: a source checked out without its images fails every texture once per asset, and the first
    failure says why."""
    from pipeline.build import MODEL_PARTITION

    keys = {(row["asset"], row["partition"]) for row in failed}
    own: dict[tuple[str, str], list[Row]] = {}
    follow_on: dict[tuple[str, str], list[Row]] = {}
    for row in failed:
        target = loaded.targets.get(str(row["asset"]))
        if target is not None and target.model and (target.model, MODEL_PARTITION) in keys:
            follow_on.setdefault((target.name, f"model {target.model} failed, so they could not be built"), []).append(row)
        elif target is not None and (target.upstream, row["partition"]) in keys:
            follow_on.setdefault((target.name, f"{target.upstream} failed for them, so they could not be built"),
                                 []).append(row)
        else:
            own.setdefault((str(row["asset"]), str(row.get("error"))), []).append(row)
    for (asset, cause), rows in [*own.items(), *follow_on.items()]:
        if len(rows) == 1:
            _print_failure(rows[0])
            continue
        named = some([str(row["partition"]) for row in rows], _NAMED)
        console.print(f"[red]failed[/red] {escape(f'{asset} [{len(rows)} partitions]: {cause}')} "
                      f"({escape(named)}; the manifest lists each)", highlight=False, soft_wrap=True)


def _print_failure(row: Row) -> None:
    where = escape(partition_label(str(row['asset']), str(row['partition'])))
    console.print(f"[red]failed[/red] {where}: {escape(str(row.get('error')))}", highlight=False, soft_wrap=True)


_NAMED = 5  # partitions named in a line that stands for many


def _guard_label(blocking: bool) -> str:
    return "[red]check failed[/red]" if blocking else "[yellow]check warning[/yellow]"


def _print_guards(guards: list[FailedGuard]) -> None:
    """Each failed guard, then, where one fails the build, how to make it advisory: a texture artist whose
    regular planks read as copies of themselves should not have to find ``checks:`` in the README."""
    shown, left_out = _first_of_each(guards, lambda guard: (guard.blocking, guard.asset, guard.check))
    for guard in shown:
        console.print(f"{_guard_label(guard.blocking)} {escape(guard.message)}", highlight=False, soft_wrap=True)
    for (blocking, asset, check), more in left_out.items():
        console.print(f"{_guard_label(blocking)} {escape(f'{asset} [{more} more partitions]: {check}')} (the manifest "
                      "has each one's figure, and the UI each check)", highlight=False, soft_wrap=True)
    blockers = [guard for guard in guards if guard.blocking]
    if blockers:
        asset = blockers[0].asset
        checks = ", ".join(f"{check}: warn" for check in dict.fromkeys(g.check for g in blockers if g.asset == asset))
        console.print(f"a failed check fails the build: fix what it names, or, where it misjudges a source, make it a "
                      f"warning in the spec: {asset}: {{..., checks: {{{checks}}}}}",
                      highlight=False, soft_wrap=True, markup=False)


def _print_unmeasured(unmeasured: list[Unmeasured]) -> None:
    """One line per asset, guard and reason that built outputs were never judged by: an upgrade restores those an
    older remaster made from the cache, and the check would pass them without a word (variants made before
    keeps_coverage existed may be wholly transparent); a figure edited by hand is no figure either."""
    for asset, check, partitions, why in unmeasured:
        which = partitions[0] or "the model" if len(partitions) == 1 else f"{len(partitions)} partitions"
        console.print(f"[yellow]check not measured[/yellow] {escape(f'{asset}: {check} on {which}, {why}')}: "
                      f"remaster build --force {escape(asset)} measures it", highlight=False, soft_wrap=True)


def _print_earlier_warnings(guards: list[FailedGuard]) -> None:
    """One line for each advisory guard that outputs made by an earlier build still fail: a nightly build
    that computed nothing would repeat each in full, burying what this build did. ``status`` has them in full."""
    partitions: dict[tuple[str, str], list[str]] = {}
    for guard in guards:
        partitions.setdefault((guard.asset, guard.check), []).append(guard.partition or "the model")
    for (asset, check), names in partitions.items():
        which = names[0] if len(names) == 1 else f"{len(names)} partitions"
        console.print(f"{_guard_label(False)} {escape(f'{asset}: {check} still warns on {which}, built earlier')} "
                      "(remaster status shows each figure)", highlight=False, soft_wrap=True)


@app.command(epilog="Exit status: 0, whatever is stale, but with --check 1 where a build would compute, put back or "
                     "delete something, or fail; 1 where the build or cache folder cannot be read; 2 for a bad spec, "
                     "or a Dagster instance (DAGSTER_HOME, or the project's .dagster) or build_dir it cannot use "
                     "(another project's, as a build would refuse it); 130 when stopped (Ctrl-C, or SIGTERM from a "
                     "cancelled CI job).")
def status(
    spec: SpecOption = DEFAULT_SPEC,
    check: Annotated[bool, typer.Option("--check", help="Exit 1 where a build would compute, put back or delete "
                                                         "something, or fail (a CI gate).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print it as one JSON object on stdout, for a CI script "
                                                         "(a bot's comment on what a commit rebuilds).")] = False,
) -> None:
    """List what the next build would compute, and why, without computing anything."""
    with _errors_as_json(as_json), _stopped_in_one_line("status"):
        from pipeline.staleness import stale_partitions  # Dagster's import, over a second: a CI job cancelled then too

        loaded = _load(spec, as_build=True)
        _log_to_stderr()  # a cache_dir that holds no cache (a share not mounted); Python's own handler printed it raw
        try:
            with handled(logging.getLogger("pipeline.sources"), level=logging.ERROR):  # what it leaves out: once, below
                report = stale_partitions(loaded)
        except OSError as exc:
            _fail_on_files(exc, loaded)
    blocked = any(guard.blocking for guard in report.guards)
    failing = bool(report.stale or report.left_out or blocked)
    if as_json:
        typer.echo(json.dumps(report.to_json(up_to_date=not failing), indent=2))
    else:
        _render_status(report, loaded, failing)
    if check and failing:
        raise typer.Exit(1)


def _render_status(report: StatusReport, loaded: Spec, failing: bool) -> None:
    """The stale partitions' table, in the spec's order as the build's, then what will not be built and every
    failed or unmeasured check."""
    if report.manifest_problem:
        console.print(f"[yellow]warning[/yellow] {escape(report.manifest_problem)}", highlight=False, soft_wrap=True)
    if report.stale:
        table = _folding_table(f"{len(report.stale)} stale", "asset", "partition", "why")
        rank = _in_spec_order(loaded)
        for item in sorted(report.stale, key=lambda stale: rank(stale.asset)):
            table.add_row(escape(item.asset), escape(item.partition or "(model)"), escape(item.reason))  # wall [old].png
        _print_table(table)
        out.print(_what_a_build_does(report.counts()), highlight=False, soft_wrap=True)
    for message in report.left_out:
        console.print(f"[red]will not be built[/red] {escape(message)}", highlight=False, soft_wrap=True)
    _print_guards(report.guards)
    _print_unmeasured(report.unmeasured)
    if not failing:
        out.print("everything is up to date")
    elif not report.stale and not report.left_out:  # else the one line a CI log shows on stdout is silence
        out.print("nothing to build, but a check fails (its check failed lines are on stderr): a build exits 1",
                  highlight=False, soft_wrap=True)  # one line in a CI log, whose console is 80 columns wide


def _what_a_build_does(counts: dict[str, int]) -> str:
    """One line after the table for a CI log, whose reader wants what a commit costs: the table's rows said
    "never built" for most of a fresh clone's partitions, and the few computed hid among those the shared cache
    puts back."""
    does = {"compute": f"computes at most {counted(counts['compute'], 'partition')}",
            "put_back": f"puts back {counts['put_back']} from the cache",
            "delete": f"deletes the outputs of {counts['delete']}"}
    said = [words for action, words in does.items() if counts[action]]  # "computes at most 0" read as a promise
    return "a build " + (" and ".join(said) if len(said) < 3 else f"{said[0]}, {said[1]} and {said[2]}")


@app.command(epilog="Exit status: 0 when the spec loads, its warnings (a missing root, a cuda device on a machine "
                     "without one) printed; 2 when it does not, or where its Dagster instance (DAGSTER_HOME, or the "
                     "project's .dagster) or build_dir cannot be used (a DAGSTER_HOME that is relative or no folder, "
                     "or either one another project's), as a build would refuse them; 130 when stopped (Ctrl-C, or "
                     "SIGTERM from a cancelled CI job).")
def validate(spec: SpecOption = DEFAULT_SPEC) -> None:
    """Check the spec; every problem is printed with its file, line and key."""
    with _stopped_in_one_line("validate"):
        _validate(spec)


def _validate(spec: Path) -> None:
    """``validate``'s checks, each said as a warning where a build would meet it (a missing root, a cuda device)."""
    loaded = _load(spec, as_build=True)  # a CI job's validate step passed where its build then exited 2
    _log_to_stderr(_NoScanSkips())
    problems = loaded.warnings()
    for source in loaded.sources.values():
        scanned: list[str] = []
        partitions = scan_for_build(loaded, source, rows_by_key(loaded.build_dir), scanned)  # as a build: no root
        if passed_over := passed_over_by_default(loaded, source):
            scanned = [*(said for said in scanned if said != nothing_found(source)), passed_over]
        problems += scanned + _failing_ahead(source, partitions)
    from pipeline.devices import spec_device_problem

    if device := spec_device_problem(loaded):  # a spec's cuda on a machine without one: fine for its GPU box
        problems.append(f"{device}; build here exits 2 unless given --device cpu")
    for problem in problems:
        console.print(f"[yellow]warning[/yellow] {escape(problem)}", highlight=False, soft_wrap=True)
    out.print(
        f"{escape(str(loaded.path))}: ok ({counted(len(loaded.sources), 'source')}, "
        f"{counted(len(loaded.models), 'model')}, {counted(len(loaded.assets), 'asset')})",
        highlight=False, soft_wrap=True,
    )


def _failing_ahead(source: Source, partitions: dict[str, dict[str, Path]]) -> list[str]:
    """What each build fails of ``source``'s ``partitions``, found by a build's own checks, said ahead: empty files,
    files whose extension is no image format (a glob wider than meant), pair folders short of a photo (a guide not
    shot yet), and pair folders whose flash and guide globs take one photo for both (globs that overlap, or a guide
    that is a link to the flash)."""
    said = [empty] if (empty := empty_inputs(source, partitions)) else []
    if others := unreadable_by_name(source, partitions):
        files = "a file" if len(others) == 1 else f"{len(others)} files"
        said.append(f"{source.called()}: takes {files} whose extension is no image format ({some(others, _NAMED)}); each "
                    "build fails them: narrow the glob, or exclude them")
    said += _pairs_failing(source, {key: why for key, roles in partitions.items()
                                    if (why := missing_photo(source, key, roles))})
    said += _pairs_failing(source, {key: f"pair {key}: {why}" for key, roles in partitions.items()
                                    if (why := one_photo_for_both(source, roles))})
    return said


def _pairs_failing(source: Source, failing: dict[str, str]) -> list[str]:
    """The line saying why each build fails the pair folders of ``failing`` (folder -> why): the first one's why in
    full, the others named after it, since one check fails them all for one reason, which a CI log needs said once."""
    if not failing:
        return []
    first, *others = failing
    also = f" (and {counted(len(others), 'more pair folder')}: {some(others, _NAMED)})" if others else ""
    return [f"{source.called()}: {failing[first]}; each build fails it{also}"]


@app.command(epilog="Exit status: 0 when the page is written; 1 where there is no build yet (run remaster build "
                     "first) or its manifest cannot be read, or the page or its previews cannot be written (a "
                     "read-only or full disk); 2 for a bad spec, or a DAGSTER_HOME or build_dir it cannot use (as a "
                     "build would refuse it); 130 when stopped (Ctrl-C, or SIGTERM from a cancelled CI job).")
def report(
    spec: SpecOption = DEFAULT_SPEC,
    page: Annotated[str | None, typer.Option("--out", "-o", help="Where the page goes (default: "
                                              "<build_dir>/report.html; a folder: report.html in it); its previews "
                                              "go beside it: <build_dir>/.report, or <page>_files/ elsewhere.")]
    = None,
) -> None:
    """Write an HTML page to review the last build: each partition's input beside its outputs, their figures, links."""
    _report(spec, page)


def _report(spec: Path, page: str | None) -> None:
    """``report``'s page, written where ``--out`` says (``page``), and one line saying where and how many previews
    it made."""
    from pipeline.report import NoBuild, page_at, write_report

    with _stopped_in_one_line("report"):
        loaded = _load(spec)
        _log_to_stderr()
        try:
            written = _with_progress(write_report, loaded, None if page is None else page_at(page))
        except NoBuild as exc:
            _fail([str(exc)], 1)
        except OSError as exc:
            _fail_on_files(exc, loaded)
    out.print(escape(f"report: {written.page} ({counted(written.partitions, 'partition')}; previews: "
                     f"{written.made} made, {written.kept} kept)"), highlight=False, soft_wrap=True)


def _seconds(given: str) -> float:
    """``--timeout``'s value: click's own bound refused ``nan`` as "should be greater than or equal to 0", which says
    nothing of what to give."""
    try:
        seconds = float(given)
    except ValueError:
        seconds = math.nan
    if not seconds >= 0:  # nan too
        raise typer.BadParameter(f"{given!r} is no timeout: give a number of seconds, 0 or more (--timeout 600 waits "
                                 "ten minutes at most)")
    return seconds


@cache_app.command("gc", epilog="Exit status: 0 when collected; 1 when it refuses: a build or another gc is using "
                                 "the cache (run it again once they finish, or give --wait; given --timeout too, "
                                 "still is once --wait has waited that long), a project built on the "
                                 "cache has no manifest (a deleted clone: --forget-missing), or a folder of the store "
                                 "is a link; 2 for a bad spec, a DAGSTER_HOME or build_dir it cannot use, or --timeout "
                                 "without --wait; 130 when stopped (Ctrl-C, or SIGTERM from a cancelled CI job).")
def cache_gc(
    spec: SpecOption = DEFAULT_SPEC,
    forget_missing: Annotated[
        bool, typer.Option("--forget-missing", help="Also drop what projects whose manifest is missing used (a deleted "
                           "build folder or project, an unmounted share, a fresh clone not built yet).")
    ] = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="Where builds (or another gc) are using the cache, wait for them to finish, "
                           "saying so, rather than refuse (a nightly job on a cache the commit jobs build on).")
    ] = False,
    timeout: Annotated[
        float | None, typer.Option("--timeout", parser=_seconds, metavar="SECONDS", help="With --wait: wait this long at most, "
                                   "then refuse as without --wait, saying how long it waited (a nightly job that "
                                   "must end before the next one starts).")
    ] = None,
) -> None:
    """Remove cache entries and objects that no current output of any project on this cache references."""
    from rich.filesize import decimal

    from pipeline.cache import StoreBusy, UnseenProjects

    if timeout is not None and not wait:  # without --wait gc waits for nothing: the limit would be silently moot
        _fail([f"--timeout {timeout:g} limits how long --wait waits, and --wait is not given: give both (remaster "
               "cache gc --wait --timeout SECONDS), or neither to refuse at once while a build uses the cache"], 2)
    loaded = None
    try:
        with _sigterm_as_ctrl_c():
            from pipeline.runs import collect_garbage  # Dagster's import, most of a small cache's gc

            loaded = _load(spec)
            _log_to_stderr()  # a source with no files, whose hashes gc keeps; Python's own handler printed it raw
            collected = collect_garbage(loaded, forget_missing=forget_missing, wait=wait, timeout=timeout)
    except UnseenProjects as exc:  # the hashes are only a memo (a build reads a file it has none for): trimmed anyway
        console.print(f"[red]error[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        out.print(f"forgot the hashes of {_gone(exc.hashes)} all the same", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except StoreBusy as exc:
        _fail([str(exc)], 1)
    except OSError as exc:
        _fail_on_files(exc, loaded)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM, importing, waiting (--wait) or collecting: gc removes whole entries
        console.print("[red]interrupted[/red] cache gc (every cache entry is whole); run it again to collect the rest",
                      highlight=False, soft_wrap=True)
        raise typer.Exit(130) from None
    out.print(f"removed {counted(collected.entries, 'entry', 'entries')}, freed {decimal(collected.freed)}; "
              f"forgot the hashes of {_gone(collected.hashes)}")


def _gone(hashes: int) -> str:
    """``3 files that are gone``: what gc forgot the hashes of."""
    return counted(hashes, "file that is gone", "files that are gone")


@app.command(epilog="Exit status: 0 once stopped by Ctrl-C (or SIGTERM); 1 where Dagster stopped by itself (its log "
                     "above says why), or the build folder or cache could not be written; 2 for a bad spec, a "
                     "DAGSTER_HOME or build_dir it cannot use (as a build would refuse it), a --host or --port it "
                     "cannot listen on, or an instance another remaster ui serves.")
def ui(
    spec: SpecOption = DEFAULT_SPEC,
    port: Annotated[int, typer.Option("--port", "-p", min=1, max=65535, help="The port the UI listens on.")] = 3000,
    host: Annotated[str, typer.Option("--host", "-h", help="The address it listens on (0.0.0.0: every network).")]
    = "127.0.0.1",
) -> None:
    """Serve the Dagster UI on the spec (the webserver and the daemon, as dagster dev runs them) until Ctrl-C.

    Its instance is DAGSTER_HOME where set, else the project's .dagster folder beside the spec, which it makes,
    and which build, status, validate and cache gc then use too."""
    from pipeline.ui import check_no_daemon, check_port, serve, serving, url

    loaded = _load(spec, as_build=True, make_instance=True)
    home = Path(os.environ["DAGSTER_HOME"]).expanduser()  # the artist's, or the project's, which _load made and set
    try:
        with serving(home, url(host, port), loaded):  # held until the UI stops
            check_no_daemon(loaded, home)
            check_port(host, port)
            _record_what_is_built(loaded, home)
            if not serve(loaded, home, host, port, lambda said: out.print(escape(said), highlight=False,
                                                                           soft_wrap=True)):
                _fail(["the Dagster UI stopped by itself: its log above says why"], 1)
    except ValueError as exc:  # AlreadyServed, PortTaken, or settings of the instance Dagster cannot read
        _fail([str(exc)], 2)


def _record_what_is_built(spec: Spec, home: Path) -> None:
    """Before the UI starts: the sources' partitions and what is built, in its instance (``record_what_is_built``),
    said in one line where there was something built to record; the outputs of files that are gone are deleted,
    as a build deletes them, and said so, and so is a source the UI shows no partition of, and why (a missing root,
    a glob that matches nothing): a build says it after its table, and the UI nowhere."""
    from pipeline.runs import instance_at, record_what_is_built

    _log_warnings_once()  # a cache expected and not found, as a build says it
    try:
        with instance_at(spec, home) as instance:
            recorded = _with_progress(record_what_is_built, spec, instance)
    except KeyboardInterrupt:  # as Ctrl-C stops the UI: exit 0
        out.print("stopped before the Dagster UI started (nothing is half-written)", highlight=False)
        raise typer.Exit(0) from None
    except ValueError as exc:
        _fail([str(exc)], 2)
    except OSError as exc:
        _fail_on_files(exc, spec)
    _print_removed(recorded.forgotten)
    _print_held(recorded.held)
    for skipped in recorded.skipped:  # a missing root or a glob that matches nothing: the UI shows no partition
        console.print(f"[yellow]warning[/yellow] {escape(skipped)}", highlight=False, soft_wrap=True)
    if recorded.outputs:
        out.print(f"{counted(recorded.partitions, 'partition')} of {counted(recorded.sources, 'source')}; "
                  f"{counted(recorded.outputs, 'output')} already built, recorded", highlight=False, soft_wrap=True)


@app.command(epilog="Exit status: as remaster build's once it builds; 1 where the demo cannot be written (a read-only "
                     "or full disk); 2 where --dir holds another spec, or is a file.")
def demo(
    folder: Annotated[Path, typer.Option("--dir", help="Where the demo project goes.")] = Path("."),
    build_it: Annotated[bool, typer.Option("--build/--no-build", help="Build it after writing the data.")] = True,
) -> None:
    """Write the demo project's data (and spec, if missing) and build it (on the GPU where there is one)."""
    from pipeline.demo import write_demo

    try:
        spec_file = write_demo(folder)
    except OSError as exc:
        if exc.errno is None:  # write_demo's own refusal: another spec there, a file for the folder
            _fail([str(exc)], 2)
        _fail([_demo_not_written(folder, exc)], 1)
    out.print(f"demo data written; spec: {escape(str(spec_file))}", highlight=False, soft_wrap=True)
    if build_it:  # in the project's instance, so that the remaster ui opened next shows the build's runs
        with _sigterm_as_ctrl_c():
            _build(spec_file, None, False, None, make_instance=True)


def _demo_not_written(folder: Path, exc: OSError) -> str:
    """Why the demo could not be written under ``folder`` (a read-only or full disk, a folder of another
    user's), with the fix, not a traceback."""
    fix = ("free some space" if exc.errno in (errno.ENOSPC, errno.EDQUOT)
           else "give remaster demo a folder this user may write with --dir")
    return f"cannot write the demo project in {folder}: {exc.strerror or exc} ({exc.filename}); {fix}"


@app.command(epilog="Exit status: 0 when the spec is written; 1 where FOLDER holds no file remaster reads, or the spec "
                     "cannot be written (a read-only or full disk); 2 where a spec is there already (--force "
                     "overwrites it, --spec PATH writes elsewhere), FOLDER is no folder, or --spec is a folder or "
                     "below a file.")
def init(
    folder: Annotated[Path, typer.Argument(help="The folder of textures and photo pairs to write a spec for.")]
    = Path("."),
    spec: Annotated[Path | None, typer.Option("--spec", "-s", help="Where to write the spec; its roots are written "
                                              "relative to it.", show_default="FOLDER/assets_spec.yaml")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite a spec that is there.")] = False,
) -> None:
    """Write a starter spec for the textures and photo pairs in FOLDER, which validate takes and build builds."""
    from pipeline.init import NotAFolder, NothingToRead, SpecInTheWay, write_starter_spec

    spec_path = spec if spec is not None else folder / SPEC_FILE
    _log_to_stderr(_NoScanSkips())  # what the scan skips is among the warnings it prints
    try:
        started = write_starter_spec(folder, spec_path, force=force)
    except (SpecInTheWay, NotAFolder) as exc:
        _fail([str(exc)], 2)
    except NothingToRead as exc:
        _fail([str(exc)], 1)
    except SpecError as exc:  # a spec this command got wrong: said, and not written
        _fail([*exc.problems, f"nothing written to {spec_path}: please report this"], 1)
    except OSError as exc:
        _fail([f"cannot write {spec_path}: {exc.strerror or exc}; give --spec a path this user may write"], 1)
    _print_started(started)


def _print_started(started: Started) -> None:
    """What ``init`` found, a line per source, and the commands to run next, on the spec written: its path with
    its line breaks written ``\\n`` (``shown``), and in the commands as a shell reads it."""
    from pipeline.init import shell_word

    out.print(f"wrote {escape(str(started.path))}: {counted(len(started.spec.sources), 'source')}, "
              f"{counted(len(started.spec.assets), 'asset')}", highlight=False, soft_wrap=True)
    for name, found in started.found.items():
        out.print(f"  {name}: {escape(found)}", highlight=False, soft_wrap=True)
    for warning in started.warnings:
        console.print(f"[yellow]warning[/yellow] {escape(warning)}", highlight=False, soft_wrap=True)
    given = "" if started.path == DEFAULT_SPEC else f" --spec {shell_word(str(started.path))}"
    out.print(escape(f"next: remaster validate{given}, remaster status{given}, remaster build{given}, remaster "
                     f"report{given} to review what it made, then remaster ui{given} to watch and rerun builds"),
              highlight=False, soft_wrap=True)


def main() -> None:
    """The ``remaster`` program."""
    global _AS_PROGRAM
    _AS_PROGRAM = True
    for stream in (sys.stdout, sys.stderr):  # a file name a pipe's code page cannot spell (Windows: cp1252) is
        if isinstance(stream, io.TextIOWrapper):  # escaped, not an exit 1 after the build changed files
            stream.reconfigure(errors="backslashreplace")
    app()


if __name__ == "__main__":
    main()
