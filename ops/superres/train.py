"""``train_srcae``: train the super-resolution autoencoder on a folder of high-res textures.

Determinism: every random draw (init, patches, augmentation, degradation)
comes from the seed, so the same inputs and params give a byte-identical
weights file on the same machine and thread count. A build killed midway
resumes from the last checkpoint in ``ctx.work_dir`` (the pipeline empties it
once the weights are stored, so a later ``--force`` build trains anew); since the checkpoint
holds the model, optimiser and generator state, the resumed run's weights are
byte-identical to an uninterrupted run's on the same device. A run resumed on another device (killed on a
GPU, resumed where there is none) goes on from the checkpoint, and its weights match neither device's
uninterrupted run: the device is in no cache key.
"""

from __future__ import annotations

import io
import logging
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, cast

import numpy as np
import torch
import torch.nn.functional as F
import xxhash

from ops.alpha import AlphaMeaning
from ops.atomic import refuse_a_file_above, write_bytes_atomic
from ops.device import caller_s_random_state, resolve_device
from ops.formats import READABLE_SUFFIXES, may_be_image
from ops.image_io import path_argument
from ops.registry import OpContext, ProgressFn, with_note
from ops.superres.checkpoint import CHECKPOINT_NAME, sealed, unsealed
from ops.superres.data import PatchSampler, Split, split
from ops.superres.degrade import degrade
from ops.superres.losses import (
    PatchDiscriminator, VGGFeatures, discriminator_loss, generator_gan_loss, hfen, over_target,
)
from ops.superres.metrics import compare, measurable, min_side
from ops.superres.model import SRCAE, SRCAEConfig
from ops.superres.params import Degradation, LossWeights, TrainParams
from ops.superres.weights import save_srcae
from ops.threads import cpu_threads

_WARMUP_STEPS = 100
_QUICK_SIDE = 192  # pixels: the largest crop of a held-out image that the validation while training measures


@dataclass
class _Critic:
    """The GAN term's patch discriminator and its own optimizer."""

    model: PatchDiscriminator
    optimizer: torch.optim.Optimizer


@dataclass
class _State:
    """Everything a resumed run needs to continue exactly where the killed one stopped."""

    model: SRCAE
    optimizer: torch.optim.Optimizer
    generator: torch.Generator
    critic: _Critic | None  # where the loss has a GAN term
    step: int = 0
    seconds: float = 0.0  # of training before this run resumed it


def learning_rate(step: int, steps: int, peak: float, warmup: int = _WARMUP_STEPS) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay to 1% of ``peak`` at ``steps``."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(steps - warmup, 1)
    return peak * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def reconstruction_loss(sr: torch.Tensor, hr: torch.Tensor, weights: LossWeights) -> torch.Tensor:
    """The pixel terms of the training loss, MSE and HFEN by ``weights``, of (B, 3, H, W) batches."""
    loss = weights.mse * F.mse_loss(sr, hr)
    if weights.hfen > 0:
        loss = loss + weights.hfen * hfen(sr, hr)
    return loss


def model_config(params: TrainParams) -> SRCAEConfig:
    """The architecture ``params`` ask for; the rest of them say how to train it."""
    return SRCAEConfig(
        scale=params.scale, down_blocks=params.down_blocks, widths=tuple(params.widths),
        skip=params.skip, residual=params.residual,
    )


def _fingerprint(data: Split, params: TrainParams) -> str:
    """Identifies a run, so that a checkpoint of other params or data is never resumed.

    The data is the pixels read, training and held-out, not the files' names and sizes: a texture
    repainted at the same size (an uncompressed TGA, BMP or DDS) resumed a checkpoint trained on the old
    pixels, and a file that could not be read, left out of training, failed here. Hashing them costs
    little beside training on them."""
    digest = xxhash.xxh3_128(params.for_cache_key().model_dump_json().encode())  # a changed validate_every resumes
    for image in (*data.train, *data.held_out):
        digest.update(str(tuple(image.shape)).encode())  # (3, H, W): where one image ends and the next begins
        # numpy's stubs give an array its buffer (__buffer__) only from Python 3.12, though 3.11's has one too
        digest.update(np.ascontiguousarray(image.numpy()))  # type: ignore[arg-type]
    return digest.hexdigest()


def _save_checkpoint(path: Path, state: _State, fingerprint: str) -> None:
    payload = {
        "fingerprint": fingerprint,
        "step": state.step,
        "seconds": state.seconds,
        "model": state.model.state_dict(),
        "optimizer": state.optimizer.state_dict(),
        "generator": state.generator.get_state(),
    }
    if state.critic is not None:
        payload["discriminator"] = state.critic.model.state_dict()
        payload["d_optimizer"] = state.critic.optimizer.state_dict()
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    write_bytes_atomic(path, sealed(buffer.getvalue()))


def load_checkpoint(path: Path) -> dict:
    """A checkpoint's contents, after checking the hash appended to it."""
    return torch.load(io.BytesIO(unsealed(path)), map_location="cpu", weights_only=True)


def _resume(path: Path, state: _State, fingerprint: str, log: logging.Logger) -> None:
    if not path.is_file():
        return
    try:
        payload = load_checkpoint(path)
    except Exception as exc:  # a damaged checkpoint only costs the work since the start
        log.warning("ignoring checkpoint %s (%s); training from the start", path, exc)
        return
    if payload.get("fingerprint") != fingerprint:
        log.info("checkpoint %s is for other params or inputs; training from the start", path)
        return
    state.model.load_state_dict(payload["model"])
    state.optimizer.load_state_dict(payload["optimizer"])
    state.generator.set_state(payload["generator"])
    if state.critic is not None:
        state.critic.model.load_state_dict(payload["discriminator"])
        state.critic.optimizer.load_state_dict(payload["d_optimizer"])
    state.step = int(payload["step"])
    state.seconds = float(payload.get("seconds", 0.0))
    log.info("resuming training from step %d of %s", state.step, path)


def run(inputs: list[Path], out_path: Path, params: TrainParams, ctx: OpContext) -> dict[str, float | int | str]:
    """Train on ``inputs``, write weights (state dict + config) to ``out_path``, return validation figures."""
    device = resolve_device(ctx.device, ctx.log)
    with cpu_threads(params.cpu_threads, device), caller_s_random_state(device):
        return _train(inputs, Path(out_path), params, ctx, device)


def train_srcae(
    textures: str | Path | Iterable[str | Path],
    out: str | Path,
    *,
    scale: Literal[2, 4, 8] = 2,
    steps: int = 3000,
    loss: LossWeights | Mapping[str, float] = LossWeights(),
    degradation: Degradation | Mapping[str, object] = Degradation(),
    down_blocks: int = 2,
    widths: Sequence[int] = (24, 32, 48),
    skip: bool = True,
    residual: bool = True,
    patch_size: int = 64,
    batch_size: int = 16,
    learning_rate: float = 4e-3,
    seed: int = 0,
    holdout: float = 0.2,
    alpha: AlphaMeaning = "auto",
    validate_every: int = 500,
    checkpoint_every: int = 250,
    vgg_weights: str | Path | None = None,
    cpu_threads: int = 1,
    device: str = "auto",
    checkpoint_dir: str | Path | None = None,
    progress: ProgressFn | None = None,
) -> dict[str, float | int | str]:
    """Train a model on ``textures`` and write it to ``out`` (a ``model.pt`` that ``super_resolve`` takes), as a
    ``train_srcae`` model asset trains one: from a script, with no spec or build in between. ``textures`` are
    high-res texture files, or folders standing for every image file under them (a single path is one of
    either); a file that exists but cannot be read is left out, as the op leaves it out, and named in the
    figures' ``unreadable``. Returns the op's figures (held-out PSNR and SSIM against bicubic and Lanczos, and
    how it trained). The other arguments are the op's params, with its defaults (see ``TrainParams``; ``loss``
    and ``degradation`` as a mapping of their keys, ``{"hfen": 0.2}``); a value they refuse is a ``ValueError``
    naming it, as is ``device`` outside auto, cpu, cuda and cuda:N. No textures, or a path that is not
    there, is refused before training starts, naming it.

    ``checkpoint_dir`` is the op's work folder: training keeps a checkpoint there every ``checkpoint_every``
    steps, so a script killed midway and run again with the same textures and params goes on from it and
    writes the same ``model.pt`` as an uninterrupted run (one for other textures or params is trained over).
    The finished run's checkpoint stays there, so that the same call again writes the same model at once. None, the
    default, keeps no checkpoint: a killed run starts over."""
    params = TrainParams.from_arguments(
        scale=scale, steps=steps, loss=loss, degradation=degradation, down_blocks=down_blocks, widths=widths,
        skip=skip, residual=residual, patch_size=patch_size, batch_size=batch_size, learning_rate=learning_rate,
        seed=seed, holdout=holdout, alpha=alpha, validate_every=validate_every, checkpoint_every=checkpoint_every,
        vgg_weights=vgg_weights, cpu_threads=cpu_threads,
    )
    model = path_argument(out, "out is the path of the model file to write (model.pt)",
                          "train_srcae writes the model to a file, which super_resolve takes")
    if model.is_dir():
        raise ValueError(f"out {str(out)!r} is a folder: name the model file to write in it, {model / 'model.pt'}")
    refuse_a_file_above(model, "out")
    if checkpoint_dir is not None:
        refuse_a_file_above(Path(checkpoint_dir) / CHECKPOINT_NAME, "checkpoint_dir's checkpoint")
    ctx = OpContext(device=device, progress=with_note(progress),
                    work_dir=None if checkpoint_dir is None else Path(checkpoint_dir))
    return run(_texture_files(textures), model, params, ctx)


def _fix_for_missing(entry: Path) -> str:
    """What to do about a texture path that is not there: a shell pattern (``textures/*.png``) is no path, and the
    fix is the folder or the files it matches, where "check its path" sent a script to look for a typo. A pattern
    in a folder's place (``materials/*/albedo.png``) is one too, its files globbed from the folder above it."""
    first = next((index for index, part in enumerate(entry.parts) if any(char in part for char in "*?[")), None)
    if first is None:
        return "check its path"
    folder, pattern = Path(*entry.parts[:first]), "/".join(entry.parts[first:])
    files = f"sorted(Path({str(folder)!r}).glob({pattern!r}))"
    given = f"the folder {folder}, or the files, {files}" if first == len(entry.parts) - 1 else f"the files, {files}"
    return f"it is a pattern, which train_srcae does not expand: give {given}"


def _texture_files(textures: str | Path | Iterable[str | Path]) -> list[Path]:
    """The files ``train_srcae``'s ``textures`` name, each folder's image files found under it, each file once (a
    file listed beside its folder would be trained on twice, and could land in both halves of the split); a path
    that is not there is refused here, where the op leaves out a file deleted after its source was scanned."""
    single = isinstance(textures, (str, os.PathLike)) or not isinstance(textures, Iterable)
    entries = [path_argument(entry, "train_srcae's textures are file or folder paths",
                             "training reads its textures from files: write_image them to a folder first")
               for entry in ([textures] if single else cast(Iterable[str | Path], textures))]
    if not entries:
        raise ValueError("train_srcae got no textures: give the high-res texture files to learn from, or their folder")
    files: list[Path] = []
    for entry in entries:
        if entry.is_dir():
            found = sorted(path for path in entry.rglob("*") if path.is_file() and may_be_image(path.suffix))
            if not found:
                raise ValueError(f"train_srcae: folder {entry} holds no image files ({', '.join(READABLE_SUFFIXES)})")
            files += found
        elif entry.is_file():
            files.append(entry)
        else:
            raise FileNotFoundError(f"train_srcae: texture {entry} does not exist; {_fix_for_missing(entry)}")
    unique: dict[Path, Path] = {}
    for path in files:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def _train(
    inputs: list[Path], out_path: Path, params: TrainParams, ctx: OpContext, device: torch.device
) -> dict[str, float | int | str]:
    log = ctx.log
    data = _data(inputs, params, log)
    sampler = PatchSampler(data.train, params.patch_size)
    _check_visible(sampler, data.train_names, log)
    # Validated as it trains, on the centres of up to 4; none where alpha hides every centre.
    sample = [image for image in data.held_out if measurable(image, params.scale, max_side=_QUICK_SIDE)][:4]
    state, vgg = _setup(params, device)
    checkpoint = ctx.work_dir / CHECKPOINT_NAME if ctx.work_dir is not None else None
    fingerprint = _fingerprint(data, params) if checkpoint is not None else ""  # only a checkpoint needs it
    if checkpoint is not None:
        _resume(checkpoint, state, fingerprint, log)

    started = time.perf_counter()
    state.model.train()
    note = f"resumed from a checkpoint at step {state.step}" if state.step else ""  # then the latest validation
    while state.step < params.steps:
        loss = _step(state, sampler, vgg, params, device)
        if sample and _due(state.step, params.validate_every, params.steps):
            note = f"loss {loss.item():.5f}, validation PSNR {_quick_psnr(state.model, sample, device, params):.2f} dB"
            log.info("step %d/%d %s", state.step, params.steps, note)
        if ctx.progress is not None:  # after the validation, so the last step's line shows its figures
            ctx.progress(state.step, params.steps, note)
        if checkpoint is not None and _due(state.step, params.checkpoint_every, params.steps):
            _save_checkpoint(checkpoint, replace(state, seconds=state.seconds + time.perf_counter() - started), fingerprint)
    train_seconds = state.seconds + time.perf_counter() - started

    state.model.eval()
    save_srcae(Path(out_path), state.model)
    return _figures(data, state.model, device, params, train_seconds, log)


def _due(step: int, every: int, steps: int) -> bool:
    """Whether a periodic task (checkpoint, validation) falls at ``step``: every ``every`` steps, and at the last."""
    return step % every == 0 or step == steps


def _quick_psnr(model: SRCAE, sample: list[torch.Tensor], device: torch.device, params: TrainParams) -> float:
    """The held-out PSNR training logs as it goes: on small crops of a few images, without the baselines,
    so that it costs little beside the steps between; the model is left in training mode."""
    figures = compare(sample, _evaluator(model, device), params.scale, max_side=_QUICK_SIDE, baselines=False)
    model.train()
    return figures["val_psnr"]


def _data(inputs: list[Path], params: TrainParams, log: logging.Logger) -> Split:
    """The training and held-out images; refused where no held-out image is large enough to measure the model."""
    data = split([Path(p) for p in inputs], params.holdout, min_side(params.scale), params.alpha)
    for problem in data.unreadable:
        log.warning("train_srcae: training without an image it cannot read: %s", problem)
    if not any(measurable(image, params.scale) for image in data.held_out):
        raise ValueError(
            f"train_srcae: no held-out image is {min_side(params.scale)} pixels or more a side with a visible texel "
            f"inside its border, so a {params.scale}x model could not be measured (held out: "
            f"{', '.join(data.held_out_names)}); add larger or more images"
        )
    return data


def _setup(params: TrainParams, device: torch.device) -> tuple[_State, VGGFeatures | None]:
    """The model and its optimizer, the patch generator, the discriminator where the loss has a GAN term, and
    the VGG features where it has a VGG term, each seeded in this order so that a seed gives the same weights."""
    torch.manual_seed(params.seed)
    # Channels-last convolutions train ~20% faster on CPU (measured 0.041 vs 0.050 s a step, 2 threads).
    # torch's stubs leave memory_format out of Module.to's overloads, which takes it (and documents it)
    model = SRCAE(model_config(params)).to(device, memory_format=torch.channels_last)  # type: ignore[call-overload]
    generator = torch.Generator().manual_seed(params.seed)
    critic = None
    if params.loss.gan > 0:
        discriminator = PatchDiscriminator().to(device)
        critic = _Critic(discriminator, torch.optim.Adam(discriminator.parameters(), lr=params.learning_rate / 2,
                                                         betas=(0.5, 0.999)))
    vgg = VGGFeatures.from_file(params.vgg_weights).to(device) if params.loss.vgg > 0 and params.vgg_weights else None
    optimizer = torch.optim.Adam(model.parameters(), lr=params.learning_rate)
    return _State(model, optimizer, generator, critic), vgg


def _step(
    state: _State, sampler: PatchSampler, vgg: VGGFeatures | None, params: TrainParams, device: torch.device
) -> torch.Tensor:
    """One training step: a batch of high-res patches degraded to the model's input, enlarged, and the model moved
    down the loss (MSE + HFEN, + VGG features, + the GAN term); then the discriminator's own step. Returns the loss.

    Float32 on CUDA too (cuDNN may still use TF32 inside convolutions). Under bf16 autocast a VGG term weighted 1%
    of the pixel loss was rounded away where its gradient joins the pixel loss's (the weights came out
    byte-identical without it; a GAN term of that weight likely was too), and half precision did not even save
    time: on an H200, 6,000 steps at 2x took 79 s under bf16 and 48 s in float32, to the same held-out PSNR."""
    hr = sampler.sample(params.batch_size, state.generator)  # (B, 3, P, P), or (B, 4, P, P) with coverage
    coverage = hr[:, 3:].to(device) if hr.shape[1] == 4 else None  # (B, 1, P, P)
    hr = hr[:, :3]
    lr = degrade(hr, params.scale, params.degradation, state.generator)  # (B, 3, P/s, P/s)
    hr = hr.to(device, memory_format=torch.channels_last)
    lr = lr.to(device, memory_format=torch.channels_last)
    for group in state.optimizer.param_groups:
        group["lr"] = learning_rate(state.step, params.steps, params.learning_rate)
    sr = state.model(lr)  # (B, 3, P, P)
    if coverage is not None:
        sr = over_target(sr, hr, coverage)  # nothing is learnt under transparent texels
    loss = reconstruction_loss(sr, hr, params.loss)
    if vgg is not None:
        loss = loss + params.loss.vgg * F.mse_loss(vgg(sr), vgg(hr))
    if state.critic is not None:
        loss = loss + params.loss.gan * generator_gan_loss(state.critic.model(sr))
    state.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    state.optimizer.step()
    if state.critic is not None:
        _critic_step(state.critic, hr, sr.detach())
    state.step += 1
    return loss


def _critic_step(critic: _Critic, hr: torch.Tensor, sr: torch.Tensor) -> None:
    """The discriminator's step, after the model's: real patches ``hr`` told from the model's ``sr``."""
    loss = discriminator_loss(critic.model(hr), critic.model(sr))
    critic.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    critic.optimizer.step()


def _figures(
    data: Split, model: SRCAE, device: torch.device, params: TrainParams, train_seconds: float, log: logging.Logger
) -> dict[str, float | int | str]:
    """The model's metadata: its held-out PSNR and SSIM against bicubic and Lanczos, and how it was trained."""
    figures = compare(data.held_out, _evaluator(model, device), params.scale)
    log.info(
        "trained %d steps in %.0f s: held-out PSNR %.2f dB (bicubic %.2f, lanczos %.2f) on %s",
        params.steps, train_seconds, figures["val_psnr"], figures["bicubic_psnr"], figures["lanczos_psnr"],
        ", ".join(data.held_out_names),
    )
    return {
        **{k: round(v, 4) for k, v in figures.items()},
        "gain_db": round(figures["val_psnr"] - figures["bicubic_psnr"], 4),
        "lanczos_gain_db": round(figures["val_psnr"] - figures["lanczos_psnr"], 4),
        "train_seconds": round(train_seconds, 2),
        "device": str(device),
        "parameters": sum(p.numel() for p in model.parameters()),
        "held_out_images": len(data.held_out),
        "held_out": _listed(data.held_out_names),  # which the figures are of (the log, which a CLI build hides, said)
        "train_images": len(data.train),
        "unreadable_images": len(data.unreadable),  # left out, each named in the log
        "unreadable": "; ".join(data.unreadable),  # which, and why
    }


_LISTED = 10  # held-out textures named in the metadata, which holds short strings; the log names them all


def _listed(names: list[str]) -> str:
    """``names`` for the model's metadata: the first ``_LISTED``, and how many more there are."""
    more = f" and {len(names) - _LISTED} more" if len(names) > _LISTED else ""
    return ", ".join(names[:_LISTED]) + more


def _check_visible(sampler: PatchSampler, names: list[str], log: logging.Logger) -> None:
    """Say which training textures are transparent everywhere (no patch is drawn from them), and refuse
    training images that together show less than one patch: there is too little texture to learn from."""
    for name, visible in zip(names, sampler.visible):
        if visible == 0:
            log.warning("train_srcae: training without %s: it is transparent everywhere", name)
    P = sampler.patch
    if sum(sampler.visible) < P * P:
        transparent = [name for name, image in zip(names, sampler.images) if image[3].min() < 1]
        raise ValueError(
            f"train_srcae: its training images show {sum(sampler.visible):.0f} texels in all (alpha counted), fewer "
            f"than one {P}x{P} patch; almost all transparent: {', '.join(transparent)}. Add textures that show more, "
            f"lower patch_size, or give alpha: data (from a script, alpha=\"data\") where the alpha is a mask over "
            "visible colour"
        )


def _evaluator(model: SRCAE, device: torch.device) -> Callable[[torch.Tensor], torch.Tensor]:
    """The model in eval mode as a CPU-in, CPU-out function (leaves it in eval mode)."""
    model.eval()

    def upscale(lr: torch.Tensor) -> torch.Tensor:
        return model(lr.to(device)).float().cpu()

    return upscale
