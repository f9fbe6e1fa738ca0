"""Choosing the torch device from its name, as ops get it from OpContext."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from ops.device import resolve_device
from ops.registry import OpContext
from ops.superres import train
from ops.superres.params import TrainParams


@pytest.mark.parametrize("name", ["gpu", "CPU", "cuda:x", "cuda:-1", "meta", "mps", ""])
def test_a_device_name_remaster_does_not_take_is_refused_with_the_ones_it_does(name: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"device {name!r}: expected auto, cpu, cuda or cuda:N")):
        resolve_device(name)  # gpu and CPU raised torch's list of twenty device types; meta and mps ran


def test_an_op_given_an_unknown_device_says_which_it_takes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=re.escape("device 'gpu': expected auto, cpu, cuda or cuda:N")):
        train.run([tmp_path / "brick.png"], tmp_path / "sr.pth", TrainParams(steps=1), OpContext(device="gpu"))


def test_cpu_and_auto_are_taken() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
