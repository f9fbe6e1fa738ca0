"""The ``material`` op: photos or a colour texture in, PBR maps, a preview and a glTF out."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
from scipy import ndimage

from ops.alpha import AlphaMeaning, color_to_resample, coverage_of
from ops.atomic import refuse_a_file_above
from ops.device import resolve_device
from ops.image_io import Image, path_argument, read_image, write_image
from ops.material.align import align_guide, resamples
from ops.material.fit import fit_maps
from ops.material.from_texture import material_from_texture, texture_tiles
from ops.material.gltf import AlphaMode, write_material_gltf
from ops.material.maps import ambient_occlusion, encode_normal, height_from_normal, pack_orm
from ops.material.params import GLTF_NAME, AlphaModeChoice, MaterialParams, NormalConvention, material_name
from ops.material.preview import render_preview
from ops.material.scene import load_scene
from ops.registry import OpContext, ProgressFn

Meta = dict[str, float | int | str]


def run(inputs: Mapping[str, Path], out_dir: Path, params: MaterialParams, ctx: OpContext) -> Meta:
    """Write ``params.output_names()`` into ``out_dir``; return metadata of the fit. The build's entry point
    (``ops.registry.MapRun``), not a script's: ``inputs`` is the mapping of roles to files the build makes, and
    is not checked for another type. A script calls ``material_from_photos`` or ``material_from_texture_file``,
    which check their arguments by name."""
    start = time.perf_counter()
    roles = _check_roles(inputs, params)
    if _all_kept(params, ctx):
        return _renamed(inputs, Path(out_dir), params, ctx.reuse_metadata, start)
    if params.method == "from_texture":
        maps, meta = _from_texture(Path(inputs["image"]), params)
    else:
        maps, meta = _from_photos(inputs, roles, params, ctx)
    _write_outputs(Path(out_dir), material_name(inputs), params, maps)
    meta = {"method": params.method, **meta}
    meta.update(width=maps.albedo.shape[1], height=maps.albedo.shape[0], seconds=round(time.perf_counter() - start, 2))
    figures = ", ".join(f"{key} {value}" for key, value in meta.items() if key != "method")
    ctx.log.info("%s: material %s, %s", _shown(inputs), params.method, figures)
    return meta


_READS_FILES = ("the fit reads photos from files, with their EXIF orientation and a scene.json beside them: "
                "write_image them first")


def material_from_photos(
    flash: str | Path,
    out_dir: str | Path,
    *,
    guide: str | Path | None = None,
    normal_convention: NormalConvention = "opengl",
    orm: bool = True,
    iterations: int = 250,
    fit_size: int = 256,
    fov_deg: float | None = None,
    max_shift: float = 0.05,
    seed: int = 0,
    device: str = "auto",
    progress: ProgressFn | None = None,
) -> Meta:
    """The ``material`` op's photo fit from a script, with no spec or build: the maps, preview and glTF of the
    ``flash`` photo (and its no-flash ``guide``, taken from the same position: ``two_shot``; without one,
    ``one_shot``) written into ``out_dir`` as the op writes them, a ``scene.json`` beside the flash photo read as
    the op reads it; returns the op's metadata. The photos are files because the op reads them so (their EXIF
    orientation, their bit depth, the sidecar). The other arguments are the op's params, with its defaults (see
    ``MaterialParams``); a value they refuse is a ``ValueError`` naming it, as is ``device`` outside auto, cpu,
    cuda and cuda:N. Before it, a script had the op's ``run`` alone, with its mapping of roles and ``OpContext``."""
    params = MaterialParams.from_arguments(
        method="one_shot" if guide is None else "two_shot", normal_convention=normal_convention, orm=orm,
        iterations=iterations, fit_size=fit_size, fov_deg=fov_deg, max_shift=max_shift, seed=seed,
    )
    photos = {"flash": flash} if guide is None else {"flash": flash, "guide": guide}
    inputs = {role: path_argument(photo, f"{role} is the path of a photo", _READS_FILES)
              for role, photo in photos.items()}
    if guide is not None and inputs["flash"].resolve() == inputs["guide"].resolve():
        raise ValueError(f"flash and guide are both {flash}: the guide is the photo taken without the flash, from the "
                         "same position; without one, leave guide out (one_shot)")
    ctx = OpContext(device=device, progress=progress)
    _warn_unread(params, ctx)
    return _run_from_script(inputs, out_dir, params, ctx)


def _warn_unread(params: MaterialParams, ctx: OpContext) -> None:
    """Warn of a ``max_shift`` other than its default without a guide, which the fit does not read, as ``remaster
    validate`` warns of it in a spec: a script that set it for a steadier alignment got the same maps, and would not
    know why (the function's other arguments are read by both methods)."""
    if params.method == "one_shot" and params.max_shift != MaterialParams.model_fields["max_shift"].default:
        ctx.log.warning("max_shift=%r is not read without a guide, so it changes nothing (%s): pass the guide photo "
                        "as guide=, or leave max_shift out", params.max_shift, params.unread_fields()["max_shift"])


def material_from_texture_file(
    texture: str | Path,
    out_dir: str | Path,
    *,
    normal_convention: NormalConvention = "opengl",
    orm: bool = True,
    normal_strength: float = 1.0,
    delight: float = 1.0,
    tileable: bool | None = None,
    alpha: AlphaMeaning = "auto",
    alpha_mode: AlphaModeChoice = "auto",
) -> Meta:
    """The ``material`` op's ``from_texture`` method from a script, with no spec or build: the maps, preview and
    glTF guessed from the colour texture file ``texture`` written into ``out_dir`` as the op writes them; returns
    the op's metadata. A file, as the op reads it: its alpha (kept in albedo.png, and deciding the glTF's
    alphaMode), its bit depth, its EXIF turn and its name (the glTF's material). The other arguments are the op's
    params, with its defaults (see ``MaterialParams``); a value they refuse is a ``ValueError`` naming it.
    ``ops.material.from_texture.material_from_texture`` gives the maps of pixels in memory as arrays, writing
    nothing; before this, a script that wanted the files had the op's ``run`` alone."""
    params = MaterialParams.from_arguments(
        method="from_texture", normal_convention=normal_convention, orm=orm, normal_strength=normal_strength,
        delight=delight, tileable=tileable, alpha=alpha, alpha_mode=alpha_mode,
    )
    inputs = {"image": path_argument(texture, "texture is the path of a texture file",
                                     "the op reads its alpha, bit depth and name from the file: write_image it "
                                     "first, or ops.material.from_texture.material_from_texture(image.rgb(), "
                                     "coverage=image.alpha) gives the maps of pixels as arrays")}
    return _run_from_script(inputs, out_dir, params, OpContext())


def _run_from_script(inputs: dict[str, Path], out_dir: str | Path, params: MaterialParams, ctx: OpContext) -> Meta:
    """``run`` for a script's checked ``inputs``, once ``out_dir`` is known to be a folder that can be made: a file
    there failed only after the fit, as "File exists" or "Not a directory", and what is no path in pathlib."""
    folder = path_argument(out_dir, "out_dir is the folder to write the maps into", "the maps are written as files")
    if folder.is_file():
        raise ValueError(f"out_dir {out_dir} is a file; give the folder to write the maps into")
    refuse_a_file_above(folder, "out_dir")
    return run(inputs, folder, params, ctx)


def _all_kept(params: MaterialParams, ctx: OpContext) -> bool:
    """Whether an earlier build made every output but the glTF from these very photos or texture and params, under
    another name (``MaterialParams.output_units``). Some alone (a gc dropped the others) are fitted again:
    the maps come from one fit together."""
    units = params.output_units()
    return bool(units) and set(units) <= set(ctx.reuse)


def _renamed(inputs: Mapping[str, Path], out_dir: Path, params: MaterialParams, made_with: Mapping[str, object],
             start: float) -> Meta:
    """Write the glTF alone, naming the material anew, beside the maps an earlier build made, and return the
    figures that build gave (``made_with``), so that the row reads as the fit's. A photo's maps are opaque and
    never tile; a texture's alpha and tiling are found again as its maps were made, for the glTF to say them."""
    height, width = read_image(out_dir / "albedo.png").color.shape[:2]
    alpha_mode, tileable = _texture_look(Path(inputs["image"]), params) if params.method == "from_texture" else (
        "OPAQUE", False)
    write_material_gltf(out_dir / GLTF_NAME, material_name(inputs), orm=params.orm,
                        normal_map=params.normal_convention == "opengl", aspect=width / height,
                        alpha_mode=alpha_mode, tileable=tileable)
    texture = {"tileable": int(tileable)} if params.method == "from_texture" else {}
    return {**cast(Meta, made_with), **texture, "method": params.method, "maps_kept": 1, "width": width,
            "height": height, "seconds": round(time.perf_counter() - start, 2)}


def _shown(inputs: Mapping[str, Path]) -> str:
    """What a log line names, so that a run's log of many textures says which one each line is about: the
    texture or flash photo, with a pair's folder (every pair's flash photo is called flash)."""
    first = Path(inputs.get("image") or inputs["flash"])
    return f"{first.parent.name}/{first.name}" if "guide" in inputs else first.name


def _texture_look(path: Path, params: MaterialParams) -> tuple[AlphaMode, bool]:
    """What a ``from_texture`` material's glTF says of the texture at ``path``: its alpha mode and whether it
    tiles, found as its maps were made (of its colour filled under a cut-out: black there is no deep groove)."""
    source = read_image(path)
    rgb, coverage = color_to_resample(source.rgb(), source.alpha, params.alpha), coverage_of(source.alpha, params.alpha)
    return _alpha_mode(source.alpha, params), texture_tiles(rgb, coverage, params.tileable)


def _from_texture(path: Path, params: MaterialParams) -> tuple[Maps, Meta]:
    """The maps of the texture at ``path``: ``material_from_texture`` fills the colour under a cut-out itself."""
    source = read_image(path)
    made = material_from_texture(source.rgb(), strength=params.normal_strength, delight=params.delight,
                                 tileable=params.tileable, coverage=coverage_of(source.alpha, params.alpha))
    maps = Maps(made.albedo, made.normal, made.roughness, made.specular, made.height, made.ao, source.alpha,
                source.bit_depth, made.tileable)
    return maps, {"tileable": int(made.tileable)}


def _grey_beside_colour(a: Image, b: Image) -> bool:
    """One photo saved grey, the other with colour in it (a grey photo saved as RGB, a camera's monochrome
    JPEG, pairs with a grey one; a black one is left for the fit to name)."""
    def in_colour(photo: Image) -> bool:
        return photo.channels == 3 and float(np.ptp(photo.color, axis=2).max()) > 2 / 255

    return (a.channels == 1 and in_colour(b)) or (b.channels == 1 and in_colour(a))


def _sizes_differ(guide: Path, guide_size: tuple[int, ...], flash: Path, flash_size: tuple[int, ...]) -> str:
    """Why a pair's photos differ in size, with the fix: one turned sideways (its sizes swapped: an editor or
    a transfer that dropped the phone's orientation tag) or scaled down (a messenger's or an upload's copy)."""
    (gh, gw), (fh, fw) = guide_size, flash_size
    said = f"{guide} is {gw}x{gh} but {flash} is {fw}x{fh}; a flash/guide pair must be taken at the same size"
    if (gh, gw) == (fw, fh):
        return (f"{said}: one of them is turned sideways (a photo editor or a copy that dropped the phone's "
                "orientation tag): turn it to match the other")
    if gh * fw == gw * fh:
        return (f"{said}: the smaller one is a scaled-down copy (as a messenger or an upload makes): use both "
                "photos at the size the camera saved them")
    return said


def _from_photos(inputs: Mapping[str, Path], roles: set[str], params: MaterialParams, ctx: OpContext) -> tuple[Maps, Meta]:
    """one_shot (a flash photo) or two_shot (and its guide, aligned to it): maps fitted to the photos."""
    meta: Meta = {}
    flash_path = Path(inputs["flash"] if "flash" in roles else inputs["image"])
    flash_image = read_image(flash_path)
    flash, bit_depth, guide = flash_image.rgb(), flash_image.bit_depth, None
    if params.method == "two_shot":
        guide_path = Path(inputs["guide"])
        guide_image = read_image(guide_path)
        guide, bit_depth = guide_image.rgb(), max(bit_depth, guide_image.bit_depth)
        if guide.shape != flash.shape:
            raise ValueError(_sizes_differ(guide_path, guide.shape[:2], flash_path, flash.shape[:2]))
        if _grey_beside_colour(flash_image, guide_image):
            grey, colour = (flash_path, guide_path) if flash_image.channels == 1 else (guide_path, flash_path)
            raise ValueError(
                f"{grey} is greyscale but {colour} is in colour; the fit would read the colour photo's tint as "
                f"the surface's: save both photos of the pair in colour (or both in grey)"
            )
        guide, shift = align_guide(flash, guide, max_shift=params.max_shift, names=(str(flash_path), str(guide_path)))
        meta.update(shift_x=round(shift.dx, 2), shift_y=round(shift.dy, 2), align_confidence=round(shift.confidence, 2),
                    aligned=resamples(shift, params.max_shift))
    device = resolve_device(ctx.device, ctx.log)
    fitted = fit_maps(
        flash, guide, load_scene(flash_path, params.fov_deg), iterations=params.iterations,
        fit_size=params.fit_size, device=device, seed=params.seed, progress=ctx.progress, name=str(flash_path),
    )
    height = height_from_normal(fitted.normal)
    maps = Maps(fitted.albedo, fitted.normal, fitted.roughness, fitted.specular, height,
                ambient_occlusion(height, wrap=False, depth=1.0), None, bit_depth, tileable=False)  # a photo never tiles
    meta.update(flash_intensity=round(fitted.intensity, 4), fit_width=fitted.fit_size[1],
                fit_height=fitted.fit_size[0], device=str(device))
    if params.iterations:  # iterations: 0 writes the starting maps, with no loss to report (NaN is no JSON)
        meta["fit_loss"] = round(fitted.loss, 5)
    return maps, meta


def _check_roles(inputs: Mapping[str, Path], params: MaterialParams) -> set[str]:
    roles = set(inputs)
    wanted = set(params.input_roles())
    if params.method == "one_shot" and roles == {"flash"}:
        return roles
    if roles == wanted:
        return roles
    given = ", ".join(f"{role}={path}" for role, path in sorted(inputs.items())) or "nothing"
    if params.method == "two_shot":
        missing = " and ".join(sorted(wanted - roles)) or "nothing"
        raise ValueError(
            f"method two_shot needs a flash photo and a guide photo, got {given}; missing: {missing}. "
            "Use a photo_pairs source, or method one_shot for single flash photos"
        )
    raise ValueError(f"method {params.method} needs one image (a textures source), got {given}")


@dataclass(frozen=True)
class Maps:
    """What the op writes: (H, W, 3) albedo (linear) and unit normals, (H, W) scalar maps, the
    source's alpha, kept in albedo.png (None for photos), and the source's bit depth, albedo.png's:
    a 16-bit scan keeps its tonal steps in the colour map; and whether they tile."""

    albedo: np.ndarray
    normal: np.ndarray
    roughness: np.ndarray
    specular: np.ndarray
    height: np.ndarray
    ao: np.ndarray
    alpha: np.ndarray | None
    bit_depth: int
    tileable: bool


CUT_OUT_EDGE = 8
"""Texels: how far from a fully transparent or a fully opaque texel a partial alpha may lie in a cut-out.
Enlarged, a cut-out's edges turn partial across up to two source texels (8 texels at 4x: all 122 of
freedoom's sprites with alpha enlarged 4x by upscale stay within it, 116 within 4)."""

PLATEAU_SHARE = 0.1
"""At most this share of a cut-out's partial texels may sit on a plateau (alpha varying by under 0.05,
quantization noise included, across its 9x9 neighbourhood): an enlarged cut-out's edges are slopes
(freedoom's sprites and an anti-aliased disc enlarged up to 4x with Lanczos: at most 4.5%; 8x with
nearest, whose blocks are up to 8 texels wide: none), where a pane of glass 12 texels wide or more is
flat (11% at 12)."""


def _alpha_mode(alpha: np.ndarray | None, params: MaterialParams) -> AlphaMode:
    """glTF's reading of albedo's alpha: coverage is a cut-out (MASK: tested against 0.5, no depth sorting)
    when it is 0 or 1 but on slopes near texels that are, as along an enlarged cut-out's edges; else
    translucent (BLEND). A small soft sprite (a puff of smoke 16 texels wide) looks like an enlarged dot:
    ``alpha_mode`` says which it is."""
    if alpha is None or params.alpha == "data" or alpha.min() == 1.0:
        return "OPAQUE"
    if params.alpha_mode != "auto":
        return "MASK" if params.alpha_mode == "mask" else "BLEND"
    partial = (alpha > 0) & (alpha < 1)

    def near(texels: np.ndarray) -> np.ndarray:
        return ndimage.maximum_filter(texels, size=2 * CUT_OUT_EDGE + 1, mode="nearest")

    if (partial & ~(near(alpha == 0) | near(alpha == 1))).any():
        return "BLEND"
    spread = ndimage.maximum_filter(alpha, size=9, mode="nearest") - ndimage.minimum_filter(alpha, size=9, mode="nearest")
    return "BLEND" if (partial & (spread < 0.05)).sum() > PLATEAU_SHARE * partial.sum() else "MASK"


def _write_outputs(out_dir: Path, name: str, params: MaterialParams, maps: Maps) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    albedo, normal, roughness, specular, height, ao = (
        maps.albedo, maps.normal, maps.roughness, maps.specular, maps.height, maps.ao
    )

    def grey(x: np.ndarray) -> Image:
        return Image(color=x[..., None].astype(np.float32))

    write_image(out_dir / "albedo.png", Image(color=albedo, alpha=maps.alpha, bit_depth=maps.bit_depth))
    write_image(out_dir / "normal.png", Image(color=encode_normal(normal, params.normal_convention)), colorspace="linear")
    write_image(out_dir / "roughness.png", grey(roughness), colorspace="linear")
    write_image(out_dir / "specular.png", grey(specular), colorspace="linear")
    write_image(out_dir / "height.png", grey(height), colorspace="linear", bit_depth=16)
    write_image(out_dir / "ao.png", grey(ao), colorspace="linear")
    if params.orm:
        write_image(out_dir / "orm.png", Image(color=pack_orm(ao, roughness)), colorspace="linear")
    preview = render_preview(albedo, normal, roughness, specular, ao)
    write_image(out_dir / "preview.png", Image(color=np.clip(preview, 0, 1)))
    write_material_gltf(out_dir / GLTF_NAME, name, orm=params.orm, normal_map=params.normal_convention == "opengl",
                        aspect=albedo.shape[1] / albedo.shape[0], alpha_mode=_alpha_mode(maps.alpha, params),
                        tileable=maps.tileable)
