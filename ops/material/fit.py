"""Fit SVBRDF maps to flash photos by differentiable rendering (after Aittala et al., SIGGRAPH 2015).

Aittala's two-shot method rests on one observation: a stationary material
shows the same kind of texel many times, each seen by the flash at another
angle, so one photo holds many samples of each texel's reflectance. Here the
pooling is done by a small convolutional network fitted to this one photo
pair: it maps the local look of the guide photo to normal slope, roughness
and specular level, so texels that look alike in the guide share their
parameters wherever they lie under the flash, and the hot spot seen on some of
them constrains all. Per-pixel albedo and a smooth per-pixel slope residual
add what the guide's look alone cannot say. ``one_shot`` uses the de-lit
flash photo as its guide and stronger priors.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from typing import Literal, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ops.device import caller_s_random_state
from ops.material.render import Svbrdf, normal_from_tilt, render_guide, render_point_light
from ops.material.scene import Scene
from ops.registry import ProgressFn
from ops.tensors import to_chw, to_hwc
from ops.threads import cpu_threads

log = logging.getLogger(__name__)

Mode = Literal["two_shot", "one_shot"]
NET_LR = 0.004  # Adam step of both look-to-material networks
SLOPE_START = 0.3  # share of the steps fitting albedo, roughness and specular on flat normals first:
# letting slopes explain the hot spot from the start lands in wrong-signed bumps
RESIDUAL_START = 0.6  # the per-pixel slope residual joins last, so pooled slopes settle before local detail
ROUGH_BIAS = -0.5  # start at roughness 0.43, between glossy and matte
_SATURATED = 0.98  # linear value above which a photo channel is treated as clipped
_MIN_UNCLIPPED = 0.05  # share of the flash photo that must be below _SATURATED in every channel to fit anything


@dataclass(frozen=True)
class Priors:
    """Weights of the regularizers; ``one_shot`` leans on them harder, having no guide."""

    residual_smooth: float
    residual_size: float
    slope_size: float
    guide_weight: float


# Away from the hot spot a head-on flash barely sees a small tilt (a 3 degree tilt dims a texel by 0.1%), so a
# weak prior on the per-pixel residual lets it turn photo noise into tilt: on flat tile tops this spurious
# tilt cost more than the bevels' true one. Steep relief still shows strongly enough to pull it out.
PRIORS: dict[Mode, Priors] = {
    "two_shot": Priors(residual_smooth=4.0, residual_size=3.0, slope_size=0.0, guide_weight=1.0),
    "one_shot": Priors(residual_smooth=8.0, residual_size=4.0, slope_size=0.2, guide_weight=0.0),
}


@dataclass
class FitResult:
    """Fitted maps as numpy arrays at the photo's size, and how the fit went."""

    albedo: np.ndarray  # (H, W, 3) linear
    normal: np.ndarray  # (H, W, 3) unit, +Y up
    roughness: np.ndarray  # (H, W) glTF perceptual roughness
    specular: np.ndarray  # (H, W) Principled specular level, F0 = 0.08 * specular
    intensity: float
    loss: float
    fit_size: tuple[int, int]


class LookToMaterial(nn.Module):
    """Local look of the guide (B,C,H,W) -> ``out_channels`` logits (slopes, or roughness and specular).

    Dilated 3x3 convolutions see about 15 px around each texel; being
    translation-equivariant, the same look gets the same answer everywhere.
    """

    def __init__(self, in_channels: int, width: int = 16, out_channels: int = 4) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1, padding_mode="reflect"),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=2, dilation=2, padding_mode="reflect"),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=4, dilation=4, padding_mode="reflect"),
            nn.ReLU(),
        )
        self.head = nn.Conv2d(width, out_channels, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(cast(torch.Tensor, self.head.bias))  # made with one: Conv2d's bias=True

    def forward(self, look: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(look))


def fit_maps(
    flash: np.ndarray,
    guide: np.ndarray | None,
    scene: Scene,
    *,
    iterations: int,
    fit_size: int,
    device: torch.device,
    seed: int = 0,
    progress: ProgressFn | None = None,
    name: str = "the flash photo",
) -> FitResult:
    """Maps whose flash rendering reproduces ``flash`` (H,W,3 linear); ``guide`` (same size) or None.

    The fit runs on the photos shrunk to ``fit_size`` (longer side) and the
    maps are brought back to full size, albedo detail taken from the guide. It
    runs on one CPU thread: its convolutions are small, so more threads gain
    little, and where several builds run at once (a CI job beside the UI's),
    torch's default thread count oversubscribed the cores (a 128 px fit took 6x
    longer).
    """
    with cpu_threads(1, device), caller_s_random_state(device):
        torch.manual_seed(seed)
        full_h, full_w = flash.shape[:2]
        scale = min(1.0, fit_size / max(full_h, full_w))
        photos = _photos_at(flash, guide, scene, (max(8, round(full_h * scale)), max(8, round(full_w * scale))),
                            device, name)
        unknowns = _Unknowns.start(photos, name)
        look = _look_features(photos.reference)
        loss = _optimise(unknowns, photos, look, PRIORS["one_shot" if guide is None else "two_shot"], iterations,
                         progress)
        log.debug("material fit: %d steps at %dx%d, final loss %.4f", iterations, *photos.size[::-1], loss)
        with torch.no_grad():
            maps = unknowns.maps(look)
            full_reference = _to_tensor(guide if guide is not None else flash, device, (full_h, full_w))
            if guide is None:
                full_points = torch.from_numpy(photos.scene.plane_points(full_h, full_w)).to(device)
                full_reference = full_reference / _flat_falloff(full_points, photos.camera)
            albedo = _transfer_detail(maps.albedo, photos.reference, full_reference)
            normal = F.normalize(_resize(maps.normal, (full_h, full_w)), dim=1)
            roughness = _resize(maps.roughness, (full_h, full_w))
            specular = _resize(maps.specular, (full_h, full_w))
        return FitResult(
            albedo=_to_numpy(albedo.clamp(0, 1)),
            normal=_to_numpy(normal),
            roughness=_to_numpy(roughness.clamp(0, 1))[..., 0],
            specular=_to_numpy(specular.clamp(0, 1))[..., 0],
            intensity=float(torch.exp(unknowns.log_i.detach())),
            loss=loss,
            fit_size=photos.size,
        )


@dataclass(frozen=True)
class _Photos:
    """The photos at the fit's size, with what the scene says of each texel."""

    flash: torch.Tensor  # (1, 3, h, w) linear
    guide: torch.Tensor | None  # (1, 3, h, w) linear
    reference: torch.Tensor  # what texels are recognized by: the guide, or the de-lit flash photo
    points: torch.Tensor  # (h, w, 3) on the photographed plane
    camera: torch.Tensor  # (3,), the flash beside it
    falloff: torch.Tensor  # (1, 1, h, w): cos / r^2 of a flat plane
    valid: torch.Tensor  # (1, 1, h, w): 1 where no channel of the flash photo is clipped
    scene: Scene  # with the flash power set where neither exposure is known

    @property
    def size(self) -> tuple[int, int]:
        return self.flash.shape[-2], self.flash.shape[-1]


def _photos_at(
    flash: np.ndarray, guide: np.ndarray | None, scene: Scene, size: tuple[int, int], device: torch.device, name: str,
) -> _Photos:
    """The photos shrunk to ``size``; a flash photo clipped nearly everywhere is refused by ``name``."""
    flash_t = _to_tensor(flash, device, size)
    points = torch.from_numpy(scene.plane_points(*size)).to(device)
    camera = torch.from_numpy(scene.camera()).to(device)
    falloff = _flat_falloff(points, camera)
    valid = (flash_t < _SATURATED).all(1, keepdim=True).float()
    if float(valid.mean()) < _MIN_UNCLIPPED:
        raise ValueError(
            f"{name}: {1 - float(valid.mean()):.0%} of the photo is clipped (a channel at full brightness), which "
            "leaves nothing to fit; retake it with less flash, a shorter exposure or from further away"
        )
    if guide is None:
        return _Photos(flash_t, None, flash_t / falloff, points, camera, falloff, valid, scene)  # de-lit, up to the power
    if scene.intensity is None and scene.guide_radiance is None:
        # Neither exposure is known. A fixed guide level with a fitted flash power tied the albedo to how
        # bright the guide happened to be, and since F0 is absolute, roughness and normals with it (0.10
        # roughness error at the guide's own exposure, 0.34 at a tenth of it); a flash power set from the
        # flash photo, as one_shot sets it, with a fitted guide level depends on neither exposure.
        scene = replace(scene, intensity=_nominal_intensity(flash_t, falloff, valid))
    guide_t = _to_tensor(guide, device, size)
    return _Photos(flash_t, guide_t, guide_t, points, camera, falloff, valid, scene)


@dataclass(frozen=True)
class _Unknowns:
    """What the fit solves for: per-pixel albedo and slope residual, the two look-to-material networks,
    and the exposures the scene leaves open."""

    albedo_logit: torch.Tensor  # (1, 3, h, w)
    residual: torch.Tensor  # (1, 2, h, w) slope added to the networks' pooled one
    log_i: torch.Tensor  # log flash power
    log_e: torch.Tensor  # log guide radiance
    guide_balance: torch.Tensor  # (1, 3, 1, 1) the guide's white balance against the flash's
    slope_net: LookToMaterial
    reflect_net: LookToMaterial

    @classmethod
    def start(cls, photos: _Photos, name: str) -> _Unknowns:
        device, scene = photos.flash.device, photos.scene
        albedo0, log_i0, log_e0 = _initial_guess(photos.flash, photos.guide, photos.falloff, photos.valid, scene, name)
        fit_balance = photos.guide is not None and scene.guide_radiance is None
        unknowns = cls(
            albedo_logit=torch.logit(albedo0.clamp(0.02, 0.98)).clone().requires_grad_(True),
            residual=torch.zeros(1, 2, *photos.size, device=device, requires_grad=True),
            log_i=torch.tensor(log_i0, device=device, requires_grad=scene.intensity is None),
            log_e=torch.tensor(log_e0, device=device, requires_grad=fit_balance and scene.intensity is not None),
            # The guide's white balance differs from the flash's (warm room light, camera auto-WB): a per-channel
            # gain of mean log 0 absorbs it without changing the guide's overall exposure.
            guide_balance=torch.zeros(1, 3, 1, 1, device=device, requires_grad=fit_balance),
            slope_net=LookToMaterial(6, out_channels=2).to(device),
            reflect_net=LookToMaterial(6, width=8, out_channels=2).to(device),
        )
        with torch.no_grad():
            cast(torch.Tensor, unknowns.reflect_net.head.bias)[0] = ROUGH_BIAS
        return unknowns

    def maps(self, look: torch.Tensor) -> Svbrdf:
        return _maps(self.albedo_logit, self.residual, torch.cat([self.slope_net(look), self.reflect_net(look)], 1))

    def optimizer(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(
            [
                {"params": [self.albedo_logit], "lr": 0.03},
                {"params": [self.residual], "lr": 0.01},
                {"params": list(self.slope_net.parameters()), "lr": NET_LR},
                {"params": list(self.reflect_net.parameters()), "lr": NET_LR},
                {"params": [p for p in (self.log_i, self.log_e, self.guide_balance) if p.requires_grad], "lr": 0.02},
            ]
        )


def _optimise(
    unknowns: _Unknowns, photos: _Photos, look: torch.Tensor, priors: Priors, iterations: int,
    progress: ProgressFn | None,
) -> float:
    """Adam on the log-space photo errors plus the priors; returns the last loss (NaN with no steps)."""
    optimizer = unknowns.optimizer()
    log_flash = torch.log(photos.flash + 0.01)
    log_guide = None if photos.guide is None else torch.log(photos.guide + 0.01)
    loss_value = math.nan
    for step in range(iterations):
        maps = unknowns.maps(look)
        rendered = render_point_light(maps, photos.points, light=photos.camera, camera=photos.camera,
                                      intensity=torch.exp(unknowns.log_i))
        loss = ((torch.log(rendered.clamp(0, 1) + 0.01) - log_flash).abs() * photos.valid).mean()
        if log_guide is not None:
            balance = unknowns.guide_balance  # of mean log 0: the guide's exposure stays log_e's
            guide_render = render_guide(maps, torch.exp(unknowns.log_e + balance - balance.mean()))
            loss = loss + priors.guide_weight * (torch.log(guide_render + 0.01) - log_guide).abs().mean()
        slope = maps.normal[:, :2] / maps.normal[:, 2:]
        residual = unknowns.residual
        loss = loss + priors.residual_smooth * _smoothness(residual) + priors.residual_size * residual.pow(2).mean()
        loss = loss + priors.slope_size * slope.pow(2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if step < RESIDUAL_START * iterations:
            unknowns.residual.grad = None
        if step < SLOPE_START * iterations:
            for p in unknowns.slope_net.parameters():
                p.grad = None
        optimizer.step()
        loss_value = float(loss.detach())
        if progress is not None and (step % 10 == 9 or step == iterations - 1):
            progress(step + 1, iterations)
    return loss_value


def _maps(albedo_logit: torch.Tensor, residual: torch.Tensor, head: torch.Tensor) -> Svbrdf:
    slope = 1.5 * torch.tanh(head[:, :2]) + residual
    return Svbrdf(
        albedo=torch.sigmoid(albedo_logit),
        normal=normal_from_tilt(slope),
        roughness=0.08 + 0.92 * torch.sigmoid(head[:, 2:3]),
        specular=torch.sigmoid(head[:, 3:4]),
    )


def _initial_guess(
    flash: torch.Tensor, guide: torch.Tensor | None, falloff: torch.Tensor, valid: torch.Tensor, scene: Scene,
    name: str = "the flash photo",
) -> tuple[torch.Tensor, float, float]:
    """Albedo, log flash intensity and log guide radiance to start from.

    The diffuse flash photo is I * albedo / pi * falloff and the guide E *
    albedo: given I (from the sidecar, or ``_nominal_intensity``), E follows
    from their ratio; given only E, I does. A flash photo black where it counts gives no I to start from.
    """
    black = ValueError(f"{name}: the flash photo is black (the flash did not fire, or the exposure is far too "
                       "short), which leaves nothing to fit; retake it")
    delit = flash * math.pi / falloff
    if guide is None:
        intensity = scene.intensity or _nominal_intensity(flash, falloff, valid)
        if intensity <= 0:
            raise black
        return (delit / intensity).clamp(0, 1), math.log(intensity), 0.0
    ratio = (delit / guide.clamp(min=1e-3)).mean(1)[valid[:, 0] > 0]
    flash_to_guide = float(torch.median(ratio))  # I / E
    if flash_to_guide <= 0:
        raise black
    if scene.intensity is not None:
        radiance = scene.guide_radiance or scene.intensity / flash_to_guide
        intensity = scene.intensity
    else:
        radiance = scene.guide_radiance or 1.0
        intensity = flash_to_guide * radiance
    return (guide / radiance).clamp(0, 1), math.log(intensity), math.log(radiance)


def _nominal_intensity(flash: torch.Tensor, falloff: torch.Tensor, valid: torch.Tensor) -> float:
    """A flash power that puts the brightest 2% of the de-lit flash photo at albedo 0.8: the photos
    alone fix albedo only up to a scale, and this one follows the flash photo's exposure. Brightest
    by its strongest channel: by the channels' mean, a saturated green towel came out green 1.6, clipped."""
    delit = flash * math.pi / falloff
    return float(torch.quantile(delit.amax(1)[valid[:, 0] > 0], 0.98)) / 0.8


def _look_features(reference: torch.Tensor) -> torch.Tensor:
    """Standardized log colour and its high-pass: what the network recognizes texels by."""
    log_ref = torch.log(reference.clamp(min=0) + 0.01)
    blurred = F.avg_pool2d(F.pad(log_ref, (7, 7, 7, 7), mode="reflect"), 15, stride=1)
    high = log_ref - blurred
    feats = torch.cat([log_ref, high], dim=1)
    mean = feats.mean(dim=(2, 3), keepdim=True)
    std = feats.std(dim=(2, 3), keepdim=True).clamp(min=1e-3)
    return (feats - mean) / std


def _smoothness(x: torch.Tensor) -> torch.Tensor:
    return (x[..., 1:, :] - x[..., :-1, :]).pow(2).mean() + (x[..., :, 1:] - x[..., :, :-1]).pow(2).mean()


def _flat_falloff(points: torch.Tensor, camera: torch.Tensor) -> torch.Tensor:
    to_cam = camera.view(1, 1, 3) - points
    r2 = (to_cam * to_cam).sum(-1)
    cos = to_cam[..., 2] / torch.sqrt(r2)
    return (cos / r2).view(1, 1, *points.shape[:2])


def _transfer_detail(fitted: torch.Tensor, reference: torch.Tensor, full_reference: torch.Tensor) -> torch.Tensor:
    """Fitted albedo at full size: the full-size reference times the fitted/reference ratio, upsampled."""
    if fitted.shape[-2:] == full_reference.shape[-2:]:
        return fitted
    ratio = fitted / reference.clamp(min=1e-4)
    return full_reference * _resize(ratio, full_reference.shape[-2:])


def _resize(x: torch.Tensor, size: tuple[int, int] | torch.Size) -> torch.Tensor:
    if x.shape[-2:] == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)


def _to_tensor(image: np.ndarray, device: torch.device, size: tuple[int, int]) -> torch.Tensor:
    t = to_chw(image).unsqueeze(0).to(device, torch.float32)
    if t.shape[-2:] != size:
        t = F.interpolate(t, size=size, mode="area")
    return t


def _to_numpy(t: torch.Tensor) -> np.ndarray:
    return to_hwc(t[0]).astype(np.float32)

