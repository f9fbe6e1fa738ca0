"""``super_resolve``: enlarge one texture with a trained SRCAE or a community model.

Colour is processed as stored (sRGB-encoded) values, the space the model was
trained in; alpha is upscaled on its own and kept; a grey texture stays grey
and a 16-bit one stays 16-bit. ``kind: normal`` maps are read as linear data
and their vectors renormalized to unit length after upscaling.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import cast

import numpy as np
import torch

from ops.alpha import AlphaMeaning, SourceRange, color_to_resample, coverage_of
from ops.device import resolve_device
from ops.image_io import Image, check_image, path_argument, quantize, read_image, refuse_oversized, write_pixels
from ops.normal_map import (
    KIND_ARGUMENT, SPEC_WORDS, KindWords, check_normal_map, renormalize, sampled, warn_if_normal_map,
)
from ops.registry import SINGLE_OUTPUT, OpContext, ProgressFn, one_image
from ops.superres.adapt import Adaptation, adapt
from ops.superres.model import SRCAE
from ops.superres.params import Kind, Precision, SuperResolveParams, WeightsFile
from ops.superres.tiling import TiledUpscale
from ops.superres.weights import Upscaler, load_upscaler
from ops.tensors import to_chw, to_hwc
from ops.threads import cpu_threads
from ops.tileable import Wrap, wrap_axes

_LOG = logging.getLogger("ops")  # where an op logs when no OpContext gives it another


def autocast_dtype(
    params: SuperResolveParams, upscaler: Upscaler, device: torch.device, bit_depth: int = 8
) -> torch.dtype | None:
    """None means plain float32 (always on CPU). ``auto`` takes float16 where the model supports it, else
    bfloat16 where it supports that, else float32 (AuraSR supports neither); for a 16-bit texture float32,
    whose 24 bits hold its levels, where float16 holds 11 and bfloat16 8 (a height map would band)."""
    if device.type != "cuda" or params.precision == "float32" or (params.precision == "auto" and bit_depth == 16):
        return None
    if params.precision == "auto":
        if upscaler.supports_half:
            return torch.float16
        return torch.bfloat16 if upscaler.supports_bfloat16 else None
    return torch.bfloat16 if params.precision == "bfloat16" else torch.float16


def precision_name(dtype: torch.dtype | None) -> str:
    """What ``autocast_dtype`` chose, as metadata says it: float16, bfloat16 or float32."""
    return str(dtype or torch.float32).removeprefix("torch.")


def self_ensemble(forward: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    """``forward`` averaged over the 8 flips and 90° turns of its input, each turned back.

    The geometric self-ensemble of Timofte et al. 2016 ("Seven ways to improve example-based
    single image super resolution"): a model trained with flip/rotation augmentation errs
    differently on each view, so the mean is closer to the truth (bench/bench_superres.py
    measures the gain) at 8 times the compute.
    """

    def averaged(x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, C, H*s, W*s)
        total = None
        for turns in range(4):
            for flip in (False, True):
                view = torch.rot90(x, turns, dims=(2, 3))
                view = view.flip(3) if flip else view
                y = forward(view).float()  # summed in float16, 8 views lost a quarter of an 8-bit level
                y = y.flip(3) if flip else y
                y = torch.rot90(y, -turns, dims=(2, 3))
                total = y if total is None else total + y
        return cast(torch.Tensor, total) / 8  # a sum of the 8 views: the loops above always run

    return averaged


def make_forward(
    upscaler: Upscaler, device: torch.device, dtype: torch.dtype | None, *, ensemble: bool = False
) -> Callable[[torch.Tensor], torch.Tensor]:
    """The model as a no-grad batch function, under autocast when ``dtype`` is given."""
    model = self_ensemble(upscaler.forward) if ensemble else upscaler.forward

    def forward(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode(), torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            if upscaler.channels == 1 and x.shape[1] == 3:  # a grey model: each colour channel on its own
                B, C, H, W = x.shape
                y = model(x.reshape(B * C, 1, H, W))
                return y.reshape(B, C, *y.shape[-2:]).float()
            return model(x).float()

    return forward


Bands = Iterator[tuple[int, np.ndarray]]  # (first row, (rows, W, C) values in [0, 1]), top down


def upscale_planes(
    planes: np.ndarray,
    forward: Callable[[torch.Tensor], torch.Tensor],
    upscaler: Upscaler,
    params: SuperResolveParams,
    wrap: tuple[bool, bool],
    device: torch.device,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Bands, int]:
    """(H, W, C) planes, C = 1 or 3, to (H*s^p, W*s^p, C) after p passes, as bands of rows, and the tiles
    that takes; a single plane runs through the RGB model as grey, and three equal ones (a grey texture
    saved as RGB) come out equal, where the model's channels drift apart by a level or two. Each pass is
    tiled and the last comes a row of tiles at a time, so memory holds the model, the result of the
    pass before (a quarter of the output or less) and a band of the output, never the whole of it."""
    y = to_chw(planes)  # (C, H, W)
    channels = y.shape[0]
    grey = bool((y == y[:1]).all())
    if channels == 1 and upscaler.channels == 3:
        y = y.expand(3, -1, -1)

    def tiled(image: torch.Tensor) -> TiledUpscale:
        return TiledUpscale(image, forward, scale=upscaler.scale, tile=params.tile, overlap=params.overlap, wrap=wrap,
                            multiple=upscaler.multiple, batch=params.batch if device.type == "cuda" else 1,
                            device=device, progress=progress)

    tiles = 0
    for _ in range(params.passes - 1):
        earlier = tiled(y)
        y, tiles = earlier.whole().clamp(0.0, 1.0), tiles + earlier.tiles  # the next pass sees a valid image, as in training
    last = tiled(y)

    def finished() -> Bands:
        for top, band in last.bands():  # (C, rows, W)
            if grey:
                band = band.mean(dim=0, keepdim=True).expand(channels, -1, -1).clamp(0.0, 1.0)
            else:
                band.clamp_(0.0, 1.0)
            yield top, to_hwc(band)

    return finished(), tiles + last.tiles


def _alpha_bands(
    image: Image, upscaler: Upscaler, params: SuperResolveParams, wrap: tuple[bool, bool], device: torch.device,
    dtype: torch.dtype | None, size: tuple[int, int],
) -> tuple[Iterator[np.ndarray | None], int]:
    """The enlarged alpha (rows, W) of each band, or None for each where ``image`` has none, and the tiles it
    takes. The model runs as loaded, never adapted (adaptation learnt the colour), and the result is held
    within the source's local range (NaN stays NaN, for the band's check), as upscale holds it."""
    if image.alpha is None:
        return itertools.repeat(None), 0
    forward = make_forward(upscaler, device, dtype, ensemble=params.self_ensemble)
    plane = image.alpha[..., None].astype(np.float32, copy=False)
    bands, tiles = upscale_planes(plane, forward, upscaler, params, wrap, device)
    source_range = SourceRange(image.alpha, wrap)

    def clipped() -> Iterator[np.ndarray | None]:
        for top, band in bands:
            yield source_range.clip(band[..., 0], top=top, size=size)

    return clipped(), tiles


def _not_a_number(path: Path, weights: Path | None, upscaler: Upscaler, dtype: torch.dtype | None) -> str:
    """Why ``path`` was not enlarged where the model gave NaN or infinity: written, those texels were black or
    white, without a word."""
    if dtype is not None:
        cause = f"at {precision_name(dtype)} its values overflow: set precision: float32"
    else:
        cause = "its weights are damaged (they hold NaN or values too large): train the model again, or fetch the file again"
    return (f"{path}: the model {weights} ({upscaler.name}) gave no value (NaN or infinity) for some texels, which "
            f"would be written black or white; {cause}")


def adapted(
    upscaler: Upscaler, planes: np.ndarray, params: SuperResolveParams, progress: Callable[[int, int], None] | None = None
) -> tuple[Upscaler, Adaptation]:
    """``upscaler`` fine-tuned on the (H, W, C) colour planes it is about to enlarge (``adapt_steps``),
    where that helps."""
    if not isinstance(upscaler.forward, SRCAE):
        raise ValueError(
            f"adapt_steps needs a remaster SRCAE model (trained by train_srcae); this {upscaler.name} model can only "
            f"be used as it is: set adapt_steps: 0"
        )
    image = to_chw(planes).expand(3, -1, -1)  # grey as RGB
    adaptation = adapt(
        upscaler.forward, image, steps=params.adapt_steps, peak_learning_rate=params.adapt_learning_rate, progress=progress
    )
    return replace(upscaler, forward=adaptation.model), adaptation


def super_resolve(
    image: Image,
    weights: str | Path,
    *,
    device: str = "auto",
    wrap: Wrap = "auto",
    kind: Kind = "color",
    alpha: AlphaMeaning = "auto",
    passes: int = 1,
    self_ensemble: bool = False,
    adapt_steps: int = 0,
    adapt_learning_rate: float = 5e-4,
    tile: int = 256,
    overlap: int = 16,
    batch: int = 8,
    precision: Precision = "auto",
    cpu_threads: int = 1,
    progress: ProgressFn | None = None,
    source: str = "the texture",
) -> Image:
    """``image`` enlarged by the model in ``weights`` (a ``train_srcae`` model's ``model.pt``, or a community
    model's file), as the ``super_resolve`` op enlarges a file: from a script or a DCC tool, with no file in
    between. ``image`` holds values as stored, as ``read_image(path, colorspace="linear")`` gives them (a
    picture's bytes divided by 255), as ``upscale`` takes them: the op enlarges colour as the sRGB-encoded values
    its model learnt from. The result holds them too (``write_image(path, result, colorspace="linear")`` writes
    what the op writes), with ``image``'s alpha, bit depth and grey or colour. The other arguments are
    the op's params, with its defaults (see ``SuperResolveParams``); a value they refuse is a ``ValueError``
    naming it, as is ``device`` outside auto, cpu, cuda and cuda:N. ``source`` names the texture in errors.
    The result is whole floats (4 bytes a texel and plane), where the op stores each band as integers."""
    check_image(image, colorspace="linear")
    path = path_argument(weights, "weights is the path of a weights file (the model.pt train_srcae writes, or a "
                         "community model's file)", "a model in memory: ops.superres.weights.save_srcae(path, model) "
                         "writes an SRCAE's")
    params = SuperResolveParams.from_arguments(
        model=WeightsFile(path=path), wrap=wrap, kind=kind, alpha=alpha, passes=passes, self_ensemble=self_ensemble,
        adapt_steps=adapt_steps, adapt_learning_rate=adapt_learning_rate, tile=tile, overlap=overlap, batch=batch,
        precision=precision, cpu_threads=cpu_threads,
    )
    with enlarging(image, params, path, device, source=Path(source), progress=progress,
                   words=KIND_ARGUMENT) as enlarged:
        return enlarged.image()


def run(
    inputs: Mapping[str, Path], out_dir: Path, params: SuperResolveParams, ctx: OpContext
) -> dict[str, float | int | str]:
    """The ``super_resolve`` op: ``inputs["image"]`` enlarged by the model whose weights ``ctx.model`` (the
    pipeline's trained model) or ``params.model`` (``{path: ...}``, a community model) names, written to
    ``out_dir / "output.png"`` at the input's bit depth; returns the manifest's metadata. File to file, tiled
    and a band of rows at a time, so that its float working memory stays bounded for any size."""
    path = one_image("super_resolve", inputs)
    weights = ctx.model or next(iter(params.file_params().values()), None)  # the pipeline's, or model: {path: ...}
    if weights is None:
        raise ValueError(f"super_resolve needs the weights of model {params.model!r}: pass OpContext(model=<weights "
                         f"file>), or give model: {{path: ...}}")
    image = read_image(path, colorspace="linear")
    with enlarging(image, params, Path(weights), ctx.device, source=path, log=ctx.log, progress=ctx.progress) as enlarged:
        pixels = enlarged.pixels()
    write_pixels(Path(out_dir) / SINGLE_OUTPUT, pixels)
    return enlarged.metadata


@dataclass(frozen=True)
class Enlarging:
    """An enlargement under way: its result to come a band of rows at a time, top down, each band an
    :class:`Image` of values as stored (checked for NaN, a normal map's vectors renormalized, alpha held
    within its source's range), and what the manifest says of it."""

    bands: Iterator[tuple[int, Image]]  # (first row, band)
    texture: Image  # the one enlarged
    height: int
    width: int
    metadata: dict[str, float | int | str]

    def pixels(self) -> np.ndarray:
        """The result as the integers a PNG of the source's bit depth stores, each band stored as it comes: a
        float copy of the whole output would cost two to four times them (bench/bench_memory.py)."""
        depth = self.texture.bit_depth
        planes = self.texture.channels + (self.texture.alpha is not None)
        pixels = np.empty((self.height, self.width, planes), np.uint16 if depth == 16 else np.uint8)
        for top, band in self.bands:
            pixels[top : top + band.height] = quantize(band, "linear", depth)
        return pixels

    def image(self) -> Image:
        """The result as floats, whole."""
        color = np.empty((self.height, self.width, self.texture.channels), np.float32)
        alpha = None if self.texture.alpha is None else np.empty((self.height, self.width), np.float32)
        for top, band in self.bands:
            color[top : top + band.height] = band.color
            if alpha is not None:
                alpha[top : top + band.height] = band.alpha
        return Image(color, alpha, self.texture.bit_depth)


@contextlib.contextmanager
def enlarging(
    image: Image, params: SuperResolveParams, weights: Path, device: str, *, source: Path,
    log: logging.Logger = _LOG, progress: ProgressFn | None = None, words: KindWords = SPEC_WORDS,
) -> Iterator[Enlarging]:
    """``image`` (values as stored) being enlarged by the model in ``weights`` as ``params`` say, on ``device``
    (a name: auto, cpu, cuda, cuda:N) with ``params.cpu_threads`` torch threads until the block ends, where its
    bands are taken; ``source`` names it in errors and ``log``, ``words`` its kind as the spec or script gave it.
    The op and ``super_resolve`` both enlarge so: the op stores each band as integers as it comes,
    ``super_resolve`` gathers the floats."""
    resolved = resolve_device(device, log)
    with cpu_threads(params.cpu_threads, resolved):
        yield _enlarging(image, params, weights, resolved, source, log, progress, words)


def _refuse_oversized(image: Image, upscaler: Upscaler, passes: int, source: Path) -> None:
    """Refuse a result larger than engines take, naming the passes where they are what made it so large."""
    scale = upscaler.scale**passes
    fewer = f"fewer passes ({passes} of a {upscaler.scale}x model enlarge {scale}x) or " if passes > 1 else ""
    refuse_oversized(source, image.height * scale, image.width * scale, f"use {fewer}a model of a smaller scale")


def _for_colour(
    upscaler: Upscaler, color: np.ndarray, params: SuperResolveParams, source: Path, log: logging.Logger,
    progress: ProgressFn | None,
) -> tuple[Upscaler, Adaptation | None]:
    """The model the colour is enlarged by: ``upscaler`` adapted to ``color`` where ``adapt_steps`` asks (and
    the log says whether that was kept), and the adaptation; ``upscaler`` as it is, and None, where not."""
    if not params.adapt_steps:
        return upscaler, None
    color_upscaler, adaptation = adapted(upscaler, color, params, progress)
    log.info("%s: adapted model %s (%+.2f dB on a held-out strip)", source.name,
             "kept" if adaptation.kept else "not used", adaptation.check_gain_db)
    return color_upscaler, adaptation


def _enlarging(
    image: Image, params: SuperResolveParams, weights: Path, device: torch.device, source: Path,
    log: logging.Logger, progress: ProgressFn | None, words: KindWords,
) -> Enlarging:
    upscaler = load_upscaler(weights, device)
    scale = upscaler.scale**params.passes
    _refuse_oversized(image, upscaler, params.passes, source)
    normal_map = params.kind == "normal"
    if normal_map:
        check_normal_map(source, image.color, "super_resolve", words)
    else:
        warn_if_normal_map(sampled(image.color), source, "super_resolve",
                           f"as {words.colour}, its vectors are enlarged as colour and not renormalized, "
                           "so it shades wrong along every edge", words.to_normal)
    # float32, as a file is read: a script's Image(pixels / 255) holds float64, which the model's weights refuse
    color = color_to_resample(image.color, image.alpha, params.alpha, normal_map=normal_map).astype(np.float32, copy=False)
    coverage = coverage_of(image.alpha, params.alpha, normal_map=normal_map)
    wrap = wrap_axes(params.wrap, color, coverage, normal_map=normal_map)
    dtype = autocast_dtype(params, upscaler, device, image.bit_depth)
    color_upscaler, adaptation = _for_colour(upscaler, color, params, source, log, progress)
    forward = make_forward(color_upscaler, device, dtype, ensemble=params.self_ensemble)
    color_bands, tiles = upscale_planes(color, forward, upscaler, params, wrap, device, progress)
    height, width = image.height * scale, image.width * scale
    alpha_bands, alpha_tiles = _alpha_bands(image, upscaler, params, wrap, device, dtype, (height, width))
    tiles += alpha_tiles

    def bands() -> Iterator[tuple[int, Image]]:
        for (top, color_band), alpha in zip(color_bands, alpha_bands):  # both cut alike: one layout per shape
            if np.isnan(color_band).any() or (alpha is not None and np.isnan(alpha).any()):
                raise ValueError(_not_a_number(source, weights, upscaler, dtype))
            if normal_map:
                color_band = renormalize(color_band)
            yield top, Image(color_band, alpha, image.bit_depth)
        log.info("%s: %dx with %s, %d tiles, wrap x=%s y=%s", source.name, scale, upscaler.name, tiles, wrap[1], wrap[0])

    return Enlarging(bands(), image, height, width, {
        "width": width,
        "height": height,
        "scale": scale,
        "passes": params.passes,
        "tiles": tiles,
        "device": str(device),
        "precision": precision_name(dtype),
        "wrap_x": int(wrap[1]),
        "wrap_y": int(wrap[0]),
        "model": upscaler.name,
        "self_ensemble": int(params.self_ensemble),
        "adapt_steps": params.adapt_steps,
        "adapted": int(adaptation is not None and adaptation.kept),
        "adapt_check_gain_db": 0.0 if adaptation is None else round(adaptation.check_gain_db, 4),
    })
