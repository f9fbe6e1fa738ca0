"""Training data: high-res textures, a held-out split, and random augmented patches."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ops.alpha import AlphaMeaning, bleed, coverage_of
from ops.image_io import ImageReadError, read_image
from ops.tensors import to_chw

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Split:
    """Training and held-out images, each (C, H, W) float32 in [0, 1], as ``load_image`` gives them."""

    train: list[torch.Tensor]
    held_out: list[torch.Tensor]
    held_out_names: list[str]
    train_names: list[str]
    unreadable: list[str] = field(default_factory=list)  # files left out with the reason, as messages


def held_out(paths: Sequence[Path], fraction: float) -> list[bool]:
    """Which of ``paths`` to hold out: the ``fraction`` of them, rounded to whole files, whose names draw
    lowest. Deterministic by folder and file name (not content, order or root), so material sets whose
    files share a name (``stone/albedo.png``, ``wood/albedo.png``) still split per material; a count,
    not a coin per file, which held out 3 of 5 files at 0.2."""
    count = int(fraction * len(paths) + 0.5)
    chosen = set(sorted(range(len(paths)), key=lambda i: _name_draw(paths[i]))[:count])
    return [i in chosen for i in range(len(paths))]


def _name_draw(path: Path) -> float:
    digest = hashlib.sha1(f"{path.parent.name}/{path.name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def load_image(path: Path, alpha: AlphaMeaning = "auto") -> torch.Tensor:
    """A texture as (C, H, W) stored values, grey repeated: C = 3, or 4 where its alpha is coverage and not
    opaque everywhere. Then the colour is bled under transparent texels, as ``super_resolve`` bleeds it
    before enlarging, and the fourth plane is the alpha, by which training and the figures count each texel:
    the colour a paint program left under alpha 0 (black, white, garbage) is no part of the texture, and
    the model must neither learn it nor the hard edge around it. Alpha that is data, or opaque, is dropped."""
    image = read_image(path, colorspace="linear")
    coverage = coverage_of(image.alpha, alpha)
    if coverage is None or coverage.min() == 1.0:
        return to_chw(image.rgb())
    return to_chw(np.concatenate([bleed(image.rgb(), coverage), coverage[..., None]], axis=2))


def visible_texels(image: torch.Tensor) -> float:
    """How many texels of (C, H, W) ``image`` are seen: its area, or with coverage (C = 4), its alpha's sum."""
    return float(image[3].double().sum()) if image.shape[0] == 4 else float(image.shape[1] * image.shape[2])


def split(paths: Sequence[Path], fraction: float, min_side: int = 1, alpha: AlphaMeaning = "auto") -> Split:
    """Hold out files by name (``held_out``). With too few files for both sides, hold out each image's right quarter,
    or, where those quarters are narrower than ``min_side`` and there are two files or more, the one file
    whose name draws lowest; so too where every file the draw held out is narrower than ``min_side`` (an
    icon among textures) or transparent everywhere (a blank decal), of the files that are not. A file that
    cannot be read is left out (``_readable``); the split says which."""
    paths, images, unreadable = _readable(paths, alpha)
    held = held_out(paths, fraction)
    one_sided = not (any(held) and not all(held))
    if one_sided:
        cut = [im.shape[2] - im.shape[2] // 4 for im in images]
        if len(paths) == 1 or any(_scorable(im[:, :, c:], min_side) for im, c in zip(images, cut)):
            _log.warning("%d file(s) on one side of the split: holding out the right quarter of every image", len(paths))
            return Split(
                [im[:, :, :c] for im, c in zip(images, cut)],
                [im[:, :, c:] for im, c in zip(images, cut)],
                [f"{p.name} (right quarter)" for p in paths],
                [f"{p.name} (left three quarters)" for p in paths],  # what a warning of a transparent one names
                unreadable=unreadable,
            )
    measurable = [i for i, im in enumerate(images) if _scorable(im, min_side)]
    if one_sided or (measurable and not any(held[i] for i in measurable)):
        # quarters too small to measure, or every file the draw held out (an icon) too small: one file that can be
        lowest = min(measurable or range(len(paths)), key=lambda i: _name_draw(paths[i]))
        held = [i == lowest for i in range(len(paths))]
    return Split(
        [im for im, h in zip(images, held) if not h],
        [im for im, h in zip(images, held) if h],
        [p.name for p, h in zip(paths, held) if h],
        [p.name for p, h in zip(paths, held) if not h],
        unreadable=unreadable,
    )


def _readable(paths: Sequence[Path], alpha: AlphaMeaning) -> tuple[list[Path], list[torch.Tensor], list[str]]:
    """The files of ``paths`` that can be read, in name order, their images, and why the others cannot (a
    half-saved texture must not stop a model that hundreds of others train); refused where none can."""
    if not paths:
        raise ValueError("train_srcae got no input images: check the source's root and glob")
    readable, images, unreadable = [], [], []
    for path in sorted(paths, key=str):
        try:
            images.append(load_image(path, alpha))
        except ImageReadError as exc:
            unreadable.append(str(exc))
        else:
            readable.append(path)
    if not images:
        raise ValueError(f"train_srcae: none of its {len(paths)} input images can be read: {unreadable[0]}")
    return readable, images, unreadable


def _scorable(image: torch.Tensor, min_side: int) -> bool:
    """Whether held out, (C, H, W) ``image`` could be scored: ``min_side`` or more a side, and some texel of it
    visible. A blank decal held out by its name's draw stopped the training ("add larger or more images"),
    where the draw passes over it to another file, as over an icon too small."""
    return min(image.shape[1:]) >= min_side and visible_texels(image) > 0


class PatchSampler:
    """Random (B, C, P, P) patches, with random flips and 90° rotations, drawn from a seeded generator.

    C is 4 where any image carries coverage (``load_image``), the others then fully visible."""

    def __init__(self, images: list[torch.Tensor], patch: int) -> None:
        if not images:
            raise ValueError("no training images left after holding out the validation split")
        self.patch = patch
        if any(im.shape[0] == 4 for im in images):
            images = [im if im.shape[0] == 4 else torch.cat([im, torch.ones_like(im[:1])]) for im in images]
        self.images = [self._at_least(im, patch) for im in images]
        self.visible = [visible_texels(im) for im in self.images]
        visible = torch.tensor(self.visible)
        self.weights = visible / visible.sum()  # images that show more give proportionally more patches

    @staticmethod
    def _at_least(image: torch.Tensor, patch: int) -> torch.Tensor:
        """Repeat an image smaller than a patch (tiny legacy textures usually tile)."""
        reps_y, reps_x = -(-patch // image.shape[1]), -(-patch // image.shape[2])
        return image.repeat(1, reps_y, reps_x) if reps_y > 1 or reps_x > 1 else image

    def sample(self, batch: int, generator: torch.Generator) -> torch.Tensor:
        P = self.patch
        which = torch.multinomial(self.weights, batch, replacement=True, generator=generator)
        draws = torch.rand(batch, 2, generator=generator)
        turns = torch.randint(0, 4, (batch,), generator=generator)
        flips = torch.randint(0, 2, (batch,), generator=generator)
        patches = []
        for b in range(batch):
            image = self.images[int(which[b])]
            _, H, W = image.shape
            y, x = int(draws[b, 0] * (H - P + 1)), int(draws[b, 1] * (W - P + 1))
            patch = image[:, y : y + P, x : x + P]
            if flips[b]:
                patch = patch.flip(2)
            patches.append(torch.rot90(patch, int(turns[b]), dims=(1, 2)))
        return torch.stack(patches)  # (B, C, P, P)
