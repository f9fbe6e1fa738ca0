"""The ops a spec may name, with their versions and parameter schemas.

Loading Dagster definitions reads this table, so it must not import torch:
each op's parameter model lives in a torch-free module (``upscale``'s beside
its numpy implementation) and a torch implementation is imported only when a
build runs it.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import tempfile
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal, Protocol, Self

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator
from pydantic_core import ErrorDetails

from ops.atomic import replace


class ProgressFn(Protocol):
    """Called as ``progress(done, total)`` by long loops; ``note`` carries the loop's latest figures
    (a training run's loss and validation PSNR), shown beside the bar."""

    def __call__(self, done: int, total: int, note: str = "") -> None: ...


def with_note(progress: Callable[..., object] | None) -> ProgressFn | None:
    """``progress`` as an op may call it, with a ``note``: a script's ``progress(done, total)``, as the README writes
    it, is called with those two alone (train_srcae failed with "takes 2 positional arguments but 3 were given" at
    its first step). A callable whose signature Python cannot read (a builtin) is taken to accept the note."""
    if progress is None:
        return None
    try:
        inspect.signature(progress).bind(0, 0, "")
    except TypeError:
        return typing.cast(ProgressFn, lambda done, total, note="": progress(done, total))
    except ValueError:
        pass
    return typing.cast(ProgressFn, progress)


@dataclass(frozen=True)
class Guard:
    """A bound on one metadata figure of an op, checked after every build (a Dagster asset check)."""

    name: str
    metadata_key: str
    limit: float
    direction: Literal["below", "above"]  # the figure must stay below / above ``limit``
    description: str
    blocking: bool = True  # False: a failed check is a warning, not an error
    detail_key: str | None = None  # metadata naming what failed (files), shown with a failed check

    def passes(self, value: float) -> bool:
        return value < self.limit if self.direction == "below" else value > self.limit


def check_choice(name: str, value: object, choices: tuple[object, ...]) -> None:
    """A direct call's argument ``name`` is checked on entry against the choices the op's params take: a typo
    failed deep inside as a bare KeyError, or was taken for another choice without a word."""
    if value not in choices:
        raise ValueError(f"{name} {value!r}: expected one of {', '.join(map(str, choices))}")


def choice_in_any_case(value: object, choices: tuple[str, ...], aliases: Mapping[str, str] | None = None) -> object:
    """``value`` as the choice it names in any case (``LANCZOS``, ``BC7`` as texconv writes it), or as the choice
    its alias (lower case) stands for: a params validator's, before the choices are checked, so that the spec, a
    direct call and the cache key all hold the one spelling. A name of no choice stays as given, so that its error
    quotes what the spec or the caller wrote."""
    if not isinstance(value, str):
        return value
    lowered = value.lower()
    return (aliases or {}).get(lowered, lowered if lowered in choices else value)


SEED_MAX = 2**62  # torch takes 64-bit seeds; a multiply variant adds its index to the seed


class OpParams(BaseModel):
    """Base of every op's parameters: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_boolean_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        """Pydantic reads ``true`` as 1 where a number is expected, so ``scale: true`` built at 1× without a word.
        A field that takes no number (``filter: true``) is left to refuse it with its own choices."""
        annotation = cls.model_fields[info.field_name].annotation if info.field_name else None
        if isinstance(value, bool) and _takes_number(annotation) and not _takes_bool(annotation):
            if info.context and info.context.get("from_python"):
                raise ValueError("expected a number, not a boolean")
            raise ValueError(f"expected a number, but YAML reads {str(value).lower()} as a boolean")
        return value

    @classmethod
    def from_arguments(cls, spelt: Mapping[str, str] | None = None, /, **arguments: Any) -> Self:
        """These params from a direct call's keyword arguments (``super_resolve(image, weights, tile=128)``),
        checked as a spec's are, so that a call takes what the op takes and refuses what it refuses. A value
        refused is a ``ValueError`` that names the argument and its value, as ``check_choice`` does: pydantic's
        own message names the params class, splits a union's alternatives over lines and ends with a link.
        ``spelt`` maps a param to the argument a function takes it as where the two differ
        (``{"normal_strength": "strength"}``), so that the message names what the caller wrote."""
        try:
            return cls.model_validate(arguments, context={"from_python": True})  # no YAML to blame for a bool
        except ValidationError as exc:
            raise ValueError(_refused_arguments(exc.errors(), cls, spelt or {})) from None

    def output_names(self) -> tuple[str, ...] | None:
        """File names of a several-output op, or None for an op writing one image."""
        return None

    def chained_from(self, upstream: OpParams | None) -> Self:
        """These params as an asset chained from one with ``upstream`` params takes them (None: from a source or a
        model): an op that reads all of a material's maps learns their names here. A chain these params cannot
        build is a ``ValueError`` saying which key to change."""
        return self

    def surface_maps(self) -> tuple[str, ...]:
        """Of ``output_names``, the maps of one surface (``albedo``, ``normal``; without ``.png``) that another asset
        may read by name (export_dds's ``maps``); empty where the outputs are no such set (multiply's variants)."""
        return ()

    def variant_maps(self) -> dict[str, tuple[str, ...]]:
        """Each variant's folder with the maps of one surface it holds (``variant_00``: ``albedo``, ``normal``, ...;
        without ``.png``), which another asset may read by name in each (export_dds's ``maps``, once per variant);
        empty where the outputs are no such folders (a material's maps, multiply's variants of a texture)."""
        return {}

    def output_suffix(self) -> str:
        """The file type of a one-image op's output: it writes ``output<suffix>``, placed as ``<stem><suffix>``."""
        return ".png"

    def file_params(self) -> dict[str, Path]:
        """Local files this op reads besides its inputs (weights); their hashes join the cache key."""
        return {}

    def input_roles(self) -> frozenset[str]:
        """The inputs it takes per partition: ``image`` (a texture), or ``flash`` and ``guide`` (a photo pair)."""
        return frozenset({"image"})

    def inputs_hint(self) -> str:
        """How to fix a ``from`` that gives other inputs than ``input_roles`` takes, naming the param that chooses
        them (a method), for ``validate`` to add; empty where no param does."""
        return ""

    def sidecars(self, inputs: Mapping[str, Path]) -> list[Path]:
        """Files beside ``inputs`` that this op reads when they exist (a camera description): whether
        each is there, and its hash when it is, join the cache key."""
        return []

    def checkpoint_in(self, work_dir: Path) -> str | None:
        """What a computation stopped part way (a Ctrl-C, a kill, a failure) left in its ``work_dir`` for the next
        one to go on from, as a phrase ("its checkpoint at step 250 of 3000"); None where it left nothing the next
        one goes on from (a damaged checkpoint is trained over). Read without torch: ``remaster status`` asks it, so
        as not to say that a stopped training starts over, nor that one starting over resumes."""
        return None

    def guards(self) -> tuple[Guard, ...]:
        """Quality bounds the pipeline checks on this op's metadata."""
        return ()

    def name_in_outputs(self, inputs: Mapping[str, Path]) -> str | None:
        """The name this op writes into its outputs for ``inputs`` (a glTF names its material), or None. It
        joins the cache key, so that a renamed or duplicated texture is not given another one's name,
        while one moved to another folder keeps its outputs."""
        return None

    def unnamed_inputs(self, inputs: Mapping[str, Path], read: Callable[[Path], bytes]) -> dict[str, object]:
        """Of ``inputs``, those that hold the partition's name besides what its outputs are made of (a material's
        glTF names the material), each with what else it says, read with ``read``: the keys of ``output_units``
        hold that in place of their hash, so that a renamed material keeps its variants' maps. Empty: none does."""
        return {}

    def output_units(self) -> dict[str, dict[str, object]]:
        """Outputs that do not depend on each other, each with what decides it besides the inputs (variant
        ``i`` of a multiply: its seed, size, method). The pipeline keeps each under its own key, so that
        ``count: 4 -> 8`` computes only the four new variants. Empty: the outputs are made together."""
        return {}

    def units_kept_together(self) -> bool:
        """Whether the op takes its ``output_units`` from the cache only where it holds every one (a material's
        maps, which one fit makes), and else makes them all again: ``status`` then says none is kept."""
        return False

    def neutral_fields(self) -> tuple[str, ...]:
        """Fields that cannot change the outputs as these params stand: how often training logs, a
        setting of a feature that is off, a speed setting."""
        return ()

    def unread_fields(self) -> dict[str, str]:
        """Fields these params never read (another method's settings), each with whose setting it is:
        ``validate`` warns of those the spec gives, which change nothing (``normal_strength`` on a photo fit)."""
        return {}

    def later_neutral_fields(self) -> tuple[str, ...]:
        """Of ``neutral_fields``, those added after outputs were cached with these params: left out of the key
        rather than reset, so that upgrading remaster rebuilds nothing they cannot change (a new setting of
        one method)."""
        return ()

    def added_fields(self) -> tuple[str, ...]:
        """Fields that change the outputs, added after outputs were cached with these params (multiply's ``kind``):
        left out of the key while at their defaults, so that the specs that never set them keep their keys. Not
        neutral: ``status`` names a change of one (``kind normal -> color``), where it said the key had changed."""
        return ()

    def key_params(self) -> dict[str, object]:
        """The params as the cache key holds them: ``for_cache_key``'s, less ``later_neutral_fields`` (only
        those that are neutral too: a field that can change the outputs always stays in the key) and
        ``added_fields`` at their defaults."""
        fields = type(self).model_fields
        at_default = {name for name in self.added_fields() if getattr(self, name) == fields[name].default}
        left_out = set(self.later_neutral_fields()) & set(self.neutral_fields()) | at_default
        return self.for_cache_key().model_dump(mode="json", exclude=left_out)

    def for_cache_key(self) -> Self:
        """These params with every neutral field at its default, so that changing one rebuilds nothing,
        and every file of ``file_params`` named by its role alone: its content's hash is in the key, so a
        weights file renamed, moved or copied rebuilds nothing. Reset rather than dropped: the cache keys
        of specs that never set them stay as they were."""
        fields = type(self).model_fields
        update = {name: fields[name].default for name in self.neutral_fields()}
        return self.model_copy(update={**update, **{role: Path(role) for role in self.file_params()}})


def _refused_arguments(errors: list[ErrorDetails], params: type[BaseModel], spelt: Mapping[str, str]) -> str:
    """One clause per argument pydantic refused (``tile 8: should be greater than or equal to 32``), a union's
    alternatives joined (``wrap 'Auto': should be 'auto' or a valid boolean``); a check of several arguments
    together (overlap against tile) says its own message. A key of an argument that is params of its own
    (train_srcae's ``loss``) is named inside it (``loss.hfen -1``), and one it does not take is called so with
    those it does: ``loss={"msee": 1}`` was ``loss 1: should be Extra inputs are not permitted``."""
    by_argument: dict[str, list[ErrorDetails]] = {}
    for error in errors:
        name = _argument_name(params, error["loc"])
        by_argument.setdefault(spelt.get(name, name), []).append(error)
    clauses = []
    for name, refused in by_argument.items():
        reasons = [_reason(error, params) for error in refused]
        reason = reasons[0] + "".join(" or " + other.removeprefix("should be ") for other in reasons[1:])
        clauses.append(f"{name} {refused[0]['input']!r}: {reason}" if name else reason)
    return "; ".join(clauses)


def _argument_name(params: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    """The argument an error is about, a key inside it where it is params of its own (``loss.hfen``); "" for a
    check of several arguments together."""
    if not loc:
        return ""
    return ".".join(map(str, loc)) if _nested(params, loc) else str(loc[0])


def _reason(error: ErrorDetails, params: type[BaseModel]) -> str:
    nested = _nested(params, error["loc"])
    if error["type"] == "value_error":
        return error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden" and nested is not None:
        return f"not a key of {error['loc'][0]}, which takes {', '.join(nested.model_fields)}"
    return "should be " + error["msg"].removeprefix("Input should be ")


def _nested(params: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The params class of field ``loc[0]`` of ``params`` where that field is params of its own, else None."""
    field = params.model_fields.get(str(loc[0])) if loc else None
    annotation = field.annotation if field is not None else None
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _takes_number(annotation: Any) -> bool:
    """Whether a field of this type may hold a number: ``int``, ``float``, or a union or literal with one (not a
    list of them, which a boolean is refused as by its type)."""
    if annotation in (int, float):
        return True
    if typing.get_origin(annotation) is Literal:
        return any(isinstance(c, (int, float)) and not isinstance(c, bool) for c in typing.get_args(annotation))
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_takes_number(arg) for arg in typing.get_args(annotation))
    return False


def _takes_bool(annotation: Any) -> bool:
    """Whether a field of this type may hold a boolean: ``bool``, ``Any``, or a union or literal with one."""
    if annotation is bool or annotation is Any:
        return True
    if typing.get_origin(annotation) is Literal:
        return any(isinstance(choice, bool) for choice in typing.get_args(annotation))
    return any(_takes_bool(arg) for arg in typing.get_args(annotation))


class Finished(Protocol):
    """``OpContext.finished``: told an output's name once it is written, and what the op measured of it (``run_each``
    gives its variant's figures, named as in the metadata it returns), so that a build killed before the op returns
    keeps the output with its figures, and the row of the build that puts it back lists them."""

    def __call__(self, output: str, figures: Mapping[str, object] | None = None) -> None: ...


@dataclass
class OpContext:
    """What an op needs besides inputs and params; the pipeline fills it in."""

    device: str = "auto"
    progress: ProgressFn | None = None
    model: Path | None = None  # weights file of the model the op uses, if any
    work_dir: Path | None = None  # persistent scratch (training checkpoints), survives a killed build
    reuse: Mapping[str, Path] = field(default_factory=dict)  # output name -> that output, already in out_dir
    reuse_metadata: Mapping[str, object] = field(default_factory=dict)  # what the op returned when it made them
    finished: Finished | None = None  # told each output's name once it is written, to keep it at once
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("ops"))


class MapRun(Protocol):
    """A per-partition op: reads ``inputs``, writes its outputs into ``out_dir``.

    ``inputs`` maps a role to a file: ``{"image": ...}`` for a texture (or the
    output of a one-image upstream asset), ``{"flash": ..., "guide": ...}`` for
    a photo pair. An op given roles it cannot use raises ``ValueError``.

    A one-image op writes ``out_dir / single_output(params)``; a several-output op writes
    exactly ``params.output_names()``. The returned mapping is metadata
    (numbers or short strings) shown in the UI and kept with the cache entry.
    Outputs named in ``ctx.reuse`` (see ``OpParams.output_units``) are already
    in ``out_dir``, made by an earlier build: the op keeps them as they are.
    Where they are made only all together (``OpParams.units_kept_together``),
    ``ctx.reuse_metadata`` is the metadata that build returned, where the
    cache kept it: an op that makes none of them returns its figures again.
    """

    def __call__(
        self, inputs: Mapping[str, Path], out_dir: Path, params: Any, ctx: OpContext
    ) -> Mapping[str, float | int | str]: ...


class ModelRun(Protocol):
    """A training op: reads all ``inputs`` of its source, writes weights to ``out_path``."""

    def __call__(
        self, inputs: list[Path], out_path: Path, params: Any, ctx: OpContext
    ) -> Mapping[str, float | int | str]: ...


SINGLE_OUTPUT = "output.png"


def single_output(params: OpParams) -> str:
    """What a one-image op with ``params`` names its output: ``SINGLE_OUTPUT`` unless it writes no PNG."""
    return f"output{params.output_suffix()}"


def output_for(params: OpParams, image: str) -> str:
    """What an op with ``params`` names its output for ``image``, one of several images it is applied to each of:
    the image with the op's suffix, in its variant's folder where it has one (multiply's ``variant_00.png`` to
    ``variant_00.dds``, a material variant's ``variant_00/albedo.png`` to ``variant_00/albedo.dds``)."""
    return str(PurePosixPath(image).with_suffix(params.output_suffix()))


def each_role(image: str) -> str:
    """The input role an op applied to each of several images takes ``image`` under: ``image`` for one of
    multiply's variants (``variant_00.png``); for a map in a variant's folder (``variant_00/albedo.png``), its file
    name, as the op reads that map of a material by name (export_dds's ``maps``)."""
    path = PurePosixPath(image)
    return path.name if len(path.parts) > 1 else "image"


def _variants(inputs: Mapping[str, Path]) -> dict[str, dict[str, Path]]:
    """``inputs`` by variant (``variant_00``), in order: a variant is one image, or the maps in its folder, which
    the op reads together as it reads a material's."""
    variants: dict[str, dict[str, Path]] = {}
    for image, path in sorted(inputs.items()):
        parts = PurePosixPath(image).parts
        variants.setdefault(parts[0] if len(parts) > 1 else PurePosixPath(image).stem, {})[image] = path
    return variants


def run_each(
    run: MapRun, inputs: Mapping[str, Path], out_dir: Path, params: OpParams, ctx: OpContext
) -> dict[str, float | int | str]:
    """``run`` applied to each variant of ``inputs`` (an image per name, as the asset it is chained from names its
    several: multiply's variants, or the maps of each variant of a material, read by ``each_role``), writing
    ``output_for`` each image into ``out_dir``; those in ``ctx.reuse`` are there already, and a variant whose
    outputs all are is not run. Each output is told to ``ctx.finished`` once written, so that a build killed at
    the next variant does not make it again. Returns each variant's metadata under its stem
    (``variant_00_mip_levels``, ``variant_00_albedo_format``), and ``variants_made``: how many it made."""
    metadata: dict[str, float | int | str] = {}
    made = 0
    for variant, images in _variants(inputs).items():
        todo = {image: output for image in images if (output := output_for(params, image)) not in ctx.reuse}
        if not todo:
            continue
        with tempfile.TemporaryDirectory(dir=out_dir) as work:  # the op writes its outputs there, renamed after
            figures = run({each_role(image): path for image, path in images.items()}, Path(work), params, ctx)
            for image, output in todo.items():
                (Path(out_dir) / output).parent.mkdir(parents=True, exist_ok=True)
                replace(Path(work) / _written_as(params, image), Path(out_dir) / output)
        measured = {f"{variant}_{key}": value for key, value in figures.items()}
        metadata.update(measured)
        made += 1
        if ctx.finished is not None:
            for output in todo.values():
                ctx.finished(output, measured)
    return {**metadata, "variants_made": made}


def _written_as(params: OpParams, image: str) -> str:
    """What the op writes for ``image`` of a variant: its one output, or of a map read by name, ``output_for``
    that map (export_dds's ``albedo.dds``)."""
    role = each_role(image)
    return single_output(params) if role == "image" else output_for(params, role)


def one_image(op: str, inputs: Mapping[str, Path]) -> Path:
    """The texture a one-image op reads; raises ``ValueError`` for other roles (``MapRun``'s contract)."""
    if set(inputs) != {"image"}:
        raise ValueError(f"{op} takes one input role, 'image'; got {', '.join(sorted(inputs)) or 'none'}")
    return Path(inputs["image"])


@dataclass(frozen=True)
class OpDef:
    """An op as a spec names it. Its version joins every cache key; its params and run are imported when
    first used, so that validating a spec does not import torch."""

    name: str
    version: str  # bump whenever the op's output for the same inputs changes
    kind: Literal["map", "model"]
    params: str  # "module:Class", a torch-free OpParams subclass
    run: str  # "module:function", imported lazily

    def params_model(self) -> type[OpParams]:
        return _load(self.params)

    def runner(self) -> MapRun | ModelRun:
        return _load(self.run)


def _load(ref: str) -> Any:
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


OPS: dict[str, OpDef] = {
    op.name: op
    for op in (
        OpDef("upscale", "9", "map", "ops.upscale:UpscaleParams", "ops.upscale:run"),
        OpDef("super_resolve", "12", "map", "ops.superres.params:SuperResolveParams", "ops.superres.infer:run"),
        OpDef("train_srcae", "7", "model", "ops.superres.params:TrainParams", "ops.superres.train:run"),
        OpDef("multiply", "9", "map", "ops.multiply.params:MultiplyParams", "ops.multiply.run:run"),
        OpDef("material", "12", "map", "ops.material.params:MaterialParams", "ops.material.run:run"),
        OpDef("export_dds", "8", "map", "ops.export_dds:ExportDdsParams", "ops.export_dds:run"),
    )
}
