"""Seeding, progress bars and the ``compare`` helper that checks our code against a library."""

from __future__ import annotations

import os
import random
from collections.abc import Iterable
from typing import TypeVar

import numpy as np
import torch
from tqdm import tqdm

T = TypeVar("T")


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's global generators so a rerun prints the same numbers."""
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def progress_enabled() -> bool:
    """True unless the ``CI`` environment variable is set to something other than an empty string or 0."""
    return os.environ.get("CI", "").strip().lower() in ("", "0", "false")


def progress(iterable: Iterable[T], desc: str = "", total: int | None = None) -> Iterable[T]:
    """Wrap a long loop in a tqdm bar that is switched off when ``CI`` is set."""
    return tqdm(iterable, desc=desc, total=total, disable=not progress_enabled(), leave=False)


def _as_numpy(x: object) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def compare(name: str, ours: object, reference: object) -> float:
    """Print how ``ours`` matches ``reference`` (exact, allclose or not) and return the max absolute difference.

    Both arguments may be NumPy arrays, tensors or scalars of the same shape. NaNs in the same places count as
    equal; a NaN in only one of them makes the difference ``inf``. The calling cell asserts the tolerance it states.
    """
    a = _as_numpy(ours)
    b = _as_numpy(reference)
    if a.shape != b.shape:
        raise ValueError(f"{name}: shape of ours {a.shape} differs from the reference's {b.shape}")
    a64 = a.astype(np.float64)
    b64 = b.astype(np.float64)
    equal = (a64 == b64) | (np.isnan(a64) & np.isnan(b64))
    with np.errstate(invalid="ignore"):
        gaps = np.abs(a64 - b64)[~equal]
    gaps = np.where(np.isnan(gaps), np.inf, gaps)
    diff = float(np.max(gaps, initial=0.0))
    if diff == 0.0:
        verdict = "exact"
    elif np.allclose(a64, b64, rtol=1e-5, atol=1e-8, equal_nan=True):
        verdict = "allclose"
    else:
        verdict = "DIFFERENT"
    print(f"{name:<48} {verdict:<9} max |diff| = {diff:.3g}  ({a.size} values)")
    return diff


def check_raises(fn, *args, names: str, error: type[Exception] = ValueError, **kwargs) -> None:
    """Assert that fn(*args, **kwargs) raises `error` whose message contains `names` (the labs' input checks)."""
    call = f"{fn.__name__}(" + ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]) + ")"
    try:
        fn(*args, **kwargs)
    except error as err:
        assert names in str(err), f"{call} raised {error.__name__}({str(err)!r}); the message should name {names!r}"
        return
    raise AssertionError(f"{call} should raise {error.__name__} naming {names!r}, but it returned normally")
