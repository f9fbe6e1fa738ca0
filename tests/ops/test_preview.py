"""``ops.preview``, from plain Python: what ``remaster report`` shows of a texture is what the texture holds."""

from __future__ import annotations


import numpy as np
import png
from PIL import Image as PILImage

from helpers import bc1_block, bc4_block, dds, traced_peak
from ops.image_io import Image, write_image
from ops.preview import THUMBNAIL_SIDE, crops, thumbnail

BC1_RED, BC1_GREEN = 0xF800, 0x07E0  # RGB565


def _pixels(path) -> np.ndarray:
    with PILImage.open(path) as opened:
        return np.asarray(opened).astype(np.int32)


def _tilted_normals(size: int) -> np.ndarray:
    """A normal map of (size, size) unit vectors, neighbours leaning opposite ways, as stored in [0, 1]."""
    leaning = np.where((np.indices((size, size)).sum(axis=0) % 2)[..., None] == 1, 0.6, -0.6)
    vectors = np.concatenate([leaning, np.zeros((size, size, 1)), np.full((size, size, 1), 0.8)], axis=2)
    return ((vectors + 1.0) / 2.0).astype(np.float32)


def test_a_normal_map_is_reduced_as_unit_vectors(tmp_path):
    """Averaged as colour, a bumpy normal map's thumbnail is shorter vectors (0.8 long here): greyer and flatter than
    the engine lights it. Found to be one by its texels, it is reduced as vectors and made unit length again."""
    source = tmp_path / "bumps.png"
    write_image(source, Image(_tilted_normals(64)), colorspace="linear")
    shown = thumbnail(source, tmp_path / "thumb.png", side=16)
    vectors = _pixels(shown.path) / 255.0 * 2.0 - 1.0
    assert (shown.width, shown.height) == (16, 16) and vectors.shape == (16, 16, 3)
    assert np.allclose(np.linalg.norm(vectors, axis=2), 1.0, atol=0.01)
    assert np.allclose(vectors[..., 2], 1.0, atol=0.01)  # the leaning ones average out: straight up


def test_a_normal_map_with_alpha_is_reduced_with_its_alpha(tmp_path):
    """A normal map that keeps a height in its alpha (``brick_n.png`` as RGBA) got no preview: its vectors were
    reduced and its alpha was not, and the page said 'no preview: an Image's alpha is (height, width) ...'."""
    source = tmp_path / "brick_n.png"
    alpha = np.tile(np.linspace(0.0, 1.0, 64, dtype=np.float32), (64, 1))
    write_image(source, Image(_tilted_normals(64), alpha), colorspace="linear")
    shown = thumbnail(source, tmp_path / "thumb.png", normal_map=True, side=16)
    pixels = _pixels(shown.path)
    assert (shown.width, shown.height) == (16, 16) and pixels.shape == (16, 16, 4)
    assert np.allclose(np.linalg.norm(pixels[..., :3] / 255.0 * 2.0 - 1.0, axis=2), 1.0, atol=0.01)
    assert np.abs(pixels[..., 3] - np.linspace(6, 249, 16)).max() <= 2  # each texel's four, averaged


def test_a_16_bit_texture_is_reduced_in_linear_light(tmp_path):
    """A 16-bit grey PNG of black and white columns: its thumbnail, half as wide, is the mid grey of half the light
    (188), as the eye sees the columns from afar, not the 128 of averaged sRGB codes."""
    source = tmp_path / "height16.png"
    rows = np.tile(np.array([0, 65535], np.uint16), (THUMBNAIL_SIDE, THUMBNAIL_SIDE))  # 512 wide
    with open(source, "wb") as file:
        png.Writer(2 * THUMBNAIL_SIDE, THUMBNAIL_SIDE, greyscale=True, bitdepth=16).write(file, rows)
    shown = thumbnail(source, tmp_path / "thumb.png")
    pixels = _pixels(shown.path)
    assert (shown.width, shown.height) == (THUMBNAIL_SIDE, THUMBNAIL_SIDE // 2) == pixels.shape[::-1]
    assert set(np.unique(pixels)) == {188}


def test_a_dds_is_decoded_for_display(tmp_path):
    """A BC1 DDS, which no browser shows, gives a PNG of its texels: red where its blocks are red."""
    source = tmp_path / "wall.dds"
    source.write_bytes(dds(8, 8, b"DXT1", bc1_block(BC1_RED, 0) * 4))
    shown = thumbnail(source, tmp_path / "thumb.png")
    assert (shown.width, shown.height) == (8, 8)
    assert (_pixels(shown.path) == [255, 0, 0]).all()


def test_a_bc5_normal_map_is_shown_with_its_blue(tmp_path):
    """A BC5 DDS keeps a normal map's X and Y alone; its thumbnail has the Z a shader rebuilds, straight up here."""
    source = tmp_path / "wall_normal.dds"
    source.write_bytes(dds(8, 8, b"ATI2", (bc4_block(128) + bc4_block(128)) * 4))
    assert (np.abs(_pixels(thumbnail(source, tmp_path / "thumb.png").path) - [128, 128, 255]) <= 1).all()


def test_crops_cut_the_same_region_at_one_to_one(tmp_path):
    """The crops of an input and its 2x enlargement: the enlargement's texels as they are, at the size asked, and the
    input's texels under them, half as many a side."""
    low, high = tmp_path / "low.png", tmp_path / "high.png"
    write_image(low, Image(np.full((100, 80, 3), 0.5, np.float32)), colorspace="linear")
    write_image(high, Image(np.full((200, 160, 3), 0.5, np.float32)), colorspace="linear")
    low_crop, high_crop = crops(low, high, (tmp_path / "a.png", tmp_path / "b.png"), side=64)
    assert (high_crop.width, high_crop.height, low_crop.width, low_crop.height) == (64, 64, 32, 32)
    assert (_pixels(high_crop.path) == _pixels(high)[64:128, 48:112]).all()
    assert (_pixels(low_crop.path) == _pixels(low)[32:64, 24:56]).all()


def test_crops_show_the_region_of_most_detail(tmp_path):
    """A flat wall with one patch of bricks near its corner: the crops show the bricks, where sharpening shows,
    not the flat middle."""
    rng = np.random.default_rng(3)
    bricks = np.full((128, 128, 3), 0.5, np.float32)
    bricks[8:40, 80:112] = rng.random((32, 32, 3), dtype=np.float32)
    low, high = tmp_path / "low.png", tmp_path / "high.png"
    write_image(low, Image(bricks[::2, ::2]), colorspace="linear")
    write_image(high, Image(bricks), colorspace="linear")
    low_crop, high_crop = crops(low, high, (tmp_path / "a.png", tmp_path / "b.png"), side=48)
    shown = _pixels(high_crop.path)
    assert (high_crop.width, high_crop.height, low_crop.width, low_crop.height) == (48, 48, 24, 24)
    assert any((shown == _pixels(high)[top:top + 48, left:left + 48]).all()
               for top in range(0, 9) for left in range(64, 81))  # all 32 x 32 texels of bricks within
    assert (_pixels(low_crop.path) == shown[::2, ::2]).all()


def test_a_thumbnail_never_holds_its_texture_s_floats_whole(tmp_path):
    """A texture was read whole as floats, and its light, and that light weighted by its alpha, made whole
    before reducing: an 8192 px RGBA PNG's thumbnail peaked at 3.1 GB. Made floats a band of rows at a time and
    reduced so, its thumbnail's peak stays below what the texture's floats alone take (64 MB at 2048 px)."""
    rng = np.random.default_rng(0)
    source = tmp_path / "wall.png"
    texels = rng.random((2048, 2048, 4), dtype=np.float32)
    write_image(source, Image(texels[..., :3], texels[..., 3]))
    _, peak = traced_peak(lambda: thumbnail(source, tmp_path / "thumb.png", normal_map=False))
    floats = texels.nbytes
    assert peak < floats, f"{peak / 2 ** 20:.0f} MiB"


def test_a_dds_with_mips_is_previewed_from_its_level_nearest_the_thumbnail(tmp_path):
    """An 8192 px DDS was decoded whole (64 million texels) to be averaged into 256: of one with mips, the smallest
    level as large as the thumbnail or larger is decoded. Here the 8 px top level is red and its 4 px mip green."""
    source = tmp_path / "wall.dds"
    source.write_bytes(dds(8, 8, b"DXT1", bc1_block(BC1_RED, 0) * 4 + bc1_block(BC1_GREEN, 0), mipmaps=2))
    from_mip = thumbnail(source, tmp_path / "small.png", side=4)
    from_top = thumbnail(source, tmp_path / "large.png", side=8)
    assert (from_mip.width, from_mip.height, from_top.width, from_top.height) == (4, 4, 8, 8)
    assert (_pixels(from_mip.path) == [0, 255, 0]).all() and (_pixels(from_top.path) == [255, 0, 0]).all()
