"""Coding latents with the nested quantizer, and the z stream; shared by DeepHQ and HC.

A latent element is coded relative to its Gaussian N(mu, sigma^2) in the mean-removed domain
y* = y - mu. Its interval starts as [-K step_0 / 2, K step_0 / 2) and each coding pass splits the
current interval with codec/coding/nested.py and codes the chosen cell. One pass with step 1 is plain
residual quantization round(y - mu) + mu (HC); a sequence of passes with shrinking steps is
DeepHQ's hierarchical quantization.
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np
import torch

from codec.coding import entropy_coding as ec
from codec.coding import nested

MAX_ALPHABET = 4095  # first-pass cells; the encoder clips rarer outliers to the outermost cell


class ParameterMismatch(ValueError):
    """The decoder derived entropy parameters that differ from the encoder's."""


class InvalidCodecParameters(ValueError):
    """The header's codec parameters (params blob, layer count) are impossible for the codec."""


@dataclass
class Encoded:
    """What a codec's encoder produces for the container: each layer's payload is its chunks'
    payloads together (one chunk per layer unless chunk_lengths says otherwise)."""

    params: bytes
    layers: list[bytes]
    reconstructions: list[np.ndarray]  # RGB uint8 (H, W, 3) per layer, as the decoder will see them
    chunk_lengths: tuple[tuple[int, ...], ...] | None = None  # per layer its chunks' lengths

    @classmethod
    def of_chunks(cls, params: bytes, chunks: list[list[bytes]], reconstructions: list[np.ndarray]) -> "Encoded":
        """From each layer's chunk payloads."""
        lengths = tuple(tuple(map(len, layer)) for layer in chunks)
        return cls(params, [b"".join(layer) for layer in chunks], reconstructions, lengths)

    def layer_chunks(self, layer: int) -> list[bytes]:
        """The chunk payloads of one layer."""
        if self.chunk_lengths is None:
            return [self.layers[layer]]
        ends = np.cumsum((0,) + self.chunk_lengths[layer])
        return [self.layers[layer][a:b] for a, b in zip(ends[:-1], ends[1:])]


@dataclass
class SnappedGaussian:
    """mu and sigma of n elements snapped to the grids of entropy_coding, flattened in C order."""

    mu: np.ndarray  # float64 (n,)
    sigma: np.ndarray  # float64 (n,), values of SIGMA_TABLE
    mu_index: np.ndarray  # int32 (n,)
    sigma_index: np.ndarray  # uint8 (n,)

    @classmethod
    def snap(cls, mu: torch.Tensor, sigma: torch.Tensor) -> "SnappedGaussian":
        mu_index = ec.quantize_mu(mu.detach().cpu().double().numpy().ravel())
        sigma_index = ec.quantize_sigma(sigma.detach().cpu().double().numpy().ravel())
        return cls(mu_index / ec.MU_SCALE, ec.SIGMA_TABLE[sigma_index], mu_index, sigma_index)

    def check(self, *extra: np.ndarray) -> int:
        return ec.check_value(self.mu_index, self.sigma_index, *extra)


def verify(derived: int, stored: int, what: str) -> None:
    """Raise ParameterMismatch when the decoder's check value differs from the file's."""
    if derived != stored:
        raise ParameterMismatch(
            f"this decoder derives {what} entropy parameters that differ from the encoder's "
            f"(check {derived:08x}, file {stored:08x}); decoding would give a garbage picture"
        )


@dataclass
class NestedState:
    """Current interval [lower, upper) and reconstruction y~* of every element, float64 (n,)."""

    lower: np.ndarray
    upper: np.ndarray
    value: np.ndarray

    @classmethod
    def start(cls, K: int, first_step: np.ndarray) -> "NestedState":
        """Intervals [-K s / 2, K s / 2) for per-element first steps s (n,), values 0."""
        half = (K / 2) * first_step
        return cls(-half, half.copy(), np.zeros_like(half))

    def saved(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Copies of the intervals and values of the elements index, for restore."""
        return self.lower[index], self.upper[index], self.value[index]

    def restore(self, index: np.ndarray, saved: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        """Put back the elements index as saved (coding them again starts from there)."""
        self.lower[index], self.upper[index], self.value[index] = saved


def reconstruction(state: NestedState, sigma: np.ndarray, offset: float) -> np.ndarray:
    """The value y~* (n,) the synthesis gets of every element: its cell's midpoint, moved `offset`
    times its distance from the Gaussian conditional mean E[y* | cell] further from it (0: the
    midpoint; -1: the mean). The decoder's choice alone: the entropy model always sees midpoints."""
    if offset == 0:
        return state.value
    return state.value + offset * (state.value - nested.conditional_mean(state.lower, state.upper, sigma))


def alphabet_size(y_star: np.ndarray, first_step: np.ndarray) -> int:
    """Odd K with every |y*| / step inside K / 2 (the first pass's alphabet), at most
    MAX_ALPHABET (values beyond are coded in the outermost cell)."""
    K = 2 * math.ceil(float(np.max(np.abs(y_star) / first_step, initial=0.0))) + 1
    return min(K, MAX_ALPHABET)


def check_alphabet(K: int, what: str) -> None:
    """Raise InvalidCodecParameters for an alphabet size no encoder writes."""
    if K % 2 == 0 or K > MAX_ALPHABET:
        raise InvalidCodecParameters(f"{what} alphabet size must be odd and at most {MAX_ALPHABET}, found {K}")


def bind_alphabet(check: int, K: int) -> int:
    """The stored check value: the parameters' check extended by K, so a forged K is detected."""
    return zlib.crc32(K.to_bytes(2, "little"), check)


def _informative(grid: nested.CellGrid, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray, ec.RowsFn]:
    """Indices of the elements with more than one cell (the others cost nothing and are not
    coded), their alphabet sizes, and a function giving their PMF rows."""
    index = np.flatnonzero(grid.alphabet_sizes > 1)
    grid, sigma = grid.subset(index), sigma[index]

    def rows(part: slice) -> np.ndarray:
        sub = grid.subset(part)
        return nested.pmf(sub, sigma[part], int(sub.alphabet_sizes.max()))
    return index, grid.alphabet_sizes, rows


def _refine(state: NestedState, coded: np.ndarray, grid: nested.CellGrid, symbols: np.ndarray) -> None:
    lower, upper = nested.cell_of(grid, symbols)
    state.lower[coded], state.upper[coded] = lower, upper
    state.value[coded] = nested.reconstruction(lower, upper)


def chunk_passes(masks: np.ndarray, elements: np.ndarray, layer: int) -> list[tuple[np.ndarray, int]]:
    """The (element indices, step layer) passes of the chunk refining `elements` at layer `layer`.

    An element selected for the first time at layer l > 0 is first brought up to date: its
    layer-0 cell and refinements 1..l-1 are coded in its chunk's stream, so its cells cover its
    whole range with small alphabets, and its bits still telescope to the Gaussian mass of its
    final cell. Then every element of the chunk is refined with step Delta_l.
    """
    passes = []
    if layer > 0:
        new = elements[~masks[layer - 1][elements]]
        passes += [(new, j) for j in range(layer)] if new.size else []
    return passes + [(elements, layer)]


def quantize_pass(state: NestedState, coded: np.ndarray, step: np.ndarray, y_star: np.ndarray):
    """One pass of the nested quantizer without coding: the elements `coded` (indices into
    state) with their steps (N,) and true values y* (N,); refines state exactly as decode_pass
    will and returns (the cell grid, the symbols (N,))."""
    grid = nested.cell_grid(state.lower[coded], state.upper[coded], step)
    symbols = nested.quantize(grid, y_star)
    _refine(state, coded, grid, symbols)
    return grid, symbols


def encode_pass(encoder, state: NestedState, coded: np.ndarray, step: np.ndarray, sigma: np.ndarray, y_star: np.ndarray) -> None:
    """Code one pass (quantize_pass), the elements' scales sigma (N,) giving the PMFs."""
    grid, symbols = quantize_pass(state, coded, step, y_star)
    informative, sizes, rows = _informative(grid, sigma)
    ec.encode_symbols(encoder, symbols[informative], sizes, rows)


def decode_pass(decoder, state: NestedState, coded: np.ndarray, step: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Mirror of encode_pass; refines state and returns the decoded symbols (N,)."""
    grid = nested.cell_grid(state.lower[coded], state.upper[coded], step)
    informative, sizes, rows = _informative(grid, sigma)
    symbols = np.zeros(coded.size, dtype=np.int64)
    symbols[informative] = ec.decode_symbols(decoder, sizes, rows)
    _refine(state, coded, grid, symbols)
    return symbols


class ZCoder:
    """Codes the integer hyper-latent z with the per-channel tables of a weights file."""

    # Range-coder state bits a stream may hold beyond the information it codes (none, in theory).
    SLACK_BITS = 64

    def __init__(self, tables: dict):
        self.offsets = tables["z_offsets"].numpy().astype(np.int64)
        self.freqs = tables["z_freqs"].numpy()
        self.widths = np.count_nonzero(self.freqs, axis=1)
        # The fewest bits each z value can cost: -log2 of its probability plus 2^-12 (which covers
        # constriction's requantization of the rows, off by at most 2^-23); a range coder's output
        # is at least the information it codes.
        probabilities = self.freqs / self.freqs.sum(axis=1, keepdims=True)
        self.min_bits = -np.log2(np.minimum(probabilities + 2.0**-12, 1.0))  # (C, K)
        self.min_bits_per_position = float(self.min_bits.min(axis=1).sum())

    def _rows(self, shape: tuple[int, int, int]) -> tuple[np.ndarray, ec.RowsFn]:
        c, h, w = shape
        return ec.table_rows(self.freqs, np.arange(c * h * w) // (h * w))

    def encode(self, encoder, z: torch.Tensor) -> np.ndarray:
        """z (C, h, w) real -> z_hat int64 (C, h, w) as coded (rounded, clipped to the tables)."""
        z = torch.round(z).cpu().numpy().astype(np.int64)
        symbols = np.clip(z - self.offsets[:, None, None], 0, self.widths[:, None, None] - 1)
        ec.encode_symbols(encoder, symbols.ravel(), *self._rows(z.shape))
        return symbols + self.offsets[:, None, None]

    def min_bytes(self, shape: tuple[int, int, int]) -> int:
        """Bytes a stream holding z of shape (C, h, w) takes at least: half the bound, for safety."""
        return int(self.min_bits_per_position * shape[1] * shape[2] / 16)

    def information(self, z_hat: np.ndarray) -> float:
        """The fewest bits in which any stream can hold z_hat (C, h, w)."""
        symbols = (z_hat - self.offsets[:, None, None]).reshape(len(self.offsets), -1)
        return float(np.take_along_axis(self.min_bits, symbols, axis=1).sum())

    def check_room(self, payload: bytes, shape: tuple[int, int, int], picture: str) -> None:
        """Raise CorruptStream unless payload can hold z of this shape, before anything of the
        picture's size is allocated: its length against the most compressible z (free), then the
        information of the z it decodes to against its bits (z is small: 1/24 of y's elements).
        Garbage decodes to improbable values, and an exhausted stream goes on decoding them."""
        need = self.min_bytes(shape)
        if len(payload) < need:
            raise ec.CorruptStream(
                f"layer 1 has {len(payload)} bytes, but the hyper-latent of a {picture} picture takes at "
                f"least {need}: the picture size in the header is wrong or layer 1 is cut short")
        bits = self.information(self.decode(ec.new_decoder(payload), shape))
        if bits > 8 * len(payload) + self.SLACK_BITS:
            raise ec.CorruptStream(
                f"layer 1 has {len(payload)} bytes, but the hyper-latent it decodes to for a {picture} "
                f"picture holds at least {bits / 8:,.0f} bytes of information: layer 1 is not a real "
                f"stream for that picture size (garbage, or a size the data does not back up)")

    def decode(self, decoder, shape: tuple[int, int, int]) -> np.ndarray:
        symbols = ec.decode_symbols(decoder, *self._rows(shape)).reshape(shape)
        return symbols + self.offsets[:, None, None]
