"""Colour under transparent texels is filled from the visible ones; enlarged alpha stays within its source's range."""

from __future__ import annotations

import numpy as np
import pytest

from ops.alpha import bleed, within_source_range


@pytest.mark.parametrize("shape", [(1, 9), (7, 1), (5, 6), (33, 17)])
def test_visible_texels_are_kept_and_hidden_ones_take_a_visible_colour(shape):
    rng = np.random.default_rng(0)
    color = rng.random((*shape, 3), dtype=np.float32)
    alpha = (rng.random(shape) > 0.7).astype(np.float32)
    alpha.flat[0] = 0.5
    filled = bleed(color, alpha)
    assert filled.shape == color.shape and filled.dtype == color.dtype
    np.testing.assert_array_equal(filled[alpha > 0], color[alpha > 0])
    visible = color[alpha > 0]
    hidden = filled[alpha == 0]
    assert (hidden >= visible.min(axis=0) - 1e-6).all() and (hidden <= visible.max(axis=0) + 1e-6).all()


def test_a_hidden_texel_takes_its_nearest_visible_colour():
    color = np.zeros((8, 8, 1), np.float32)
    alpha = np.zeros((8, 8), np.float32)
    color[1, 1], alpha[1, 1] = 0.9, 1.0  # one bright texel near a corner
    color[6, 6], alpha[6, 6] = 0.1, 1.0  # one dark one near the other
    filled = bleed(color, alpha)[..., 0]
    assert filled[0, 0] == pytest.approx(0.9) and filled[7, 7] == pytest.approx(0.1)


def test_opaque_and_fully_transparent_images_are_left_alone():
    color = np.random.default_rng(1).random((4, 4, 3), dtype=np.float32)
    assert bleed(color, np.ones((4, 4), np.float32)) is color
    assert bleed(color, np.zeros((4, 4), np.float32)) is color


def test_enlarged_alpha_is_held_within_its_source_neighbourhood() -> None:
    source = np.ones((4, 4), np.float32)
    source[:, 0] = 0.0  # a transparent left column
    upscaled = np.full((8, 8), 0.6, np.float32)  # a network's inexact guess everywhere
    plain = within_source_range(upscaled, source)
    assert np.all(plain[:, 4:] == 1.0)  # uniformly opaque around: exactly opaque
    assert np.all(plain[:, :4] == 0.6)  # along the edge the guess is kept
    wrapped = within_source_range(upscaled, source, wrap=(False, True))
    assert np.all(wrapped[:, 6:] == 0.6) and np.all(wrapped[:, 4:6] == 1.0)  # the right column borders column 0
