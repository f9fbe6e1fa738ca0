"""The ``multiply`` op: read one exemplar, write ``count`` new variants of its material, measure them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import torch

from ops.alpha import AlphaMeaning, color_to_resample, holds_coverage
from ops.device import resolve_device
from ops.export_dds import Kind as MapKind
from ops.export_dds import map_kind
from ops.image_io import Image, check_image, colorspace_of_kind, linear_to_srgb, read_image, srgb_to_linear, write_image
from ops.multiply import gram, metrics
from ops.multiply.color import match_colors
from ops.multiply.features import VGG19, RandomFilters, RandomFiltersConfig
from ops.multiply.in_register import (
    ALBEDO,
    albedo_alpha,
    read_material,
    stacked,
    with_height_of_normals,
    write_variant,
    write_variant_gltf,
)
from ops.multiply.lighting import even_lighting
from ops.multiply.params import MIN_COVERAGE_RATIO, Kind, Method, MultiplyParams
from ops.multiply.patch import MIN_BLOCK, QuiltConfig, default_block, quilt
from ops.normal_map import KIND_ARGUMENT, SPEC_WORDS, check_normal_map, facing_out, sampled, warn_if_normal_map
from ops.registry import OpContext, ProgressFn, one_image
from ops.tensors import to_hwc
from ops.threads import cpu_threads


def exemplar_planes(image: Image, alpha: AlphaMeaning = "auto", *, kind: MapKind = "color") -> np.ndarray:
    """(H, W, C) in [0, 1]: sRGB-encoded colour, where optimisation and matching are perceptual, then alpha. A
    normal map's vectors and a data map's values (a material's roughness) are taken as stored (``image`` read with
    ``colorspace="linear"``), which an sRGB encoding would bend; a normal map's alpha is data unless ``alpha:
    coverage``, as the other ops take it.

    The colour under a cut-out's transparent texels is filled from the visible ones first: whatever it
    was (often a key colour, cyan or magenta) would otherwise be learned and copied into visible texels.
    Worked out in float32, as a file is read: a script's ``Image(pixels / 255)`` holds float64, whose variants
    came out a rounding apart from the op's.
    """
    coverage = None if image.alpha is None else image.alpha.astype(np.float32, copy=False)
    color = color_to_resample(image.color.astype(np.float32, copy=False), coverage, alpha, normal_map=kind == "normal")
    planes = [linear_to_srgb(color) if kind == "color" else color]
    if coverage is not None:
        planes.append(coverage[..., None])
    return np.concatenate(planes, axis=2).astype(np.float32, copy=False)


def to_image(planes: np.ndarray, like: Image, alpha: AlphaMeaning = "auto", *, kind: MapKind = "color") -> Image:
    """Inverse of :func:`exemplar_planes`, with ``like``'s bit depth. Under a coverage alpha, texels that
    would be written fully transparent take the colour of the visible ones around them, as the ops
    that enlarge write them, so that an engine's mipmaps and filtering show no fringe. A normal map's
    vectors are made unit length and facing out: ``gram`` optimises them as values, and even ``patch``'s
    copied texels are only as unit as the exemplar's."""
    color = planes[..., : like.channels]
    color = srgb_to_linear(color) if kind == "color" else facing_out(color) if kind == "normal" else color
    if like.alpha is None:
        return Image(color=color, bit_depth=like.bit_depth)
    written = planes[..., like.channels]
    written = np.where(written < 0.5 / (2**like.bit_depth - 1), 0.0, written).astype(np.float32)  # as quantized
    return Image(color=color_to_resample(color, written, alpha, normal_map=kind == "normal"), alpha=written,
                 bit_depth=like.bit_depth)


def _check_size(path: Path, image: Image, params: MultiplyParams, *, from_python: bool) -> int | None:
    """Block side for ``patch`` (None for ``gram``); raises naming the file when the exemplar is too small, with
    the fixes as ``multiply``'s arguments where ``from_python``, else as the spec's keys."""
    side = min(image.height, image.width)
    if params.method == "gram":
        if side < gram.MIN_EXEMPLAR_SIDE:
            raise ValueError(
                f"{path} is {image.width}x{image.height}; method gram needs at least {gram.MIN_EXEMPLAR_SIDE}x"
                f"{gram.MIN_EXEMPLAR_SIDE} px to learn the texture from ({_what_fits(side, 'gram', from_python)})"
            )
        return None
    block = _patch_block(image, params)
    if side <= block + 1:
        fits = _what_fits(side, "patch", from_python, of_material=bool(params.material_maps))
        raise ValueError(
            f"{path} is {image.width}x{image.height}; method patch with {block} px blocks needs an exemplar "
            f"larger than {block + 1}x{block + 1} px ({fits})"
        )
    return block


def _patch_block(image: Image, params: MultiplyParams) -> int:
    """The block side ``patch`` quilts ``image`` with: ``patch_size``, or its default for the exemplar's size."""
    return params.patch_size or default_block(image.height, image.width)


# What fixes a material too small for patch's blocks: gram, the fix of a texture, cannot keep its maps in register.
_LARGER_MATERIAL = ("make the material from a larger texture or larger photos (method from_texture may be chained "
                    "from an upscale of the texture)")


def _few_blocks(path: Path, image: Image, params: MultiplyParams) -> str:
    """Why ``patch``'s variants of an exemplar under four blocks wide fail not_a_copy or variants_differ, and what
    fixes it, said after the variants the failed check names, where a new user's first build of legacy textures
    gave only a figure. Those failures are true: a 16 px block is two thirds of a 24 px exemplar, and with so few
    places to take one from, the variants of a structured texture come out as its rows repeated or shifts of each
    other (four of ten textures downscaled to 24 px, each with two variants within 0.004 of each other; three at
    32 px). Smaller blocks (patch_size: 12) or the texture enlarged to 64 px first still made copies of flat9;
    ``gram`` made none of three of them at 16 and 32 px. The default block is a quarter of the exemplar from
    64 px, where a failure is not for its size (a periodic texture's variants are shifted copies at any size)."""
    side = min(image.height, image.width)
    block = _patch_block(image, params)
    if params.method != "patch" or side >= 4 * block:
        return ""
    if params.material_maps:
        fix = f"{_LARGER_MATERIAL.capitalize()}: method gram cannot keep a material's maps in register"
    else:
        fix = f"Use method: gram, which makes variants of a texture from {gram.MIN_EXEMPLAR_SIDE} px"
    return (f" ({path.name} is {image.width}x{image.height} px, and method patch's {block} px blocks are "
            f"{block / side:.0%} of its side: with so few places to take them from, its variants repeat it. {fix})")


def _few_blocks_a_variant(params: MultiplyParams, block: int) -> str:
    """Why ``patch``'s variants under two blocks a side fail not_a_copy, and what fixes it: most of such a variant is
    its first block, copied whole from the exemplar, which the guard rightly calls a copy. 96 px variants of the
    256 px synthetic stone scan, with its default 64 px blocks and tileable: false, correlated 1.0 with it, where
    the failed check said only to fix what it named; with patch_size 32 (a third of the side), 0.91, and 128 px
    variants 0.87."""
    if params.method != "patch" or params.size >= 2 * block:
        return ""
    return (f" (a {params.size} px variant is under two of method patch's {block} px blocks a side: most of it is one "
            f"block copied from the exemplar. Set patch_size: {params.size // 3} or less, or size: {2 * block} or more)")


def _explained(figures: dict[str, float | str], why: str) -> dict[str, float | str]:
    """``figures`` with ``why`` after each failed copying guard's variants (``copied``, ``alike``)."""
    return {key: f"{value}{why}" if key in ("copied", "alike") and value else value for key, value in figures.items()}


def _what_fits(side: int, method: Method, from_python: bool, *, of_material: bool = False) -> str:
    """The fixes for an exemplar whose shorter side is ``side`` that ``method`` refused, of those that work at
    that size: a 1 px strip enlarged to 2 was told to set ``patch_size`` smaller (8 px is the least) or use
    gram (16 px at least), neither of which can build it. Said as a spec's keys to a build, and as ``multiply``'s
    arguments to a script (``from_python``), which has no spec: it was told to use the source's ``exclude``. A
    material's albedo (``of_material``) was told to use gram, which its spec then refuses."""
    def setting(key: str, value: object) -> str:
        return f"{key}={value!r}" if from_python else f"{key}: {value}"

    largest = side - 2  # a block leaves the exemplar a pixel either side, so that blocks can shift
    ways = []
    if largest >= MIN_BLOCK:
        ways.append(f"set {setting('patch_size', largest)} or less" if method == "patch"
                    else f"use {setting('method', 'patch')} with {setting('patch_size', largest)} or less")
    if method == "patch" and side >= gram.MIN_EXEMPLAR_SIDE and not of_material:
        ways.append(f"use {setting('method', 'gram')}")
    if ways:
        return " or ".join(ways)
    if of_material:
        return f"too small for method patch: {_LARGER_MATERIAL}"
    if from_python:
        return ("too small for either method: enlarge it first (ops.upscale.upscale), or leave it out of the "
                "textures you multiply")
    return "too small for either method: enlarge it first, or leave it out of the variants with the source's exclude"


def _coverage_figures(
    variants: list[np.ndarray], exemplar: np.ndarray, names: tuple[str, ...], *, coverage: bool
) -> dict[str, float | str]:
    """``min_coverage_ratio``, and in ``coverage_lost`` the variants under ``MIN_COVERAGE_RATIO`` with the share
    of texels each shows, so that a failed check names the files to look at. An exemplar with no ``coverage``
    (no alpha, or alpha that is data) or nothing visible has nothing to lose: 1.0. Without the figure, the UI
    showed its keeps_coverage check as "made before this check existed; build --force measures it", which
    no build ever did."""
    ratios = metrics.coverage_ratios(variants, exemplar) if coverage else None
    if ratios is None:
        return {"min_coverage_ratio": 1.0, "coverage_lost": ""}
    shown = metrics.visible_share(exemplar)
    lost = [f"{name} shows {ratio * shown:.0%} of its texels, the exemplar {shown:.0%}"
            for name, ratio in zip(names, ratios) if ratio <= MIN_COVERAGE_RATIO]
    return {"min_coverage_ratio": min(ratios), "coverage_lost": "; ".join(lost)}


def feature_parts(params: MultiplyParams, channels: int, color_planes: int, device: torch.device) -> list[gram.FeaturePart]:
    """The networks whose statistics ``gram`` matches, built once and shared by all variants."""
    random_filters = gram.FeaturePart(RandomFilters(RandomFiltersConfig(channels=channels)).to(device), slice(None))
    if params.vgg_weights is None:
        return [random_filters]
    vgg = gram.FeaturePart(VGG19.from_file(params.vgg_weights).to(device), slice(0, color_planes))
    # VGG sees colour only; alpha, when there is one, is learned with the colour by the random filters.
    return [vgg, random_filters] if channels > color_planes else [vgg]


def _flattened(exemplar: np.ndarray, params: MultiplyParams, colour: slice) -> np.ndarray:
    """``exemplar`` as it is made into variants: with its ``colour`` planes' uneven lighting divided out under
    ``flatten``, so that ``patch``'s blocks do not each carry their piece of a photo's hotspot or falloff, nor
    ``gram``'s variants bright and dark blotches, which it learns from the light as part of the texture."""
    if not params.flatten:
        return exemplar
    return even_lighting(exemplar, colour)


def synthesize(
    exemplar: np.ndarray,
    params: MultiplyParams,
    index: int,
    *,
    block: int | None,
    device: torch.device,
    parts: list[gram.FeaturePart],
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Variant ``index`` of ``exemplar`` (H, W, C) in [0, 1], seeded with ``params.seed + index``."""
    seed = params.seed + index
    if params.method == "patch":
        config = QuiltConfig(block=block or default_block(*exemplar.shape[:2]), tileable=params.tileable)
        return quilt(exemplar, params.size, config, np.random.default_rng(seed), progress)
    source = torch.from_numpy(exemplar).permute(2, 0, 1).to(device)  # (C, H, W)
    result = gram.synthesize(source, params.size, parts, tileable=params.tileable, seed=seed, steps=params.steps,
                             progress=progress, normal_map=params.kind == "normal")
    return match_colors(to_hwc(result), exemplar)


def variants(
    image: Image,
    params: MultiplyParams,
    indices: Sequence[int],
    device: torch.device,
    *,
    source: Path,
    progress: ProgressFn | None = None,
    from_python: bool = False,
) -> Iterator[Image]:
    """Variants ``indices`` of ``image`` (colour in linear light, a ``kind: normal`` map as stored), each as it is
    made, with ``image``'s bit depth and alpha: the op writes each at once, so that a build killed at the next keeps
    it, and ``multiply`` keeps them all. The exemplar is checked, and the networks ``gram`` matches built, before
    the first is made; ``source`` names the texture in errors, and ``from_python`` says a too-small exemplar's fixes
    and a normal map's kind as ``multiply``'s arguments rather than as the spec's keys."""
    words = KIND_ARGUMENT if from_python else SPEC_WORDS
    if params.kind == "normal":
        check_normal_map(source, image.color, "multiply", words)
    block = _check_size(source, image, params, from_python=from_python)
    exemplar = _flattened(exemplar_planes(image, params.alpha, kind=params.kind), params, slice(0, image.channels))
    if params.method == "gram" and params.kind == "color" and indices:
        warn_if_normal_map(sampled(exemplar[..., : image.channels]), source, "multiply's method gram",
                           f"as {words.colour}, it matches the map's colours, not its vectors, and a fifth of a "
                           "variant's texels came out more than 5% off unit length", words.to_normal)
    parts = feature_parts(params, exemplar.shape[2], image.channels, device) if params.method == "gram" and indices else []
    made = synthesized(exemplar, params, indices, block=block, device=device, parts=parts, source=source,
                       progress=progress)
    return (to_image(planes, image, params.alpha, kind=params.kind) for planes in made)


def synthesized(
    exemplar: np.ndarray,
    params: MultiplyParams,
    indices: Sequence[int],
    *,
    block: int | None,
    device: torch.device,
    parts: list[gram.FeaturePart],
    source: Path,
    progress: ProgressFn | None,
) -> Iterator[np.ndarray]:
    """The planes of variants ``indices`` of ``exemplar``, each as it is made, with the progress of all of them
    together; a quilt's refusal names ``source`` and the key to change."""
    for done, index in enumerate(indices):

        def report(step: int, total: int, done: int = done) -> None:
            if progress is not None:
                progress(done * total + step, len(indices) * total)

        try:
            with cpu_threads(params.cpu_threads, device):
                planes = synthesize(exemplar, params, index, block=block, device=device, parts=parts, progress=report)
        except ValueError as exc:  # the quilt's block/size rules: say which texture, and which key to change
            raise ValueError(f"{source}: {exc} (patch_size, {block} px here)") from exc
        yield planes


def multiply(
    image: Image,
    *,
    count: int = 4,
    size: int = 512,
    tileable: bool = True,
    method: Method = "gram",
    seed: int = 0,
    steps: int = 100,
    patch_size: int | None = None,
    flatten: bool = False,
    vgg_weights: str | Path | None = None,
    alpha: AlphaMeaning = "auto",
    cpu_threads: int = 1,
    kind: Kind = "color",
    device: str = "auto",
    progress: ProgressFn | None = None,
    source: str = "the texture",
) -> list[Image]:
    """``count`` new textures of ``image``'s material, ``size`` px square, as the ``multiply`` op makes them from a
    file: from a script or a DCC tool, with no file in between. ``image`` holds colour in linear light, as
    ``read_image`` gives it (its default), and so do the variants, with its alpha and bit depth
    (``write_image(path, variant)`` writes what the op writes); a ``kind="normal"`` map is taken and given as
    stored (``colorspace="linear"``, as the op reads and writes it); variant ``i`` is seeded with ``seed + i``, as the
    op's ``variant_0i.png``. The other arguments are the op's params, with its defaults (see ``MultiplyParams``);
    a value they refuse is a ``ValueError`` naming it, as is an exemplar too small for ``method`` and
    ``device`` outside auto, cpu, cuda and cuda:N. ``source`` names the texture in errors. The op's guards
    (copying, seams, coverage) are ``ops.multiply.metrics.measure`` over ``exemplar_planes`` of each."""
    check_image(image, colorspace=colorspace_of_kind(kind))
    params = MultiplyParams.from_arguments(
        count=count, size=size, tileable=tileable, method=method, seed=seed, steps=steps, patch_size=patch_size,
        flatten=flatten, vgg_weights=vgg_weights, alpha=alpha, cpu_threads=cpu_threads, kind=kind,
    )
    made = variants(image, params, range(params.count), resolve_device(device), source=Path(source), progress=progress,
                    from_python=True)
    return list(made)


@dataclass(frozen=True)
class _Measured:
    """What a build's guards measure each variant against, and how: the texture, or a material's albedo."""

    path: Path
    image: Image
    alpha: AlphaMeaning
    kind: MapKind
    names: tuple[str, ...]  # each variant's file of it


def run(inputs: Mapping[str, Path], out_dir: Path, params: MultiplyParams, ctx: OpContext) -> dict[str, float | int | str]:
    """Write ``params.output_names()`` into ``out_dir`` (those in ``ctx.reuse`` are there already); return
    the guard metrics the pipeline checks.

    ``max_ncc`` (copying, against ``params.NCC_BOUND``), ``min_variant_difference``
    (against ``params.MIN_VARIANT_DIFFERENCE``), ``seam_ratio`` when tileable
    (against ``params.SEAM_BOUND``), each with the variants past its bound named (``copied``, ``alike``,
    ``seams``), ``texture_distance`` and ``seconds``. A material's variants are measured by their albedo.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    device = resolve_device(ctx.device, ctx.log)
    units = params.output_units()
    indices = [index for index, files in enumerate(params.variant_files().values())
               if not {name for name in files if name in units} <= set(ctx.reuse)]
    write = _write_material_variants if params.material_maps else _write_variants
    measured = write(inputs, out_dir, params, indices, device, ctx)
    synthesis_seconds = time.perf_counter() - started
    # Measured as written, so a variant kept from an earlier build counts exactly as one made now.
    space, names = colorspace_of_kind(measured.kind), measured.names
    exemplar = exemplar_planes(measured.image, measured.alpha, kind=measured.kind)
    written = [exemplar_planes(read_image(out_dir / name, colorspace=space), measured.alpha, kind=measured.kind)
               for name in names]
    coverage = measured.image.alpha is not None and holds_coverage(measured.alpha, normal_map=measured.kind == "normal")

    result: dict[str, float | int | str] = {
        "method": params.method,
        "count": params.count,
        "size": params.size,
        **_explained(metrics.measure(written, exemplar, tileable=params.tileable, names=names),
                     _few_blocks(measured.path, measured.image, params)
                     or _few_blocks_a_variant(params, _patch_block(measured.image, params))),
        "seconds_per_variant": synthesis_seconds / len(indices) if indices else 0.0,
        "variants_made": len(indices),
        "device": str(device) if params.method == "gram" else "cpu",  # patch quilting is numpy's
        **_coverage_figures(written, exemplar, names, coverage=coverage),
    }
    result["seconds"] = time.perf_counter() - started
    return result


def _write_variants(
    inputs: Mapping[str, Path], out_dir: Path, params: MultiplyParams, indices: Sequence[int], device: torch.device,
    ctx: OpContext,
) -> _Measured:
    """Variants ``indices`` of the one texture of ``inputs``, each written as it is made."""
    path, space, names = one_image("multiply", inputs), colorspace_of_kind(params.kind), params.output_names()
    image = read_image(path, colorspace=space)
    made = variants(image, params, indices, device, source=path, progress=ctx.progress)
    ctx.log.info("multiply %s: %d of %d x %d px %s variants to make on %s", path.name, len(indices), params.count,
                 params.size, params.method, device)
    for index, variant in zip(indices, made):
        write_image(out_dir / names[index], variant, colorspace=space)
        if ctx.finished is not None:  # kept now: a build killed at the next variant does not make this one again
            ctx.finished(names[index])
    return _Measured(path, image, params.alpha, params.kind, names)


def _write_material_variants(
    inputs: Mapping[str, Path], out_dir: Path, params: MultiplyParams, indices: Sequence[int], device: torch.device,
    ctx: OpContext,
) -> _Measured:
    """Variants ``indices`` of the material of ``inputs`` (its maps and glTF), each a folder of maps quilted in
    register and a glTF, written as it is made. Only ``patch`` makes them (the spec refuses ``gram``)."""
    maps = read_material(inputs)
    path, albedo = Path(inputs[ALBEDO]), maps.images[ALBEDO]
    alpha = albedo_alpha(params.alpha, maps)
    block = _check_size(path, albedo, params, from_python=False)
    kinds: dict[str, MapKind] = {name: map_kind(PurePosixPath(name).stem) for name in maps.images}
    meanings: dict[str, AlphaMeaning] = {name: alpha if name == ALBEDO else "data" for name in maps.images}
    exemplar, where = stacked({name: exemplar_planes(image, meanings[name], kind=kinds[name])
                               for name, image in maps.images.items()})
    exemplar = _flattened(exemplar, params, slice(where[ALBEDO].start, where[ALBEDO].start + albedo.channels))
    ctx.log.info("multiply %s: %d of %d x %d px material variants to make, %d maps each", path.parent.name,
                 len(indices), params.count, params.size, len(maps.images))
    stems = list(params.variant_files())
    made = synthesized(exemplar, params, indices, block=block, device=device, parts=[], source=path,
                       progress=ctx.progress)
    for index, planes in zip(indices, made):
        quilted = {name: to_image(planes[..., where[name]], image, meanings[name], kind=kinds[name])
                   for name, image in maps.images.items()}
        images = with_height_of_normals(quilted, maps)
        for name in write_variant(out_dir / stems[index], maps, images, tileable=params.tileable):
            if ctx.finished is not None:
                ctx.finished(f"{stems[index]}/{name}")
    for stem in (stem for index, stem in enumerate(stems) if index not in indices):  # its maps kept, its name new
        write_variant_gltf(out_dir / stem, maps, tileable=params.tileable)
    return _Measured(path, albedo, alpha, "color", tuple(f"{stem}/{ALBEDO}" for stem in stems))
