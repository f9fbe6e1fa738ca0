"""Parameters of ``train_srcae`` and ``super_resolve``, as a spec's YAML gives them.

This module must not import torch: the pipeline validates specs with these
models while loading its definitions, long before any op runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ops.alpha import ALPHA_MEANING, AlphaMeaning
from ops.registry import SEED_MAX, Guard, OpParams
from ops.superres.checkpoint import CHECKPOINT_NAME, saved_step
from ops.tileable import WRAP, Wrap


class LossWeights(OpParams):
    """Weight of each training loss term; a term with weight 0 adds nothing (HFEN, VGG and GAN are then not computed)."""

    # default= by name in this class and Degradation: a type checker takes a positional default for none, and
    # LossWeights() for a call missing every argument
    mse: float = Field(default=1.0, ge=0, description="pixel mean squared error")
    hfen: float = Field(default=0.1, ge=0, description="high-frequency error norm (Laplacian of Gaussian of the error)")
    vgg: float = Field(default=0.0, ge=0, description="VGG19 feature distance; needs vgg_weights")
    gan: float = Field(default=0.0, ge=0, description="adversarial loss -ln D(F(x)) against a small patch discriminator")


class Degradation(OpParams):
    """How a training low-res input is made from a high-res patch, to resemble real legacy textures."""

    downscale: Literal["bicubic", "area"] = "bicubic"
    blur: float = Field(default=0.0, ge=0, le=4, description="max Gaussian blur sigma (low-res pixels), drawn per patch")
    noise: float = Field(default=0.0, ge=0, le=0.2, description="max Gaussian noise std (0..1 values), drawn per patch")
    jpeg: float = Field(default=0.0, ge=0, le=1, description="probability that a patch is JPEG-compressed")
    jpeg_quality: tuple[int, int] = Field(default=(40, 95), description="JPEG quality range drawn from")
    bc1: float = Field(default=0.0, ge=0, le=1, description="probability that a patch is BC1/DXT1 block-compressed")

    @model_validator(mode="after")
    def _check_quality(self) -> Degradation:
        low, high = self.jpeg_quality
        if not 1 <= low <= high <= 100:
            raise ValueError(f"jpeg_quality must be two numbers 1 <= low <= high <= 100, got {self.jpeg_quality}")
        return self


class TrainParams(OpParams):
    """``train_srcae``: train the super-resolution autoencoder on high-res textures."""

    scale: Literal[2, 4, 8] = 2
    steps: int = Field(3000, ge=1)
    loss: LossWeights = LossWeights()
    degradation: Degradation = Degradation()
    down_blocks: int = Field(2, ge=0, le=5, description="N: stride-2 encoder blocks (receptive field)")
    widths: tuple[int, ...] = Field(
        (24, 32, 48), description="features at each encoder level, N+1 numbers; the first is the input conv's"
    )
    skip: bool = Field(True, description="add encoder features to the decoder at the same resolution (U-Net style)")
    residual: bool = Field(True, description="predict a correction over bicubic instead of the whole image")
    patch_size: int = Field(64, ge=16, le=512, description="high-res training patch side, pixels")
    batch_size: int = Field(16, ge=1, le=256)
    learning_rate: float = Field(4e-3, gt=0, le=1, description="peak Adam step size (warm-up, then cosine decay)")
    seed: int = Field(0, ge=0, le=SEED_MAX)
    holdout: float = Field(0.2, gt=0, lt=1, description="fraction of files (the share of them whose names hash lowest) never trained on")
    alpha: AlphaMeaning = Field(
        "auto", description="what the textures' alpha holds: coverage (only visible texels are learnt from, the colour "
        "under transparent ones filled from them as super_resolve fills it), data (a specular/gloss/height mask: the "
        "colour is learnt everywhere), auto (coverage)"
    )
    validate_every: int = Field(500, ge=1, description="steps between logged validation PSNRs")
    checkpoint_every: int = Field(250, ge=1, description="steps between resumable checkpoints in the work dir")
    vgg_weights: Path | None = Field(None, description="local torchvision-layout VGG19 state dict, for loss.vgg")
    cpu_threads: int = Field(
        1, ge=0, le=256, description="torch threads when training on CPU; 0: torch's default. One thread avoids a "
        "~50x slowdown measured when several builds share 2 cores, and keeps weights identical across machines"
    )

    @model_validator(mode="after")
    def _check(self) -> TrainParams:
        if len(self.widths) != self.down_blocks + 1:
            raise ValueError(
                f"widths needs down_blocks + 1 = {self.down_blocks + 1} numbers (one per encoder level), "
                f"got {len(self.widths)}: {list(self.widths)}"
            )
        if any(w < 4 or w > 1024 for w in self.widths):
            raise ValueError(f"every width must be between 4 and 1024, got {list(self.widths)}")
        multiple = self.scale * 2**self.down_blocks
        if self.patch_size % multiple:
            raise ValueError(f"patch_size must be a multiple of scale * 2**down_blocks = {multiple}")
        if self.loss.vgg > 0 and self.vgg_weights is None:
            raise ValueError("loss.vgg > 0 needs vgg_weights: a local VGG19 weights file (nothing is downloaded)")
        if self.loss.mse + self.loss.hfen + self.loss.vgg + self.loss.gan == 0:
            raise ValueError("every loss weight is 0: give at least one of mse, hfen, vgg, gan a weight")
        return self

    def file_params(self) -> dict[str, Path]:
        return {} if self.vgg_weights is None or self.loss.vgg == 0 else {"vgg_weights": self.vgg_weights}

    def checkpoint_in(self, work_dir: Path) -> str | None:
        step = saved_step(work_dir / CHECKPOINT_NAME)
        return None if step is None else f"its checkpoint at step {step} of {self.steps}"

    def guards(self) -> tuple[Guard, ...]:
        readable = Guard("inputs_readable", "unreadable_images", 1, "below",
                         "every texture of the source could be read (an unreadable one is left out of training)",
                         detail_key="unreadable")
        # Advisory: a held-out set of flat colours can leave nothing for any model to win on.
        useful = Guard("beats_lanczos", "lanczos_gain_db", 0.0, "above",
                       "the model enlarges the held-out textures better than Lanczos; if not, an upscale asset with "
                       "filter: lanczos serves as well, and if its validation PSNR stopped rising early, the "
                       "learning_rate was too high for its widths", blocking=False)
        return (readable, useful)

    def neutral_fields(self) -> tuple[str, ...]:
        unused = ("vgg_weights",) if self.loss.vgg == 0 else ()
        return ("validate_every", "checkpoint_every", *unused)


Kind = Literal["color", "normal"]  # what the texture holds: colour, or a normal map's vectors
Precision = Literal["auto", "float32", "float16", "bfloat16"]


class WeightsFile(OpParams):
    """A user's weights file, ours or a community model (ESRGAN, SwinIR, SPAN, ...)."""

    path: Path


class SuperResolveParams(OpParams):
    """``super_resolve``: enlarge a texture with a trained or community model."""

    model: str | WeightsFile = Field(description="name of a model asset, or {path: weights.pth}")
    wrap: Wrap = WRAP
    kind: Kind = "color"
    alpha: AlphaMeaning = ALPHA_MEANING
    tile: int = Field(256, ge=32, le=4096, description="input tile side in pixels (bounds memory)")
    overlap: int = Field(16, ge=2, le=256, description="input pixels shared by neighbouring tiles, feathered")
    batch: int = Field(8, ge=1, le=256, description="tiles per forward pass on CUDA (CPU runs one at a time)")
    cpu_threads: int = Field(1, ge=0, le=256, description="torch threads on CPU; 0: torch's default")
    passes: int = Field(
        1, ge=1, le=3, description="run the model this many times: two passes of a 2x model enlarge 4x"
    )
    self_ensemble: bool = Field(
        False, description="average the model over the 8 flips and 90° turns of each tile: ~0.1 dB closer, 8x the time"
    )
    adapt_steps: int = Field(
        0, ge=0, le=10000, description="first fine-tune the model on the input itself (downscaled once more) for this "
        "many steps, kept only if it enlarges a held-out strip of the input better: ~0.15 dB closer on 256-pixel "
        "inputs, ~10 s each on CPU; remaster SRCAE models only"
    )
    adapt_learning_rate: float = Field(5e-4, gt=0, le=0.1, description="peak Adam step size of adapt_steps")
    precision: Precision = Field(
        "auto", description="auto: float16/bfloat16 autocast on CUDA, float32 on CPU"
    )

    @field_validator("model", mode="before")
    @classmethod
    def _one_model(cls, value: Any) -> Any:
        """A value neither a name nor a mapping (``model: [sr2x]``, ``model:`` left empty) is refused saying what
        ``model`` takes: pydantic's own words were of a Python class's instance."""
        if isinstance(value, (dict, WeightsFile)) or (isinstance(value, str) and value.strip()):
            return value
        given = ("nothing" if value is None or isinstance(value, str) else str(value).lower() if isinstance(value, bool)
                 else repr(value) if isinstance(value, list) else str(value))
        raise ValueError(f"expected the name of one model under models:, or a weights file's path "
                         f"as {{path: some.pth}}, got {given}")

    @model_validator(mode="after")
    def _check(self) -> SuperResolveParams:
        if 2 * self.overlap >= self.tile:
            raise ValueError(f"overlap ({self.overlap}) must be less than half the tile ({self.tile})")
        return self

    def file_params(self) -> dict[str, Path]:
        return {"model": self.model.path} if isinstance(self.model, WeightsFile) else {}

    def for_cache_key(self) -> SuperResolveParams:
        """The model by its weights alone, whose hash is in the key, not by its asset's name: renaming a
        model (or using a copy of its weights by path) rebuilds nothing."""
        return super().for_cache_key().model_copy(update={"model": "model"})

    def neutral_fields(self) -> tuple[str, ...]:
        unused = ("adapt_learning_rate",) if self.adapt_steps == 0 else ()
        return ("batch", *unused)  # batch: how many tiles run at once on CUDA, not what they give
