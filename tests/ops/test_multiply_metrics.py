"""The guard metrics of the multiply op on constructed cases with known answers."""

from __future__ import annotations

import re

import numpy as np
import pytest
import skimage.data

from ops.multiply import metrics
from ops.multiply.params import MIN_VARIANT_DIFFERENCE, NCC_BOUND, SEAM_BOUND


@pytest.fixture(scope="module")
def gravel() -> np.ndarray:
    return skimage.data.gravel()[:256, :256].astype(np.float64) / 255


@pytest.fixture(scope="module")
def brick() -> np.ndarray:
    return skimage.data.brick()[:256, :256].astype(np.float64) / 255


def test_bounds_are_the_contract() -> None:
    assert NCC_BOUND == 0.95
    assert SEAM_BOUND == 1.3
    assert 0 < MIN_VARIANT_DIFFERENCE < 1


def test_ncc_catches_a_copy_a_shifted_crop_and_a_rolled_copy(gravel: np.ndarray) -> None:
    assert metrics.max_ncc(gravel, gravel) >= NCC_BOUND
    assert metrics.max_ncc(gravel[37:201, 11:190], gravel) >= NCC_BOUND
    assert metrics.max_ncc(np.roll(gravel, (77, 33), axis=(0, 1)), gravel) >= NCC_BOUND
    assert metrics.max_ncc(np.roll(gravel, (1, 3), axis=(0, 1)), gravel) >= NCC_BOUND


def test_ncc_catches_a_copy_in_a_larger_output(gravel: np.ndarray) -> None:
    small = gravel[:64, :64]
    tiled = np.tile(small, (3, 3))[10:170, 5:165]
    assert metrics.max_ncc(tiled, small) >= NCC_BOUND


def test_ncc_passes_a_different_texture_and_brightness_changes(gravel: np.ndarray, brick: np.ndarray) -> None:
    assert metrics.max_ncc(brick, gravel) < 0.5
    assert metrics.max_ncc(gravel[128:, 128:], gravel[:128, :128]) < NCC_BOUND
    # NCC ignores gain and offset: a darkened copy is still a copy.
    assert metrics.max_ncc(0.5 * gravel + 0.1, gravel) >= NCC_BOUND


def test_ncc_of_flat_images_is_zero() -> None:
    assert metrics.max_ncc(np.full((32, 32), 0.5), np.full((32, 32), 0.5)) == 0.0


def test_variant_difference(gravel: np.ndarray) -> None:
    assert metrics.variant_difference(gravel, gravel) == 0.0
    assert metrics.variant_difference(gravel, np.roll(gravel, 50, axis=1)) < MIN_VARIANT_DIFFERENCE
    assert metrics.variant_difference(gravel[:128, :128], gravel[128:, 128:]) > MIN_VARIANT_DIFFERENCE
    assert metrics.closest_pair([gravel]) == (1.0, None)
    assert metrics.closest_pair([gravel[:128, :128], gravel[128:, 128:], gravel[:128, :128]]) == (0.0, (0, 2))


def test_many_variants_are_compared_in_a_bounded_number_of_pairs(gravel: np.ndarray, monkeypatch) -> None:
    compared: list[int] = []
    difference = metrics.variant_difference
    monkeypatch.setattr(metrics, "variant_difference", lambda a, b: compared.append(1) or difference(a, b))
    tiles = [gravel[:64, :64].copy() for _ in range(20)]  # 20 copies: 190 pairs, every one identical
    assert metrics.closest_pair(tiles)[0] == 0.0
    assert len(compared) == 28


def test_block_spread_reads_a_ramp_s_rise_and_nothing_of_even_light(gravel: np.ndarray) -> None:
    """The mean of a square of a ramp is the ramp at its centre: over the 97 corners of 32 px squares along a
    128 px ramp, the centres step 1/127 apart, a spread of sqrt((97² - 1) / 12) such steps."""
    ramp = np.tile(np.arange(128) / 127, (128, 1))
    assert metrics.block_spread(ramp, 32) == pytest.approx(np.sqrt((97**2 - 1) / 12) / 127, rel=1e-9)
    colour_down = ramp.T[..., None].repeat(3, axis=2)
    assert metrics.block_spread(colour_down, 32) == pytest.approx(metrics.block_spread(ramp, 32))
    assert metrics.block_spread(np.full((64, 64), 0.4), 16) == pytest.approx(0.0, abs=1e-12)
    lit = gravel * (0.3 + 0.7 * np.tile(np.arange(256) / 255, (256, 1)))  # a light falling off across it
    assert metrics.block_spread(lit, 32) > 2 * metrics.block_spread(gravel, 32)
    with pytest.raises(ValueError, match="a 65 px block needs an image at least 65 px a side"):
        metrics.block_spread(np.zeros((64, 64)), 65)


def test_seam_ratio_of_periodic_noise_is_near_one_and_of_a_ramp_is_large() -> None:
    # Blurring white noise in the Fourier domain gives a stationary texture that tiles exactly.
    noise = np.random.default_rng(0).standard_normal((128, 128))
    fy, fx = np.meshgrid(np.fft.fftfreq(128), np.fft.fftfreq(128), indexing="ij")
    periodic = np.real(np.fft.ifft2(np.fft.fft2(noise) * np.exp(-(fx**2 + fy**2) * 200)))
    assert metrics.seam_ratio(periodic) == pytest.approx(1.0, abs=0.3)
    x = np.tile(np.linspace(0, 1, 64), (64, 1))
    assert metrics.seam_ratio(x) > 10


def test_seam_ratio_separates_tiled_from_cropped(gravel: np.ndarray) -> None:
    # A crop of a natural texture does not tile; the same texture made periodic by mirroring does.
    crop = gravel[:128, :128]
    mirrored = np.concatenate([crop, crop[::-1]], axis=0)
    mirrored = np.concatenate([mirrored, mirrored[:, ::-1]], axis=1)
    assert metrics.seam_ratio(crop) > SEAM_BOUND
    assert metrics.seam_ratio(mirrored) <= SEAM_BOUND


def test_seam_ratio_accepts_colour_and_rejects_tiny_images() -> None:
    colour = np.random.default_rng(0).random((16, 16, 3))
    assert metrics.seam_ratio(colour) > 0
    with pytest.raises(ValueError):
        metrics.seam_ratio(np.zeros((2, 2)))


def test_texture_distance_orders_same_material_before_a_different_one(gravel: np.ndarray, brick: np.ndarray) -> None:
    same = metrics.texture_distance(gravel[:128, :128], gravel[128:, 128:])
    other = metrics.texture_distance(brick[:128, :128], gravel[128:, 128:])
    assert metrics.texture_distance(gravel, gravel) == pytest.approx(0.0, abs=1e-12)
    assert same < other / 2


@pytest.mark.parametrize("count", [1, 2, 7, 256, 4099])
def test_the_texture_distance_s_quantiles_are_torch_s_bit_for_bit(count):
    """Sorted by numpy for speed, they must stay torch.quantile's: the figures recorded for variants built before
    would otherwise move in their last digits. Ties, signed zeros and infinities are what sorts disagree on."""
    import torch

    rng = np.random.default_rng(count)
    responses = torch.from_numpy(rng.normal(size=(5, count)))
    responses[1] = torch.from_numpy(rng.integers(-2, 3, size=count).astype(np.float64))  # ties
    responses[2, ::2] = -0.0
    responses[3, 0] = float("inf")
    expected = torch.quantile(responses, metrics._LEVELS, dim=1)
    got = metrics._quantiles(responses)
    assert got.stride() == expected.stride()
    assert got.numpy().tobytes() == expected.numpy().tobytes()  # bit for bit: -0.0, and inf's nan, compared too


def test_measure_given_images_says_which_planes_it_takes(gravel: np.ndarray) -> None:
    """multiply's variants are Images: passed to measure as they came, they failed as "'Image' object has no
    attribute 'ndim'"."""
    from ops.image_io import Image

    image = Image(gravel[..., None])
    said = ("is a numpy array (height, width) or (height, width, planes) of floats in [0, 1]; got ops.image_io.Image "
            "(ops.multiply.run.exemplar_planes(image) gives the planes the op measures")
    with pytest.raises(TypeError, match=re.escape(f"variants[1] {said}")):
        metrics.measure([gravel, image], gravel, tileable=True)  # type: ignore[list-item]
    with pytest.raises(TypeError, match=re.escape(f"exemplar {said}")):
        metrics.measure([gravel], image, tileable=True)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=re.escape(f"reference {said}")):
        metrics.max_ncc(gravel, image)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=re.escape(f"image {said}")):
        metrics.seam_ratio(image)  # type: ignore[arg-type]


def test_measure_given_one_variant_s_array_says_it_takes_a_list(gravel: np.ndarray) -> None:
    """Its rows were measured as so many images, and it gave figures without a word (max_ncc 1 of a variant
    measured against itself)."""
    variant = np.dstack([gravel[:64, :64]] * 3)
    with pytest.raises(TypeError, match=re.escape("variants is a list of arrays, one a variant; got one array of shape "
                                                  "(64, 64, 3) (a single variant: [variant])")):
        metrics.measure(variant, variant, tileable=True)  # type: ignore[arg-type]
