"""Community models through spandrel (optional extra ``remaster[community]``).

Skipped when spandrel is missing; spandrel needs torchvision, which needs a
torch build matching it. Run it in a venv that has them, e.g.
``PYTHONPATH=. /work/venv-spandrel/bin/python -m pytest tests/ops/test_superres_community.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import DEVICES, spandrel_error
from ops.image_io import Image, read_image, write_image
from ops.registry import SINGLE_OUTPUT, OpContext
from ops.superres import infer
from ops.superres.params import SuperResolveParams

if (unavailable := spandrel_error()) is not None:
    pytest.skip(f"spandrel unavailable: {unavailable}", allow_module_level=True)


@pytest.mark.parametrize("device", DEVICES)
def test_esrgan_state_dict_is_detected_and_runs(tmp_path: Path, device: str) -> None:
    from spandrel.architectures.ESRGAN import ESRGAN

    torch.manual_seed(0)
    net = ESRGAN(in_nc=3, out_nc=3, num_filters=8, num_blocks=1, scale=2)
    weights = tmp_path / "tiny_esrgan_x2.pth"
    torch.save(net.state_dict(), weights)
    rng = np.random.default_rng(0)
    src = tmp_path / "wall.png"
    write_image(src, Image(rng.random((24, 20, 3), dtype=np.float32)), colorspace="linear")
    params = SuperResolveParams.model_validate({"model": {"path": str(weights)}, "tile": 32, "overlap": 4})
    meta = infer.run({"image": src}, tmp_path / "out", params, OpContext(device=device, model=weights))
    assert meta["model"] == "ESRGAN" and meta["scale"] == 2 and meta["device"] == device
    out = read_image(tmp_path / "out" / SINGLE_OUTPUT)
    assert out.color.shape == (48, 40, 3)


def test_a_model_with_a_minimum_input_size_enlarges_a_tiny_texture(tmp_path: Path) -> None:
    from spandrel.architectures.DAT import DAT  # needs 16-pixel inputs at least

    torch.manual_seed(0)
    net = DAT(embed_dim=32, depth=[2], num_heads=[2], split_size=[2, 4], expansion_factor=2, upscale=2)
    weights = tmp_path / "tiny_dat_x2.pth"
    torch.save(net.state_dict(), weights)
    src = tmp_path / "decal.png"
    write_image(src, Image(np.random.default_rng(0).random((6, 9, 3), dtype=np.float32)), colorspace="linear")
    params = SuperResolveParams.model_validate({"model": {"path": str(weights)}, "wrap": True})
    meta = infer.run({"image": src}, tmp_path / "out", params, OpContext(device="cpu", model=weights))
    assert meta["model"] == "DAT"
    assert read_image(tmp_path / "out" / SINGLE_OUTPUT).color.shape == (12, 18, 3)


@pytest.mark.parametrize("device", DEVICES)
def test_a_community_model_that_overflows_fails_the_texture_rather_than_writing_it_white(
    tmp_path: Path, device: str
) -> None:
    """The clip of spandrel's output took infinity (a float16 overflow on a GPU) for white before the check saw it."""
    from spandrel.architectures.ESRGAN import ESRGAN

    net = ESRGAN(in_nc=3, out_nc=3, num_filters=8, num_blocks=1, scale=2)
    last = [module for module in net.modules() if isinstance(module, torch.nn.Conv2d)][-1]
    with torch.no_grad():
        last.bias.fill_(float("inf"))  # as the last layer overflows
    weights = tmp_path / "overflowing_esrgan_x2.pth"
    torch.save(net.state_dict(), weights)
    src = tmp_path / "wall.png"
    write_image(src, Image(np.random.default_rng(0).random((24, 20, 3), dtype=np.float32)), colorspace="linear")
    params = SuperResolveParams.model_validate({"model": {"path": str(weights)}, "tile": 32, "overlap": 4})
    with pytest.raises(ValueError, match=r"wall.png: the model .* \(ESRGAN\) gave no value \(NaN or infinity\)"):
        infer.run({"image": src}, tmp_path / "out", params, OpContext(device=device, model=weights))
    assert not (tmp_path / "out" / SINGLE_OUTPUT).exists()
