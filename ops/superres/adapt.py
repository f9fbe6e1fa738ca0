"""Adapt a trained SRCAE to the one texture it is about to enlarge.

A texture repeats its own detail across scales: the input and the input
downscaled once more form training pairs of exactly this material ("internal
learning", Shocher et al. 2018, "Zero-Shot" Super-Resolution). ZSSR trains a
network per image from scratch; here the studio-trained model is fine-tuned
for a few hundred steps instead, so it keeps what it learned from the whole
texture set and only bends towards this one (bench/bench_superres.py measures
the gain on held-out images). Only the low-res input is ever seen.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ops.superres.data import PatchSampler
from ops.superres.degrade import downscale
from ops.superres.metrics import PSNR_CAP, crop_for
from ops.superres.model import SRCAE
from ops.superres.params import LossWeights
from ops.superres.train import learning_rate, reconstruction_loss

_PATCH = 64  # high-res side of a training pair, as in train_srcae
_BATCH = 16
# Low-res pixels each side of the held-out strip needs for its verdict to be trusted: with 8 (a
# 128-pixel input at 4x) the strip approved fine-tuning that then cost gravel 0.36 dB (bench at 4x).
_MIN_CHECK_SIDE = 16


@dataclass(frozen=True)
class Adaptation:
    """The model to use, and what fine-tuning did on a strip of the image it never trained on."""

    model: SRCAE  # the fine-tuned copy, or the given model where fine-tuning did not help
    check_gain_db: float  # PSNR change on the held-out strip; 0.0 when the image was too small to try
    kept: bool


def adapt(
    model: SRCAE,
    image: torch.Tensor,
    *,
    steps: int,
    peak_learning_rate: float,
    progress: Callable[[int, int], None] | None = None,
) -> Adaptation:
    """Fine-tune a copy of ``model`` on (downscaled, original) pairs from the left three quarters of
    ``image``, and keep it only if it enlarges the right quarter better than ``model`` does.

    The check matters on small inputs, which have too little of themselves to learn from: there the
    fine-tuned model can be worse (measured in bench/bench_superres.py at 4x). An input too small for
    a trustworthy check (under 16 * 4 * scale pixels wide or 16 * scale high) is not adapted at all.
    ``image`` is (3, H, W) stored values in [0, 1] on the CPU; training runs on the model's device;
    ``model`` is never changed.
    """
    scale = model.config.scale
    cut = image.shape[2] - image.shape[2] // 4
    train_part, check_part = image[:, :, :cut], image[:, :, cut:]
    if steps == 0 or min(check_part.shape[1:]) < _MIN_CHECK_SIDE * scale:
        return Adaptation(model, 0.0, kept=False)
    side = min(_PATCH, min(train_part.shape[1:]) // scale * scale)
    tuned = _fine_tune(copy.deepcopy(model), PatchSampler([train_part], side), steps, peak_learning_rate, progress)
    gain = _psnr_on(tuned, check_part) - _psnr_on(model, check_part)
    return Adaptation(tuned, gain, kept=True) if gain > 0 else Adaptation(model, gain, kept=False)


def _fine_tune(
    model: SRCAE,
    sampler: PatchSampler,
    steps: int,
    peak_learning_rate: float,
    progress: Callable[[int, int], None] | None,
) -> SRCAE:
    scale = model.config.scale
    generator = torch.Generator().manual_seed(0)  # one texture adapts alike in every build
    optimizer = torch.optim.Adam(model.parameters(), lr=peak_learning_rate)
    device = next(model.parameters()).device
    model.train()
    with torch.enable_grad():
        for step in range(steps):
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(step, steps, peak_learning_rate, warmup=0)
            hr = sampler.sample(_BATCH, generator).to(device)  # (B, 3, P, P)
            loss = reconstruction_loss(model(downscale(hr, scale)), hr, LossWeights())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if progress is not None:
                progress(step + 1, steps)
    return model.eval()


def _psnr_on(model: SRCAE, image: torch.Tensor) -> float:
    """PSNR of ``model`` enlarging ``image`` (3, H, W) downscaled once, against ``image`` itself;
    on a centred crop of at most 512 pixels a side, so that memory stays bounded for any input.
    Capped at PSNR_CAP, as metrics.psnr is, so that a flat colour, which both models reproduce
    exactly, compares as equal instead of as NaN."""
    scale = model.config.scale
    hr = crop_for(image, scale, 512)[None].to(next(model.parameters()).device)
    with torch.no_grad():
        error = F.mse_loss(model(downscale(hr, scale)).float(), hr)
    return float(-10 * torch.log10(error.clamp_min(10 ** (-PSNR_CAP / 10))))
