"""Tangent-space normal maps as stored: vectors in [-1, 1] encoded as (v + 1) / 2 per channel.

Resampling such a map averages vectors, which shortens them (and ringing lengthens them): an
enlarged normal map is renormalized, or lighting on it dims and brightens along every edge.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


KIND_NORMAL = ("set kind: normal on the asset, with the normal maps in a source of their own (glob: "
               "\"**/*_normal.png\", and exclude: [\"**/*_normal.png\"] on the colour source)")


@dataclass(frozen=True)
class KindWords:
    """How an op's messages name a texture's kind and its fixes: as the spec's key (``SPEC_WORDS``), or as the
    argument a script passes (``kind_arguments``). A script was told to set kind: normal on the asset and to give
    the normal maps a source of their own, where it has neither."""

    marked: str  # how a texture was made a normal map: marked kind: normal
    colour: str  # what takes it as colour, the default
    to_normal: str  # how to have a texture taken as a normal map
    to_colour: str  # how to have a texture marked a normal map taken as colour
    apart: str = ""  # where a spec keeps the normal maps, which a colour texture among them asks for


SPEC_WORDS = KindWords("marked kind: normal", "kind: color (the default)", KIND_NORMAL, "leave kind out",
                       ", with the normal maps in a source of their own (glob: \"**/*_normal.png\")")


def kind_arguments(normal: str, colour: str) -> KindWords:
    """The words of a script that passes ``normal`` (``kind="normal"``) for a normal map, ``colour`` by default."""
    return KindWords(f"given {normal}", f"{colour} (the default)", f"pass {normal}", f"leave {normal} out")


KIND_ARGUMENT = kind_arguments('kind="normal"', 'kind="color"')
"""The words of a script that calls an op with ``kind`` (``super_resolve``, ``multiply``, ``export_dds``)."""


def check_normal_map(path: Path, stored: np.ndarray, op: str, words: KindWords = SPEC_WORDS) -> None:
    """A ``kind: normal`` texture must hold the three components of its vectors, and is warned of where its values
    as ``stored`` (H, W, C) hold few vectors: a colour texture marked so (a whole folder given ``kind: normal``) was
    made into vectors without a word, its colours lost and the engine lighting noise. ``words`` name the kind as
    the texture was given it."""
    channels = stored.shape[2]
    if channels != 3:
        raise ValueError(f"{path} is {words.marked} but has {channels} colour channel(s), not RGB; "
                         f"{words.to_colour} for a grey or colour texture")
    share = vector_share(sampled(stored))
    if share < _VECTOR_SHARE:
        log.warning("%s is %s but does not look like a tangent-space normal map: %.0f%% of its texels "
                    "hold a unit vector pointing out of the surface more than along it, where a normal map's nearly "
                    "all do. %s takes its values as vectors and makes them unit length: a colour texture's colours are "
                    "lost. If it is a colour texture, %s%s; a normal map that only looks unlike one can stay as it is",
                    path, words.marked, share * 100, op, words.to_colour, words.apart,
                    extra={"once_per": f"a colour texture {op} takes as a normal map", "file": str(path),
                           "more_said": f"{{}} more textures marked kind: normal that {op} takes as vectors do not "
                                        "look like normal maps"})


SHORTEST = 4 / 255
"""Vectors shorter than two 8-bit steps have no direction of their own: the mid-grey a map holds where it holds
no normal (128, 128, 128; an exact zero cannot be stored, at 8 bits or 16) is 1/255 long in every component, and
stretched to unit length it became a 55° tilt (201, 201, 201), or from 127 one pointing into the surface (54, 54,
54). Such a texel is made straight up."""


def renormalize(color: np.ndarray) -> np.ndarray:
    """Stored normal-map values (H, W, 3) in [0, 1] -> unit vectors, stored again in [0, 1]; a vector shorter
    than ``SHORTEST`` becomes straight up."""
    vectors = color * 2.0 - 1.0
    length = np.linalg.norm(vectors, axis=2, keepdims=True)
    flat = np.zeros_like(vectors)
    flat[..., 2] = 1.0
    unit = np.where(length >= SHORTEST, vectors / np.maximum(length, SHORTEST), flat)
    return ((unit + 1.0) / 2.0).astype(np.float32)


def facing_out(color: np.ndarray) -> np.ndarray:
    """Stored normal-map values (H, W, 3) in [0, 1] -> unit vectors with z >= 0, stored again: what a synthesis
    (``multiply``) that makes vectors rather than resampling them gives. Its optimiser and colour matching may
    leave one pointing into the surface, which no tangent-space map holds and an engine lights from behind; its
    z is taken to 0 before the vector is made unit length."""
    vectors = color * 2.0 - 1.0
    vectors[..., 2] = np.maximum(vectors[..., 2], 0.0)
    return renormalize((vectors + 1.0) / 2.0)


_SAMPLED = 1 << 16  # texels looked at to tell a normal map: enough to judge, cheap on an 8192² texture
_UNIT_SHARE, _UP = 0.95, 0.7  # a normal map: nearly every texel unit length and facing out, most nearly straight up


def sampled(color: np.ndarray) -> np.ndarray:
    """About ``_SAMPLED`` texels of (H, W, C) ``color``, evenly spread: what ``looks_like_normal_map`` judges."""
    step = max(1, int(np.sqrt(color.shape[0] * color.shape[1] / _SAMPLED)))
    return color[::step, ::step]


_VECTOR_SHARE = 0.5
"""A texture marked ``kind: normal`` with fewer of its texels holding vectors (``vector_share``) is warned of. The
four synthetic materials' normal maps, their variants, brick's slopes 32° steep on average and maps whose vectors
were shortened by an 8x box filter hold 0.67 to 1.0; of the 1,126 colour textures and photos under
``../shared/data``, all but two hold under 0.04, and those two (a lilac tiled floor, its albedo and guide photo) 0.78
and 0.81."""


def vector_share(stored: np.ndarray) -> float:
    """The share of (H, W, 3) values as stored, in [0, 1], that hold a vector a normal map holds: about unit length
    (within a quarter, as a filtered map's are) and pointing out of the surface more than along either of its axes
    (z above x and y). A grey texel's vector points as far along each (x = y = z), a colour texel's is rarely unit
    length."""
    vectors = stored.astype(np.float32) * 2.0 - 1.0  # (H, W, 3)
    unit = np.abs(np.linalg.norm(vectors, axis=2) - 1.0) < 0.25
    return float((unit & (vectors[..., 2] > np.abs(vectors[..., :2]).max(axis=2))).mean())


def looks_like_normal_map(stored: np.ndarray) -> bool:
    """Whether (H, W, C) values as stored, in [0, 1], hold a tangent-space normal map: nearly every texel a unit
    vector pointing out of the surface, and on average close to straight up (the light blue of such maps). A grey
    texture's vectors lean 55° at best, and a colour texture's are rarely unit length."""
    if stored.ndim != 3 or stored.shape[2] != 3:
        return False
    vectors = sampled(stored).astype(np.float32) * 2.0 - 1.0  # (h, w, 3)
    unit = (np.abs(np.linalg.norm(vectors, axis=2) - 1.0) < 0.1) & (vectors[..., 2] > 0)
    return bool(unit.mean() > _UNIT_SHARE and vectors[..., 2].mean() > _UP)


def warn_if_normal_map(stored: np.ndarray, source: object, op: str, harm: str, fix: str = KIND_NORMAL) -> None:
    """Warn where a texture ``op`` takes as colour looks like a normal map: mixed into a folder of colour textures,
    one was resampled, exported or synthesized as colour without a word, and the engine lit it wrong. ``stored``
    is its values as stored (``sampled`` will do); ``harm`` says what taking it as colour does to it, and ``fix``
    what to do. The CLI says it once per op and build, and counts the rest."""
    if looks_like_normal_map(stored):
        log.warning("%s looks like a tangent-space normal map, and %s takes it as colour: %s. To keep it a normal map, "
                    "%s; a colour texture that only looks like one can stay as it is", source, op, harm, fix,
                    extra={"once_per": f"a normal map {op} takes as colour", "file": str(source),
                           "more_said": f"{{}} more textures look like normal maps that {op} takes as colour"})
