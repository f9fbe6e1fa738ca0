"""Feature networks whose Gram matrices describe a texture (Gatys et al. 2015).

Two networks, one interface (``forward(x, padding) -> list of feature maps``):

* :class:`RandomFilters`, the default, needs no weights file. Ustyuzhaninov
  et al. (ICLR 2017, "What does it take to generate natural textures?") showed
  that a single layer of random filters of sizes 3 to 55 px rivals VGG as a
  texture descriptor. Filters that large are slow on a CPU, so the same
  receptive fields come from a small 7x7 random filter bank at each level of
  an image pyramid (7 px at 1/8 resolution sees 56 px).
* :class:`VGG19`, the network of the paper, built here without torchvision
  and loaded from a local torchvision-layout state dict; nothing downloads.

Padding is ``"circular"`` while synthesising a tileable texture, so the
optimised image is a torus, and ``"reflect"`` otherwise (``"replicate"`` for a
normal map, whose mirrored vectors would lean the wrong way).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ops import vgg

Padding = Literal["circular", "reflect", "replicate"]


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Channel co-occurrence of ``features`` (B, C, H, W) -> (B, C, C), averaged over pixels."""
    if features.ndim != 4:
        raise ValueError(f"expected features of shape (B, C, H, W), got {tuple(features.shape)}")
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)  # (B, C, HW)
    return flat @ flat.transpose(1, 2) / (h * w)


def _pad(x: torch.Tensor, amount: int, padding: Padding) -> torch.Tensor:
    H, W = x.shape[-2:]
    if padding == "circular" and amount > min(H, W):
        # a map smaller than the pad (a small output's deepest level) wraps more than once: tile, then crop
        ry, rx = -(-amount // H), -(-amount // W)
        tiled = x.repeat(1, 1, 2 * ry + 1, 2 * rx + 1)
        return tiled[..., ry * H - amount : (ry + 1) * H + amount, rx * W - amount : (rx + 1) * W + amount]
    # reflect padding needs the map to be larger than the pad; tiny maps fall back to replicate.
    mode = padding if padding == "circular" or min(H, W) > amount else "replicate"
    return F.pad(x, (amount, amount, amount, amount), mode=mode)


def blur_downsample(x: torch.Tensor, *, padding: Padding) -> torch.Tensor:
    """Halve (B, C, H, W) with a 4-tap binomial low-pass first (Zhang, ICML 2019).

    Plain 2x2 average pooling aliases: every 2^k-th line is a pooling boundary
    at all levels, the optimiser learns that grid, and the wrap edge (line 0)
    shows up as a seam. The low-pass makes the statistics nearly shift-invariant.
    """
    taps = torch.tensor([1.0, 3.0, 3.0, 1.0], device=x.device, dtype=x.dtype) / 8
    kernel = (taps[:, None] * taps[None, :]).expand(x.shape[1], 1, 4, 4)
    padded = F.pad(x, (1, 2, 1, 2), mode=padding if padding == "circular" or min(x.shape[-2:]) > 2 else "replicate")
    return F.conv2d(padded, kernel, stride=2, groups=x.shape[1])


@dataclass(frozen=True)
class RandomFiltersConfig:
    """The random filter bank whose statistics gram matches where no VGG19 weights file is given, and for alpha
    beside VGG: a feature space that needs nothing downloaded."""

    channels: int = 3  # input planes: colour (1 or 3) plus alpha when the exemplar has it
    filters: int = 48  # per pyramid level; 48 keeps a 512² step near a second on 2 CPU cores
    kernel: int = 7
    levels: int = 5  # receptive fields 7, 14, 28, 56, 112 px; fewer are used on small images
    min_level_side: int = 12  # a pyramid level smaller than this carries no texture statistics
    seed: int = 0  # the same filters for every variant: the variant seed only changes the start noise


class RandomFilters(nn.Module):
    """One layer of random filters (ReLU) on every level of a binomial (anti-aliased) pyramid."""

    weight: torch.Tensor  # a buffer, typed here: nn.Module's __getattr__ does not say what it is

    def __init__(self, config: RandomFiltersConfig) -> None:
        super().__init__()
        self.config = config
        generator = torch.Generator().manual_seed(config.seed)
        shape = (config.levels, config.filters, config.channels, config.kernel, config.kernel)
        weight = torch.randn(shape, generator=generator)
        weight = weight - weight.mean(dim=(2, 3, 4), keepdim=True)  # respond to structure, not brightness
        weight = weight / weight.flatten(2).norm(dim=2)[..., None, None, None]
        self.register_buffer("weight", weight)  # (L, F, C, k, k)

    def levels_for(self, side: int) -> int:
        """Pyramid levels an image whose shorter side is ``side`` supports."""
        usable = 1 + int(math.floor(math.log2(max(side, 1) / self.config.min_level_side)))
        return max(1, min(self.config.levels, usable))

    def forward(self, x: torch.Tensor, *, padding: Padding, levels: int | None = None) -> list[torch.Tensor]:
        b, c, h, w = x.shape
        if c != self.config.channels:
            raise ValueError(f"random filters expect {self.config.channels} planes, got {c}")
        levels = self.levels_for(min(h, w)) if levels is None else levels
        half = self.config.kernel // 2
        outputs = []
        for level in range(levels):
            if level:
                x = blur_downsample(x, padding=padding)
            outputs.append(F.relu(F.conv2d(_pad(x, half, padding), self.weight[level])))  # (B, F, h, w)
        return outputs


_VGG_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")  # Gatys et al. 2015, Fig. 1


class VGG19(nn.Module):
    """VGG19 convolutions up to relu5_1, with average pooling as Gatys et al. recommend.

    Module indices follow torchvision's ``vgg19().features`` so its state dict
    loads unchanged. Input: sRGB-encoded (B, 3, H, W) in [0, 1].
    """

    mean: torch.Tensor  # buffers, typed here: nn.Module's __getattr__ does not say what they are
    std: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        self.features = vgg.features(pooling="average", padding=0)  # padded in forward, as asked
        self._style: list[int] = []  # module indices of the style layers, relu1_1 .. relu5_1
        block, conv = 1, 1
        for index, layer in enumerate(self.features):
            if isinstance(layer, nn.ReLU):
                if f"relu{block}_{conv}" in _VGG_STYLE_LAYERS:
                    self._style.append(index)
                conv += 1
            elif isinstance(layer, nn.AvgPool2d):
                block, conv = block + 1, 1
        self.register_buffer("mean", torch.tensor(vgg.IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(vgg.IMAGENET_STD).view(1, 3, 1, 1))
        self.requires_grad_(False)

    @classmethod
    def from_file(cls, path: Path) -> VGG19:
        model = cls()
        vgg.load_features(path, model.features)
        return model

    def levels_for(self, side: int) -> int:
        """Style layers an image whose shorter side is ``side`` supports (relu k_1 sees side / 2^(k-1))."""
        return max(1, min(len(_VGG_STYLE_LAYERS), 1 + int(math.floor(math.log2(max(side, 1) / 8)))))

    def forward(self, x: torch.Tensor, *, padding: Padding, levels: int | None = None) -> list[torch.Tensor]:
        levels = self.levels_for(min(x.shape[-2:])) if levels is None else levels
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = (x - self.mean) / self.std
        outputs = []
        for index, layer in enumerate(self.features):
            if isinstance(layer, nn.Conv2d):
                x = layer(_pad(x, 1, padding))
            else:
                x = layer(x)
            if index in self._style:
                outputs.append(x)
                if len(outputs) == levels:
                    break
        return outputs
