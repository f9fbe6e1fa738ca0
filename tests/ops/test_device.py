"""Choosing the torch device from its name, as ops get it from OpContext."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from ops.device import _cuda_problem, _warn_cpu_fallback, resolve_device
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


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine whose torch cannot start CUDA")
def test_auto_runs_on_the_cpu_where_the_gpu_torch_counts_cannot_run(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A driver older than the build, or a GPU another process holds in exclusive mode: torch counts the
    GPU, and auto failed every output at its first kernel. Here torch is a CPU build told it has a GPU."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    _cuda_problem.cache_clear()
    _warn_cpu_fallback.cache_clear()
    try:
        with caplog.at_level("WARNING", logger="ops"):
            assert resolve_device("auto") == torch.device("cpu")
            assert resolve_device("auto") == torch.device("cpu")  # the next texture: said once, not per texture
    finally:
        _cuda_problem.cache_clear()
        _warn_cpu_fallback.cache_clear()
    said = "device auto: this machine's CUDA GPU cannot run (Torch not compiled with CUDA enabled); running on the CPU"
    assert caplog.text.count(said) == 1
    with pytest.raises((RuntimeError, AssertionError)):
        torch.ones(1, device=resolve_device("cuda"))  # named, the GPU is used and fails, as asked
