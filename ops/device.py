"""Choose the torch device once, from the name a resource or flag gives."""

from __future__ import annotations

import re

import torch

_NAMES = re.compile(r"auto|cpu|cuda(:\d+)?")  # as a spec's device (pipeline/spec.py): what remaster runs on


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` is CUDA when available, else CPU; ``cpu``/``cuda``/``cuda:N`` are taken as given, and any
    other name is a ``ValueError`` that lists these.

    On CUDA, cuDNN is held to deterministic convolution algorithms, for the whole process as its
    settings are: its fastest backward passes add in a varying order, so two fine-tunings of one
    model on one texture (super_resolve's adapt_steps) wrote different bytes on an H100. That makes
    super-resolution training and adaptation repeatable on a GPU. The material fit and gram
    synthesis also back-propagate through reflection padding, whose CUDA backward adds atomically,
    so on a GPU they can still differ between runs in the last bits.
    """
    device = _named_device(name)
    if device.type == "cuda":
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    return device


def _named_device(name: str) -> torch.device:
    """The device ``name`` names; a name remaster does not take is refused with the ones it does, where
    torch listed twenty device types (``gpu``) or let one through that no op was made for (``meta``)."""
    if not _NAMES.fullmatch(str(name)):
        raise ValueError(f"device {name!r}: expected auto, cpu, cuda or cuda:N (N the GPU's number, from 0)")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} was asked for but no CUDA GPU is available; use device: auto or cpu")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise RuntimeError(
            f"device {name!r} was asked for but this machine has {torch.cuda.device_count()} GPU(s), "
            f"cuda:0 to cuda:{torch.cuda.device_count() - 1}"
        )
    return device
