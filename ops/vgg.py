"""VGG19 weights a user already has, in torchvision's ``vgg19().features`` layout.

Nothing is ever downloaded: a spec names a local file. Each op takes its own
view of the network (super-resolution's feature loss: max pooling up to
relu3_4; the texture multiplier: average pooling up to relu5_1, as Gatys et
al. recommend), built by ``features`` with torchvision's module indices, so the
one file loads into both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from torch import nn

from ops.torch_files import load_torch_file

LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M")
"""Convolution widths in order; "M" is a 2x2 pooling."""
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def features(*, pooling: Literal["max", "average"], padding: int, last: int | None = None) -> nn.Sequential:
    """``vgg19().features`` up to module index ``last`` (all of it by default): 3x3 convolutions with
    ``padding``, each followed by a ReLU, and 2x2 poolings. Every layer is made before the cut, so the
    random numbers drawn do not depend on where it falls."""
    layers: list[nn.Module] = []
    channels = 3
    for item in LAYOUT:
        if item == "M":
            layers.append(nn.MaxPool2d(2) if pooling == "max" else nn.AvgPool2d(2))
        else:
            layers += [nn.Conv2d(channels, int(item), 3, padding=padding), nn.ReLU()]
            channels = int(item)
    return nn.Sequential(*layers[: None if last is None else last + 1])


def load_features(path: Path, features: nn.Sequential) -> None:
    """Fill ``features`` (the first modules of ``vgg19().features``) from the state dict at ``path``.

    Keys other than ``features.N`` (the classifier) are ignored. Read with
    ``weights_only``: a file that holds code is refused, never run.
    """
    state = load_torch_file(path, "VGG19 weights", "save the state dict alone (torch.save(model.state_dict()))")
    if not isinstance(state, dict):
        raise ValueError(f"{path} is not a state dict; save it with torch.save(model.state_dict(), path)")
    wanted = list(features.state_dict())
    missing = [f"features.{key}" for key in wanted if f"features.{key}" not in state]
    if missing:
        raise ValueError(f"{path} is not a torchvision VGG19 state dict: missing {', '.join(missing[:4])}")
    try:
        features.load_state_dict({key: state[f"features.{key}"] for key in wanted})
    except RuntimeError as exc:
        raise ValueError(f"{path} does not hold VGG19 weights of the expected shapes: {exc}") from exc
