"""What a script passes an op where the op takes an ``Image``, a device or a progress callback: pixels as arrays or
tensors, a batch, a torch.device. Each failed deep inside the op with an AttributeError of numpy's or torch's."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

from ops.atomic import write_bytes_atomic
from ops.device import resolve_device
from ops.export_dds import ExportDdsParams, export_dds
from ops.export_dds import run as export_dds_run
from ops.image_io import ColorSpace, Image, read_image, srgb_to_linear, write_image
from ops.material.from_texture import material_from_texture
from ops.material.run import material_from_photos, material_from_texture_file
from ops.material.synthetic import render_demo_pair
from ops.multiply.params import MultiplyParams
from ops.multiply.run import multiply
from ops.multiply.run import run as multiply_run
from ops.superres.infer import super_resolve
from ops.superres.model import SRCAE, SRCAEConfig
from ops.superres.train import train_srcae
from ops.superres.weights import save_srcae
from ops.registry import OpContext, OpParams
from ops.upscale import UpscaleParams, run, upscale

PIXELS = np.full((32, 32, 3), 0.5, np.float32)

CALLS: dict[str, tuple[Callable[[object, Path], object], ColorSpace]] = {  # with how the op holds an Image's values
    "super_resolve": (lambda image, tmp: super_resolve(image, tmp / "model.pt", device="cpu"),  # type: ignore[arg-type]
                      "linear"),
    "multiply": (lambda image, tmp: multiply(image, count=1, size=32, method="patch"), "srgb"),  # type: ignore[arg-type]
    "upscale": (lambda image, tmp: upscale(image), "linear"),  # type: ignore[arg-type]
    "export_dds": (lambda image, tmp: export_dds(image), "srgb"),  # type: ignore[arg-type]
    "export_dds normal": (lambda image, tmp: export_dds(image, kind="normal"), "linear"),  # type: ignore[arg-type]
    "write_image": (lambda image, tmp: write_image(tmp / "out.png", image), "srgb"),  # type: ignore[arg-type]
    "write_image linear": (lambda image, tmp: write_image(tmp / "out.png", image, colorspace="linear"),  # type: ignore[arg-type]
                           "linear"),
}
READ = {"srgb": "read_image(path)", "linear": 'read_image(path, colorspace="linear")'}


def _made(values: str, colorspace: ColorSpace) -> str:
    return f"Image(srgb_to_linear({values}))" if colorspace == "srgb" else f"Image({values})"


@pytest.mark.parametrize("name", CALLS)
@pytest.mark.parametrize(("given", "said"), [
    (PIXELS, "got numpy.ndarray ({read} reads a file into one; pixels go in as {pixels}: floats"),
    (torch.from_numpy(PIXELS), "got torch.Tensor ({read} reads a file into one; pixels go in as {tensor}: floats"),
    ([Image(PIXELS), Image(PIXELS)], "got builtins.list (one Image a call: call the op once for each)"),
    ("wall.png", "got builtins.str ({read} reads the file into one)"),
    (PILImage.new("RGB", (32, 32)), "got PIL.Image.Image (a Pillow image, not remaster's: {read} reads the file with "
                                    "its alpha, 16 bits and EXIF turn, or {picture} takes its RGB or L pixels)"),
], ids=["array", "tensor", "batch", "path", "pillow"])
def test_an_op_given_pixels_for_its_image_says_how_to_make_one(name: str, given: object, said: str,
                                                               tmp_path: Path) -> None:
    call, colorspace = CALLS[name]
    said = said.format(read=READ[colorspace], pixels=_made("pixels", colorspace),
                       tensor=_made("pixels.cpu().numpy()", colorspace),
                       picture=_made("np.asarray(picture) / 255", colorspace))
    with pytest.raises(TypeError, match=re.escape(f"image is an ops.image_io.Image; {said}")):
        call(given, tmp_path)
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize("name", CALLS)
def test_the_image_an_op_s_message_makes_of_a_file_or_its_pixels_is_the_one_the_op_reads(name: str,
                                                                                         tmp_path: Path) -> None:
    """Every op said read_image(path) and Image(pixels / 255), where super_resolve, upscale and export_dds's kind:
    normal hold values as stored and the others linear light: followed, a normal map read in linear light was
    exported with wrong vectors, and colour went into super_resolve darker than its model learnt."""
    call, colorspace = CALLS[name]
    path = tmp_path / "wall.png"
    PILImage.fromarray(np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(path)
    pixels = np.asarray(PILImage.open(path))
    expected = read_image(path, colorspace=colorspace).color
    for given, pattern in ((pixels, r"pixels go in as (Image\(.*?\)): floats"), (path, r"\((read_image\(.*?\)) reads")):
        with pytest.raises(TypeError) as refused:
            call(given, tmp_path)
        made = re.search(pattern, str(refused.value))
        assert made, refused.value
        namespace = {"Image": Image, "read_image": read_image, "srgb_to_linear": srgb_to_linear, "pixels": pixels,
                     "path": path}
        image = eval(made[1], namespace)  # the call as the message writes it
        assert np.allclose(image.color, expected, atol=1e-6), made[1]


@pytest.mark.parametrize(("pixels", "made"), [
    (np.full((8, 8, 3), 128, np.uint8), "Image(pixels / 255)"),
    (np.full((8, 8, 3), 32768, np.uint16), "Image(pixels / 65535)"),
    (np.full((8, 8, 3), 0.5, np.float64), "Image(pixels)"),
    (torch.full((8, 8, 3), 128, dtype=torch.uint8), "Image(pixels.cpu().numpy() / 255)"),
], ids=["8-bit", "16-bit", "floats", "8-bit tensor"])
def test_pixels_given_for_an_image_are_told_the_scale_of_their_own_values(pixels: object, made: str) -> None:
    """Every array was told Image(pixels / 255): floats already in [0, 1] divided by 255 made a black texture, which
    Image takes without a word. The call given makes the Image the pixels show."""
    with pytest.raises(TypeError, match=re.escape(f"pixels go in as {made}: floats")):
        upscale(pixels)  # type: ignore[arg-type]
    image = eval(made, {"Image": Image, "pixels": pixels})  # the call as the message writes it
    assert np.allclose(image.color, 0.5, atol=0.01)  # each is mid-grey, as the pixels are


def test_write_image_given_the_image_first_says_the_path_comes_first(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=re.escape("write_image takes the path first: write_image(path, image)")):
        write_image(Image(PIXELS), tmp_path / "out.png")  # type: ignore[arg-type]


@pytest.mark.parametrize(("color", "said"), [
    (np.zeros((8, 8), np.float32), "(a grey (height, width) array: pixels[..., None])"),
    (np.zeros((8, 8, 4), np.float32), "(colour and alpha in one array: Image(rgba[..., :3], rgba[..., 3]))"),
    (np.zeros((8, 8, 2), np.float32), "(colour and alpha in one array: Image(pixels[..., :1], pixels[..., 1]))"),
    (np.zeros((2, 8, 8, 3), np.float32), "(a batch: one Image for each picture)"),
    (np.zeros((3, 8, 8), np.float32), "(a (channels, height, width) array: pixels.transpose(1, 2, 0))"),
])
def test_an_image_of_another_shape_says_how_to_make_it_from_the_array(color: np.ndarray, said: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"got shape {color.shape} {said}")):
        Image(color)


def test_an_image_s_alpha_of_one_plane_in_three_dimensions_says_which_plane() -> None:
    with pytest.raises(ValueError, match=re.escape("got shape (8, 8, 1) (one plane: alpha[..., 0])")):
        Image(np.zeros((8, 8, 3), np.float32), np.zeros((8, 8, 1), np.float32))


def test_an_image_of_a_list_or_a_pillow_image_is_told_how_to_make_an_array_of_it() -> None:
    with pytest.raises(TypeError, match=re.escape("got builtins.list (np.asarray(values, np.float32))")):
        Image(PIXELS.tolist())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=re.escape("got PIL.Image.Image (a Pillow image's: np.asarray(picture) / 255")):
        Image(PILImage.new("RGB", (8, 8)))  # type: ignore[arg-type]


def test_a_torch_device_is_taken_as_its_name() -> None:
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(ValueError, match=re.escape("device 'meta': expected auto, cpu, cuda or cuda:N")):
        resolve_device(torch.device("meta"))
    exemplar = Image(np.random.default_rng(0).random((40, 40, 3)).astype(np.float32))
    by_name, by_device = (multiply(exemplar, count=1, size=32, method="patch", device=device)[0]
                          for device in ("cpu", torch.device("cpu")))  # type: ignore[arg-type]
    assert np.array_equal(by_name.color, by_device.color)


@pytest.mark.parametrize("weights", [SRCAE(SRCAEConfig(down_blocks=1, widths=(8, 12))), {"conv.weight": torch.zeros(1)}],
                         ids=["module", "state_dict"])
def test_super_resolve_given_a_model_in_memory_says_it_takes_a_file(weights: object) -> None:
    said = (f"weights is the path of a weights file (the model.pt train_srcae writes, or a community model's file); "
            f"got {type(weights).__module__}.{type(weights).__name__} (a model in memory: "
            "ops.superres.weights.save_srcae(path, model) writes an SRCAE's)")
    with pytest.raises(TypeError, match=re.escape(said)):
        super_resolve(Image(PIXELS), weights, device="cpu")  # type: ignore[arg-type]



def _train(tmp_path: Path, checkpoint_dir: Path | None = None) -> None:
    texture = tmp_path / "wall.png"
    write_image(texture, Image(np.random.default_rng(0).random((64, 64, 3)).astype(np.float32)))
    train_srcae(texture, tmp_path / "model.pt", steps=1, down_blocks=1, widths=(8, 12), patch_size=16, batch_size=2,
                device="cpu", checkpoint_dir=checkpoint_dir)


def _fit(tmp_path: Path) -> None:
    flash, guide = render_demo_pair(tmp_path / "pair", size=32)
    material_from_photos(flash, tmp_path / "maps", guide=guide, iterations=1, fit_size=32, device="cpu")


@pytest.mark.parametrize("op", [_train, _fit], ids=["train_srcae", "material_from_photos"])
def test_an_op_that_seeds_torch_gives_a_script_its_random_state_back(op: Callable[[Path], None], tmp_path: Path) -> None:
    """Both seed torch's global generator (a model's first weights draw from it), and a script's own draws after
    them came from the op's seed."""
    torch.manual_seed(123)
    expected = torch.rand(4)[1:]
    torch.manual_seed(123)
    torch.rand(1)
    op(tmp_path)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize(("shape", "method", "fix"), [
    ((2, 128, 3), "patch", "(too small for either method: enlarge it first (ops.upscale.upscale), or leave it out of "
                           "the textures you multiply)"),
    ((12, 12, 3), "gram", "(use method='patch' with patch_size=10 or less)"),
    ((256, 16, 3), "patch", "(set patch_size=14 or less or use method='gram')"),
], ids=["strip", "small", "narrow"])
def test_multiply_tells_a_script_too_small_an_exemplar_s_fixes_as_its_arguments(
    shape: tuple[int, int, int], method: str, fix: str
) -> None:
    """A script has no spec: it was told to set patch_size: 14, or to leave the texture out with the source's
    exclude. A build is told the spec's keys (test_multiply)."""
    exemplar = Image(np.random.default_rng(0).random(shape).astype(np.float32))
    with pytest.raises(ValueError, match=re.escape(fix)) as caught:
        multiply(exemplar, count=1, size=32, method=method, source="strip.png")  # type: ignore[arg-type]
    assert str(caught.value).startswith("strip.png is ") and "exclude" not in str(caught.value)


def test_a_file_argument_given_pixels_or_an_image_says_what_it_takes(tmp_path: Path) -> None:
    """Each failed in pathlib as "expected str, bytes or os.PathLike object, not Image", and train_srcae's only
    after reading its textures."""
    image = Image(PIXELS)
    write_image(tmp_path / "wall.png", image)
    calls = {
        "read_image's path is the path of an image file; got ops.image_io.Image (an Image, or pixels as "
        "Image(pixels / 255), goes to an op as it is": lambda: read_image(image),
        "out_dir is the folder to write the maps into; got ops.image_io.Image (the maps are written as files)":
            lambda: material_from_texture_file(tmp_path / "wall.png", image),
        "out_dir is the folder to write the maps into; got builtins.NoneType":
            lambda: material_from_photos(tmp_path / "wall.png", None),
        "out is the path of the model file to write (model.pt); got ops.image_io.Image (train_srcae writes the "
        "model to a file": lambda: train_srcae(tmp_path / "wall.png", image, steps=1),
    }
    for said, call in calls.items():
        with pytest.raises(TypeError, match=re.escape(said)):
            call()  # type: ignore[no-untyped-call]


def test_write_bytes_atomic_given_export_dds_s_result_says_its_data_holds_the_bytes(tmp_path: Path) -> None:
    """It failed as "memoryview: a bytes-like object is required, not 'Exported'"."""
    with pytest.raises(TypeError, match=re.escape(f"write_bytes_atomic writes bytes to {tmp_path / 'wall.dds'}; got "
                                                  "ops.export_dds.Exported (its .data holds the file's bytes)")):
        write_bytes_atomic(tmp_path / "wall.dds", export_dds(Image(PIXELS)))  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_material_from_texture_given_an_image_for_its_coverage_says_it_takes_the_alpha() -> None:
    """It was read as an array of no shape: "coverage is (height, width) = (32, 32), as rgb; got shape ()"."""
    with pytest.raises(TypeError, match=re.escape("coverage is the texture's alpha, an array (height, width); got "
                                                  "ops.image_io.Image (image.alpha)")):
        material_from_texture(PIXELS, coverage=Image(PIXELS, PIXELS[..., 0]))  # type: ignore[arg-type]


def test_super_resolve_given_upscale_s_pair_for_wrap_says_what_it_takes(tmp_path: Path) -> None:
    """Its op's wrap is auto, true or false (the README's super_resolve keys): a (vertical, horizontal) pair is
    upscale's alone."""
    with pytest.raises(ValueError, match=re.escape("wrap (True, False): should be 'auto' or a valid boolean")):
        super_resolve(Image(PIXELS), tmp_path / "model.pt", wrap=(True, False), device="cpu")  # type: ignore[arg-type]


@pytest.mark.parametrize(("arguments", "refused"), [
    ({"strength": -1}, "strength -1: should be greater than or equal to 0"),
    ({"strength": 11, "delight": 2}, "strength 11: should be less than or equal to 10; delight 2: should be less than "
                                     "or equal to 1"),
], ids=["strength", "with delight"])
def test_material_from_texture_names_a_refused_argument_as_the_caller_wrote_it(arguments: dict, refused: str) -> None:
    """It said "normal_strength -1", the op's spec key, of a call that passed ``strength``."""
    with pytest.raises(ValueError) as caught:
        material_from_texture(PIXELS, **arguments)
    assert str(caught.value) == refused


def _normal_map() -> Image:
    """A tangent-space normal map as stored: unit vectors facing out, most nearly straight up."""
    vectors = np.random.default_rng(2).normal(0, 0.3, (32, 32, 3))
    vectors[..., 2] = 1.0
    vectors /= np.linalg.norm(vectors, axis=2, keepdims=True)
    return Image(((vectors + 1) / 2).astype(np.float32))


def _as_given(image: Image, normal: bool) -> Image:
    """``image``'s values as stored, as ``multiply`` and ``export_dds`` take them: colour in linear light, as
    ``read_image`` reads it, and a normal map as stored."""
    return image if normal else Image(srgb_to_linear(image.color))


def _enlarge(name: str, tmp_path: Path) -> tuple[Callable[[Image, bool], object], str]:
    """The op called as ``name`` says, given a normal map or colour as its second argument says, and how the call
    writes a normal map."""
    if name == "multiply":
        return (lambda image, normal: multiply(_as_given(image, normal), count=1, size=32, steps=1,
                                               kind="normal" if normal else "color"), 'kind="normal"')
    if name == "export_dds":
        return (lambda image, normal: export_dds(_as_given(image, normal), kind="normal" if normal else "color"),
                'kind="normal"')
    if name == "upscale normal_map":
        return lambda image, normal: upscale(image, normal_map=normal), "normal_map=True"
    if name == "upscale":
        return lambda image, normal: upscale(image, kind="normal" if normal else "color"), 'kind="normal"'
    save_srcae(tmp_path / "model.pt", SRCAE(SRCAEConfig(down_blocks=1, widths=(8, 12))))
    return (lambda image, normal: super_resolve(image, tmp_path / "model.pt", kind="normal" if normal else "color",
                                                device="cpu"), 'kind="normal"')


@pytest.mark.parametrize("name", ["upscale normal_map", "upscale", "super_resolve", "multiply", "export_dds"])
def test_a_normal_map_s_messages_to_a_script_name_its_argument_not_the_spec_s_key(
    name: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A script was told it had "marked kind: normal" (upscale's argument is normal_map=True), to "set kind: normal
    on the asset" and to give its normal maps a source of their own, with a glob: a spec's keys it has not.
    multiply (its method gram) and export_dds, which take a normal map as colour by default, were told so too."""
    enlarge, normal = _enlarge(name, tmp_path)
    grey = Image(np.full((32, 32, 1), 0.5, np.float32))
    with pytest.raises(ValueError) as refused:
        enlarge(grey, True)
    assert str(refused.value) == (f"the texture is given {normal} but has 1 colour channel(s), not RGB; leave {normal} "
                                  "out for a grey or colour texture")
    with caplog.at_level("WARNING"):
        enlarge(_normal_map(), False)
        enlarge(Image(np.random.default_rng(0).random((32, 32, 3)).astype(np.float32)), True)
    assert ('takes it as colour: as kind="color" (the default), ' in caplog.text
            and 'To keep it a normal map, pass kind="normal"; a colour texture' in caplog.text)
    assert (f"the texture is given {normal} but does not look like a tangent-space normal map" in caplog.text
            and f"If it is a colour texture, leave {normal} out; a normal map" in caplog.text)
    assert "kind:" not in caplog.text and "glob" not in caplog.text


def test_upscale_takes_kind_as_the_other_ops_do(tmp_path: Path) -> None:
    """upscale(image, kind="normal"), as super_resolve, multiply and export_dds take it, was a TypeError: upscale
    took normal_map=True alone. Either gives the op's output for kind: normal, byte for byte."""
    write_image(tmp_path / "n.png", _normal_map(), colorspace="linear")
    stored = read_image(tmp_path / "n.png", colorspace="linear")
    for made, call in (("kind", upscale(stored, kind="normal")), ("normal_map", upscale(stored, normal_map=True))):
        write_image(tmp_path / f"{made}.png", call, colorspace="linear")
    run({"image": tmp_path / "n.png"}, tmp_path / "op", UpscaleParams(kind="normal"), OpContext())
    op = (tmp_path / "op" / "output.png").read_bytes()
    assert (tmp_path / "kind.png").read_bytes() == op == (tmp_path / "normal_map.png").read_bytes()
    write_image(tmp_path / "colour.png", upscale(stored), colorspace="linear")
    assert (tmp_path / "colour.png").read_bytes() != op  # renormalized: kind told
    with pytest.raises(ValueError, match=re.escape("kind 'data': should be 'color' or 'normal'")):
        upscale(stored, kind="data")  # type: ignore[arg-type]


def test_upscale_refuses_normal_map_beside_another_kind(tmp_path: Path) -> None:
    """upscale(image, normal_map=True, kind="color") was quietly enlarged as a normal map (renormalized): the two
    arguments clash, and the error names both. Given together as one kind, they are taken."""
    write_image(tmp_path / "n.png", _normal_map(), colorspace="linear")
    stored = read_image(tmp_path / "n.png", colorspace="linear")
    with pytest.raises(ValueError, match=re.escape(
            'upscale got normal_map=True and kind="color", which clash: normal_map=True is kind="normal"; give '
            'kind="normal" alone for a normal map, or kind="color" alone')):
        upscale(stored, normal_map=True, kind="color")
    both = upscale(stored, normal_map=True, kind="normal").color
    assert np.array_equal(both, upscale(stored, kind="normal").color)
    assert np.array_equal(upscale(stored, kind="color").color, upscale(stored).color)


def test_material_from_texture_of_a_cut_out_gives_the_op_s_maps(tmp_path: Path) -> None:
    """Called as its docstring says, with the texture's alpha as coverage, it read the black under the cut-out as
    deep grooves, where the op fills that colour first: heights 0.7 apart from the op's material.gltf's maps."""
    rng = np.random.default_rng(3)
    alpha = np.where(rng.random((32, 32)) > 0.5, 1.0, 0.0).astype(np.float32)
    write_image(tmp_path / "sprite.png", Image(rng.random((32, 32, 3)).astype(np.float32) * alpha[..., None], alpha))
    material_from_texture_file(tmp_path / "sprite.png", tmp_path / "op")
    sprite = read_image(tmp_path / "sprite.png")
    with pytest.raises(TypeError) as refused:  # what material_from_texture_file says of an Image: the call made here
        material_from_texture_file(sprite, tmp_path / "op")  # type: ignore[arg-type]
    assert "material_from_texture(image.rgb(), coverage=image.alpha) gives the maps" in str(refused.value)
    made = material_from_texture(sprite.rgb(), coverage=sprite.alpha)
    write_image(tmp_path / "height.png", Image(made.height[..., None]), colorspace="linear", bit_depth=16)
    write_image(tmp_path / "albedo.png", Image(made.albedo, sprite.alpha))
    for name in ("height.png", "albedo.png"):
        assert (tmp_path / name).read_bytes() == (tmp_path / "op" / name).read_bytes(), name


def test_material_from_photos_warns_of_a_max_shift_it_does_not_read(tmp_path: Path,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    """Without a guide there is nothing to align: max_shift changed nothing without a word, where a spec's
    max_shift on a one_shot material is warned of by validate."""
    flash, guide = render_demo_pair(tmp_path / "pair", size=32)
    with caplog.at_level("WARNING"):
        material_from_photos(flash, tmp_path / "maps", max_shift=0.2, iterations=1, fit_size=32, device="cpu")
    assert ("max_shift=0.2 is not read without a guide, so it changes nothing (a setting of two_shot's alignment of "
            "the guide photo, which one_shot has not): pass the guide photo as guide=, or leave max_shift out"
            in caplog.text)
    caplog.clear()
    with caplog.at_level("WARNING"):
        material_from_photos(flash, tmp_path / "maps", iterations=1, fit_size=32, device="cpu")
        material_from_photos(flash, tmp_path / "pair_maps", guide=guide, max_shift=0.2, iterations=1, fit_size=32,
                             device="cpu")
    assert "max_shift" not in caplog.text


def test_train_srcae_on_textures_almost_all_transparent_tells_a_script_its_alpha_argument(tmp_path: Path) -> None:
    """It was told to give alpha: data, a spec's key."""
    alpha = np.zeros((64, 64), np.float32)
    alpha[:, 48:] = 1.0  # the right quarter, held out to measure the model
    write_image(tmp_path / "sprite.png", Image(np.full((64, 64, 3), 0.5, np.float32), alpha))
    with pytest.raises(ValueError, match=re.escape('or give alpha: data (from a script, alpha="data") where the alpha')):
        train_srcae(tmp_path / "sprite.png", tmp_path / "model.pt", steps=1, patch_size=16, device="cpu")


BUILDS: dict[str, Callable[[str], tuple[Callable[..., object], OpParams]]] = {  # an op's run and its params of a kind
    "upscale": lambda kind: (run, UpscaleParams(kind=kind)),  # type: ignore[arg-type]
    "multiply": lambda kind: (multiply_run, MultiplyParams(kind=kind, count=1, size=32, steps=1)),  # type: ignore[arg-type]
    "export_dds": lambda kind: (export_dds_run, ExportDdsParams(kind=kind)),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("op", BUILDS)
def test_a_build_s_normal_map_messages_keep_the_spec_s_words(op: str, tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    """The op, from a spec, is told its keys as before the script's words were made apart: a grey texture marked
    kind: normal is told to leave kind out, a colour one also to keep the normal maps in a source of their own, and
    a normal map taken as colour to set kind: normal on the asset."""
    normal, colour = BUILDS[op]("normal"), BUILDS[op]("color")
    write_image(tmp_path / "grey.png", Image(np.full((8, 8, 1), 0.5, np.float32)))
    with pytest.raises(ValueError) as refused:
        normal[0]({"image": tmp_path / "grey.png"}, tmp_path / "grey", normal[1], OpContext())
    assert str(refused.value) == (f"{tmp_path / 'grey.png'} is marked kind: normal but has 1 colour channel(s), not "
                                  "RGB; leave kind out for a grey or colour texture")
    write_image(tmp_path / "wall.png", Image(np.random.default_rng(0).random((32, 32, 3)).astype(np.float32)))
    write_image(tmp_path / "n.png", _normal_map(), colorspace="linear")
    with caplog.at_level("WARNING"):
        normal[0]({"image": tmp_path / "wall.png"}, tmp_path / "wall", normal[1], OpContext())
        colour[0]({"image": tmp_path / "n.png"}, tmp_path / "n", colour[1], OpContext())
    assert ("If it is a colour texture, leave kind out, with the normal maps in a source of their own (glob: "
            "\"**/*_normal.png\"); a normal map that only looks unlike one" in caplog.text)
    assert ("takes it as colour: as kind: color (the default), " in caplog.text
            and "To keep it a normal map, set kind: normal on the asset, with the normal maps in a source of their own "
                "(glob: \"**/*_normal.png\", and exclude: [\"**/*_normal.png\"] on the colour source)" in caplog.text)


def test_damaged_weights_tell_a_script_how_to_have_them_again(tmp_path: Path) -> None:
    """A damaged model was told to "build the model again", which a script that trained it with train_srcae does
    not, nor does anyone VGG19 weights: a model says both ways to train it again, VGG19 weights to get the file."""
    save_srcae(tmp_path / "model.pt", SRCAE(SRCAEConfig(down_blocks=1, widths=(8, 12))))
    data = bytearray((tmp_path / "model.pt").read_bytes())
    for i in range(len(data) // 2, len(data) // 2 + 100):  # bit rot inside a tensor
        data[i] ^= 0xFF
    (tmp_path / "model.pt").write_bytes(bytes(data))
    with pytest.raises(ValueError) as refused:
        super_resolve(Image(PIXELS), tmp_path / "model.pt", device="cpu")
    assert str(refused.value).startswith(f"weights file {tmp_path / 'model.pt'} is damaged (")
    assert str(refused.value).endswith("): train the model again (remaster build --force <model>, or train_srcae from a "
                                       "script) if remaster trained it, or get the file again if it was downloaded")
    with pytest.raises(ValueError) as refused:
        multiply(Image(PIXELS), count=1, size=32, steps=1, vgg_weights=tmp_path / "model.pt")
    assert str(refused.value).endswith("): get the file again")


@pytest.mark.parametrize(("image", "params", "said"), [
    (Image(np.zeros((6, 8, 3), np.float32)), {},
     "set {resize_to_blocks} to resample it to the nearest such sides, or set {uncompressed}"),
    (Image(np.zeros((8, 8, 3), np.float32), np.zeros((8, 8), np.float32)), {"format": "bc1"},
     "which bc1 cannot keep: set {bc3} (or {auto}), {bc1a} (a cut-out's 1-bit alpha, at bc1's size), or "
     "{or_uncompressed}"),
    (Image(np.zeros((8, 8, 3), np.float32)), {"format": "bc4", "kind": "data"},
     "a colour texture, and bc4 keeps one channel: set {bc1}, or export a grey map"),
], ids=["sides", "alpha", "colour"])
def test_export_dds_tells_a_script_a_format_s_fixes_as_its_arguments(image: Image, params: dict, said: str,
                                                                       tmp_path: Path) -> None:
    """A script was told to set format: bc3 and resize_to_blocks: true, a spec's keys it has not; a build still is."""
    script = {"resize_to_blocks": "resize_to_blocks=True", "uncompressed": 'format="uncompressed"',
              "bc3": 'format="bc3"', "bc1": 'format="bc1"', "auto": '"auto"', "bc1a": '"bc1a"',
              "or_uncompressed": '"uncompressed"'}
    build = {"resize_to_blocks": "resize_to_blocks: true", "uncompressed": "format: uncompressed", "bc3": "format: bc3",
             "bc1": "format: bc1", "auto": "auto", "bc1a": "bc1a", "or_uncompressed": "uncompressed"}
    with pytest.raises(ValueError) as refused:
        export_dds(image, source="wall.png", **params)
    assert str(refused.value).startswith("wall.png ") and said.format(**script) in str(refused.value)
    write_image(tmp_path / "wall.png", image, colorspace="srgb" if params.get("kind", "color") == "color" else "linear")
    with pytest.raises(ValueError) as refused:
        export_dds_run({"image": tmp_path / "wall.png"}, tmp_path / "out", ExportDdsParams(**params), OpContext())
    assert said.format(**build) in str(refused.value)


@pytest.mark.parametrize(("arguments", "said"), [
    ({"format": "bc5"}, "store a normal map's X and Y; set {normal}, or choose bc1 (opaque) or bc3 (with alpha)"),
    ({"format": "bc3n"}, "a normal map's shader reads back: set {normal} for a normal map, or choose bc3 for a"),
    ({"format": "bc4"}, "an engine reads as red: set {data} for a grey map (roughness, height, a mask), or choose bc1"),
    ({"alpha_cutoff": 0.5, "alpha": "data"}, "as a normal map's does unless {coverage}): leave alpha_cutoff out, or "
                                             "set {coverage}"),
], ids=["bc5", "bc3n", "bc4", "cutoff"])
def test_export_dds_tells_a_script_the_kind_or_alpha_a_format_needs_as_its_arguments(arguments: dict,
                                                                                      said: str) -> None:
    """A script was told to set kind: normal or alpha: coverage; a spec's params still are."""
    script = {"normal": 'kind="normal"', "data": 'kind="data"', "coverage": 'alpha="coverage"'}
    spec = {"normal": "kind: normal", "data": "kind: data", "coverage": "alpha: coverage"}
    with pytest.raises(ValueError) as refused:
        export_dds(Image(PIXELS), **arguments)
    assert said.format(**script) in str(refused.value)
    with pytest.raises(ValueError) as refused:
        ExportDdsParams(**arguments)
    assert said.format(**spec) in str(refused.value)
