"""Choose the torch device once, from the name a resource or flag gives."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Iterator

import torch

from ops.device_names import DEVICE_PATTERN, device_hint


def resolve_device(name: str | torch.device = "auto", log: logging.Logger | None = None) -> torch.device:
    """``auto`` is CUDA when a GPU is there and works, else CPU; ``cpu``/``cuda``/``cuda:N`` are taken as
    given, and any other name is a ``ValueError`` that lists these. A script's ``torch.device("cuda")`` is taken
    as its name (it failed as "'torch.device' object has no attribute 'startswith'"). ``log`` hears why ``auto``
    passed over a GPU it found.

    On CUDA, cuDNN is held to deterministic convolution algorithms, for the whole process as its
    settings are: its fastest backward passes add in a varying order, so two fine-tunings of one
    model on one texture (super_resolve's adapt_steps) wrote different bytes on an H100. That makes
    super-resolution training and adaptation repeatable on a GPU. The material fit and gram
    synthesis also back-propagate through reflection padding, whose CUDA backward adds atomically,
    so on a GPU they can still differ between runs in the last bits.
    """
    device = _named_device(str(name), log or logging.getLogger("ops"))
    if device.type == "cuda":
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    return device


def _named_device(name: str, log: logging.Logger) -> torch.device:
    """The device ``name`` names; a name remaster does not take is refused with the ones it does, where
    torch listed twenty device types (``gpu``) or let one through that no op was made for (``meta``), and with
    the spelling meant (``gpu0``: ``cuda:0``), as a spec's ``device`` and ``--device`` are: a run config's
    device (the UI's launchpad) reaches only this check."""
    if not DEVICE_PATTERN.fullmatch(name):
        raise ValueError(f"device {name!r}: expected auto, cpu, cuda or cuda:N (N the GPU's number, from 0)"
                         f"{device_hint(name)}")
    if name == "auto":
        return _auto_device(log)
    if missing := missing_device(name):
        raise RuntimeError(f"device {name!r} was asked for but {missing}; use auto or cpu")
    return torch.device(name)


@contextlib.contextmanager
def caller_s_random_state(device: torch.device) -> Iterator[None]:
    """Give torch's global random state (the CPU's, and ``device``'s on CUDA) back as it was once the block ends. An
    op that seeds it for repeatable results (a model's initial weights draw from it) reset a script's own draws to
    the op's seed: after ``train_srcae`` or a material fit, ``torch.rand`` gave what ``manual_seed(0)`` gives."""
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        yield


def missing_device(name: str) -> str | None:
    """Why this machine lacks the CUDA device ``name`` (a name ``resolve_device`` takes), or None where it has it
    or ``name`` is no CUDA device. A bare fact without a fix: the fix depends on where the name came from (a
    spec's line, a flag), which the caller knows and says."""
    if not name.startswith("cuda"):  # auto and cpu: torch.device takes no "auto"
        return None
    device = torch.device(name)
    if not torch.cuda.is_available():
        return "no CUDA GPU is available"
    if device.index is not None and device.index >= torch.cuda.device_count():
        return f"this machine has {torch.cuda.device_count()} GPU(s), cuda:0 to cuda:{torch.cuda.device_count() - 1}"
    return None


def _auto_device(log: logging.Logger) -> torch.device:
    """CUDA where torch finds a GPU that runs a kernel; else the CPU, ``log`` told why where a GPU was found."""
    problem = _cuda_problem() if torch.cuda.is_available() else None
    if problem:
        _warn_cpu_fallback(problem, log)
    return torch.device("cuda" if problem == "" else "cpu")


@functools.cache
def _warn_cpu_fallback(problem: str, log: logging.Logger) -> None:
    """Said once a process to each log: every texture of a build resolves its device, and a run's log in
    the UI repeated this for each of them."""
    log.warning(f"device auto: this machine's CUDA GPU cannot run ({problem}); running on the CPU. "
                "Give device: cpu to say so, or cuda to make this an error")


@functools.cache
def _cuda_problem() -> str:
    """Why the GPU torch reports cannot run a kernel, or "" where it can. torch counts GPUs without
    starting CUDA, so a driver older than the build, a GPU in exclusive mode held by another process, or
    an architecture the build has no kernels for shows only at first use: there ``auto`` falls back to
    the CPU, as a machine without a GPU would, rather than failing every output. Asked once a process:
    the answer does not change while it runs."""
    try:
        torch.ones(1, device="cuda").add_(1).cpu()
    except (RuntimeError, AssertionError) as exc:
        return (str(exc).strip() or type(exc).__name__).splitlines()[0]
    return ""
