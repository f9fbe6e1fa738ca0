"""The devices remaster runs on, by name, and how to write one it does not take: without torch, since ``validate``
checks a spec's ``device`` and ``--device`` without importing it; ``ops.device`` checks a run's (a Dagster run
config's ``device: gpu0``) with the same function, so each place a device is typed gets the same hint."""

from __future__ import annotations

import difflib
import re

DEVICE_PATTERN = re.compile(r"auto|cpu|cuda(:\d+)?")
_GPU_WORDS = "cuda|gpu|nvidia"  # what an artist may call the GPU, in a device remaster does not take


def device_hint(device: str) -> str:
    """How to write the device meant by one remaster does not take: ``gpu``, ``nvidia`` (what an artist calls it)
    or ``cuda 1`` is CUDA's, spelt as torch spells it, with the GPU's number where one is given (``cuda0`` is
    ``cuda:0``: told to write ``cuda``, the artist lost the GPU they chose); ``CPU`` is ``cpu``."""
    words = device.lower().replace(" ", "")
    if numbered := re.fullmatch(rf"(?:{_GPU_WORDS})\D*(\d+)", words):
        return f"; for that GPU write cuda:{int(numbered.group(1))}"
    if re.search(_GPU_WORDS, words):
        return "; for the GPU write cuda (cuda:1 for a second GPU)"
    close = difflib.get_close_matches(words, ["auto", "cpu", "cuda"], n=1)
    return f"; did you mean {close[0]!r}?" if close else ""
