"""Weights files: our own SRCAE files, and community models through spandrel.

Every file is read with a restricted unpickler (``torch.load(weights_only=True)``)
or as safetensors: a ``.pth`` from the internet can carry code that plain
unpickling would run, and a texture build must never run it.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from ops.atomic import write_bytes_atomic
from ops.superres.model import SRCAE, SRCAEConfig
from ops.tensors import overflow_as_nan
from ops.torch_files import load_torch_file

if TYPE_CHECKING:  # spandrel is optional: imported where a community model is loaded
    from spandrel import ImageModelDescriptor

FORMAT = "remaster-srcae"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Upscaler:
    """A loaded model, ours or a community one, in the form tiled inference needs."""

    # (B, C, H, W) in [0, 1] -> (B, C, H*scale, W*scale) in [0, 1], NaN where it overflowed
    forward: Callable[[torch.Tensor], torch.Tensor]
    scale: int
    channels: int  # 3 (RGB) or 1 (grey) input channels
    multiple: int  # tile sides are padded to a multiple of this
    supports_half: bool  # float16 autocast keeps its output right
    supports_bfloat16: bool
    name: str


def save_srcae(path: Path, model: SRCAE) -> None:
    """Write ``model`` with its config to ``path`` atomically; equal weights give equal bytes."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "version": FORMAT_VERSION, "config": model.config.to_dict(), "state_dict": state}, buffer)
    write_bytes_atomic(path, buffer.getvalue())


_TRAIN_AGAIN = "train the model again (remaster build --force <model>, or train_srcae from a script)"


def read_weights(path: Path) -> dict:
    """The tensors (and plain values) in ``path``, read without running any code from it."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"model weights file {path} is a folder; name the weights file in it")
    if not path.is_file():
        raise FileNotFoundError(f"model weights file {path} does not exist")
    if path.suffix.lower() == ".safetensors":  # 4x_SPAN.SafeTensors too
        return _read_safetensors(path)
    return load_torch_file(path, "model weights", "a .pth must be a plain state dict: convert it to safetensors or "
                           "get it from a trusted source",
                           again=f"{_TRAIN_AGAIN} if remaster trained it, or get the file again if it was downloaded")


def _read_safetensors(path: Path) -> dict:
    try:
        from safetensors.torch import load_file  # only community files use it; safetensors comes with spandrel
    except ImportError as exc:
        raise ImportError(
            f"{path} is a safetensors file, which needs the optional safetensors library: install "
            f"remaster[community] (it comes with spandrel)"
        ) from exc
    try:
        return load_file(str(path), device="cpu")
    except Exception as exc:  # safetensors raises its own SafetensorError for a file cut short or damaged
        raise ValueError(f"cannot read model weights {path} ({exc}): it may be cut short or damaged; "
                         "get the file again") from exc


def load_srcae(data: dict, path: Path) -> SRCAE:
    """Rebuild our model from a loaded weights dict. Its errors say how to train the model again from a build and
    from a script alike: both load it here."""
    if data.get("version") != FORMAT_VERSION:
        raise ValueError(f"{path} has SRCAE format version {data.get('version')}; this remaster reads {FORMAT_VERSION}: "
                         f"{_TRAIN_AGAIN}")
    try:
        model = SRCAE(SRCAEConfig.from_dict(data["config"]))
        model.load_state_dict(data["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        said = [line.strip().rstrip(".") for line in str(exc).splitlines() if line.strip()][:2]  # torch's first mismatch
        raise ValueError(
            f"{path} is marked as a remaster SRCAE model but does not hold one ({type(exc).__name__}: "
            f"{' '.join(said) or 'incomplete'}): {_TRAIN_AGAIN}"
        ) from exc
    return model.eval()


def load_upscaler(path: Path, device: torch.device) -> Upscaler:
    """Our SRCAE file, or else any architecture spandrel recognises from the state dict. A build and a script
    (``super_resolve``) both load here, so a wrong file's fix names the model file as each knows it."""
    data = read_weights(path)
    if isinstance(data, dict) and data.get("format") == FORMAT:
        model = load_srcae(data, path).to(device)
        return Upscaler(model, scale=model.config.scale, channels=3, multiple=model.config.multiple, supports_half=True,
                        supports_bfloat16=True, name="srcae")
    if isinstance(data, dict) and {"fingerprint", "optimizer"} <= data.keys():  # what train's checkpoints hold
        raise ValueError(f"{path} is a remaster training checkpoint (what a stopped training goes on from), not a "
                         "model: give the model's own weights, the model.pt the training writes (a build's "
                         "<build_dir>/<model>/model.pt, copied elsewhere, or the out of a script's train_srcae), or in "
                         "a spec name the model (model: <model>)")
    return _load_community(data, path, device)


def _load_community(data: object, path: Path, device: torch.device) -> Upscaler:
    try:
        from spandrel import ImageModelDescriptor, ModelLoader
    except (ImportError, RuntimeError) as exc:  # RuntimeError: a torchvision built for another torch
        raise ImportError(
            f"{path} is not a remaster SRCAE model; community models (ESRGAN, SwinIR, SPAN, ...) need the "
            f"optional spandrel library: install remaster[community] with a torchvision that matches your torch "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path} does not hold a state dict (found {type(data).__name__})")
    try:
        descriptor = ModelLoader(device).load_from_state_dict(_unwrapped(data))
    except Exception as exc:  # spandrel raises its own error types per architecture
        raise ValueError(f"{path}: spandrel does not recognise this model's architecture ({exc})") from exc
    if not isinstance(descriptor, ImageModelDescriptor):
        raise ValueError(f"{path} is a {descriptor.architecture.name} model, not a super-resolution one")
    descriptor.model.eval()
    if descriptor.input_channels not in (1, 3) or descriptor.output_channels != descriptor.input_channels:
        raise ValueError(f"{path}: only RGB or grey models are supported (this one takes {descriptor.input_channels} colour channels)")
    return Upscaler(
        _padded_forward(descriptor),
        scale=descriptor.scale,
        channels=descriptor.input_channels,
        multiple=max(descriptor.size_requirements.multiple_of, 1),
        supports_half=bool(descriptor.supports_half),
        supports_bfloat16=bool(descriptor.supports_bfloat16),
        name=descriptor.architecture.name,
    )


def _unwrapped(data: dict) -> dict:
    """The state dict inside the wrapper a training framework saved it in (BasicSR's params_ema, ...), if any."""
    for key in ("params_ema", "params", "state_dict", "model"):
        if key in data and isinstance(data[key], dict):
            return data[key]
    return data


def _padded_forward(descriptor: ImageModelDescriptor) -> Callable[[torch.Tensor], torch.Tensor]:
    """A spandrel model as an ``Upscaler.forward``: input padded to the sides its architecture takes (HAT's
    16-pixel minimum, Uformer's square input), output cropped back and overflow made NaN, as ours gives it."""
    requirements = descriptor.size_requirements

    def forward(x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, C, H*s, W*s)
        H, W = x.shape[-2:]
        pad_w, pad_h = requirements.get_padding(W, H)
        if pad_w or pad_h:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        y = descriptor.model(x)[..., : H * descriptor.scale, : W * descriptor.scale]
        return overflow_as_nan(y).clamp(0.0, 1.0)  # infinity (float16 overflows) clamped was white, unchecked

    return forward
