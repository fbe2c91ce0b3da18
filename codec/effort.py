"""Encoder effort levels: how hard a learned encoder searches for the latent it codes.

Effort 1 codes the analysis transform's latent y = g_a(x) as it is. Higher levels refine it by
gradient descent on the codec's own rate-distortion objective with the decoder fixed
(codec/codecs/latent_search.py): the decoder and the file format do not change, only which
cells the encoder picks. The convention of `cjxl -e`, `avifenc -s` and `cwebp -m`: 1 is
fastest, 9 best. This table imports nothing heavy: the CLI and the viewer's GUI read it.
"""
from __future__ import annotations

from typing import Callable

EFFORTS = range(1, 10)
DEFAULT_EFFORT = 1
# Descent steps per tile at each effort level (0: no search). A DeepHQ Kodak picture costs
# about 1.7 s a step on one AVX2 core (BENCHMARKS.md).
STEPS = {1: 0, 2: 8, 3: 12, 4: 16, 5: 24, 6: 32, 7: 48, 8: 64, 9: 96}
Progress = Callable[[float], None]  # fraction of an encode done, 0..1; may raise to cancel


class InvalidEffort(ValueError):
    """An effort level outside 1..9."""


def check_effort(effort: int) -> int:
    """effort if it is a level (1..9), else InvalidEffort."""
    if isinstance(effort, bool) or not isinstance(effort, int) or effort not in EFFORTS:
        raise InvalidEffort(f"the effort is a level from {EFFORTS[0]} (fastest) to {EFFORTS[-1]} (best), not {effort!r}")
    return effort


def steps_of(effort: int) -> int:
    """Optimisation steps per tile of an effort level."""
    return STEPS[check_effort(effort)]
