"""The super-resolution convolutional autoencoder of NVIDIA's GDC 2017 talk
"Zoom, Enhance, Synthesize! Magic Upscaling and Material Synthesis using Deep
Learning" (Marco Foco, Dmitry Korobchenko, Andrew Edelsten).

The figure's blocks, one class each:

    In    5x5 conv 3->C0, ReLU
    Down  (xN) 3x3 conv, ReLU, 3x3 conv, ReLU, 3x3 stride-2 conv C_k->C_k+1, ReLU
    Up    (xN+S) 3x3 conv, ReLU, 3x3 conv, ReLU, 3x3 stride-2 transposed conv C->C', ReLU
    Out   3x3 conv C->3, clipped to [0, 1] (outside training)

so the output is 2^S times the input. Two optional additions, both measured in
bench/bench_superres.py: ``skip`` adds each encoder level's features to the
decoder at the same resolution, and ``residual`` predicts a correction over
bicubic upsampling instead of the whole image.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from ops.tensors import overflow_as_nan, pad_to_multiple


@dataclass(frozen=True)
class SRCAEConfig:
    """The shape of an SRCAE: what a weights file records beside its tensors, so it loads without the spec."""

    scale: int = 2  # 2**S
    down_blocks: int = 2  # N
    widths: tuple[int, ...] = (24, 32, 48)  # features after In and after each Down block: N + 1 numbers
    skip: bool = True
    residual: bool = True
    channels: int = 3

    def __post_init__(self) -> None:
        if self.scale < 2 or self.scale & (self.scale - 1):
            raise ValueError(f"scale must be a power of two >= 2, got {self.scale}")
        if len(self.widths) != self.down_blocks + 1:
            raise ValueError(f"widths needs down_blocks + 1 = {self.down_blocks + 1} numbers, got {self.widths}")

    @property
    def up_steps(self) -> int:
        """S: how many extra Up blocks enlarge past the input resolution."""
        return int(math.log2(self.scale))

    @property
    def multiple(self) -> int:
        """Input sides are padded to a multiple of this (each Down block halves)."""
        return 2**self.down_blocks

    def decoder_widths(self) -> list[tuple[int, int]]:
        """(in, out) features of each Up block: back down the encoder, then halving (to 8 at least) per extra 2x."""
        pairs = [(self.widths[k + 1], self.widths[k]) for k in reversed(range(self.down_blocks))]
        width = self.widths[0]
        for _ in range(self.up_steps):
            pairs.append((width, max(width // 2, 8)))
            width = pairs[-1][1]
        return pairs

    def to_dict(self) -> dict[str, int | bool | list[int]]:
        """As a weights file stores it: plain values, ``widths`` a list."""
        data = asdict(self)
        data["widths"] = list(self.widths)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> SRCAEConfig:
        return cls(**{**data, "widths": tuple(data["widths"])})


class InBlock(nn.Module):
    def __init__(self, config: SRCAEConfig) -> None:
        super().__init__()
        self.conv = nn.Conv2d(config.channels, config.widths[0], 5, padding=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv(x))  # (B, 3, H, W) -> (B, C0, H, W)


class DownBlock(nn.Module):
    def __init__(self, width: int, out_width: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)
        self.down = nn.Conv2d(width, out_width, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv2(F.relu(self.conv1(x))))
        return F.relu(self.down(x))  # (B, C, H, W) -> (B, C', H/2, W/2)


class UpBlock(nn.Module):
    def __init__(self, width: int, out_width: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)
        self.up = nn.ConvTranspose2d(width, out_width, 3, stride=2, padding=1, output_padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv2(F.relu(self.conv1(x))))
        return F.relu(self.up(x))  # (B, C, H, W) -> (B, C', 2H, 2W)


class OutBlock(nn.Module):
    def __init__(self, width: int, config: SRCAEConfig) -> None:
        super().__init__()
        self.conv = nn.Conv2d(width, config.channels, 3, padding=1)
        if config.residual:  # start as plain bicubic: the correction is learned from zero
            nn.init.zeros_(self.conv.weight)
            nn.init.zeros_(cast(torch.Tensor, self.conv.bias))  # made with one: Conv2d's bias=True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)  # (B, C, H, W) -> (B, 3, H, W)


class SRCAE(nn.Module):
    """Maps (B, 3, H, W) values in [0, 1] to (B, 3, H*scale, W*scale), for any H, W."""

    def __init__(self, config: SRCAEConfig) -> None:
        super().__init__()
        self.config = config
        decoder = config.decoder_widths()
        self.inp = InBlock(config)
        self.down = nn.ModuleList(DownBlock(config.widths[k], config.widths[k + 1]) for k in range(config.down_blocks))
        self.up = nn.ModuleList(UpBlock(cin, cout) for cin, cout in decoder)
        self.out = OutBlock(decoder[-1][1], config)
        self._init_relu_convs()

    def _init_relu_convs(self) -> None:
        """He initialisation for every conv followed by a ReLU: torch's default init shrinks the signal
        through the ~15 layers, so deep blocks start near silent (measured +0.04 dB at 1,500 steps)."""
        for module in [*self.inp.modules(), *self.down.modules(), *self.up.modules()]:
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
            elif isinstance(module, nn.ConvTranspose2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)) and module.bias is not None:
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        H, W = x.shape[-2:]
        s = self.config.scale
        x = pad_to_multiple(x, self.config.multiple)  # (B, 3, H', W'), multiples of 2^N
        h = self.inp(x)  # (B, C0, H', W')
        encoded = [h]  # level k: (B, C_k, H'/2^k, W'/2^k)
        for block in self.down:
            h = block(h)
            encoded.append(h)
        for k, block in enumerate(self.up):
            h = block(h)  # back up the encoder's levels, then past the input by 2x a block
            level = self.config.down_blocks - 1 - k
            if self.config.skip and level >= 0:
                h = h + encoded[level]
        y = self.out(h)  # (B, 3, H'*s, W'*s)
        if self.config.residual:
            y = y + F.interpolate(x, scale_factor=s, mode="bicubic", align_corners=False)
        y = y[:, :, : H * s, : W * s]
        return y if self.training else overflow_as_nan(y).clamp(0.0, 1.0)

    def macs_per_output_pixel(self) -> float:
        """Multiply-accumulates of one forward pass per output pixel (convolutions only)."""
        total = 0.0
        resolution = 1.0  # relative to the input's pixel count
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                kh, kw = module.kernel_size
                stride = module.stride[0] * module.stride[1]
                resolution /= stride
                total += module.in_channels * module.out_channels * kh * kw * resolution
            elif isinstance(module, nn.ConvTranspose2d):
                kh, kw = module.kernel_size
                total += module.in_channels * module.out_channels * kh * kw * resolution
                resolution *= module.stride[0] * module.stride[1]
        return total / self.config.scale**2
