"""A differentiable renderer of a flat SVBRDF under a point light: the model every fit inverts.

Per pixel, with n the shading normal, l and v the unit vectors to the light
and to the camera, h = normalize(l + v), r the distance to the light and I its
radiant intensity, the outgoing radiance is

    L = I / r^2 * max(n.l, 0) * (albedo / pi + D * G * F / (4 (n.l) (n.v)))

with roughness rho in [0, 1] mapped as in glTF, alpha = rho^2, and

    D = alpha^2 / (pi ((n.h)^2 (alpha^2 - 1) + 1)^2)          (GGX / Trowbridge-Reitz)
    G = G1(n.l) G1(n.v),  G1(c) = 2c / (c + sqrt(alpha^2 + (1 - alpha^2) c^2))   (separable Smith-GGX)
    F = F0 + (1 - F0) (1 - v.h)^5,  F0 = 0.08 * specular          (Schlick; specular 0.5 -> F0 0.04)

``specular`` is the Principled/Disney "specular" level, so 0.5 is the usual
dielectric. The guide photo (no flash, overcast or uniform indoor light) is
modelled as a uniform sky of radiance E: L = E * (albedo + F0), as Lambert
under a full sky reflects albedo * E and the specular lobe about F0 * E.

Tensors are (B, C, H, W) float in linear light; positions are world units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

_EPS = 1e-6


@dataclass
class Svbrdf:
    """Maps as tensors: albedo (B,3,H,W) in [0,1], normal (B,3,H,W) unit, roughness and specular (B,1,H,W)."""

    albedo: torch.Tensor
    normal: torch.Tensor
    roughness: torch.Tensor
    specular: torch.Tensor


def normal_from_tilt(tilt: torch.Tensor) -> torch.Tensor:
    """Unit normals (B,3,H,W) from slopes (B,2,H,W): n = normalize(sx, sy, 1)."""
    ones = torch.ones_like(tilt[:, :1])
    return F.normalize(torch.cat([tilt, ones], dim=1), dim=1)


def ggx_terms(
    n_dot_l: torch.Tensor, n_dot_v: torch.Tensor, n_dot_h: torch.Tensor, v_dot_h: torch.Tensor,
    roughness: torch.Tensor, specular: torch.Tensor,
) -> torch.Tensor:
    """The Cook-Torrance specular BRDF value D G F / (4 n.l n.v), per pixel."""
    alpha = roughness.clamp(0.02, 1.0) ** 2
    a2 = alpha * alpha
    d = a2 / (math.pi * (n_dot_h * n_dot_h * (a2 - 1) + 1) ** 2)

    def g1(c: torch.Tensor) -> torch.Tensor:
        return 2 * c / (c + torch.sqrt(a2 + (1 - a2) * c * c))

    f0 = 0.08 * specular
    fresnel = f0 + (1 - f0) * (1 - v_dot_h).clamp(0, 1) ** 5
    return d * g1(n_dot_l) * g1(n_dot_v) * fresnel / (4 * n_dot_l * n_dot_v + _EPS)


def render_point_light(
    maps: Svbrdf, points: torch.Tensor, *, light: torch.Tensor, camera: torch.Tensor, intensity: torch.Tensor | float
) -> torch.Tensor:
    """Radiance (B,3,H,W) of the maps lying on ``points`` (H,W,3), lit by a point light at ``light`` (3,).

    The flash photo is ``light == camera``; any other position gives a relighting.
    """
    p = points.permute(2, 0, 1).unsqueeze(0)  # (1, 3, H, W)
    to_light = light.view(1, 3, 1, 1) - p
    r2 = (to_light * to_light).sum(1, keepdim=True)
    wl = to_light / torch.sqrt(r2)
    wv = F.normalize(camera.view(1, 3, 1, 1) - p, dim=1)
    h = F.normalize(wl + wv, dim=1)
    n = maps.normal
    n_dot_l = (n * wl).sum(1, keepdim=True).clamp(min=_EPS)
    n_dot_v = (n * wv).sum(1, keepdim=True).clamp(min=_EPS)
    n_dot_h = (n * h).sum(1, keepdim=True).clamp(min=0.0)
    v_dot_h = (wv * h).sum(1, keepdim=True).clamp(min=0.0)
    spec = ggx_terms(n_dot_l, n_dot_v, n_dot_h, v_dot_h, maps.roughness, maps.specular)
    brdf = maps.albedo / math.pi + spec
    return intensity * n_dot_l / r2 * brdf


def render_guide(maps: Svbrdf, radiance: torch.Tensor | float = 1.0) -> torch.Tensor:
    """Radiance (B,3,H,W) under a uniform sky of ``radiance``: E * (albedo + F0)."""
    return radiance * (maps.albedo + 0.08 * maps.specular)
