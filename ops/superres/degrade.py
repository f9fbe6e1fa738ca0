"""Make low-res training inputs from high-res patches, the way legacy textures were made.

All functions take (B, C, H, W) float tensors with values in [0, 1] (stored,
sRGB-encoded values for colour) and draw randomness only from the given
``torch.Generator``, so a training run is reproducible from its seed.
"""

from __future__ import annotations

import io
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image as PILImage

from ops.superres.params import Degradation
from ops.tensors import pad_to_multiple, to_chw, to_hwc


def downscale(x: torch.Tensor, scale: int, *, method: Literal["bicubic", "area"] = "bicubic") -> torch.Tensor:
    """Antialiased reduction of (B, C, H, W) by an integer ``scale`` (H, W multiples of it)."""
    if x.ndim != 4:
        raise ValueError(f"expected a (B, C, H, W) batch, got shape {tuple(x.shape)}")
    if x.shape[-1] % scale or x.shape[-2] % scale:
        raise ValueError(f"image sides {tuple(x.shape[-2:])} are not multiples of the scale {scale}")
    if method == "area":
        return F.avg_pool2d(x, scale)
    size = (x.shape[-2] // scale, x.shape[-1] // scale)
    return F.interpolate(x, size=size, mode="bicubic", antialias=True, align_corners=False).clamp(0.0, 1.0)


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Blur each image of (B, C, H, W) with its own sigma (B,) in pixels; sigma 0 leaves it as is."""
    B, C, H, W = x.shape
    radius = int(torch.ceil(3 * sigma.max()).item()) if sigma.numel() else 0
    radius = min(radius, H - 1, W - 1)  # reflect padding needs less than a side; a small patch truncates the kernel
    if radius <= 0:
        return x
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-(t[None] ** 2) / (2 * sigma[:, None].clamp_min(1e-3) ** 2))  # (B, K)
    k = k / k.sum(dim=1, keepdim=True)
    k = k.repeat_interleave(C, dim=0)  # (B*C, K): one kernel per image channel
    flat = F.pad(x.reshape(1, B * C, H, W), (radius, radius, radius, radius), mode="reflect")
    flat = F.conv2d(flat, k[:, None, None, :], groups=B * C)  # horizontal pass
    flat = F.conv2d(flat, k[:, None, :, None], groups=B * C)  # vertical pass
    return flat.reshape(B, C, H, W)


def jpeg(x: torch.Tensor, quality: int) -> torch.Tensor:
    """JPEG-compress one (C, H, W) image at ``quality`` and decode it again."""
    array = (to_hwc(x.clamp(0, 1)) * 255 + 0.5).astype(np.uint8)
    buffer = io.BytesIO()
    PILImage.fromarray(array).save(buffer, format="JPEG", quality=quality)
    decoded = np.asarray(PILImage.open(io.BytesIO(buffer.getvalue())).convert("RGB"), dtype=np.float32) / 255
    return to_chw(decoded)


def bc1(x: torch.Tensor) -> torch.Tensor:
    """Approximate BC1/DXT1 block compression of (C, H, W): per 4x4 block, two RGB565 endpoints
    on the block's colour range and a 4-colour palette between them. H, W are padded to 4."""
    C, H, W = x.shape
    padded = pad_to_multiple(x[None], 4)[0]
    Hp, Wp = padded.shape[-2:]
    blocks = padded.reshape(C, Hp // 4, 4, Wp // 4, 4).permute(1, 3, 2, 4, 0).reshape(-1, 16, C)  # (N, 16, C)
    lo, hi = blocks.amin(dim=1), blocks.amax(dim=1)  # (N, C): the block's bounding box as endpoints
    levels = torch.tensor([31.0, 63.0, 31.0][:C] if C == 3 else [63.0] * C)
    lo, hi = torch.round(lo * levels) / levels, torch.round(hi * levels) / levels  # RGB565 quantization
    weights = torch.tensor([0.0, 1 / 3, 2 / 3, 1.0])
    palette = lo[:, None] + weights[None, :, None] * (hi - lo)[:, None]  # (N, 4, C)
    index = torch.cdist(blocks, palette).argmin(dim=2)  # (N, 16)
    coded = torch.gather(palette, 1, index[..., None].expand(-1, -1, C))  # (N, 16, C)
    coded = coded.reshape(Hp // 4, Wp // 4, 4, 4, C).permute(4, 0, 2, 1, 3).reshape(C, Hp, Wp)
    return coded[:, :H, :W]


def degrade(hr: torch.Tensor, scale: int, spec: Degradation, generator: torch.Generator) -> torch.Tensor:
    """The low-res input for a batch of high-res patches (B, C, H, W) -> (B, C, H/scale, W/scale)."""
    B = hr.shape[0]
    lr = downscale(hr, scale, method=spec.downscale)
    if spec.blur > 0:
        lr = gaussian_blur(lr, torch.rand(B, generator=generator) * spec.blur)
    if spec.noise > 0:
        std = torch.rand(B, 1, 1, 1, generator=generator) * spec.noise
        lr = (lr + std * torch.randn(lr.shape, generator=generator)).clamp(0.0, 1.0)
    if spec.jpeg > 0 or spec.bc1 > 0:
        lr = _compressed(lr, spec, generator)
    return lr


def _compressed(lr: torch.Tensor, spec: Degradation, generator: torch.Generator) -> torch.Tensor:
    """Each image of (B, C, h, w) ``lr`` JPEG- and/or BC1-compressed, each by its own draw against ``spec``'s
    odds: codecs work an image at a time, on the CPU."""
    low, high = spec.jpeg_quality
    draws = torch.rand(lr.shape[0], 2, generator=generator)
    qualities = torch.randint(low, high + 1, (lr.shape[0],), generator=generator)
    images = []
    for image, (jpeg_draw, bc1_draw), quality in zip(lr, draws, qualities):
        if jpeg_draw < spec.jpeg:
            image = jpeg(image, int(quality))
        if bc1_draw < spec.bc1:
            image = bc1(image)
        images.append(image)
    return torch.stack(images)
