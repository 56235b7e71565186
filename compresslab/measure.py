"""Measure a model: parameters, bytes at a given bit-width, multiply-accumulates, latency."""

from __future__ import annotations

import contextlib
import math
import statistics
import time
from collections.abc import Callable, Iterator, Mapping

import torch
from torch import nn

MAC_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d)


def count_parameters(model: nn.Module, nonzero_only: bool = False) -> int:
    """Number of parameters (or of non-zero parameters) in ``model``."""
    if nonzero_only:
        return sum(int(torch.count_nonzero(p).item()) for p in model.parameters())
    return sum(p.numel() for p in model.parameters())


def size_bytes(model: nn.Module, bits: int | Mapping[str, int] = 32) -> int:
    """Bytes needed to store every parameter at ``bits`` bits, rounded up to a whole byte.

    ``bits`` is one width for all parameters, or a mapping from parameter name (``"0.weight"``) to width where
    unnamed parameters stay at 32 bits. Metadata such as scales and zero points is not counted.
    """
    total_bits = 0
    for name, p in model.named_parameters():
        width = bits if isinstance(bits, int) else bits.get(name, 32)
        if not isinstance(width, int) or not 1 <= width <= 64:
            raise ValueError(f"bits for {name} must be an int between 1 and 64, got {width!r}")
        total_bits += p.numel() * width
    return math.ceil(total_bits / 8)


def count_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of one forward pass of Linear/Conv1d/Conv2d layers for one input of ``input_shape``.

    ``input_shape`` excludes the batch dimension. A Linear layer costs in*out per example; a convolution costs
    (C_in/groups) * prod(kernel) * C_out * prod(output spatial size). Other layers count as free.
    """
    macs = 0

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal macs
        if isinstance(module, nn.Linear):
            rows = output.numel() // output.shape[-1]
            macs += rows * module.in_features * module.out_features
        else:
            per_output = (module.in_channels // module.groups) * math.prod(module.kernel_size)
            macs += output.numel() * per_output

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, MAC_LAYERS)]
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        with torch.no_grad():
            model(torch.zeros((1, *input_shape), device=device))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return macs


def latency_ms(fn: Callable[[], object], repeats: int = 50, warmup: int = 5) -> float:
    """Median wall-clock time of ``fn()`` in milliseconds over ``repeats`` calls, after ``warmup`` calls."""
    if repeats < 1 or warmup < 0:
        raise ValueError(f"repeats must be >= 1 and warmup >= 0, got repeats={repeats}, warmup={warmup}")
    with torch.no_grad():
        for _ in range(warmup):
            fn()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(n)``, then restore the previous count (for timings)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
