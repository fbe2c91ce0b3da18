"""Numeric precision of the transforms: bf16 where the hardware computes it natively.

The entropy parameters are always float64 on the CPU (bit-identical everywhere); only the
pictures' synthesis may run in bf16, and only for codecs whose pictures lose at most about
0.05 dB to float32 on Kodak (BENCHMARKS.md) for a faster synthesis: with the last layer in
float32 (codec.models.layers.float32_output) DeepHQ loses 0.003-0.050 dB per layer on average
(session-12 weights; the top layers most, kodim20 0.13 dB) and synthesizes about 1.9x faster on
a CPU with AVX512-BF16 (the last GDN in float32 too would halve the loss for +50% decode time);
HC stays in float32: it was judged against the earlier 0.02 dB budget (q4 lost 0.016-0.023 dB)
and has 3 syntheses per file to DeepHQ's 8. CPUs without native
bf16 (AVX2 only) emulate it far slower than float32, so they keep float32.

STRATA_PRECISION overrides the choice: "auto" (the default), "float32" or "bf16".
"""
from __future__ import annotations

import os

import torch

CHOICES = ("auto", "float32", "bf16")


def bf16_is_native(device: torch.device) -> bool:
    """True where bf16 math runs in hardware: CUDA GPUs with bf16, CPUs with AVX512-BF16 or AMX."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    cpu = torch.cpu
    return any(getattr(cpu, probe, lambda: False)() for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))


def synthesis_dtype(device: torch.device, bf16_ok: bool = True) -> torch.dtype:
    """The dtype a codec's pictures are synthesized in on device: float32 unless the codec allows
    bf16 (bf16_ok); then STRATA_PRECISION decides, by default bf16 where it is native."""
    choice = os.environ.get("STRATA_PRECISION", "auto")
    if choice not in CHOICES:
        raise ValueError(f"STRATA_PRECISION={choice!r} is not one of {', '.join(CHOICES)}")
    if not bf16_ok:
        return torch.float32
    if choice == "auto":
        return torch.bfloat16 if bf16_is_native(device) else torch.float32
    return torch.bfloat16 if choice == "bf16" else torch.float32


def synthesis_autocast(device: torch.device, bf16_ok: bool = True) -> torch.autocast:
    """The autocast context a codec's synthesis runs in (disabled for float32)."""
    dtype = synthesis_dtype(device, bf16_ok)
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=dtype == torch.bfloat16)


def channels_last(t: torch.Tensor) -> torch.Tensor:
    """A 4-D tensor in NHWC memory order, which oneDNN's convolutions run fastest in (the same values)."""
    return t.contiguous(memory_format=torch.channels_last)
