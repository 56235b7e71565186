"""HistogramObserver re-bins everything into num_bins wider bins on growth instead of appending same-width bins.

Caught by: histogram_observer_growth_appends_same_width_bins
           histogram_observer_many_batches
"""

import numpy as np

# The lab's other names (abs_values, qrange, symmetric_fake_quantize, ...) come from the namespace this
# file is executed in.
# ruff: noqa: F821


class HistogramObserver:
    METHODS = ("max", "percentile", "mse", "entropy")

    def __init__(self, num_bins: int = 2048) -> None:
        check_int("num_bins", num_bins, 1)
        self.num_bins = int(num_bins)
        self.counts = None  # (B,) int64, from the first batch with a non-zero value
        self.edges = None  # (B + 1,) float64
        self.max_abs = 0.0  # largest |x| seen
        self.num_values = 0  # values seen, zeros of the batches before the histogram included

    def update(self, x) -> None:
        a = abs_values(x)
        m = float(a.max())
        self.max_abs = max(self.max_abs, m)
        self.num_values += a.size
        if self.counts is None:
            if m > 0:
                self.counts, self.edges = np.histogram(a, bins=self.num_bins, range=(0.0, m))
                self.counts[0] += self.num_values - a.size  # the zeros of earlier all-zero batches
            return
        if m > self.edges[-1]:  # the mistake: num_bins wider bins on [0, m], old counts moved by their centres
            centres = (self.edges[:-1] + self.edges[1:]) / 2
            self.edges = np.linspace(0.0, m, self.num_bins + 1)
            self.counts = np.histogram(centres, bins=self.edges, weights=self.counts)[0].astype(np.int64)
        counts, _ = np.histogram(a, bins=self.edges)
        self.counts = self.counts + counts

    def threshold(self, method: str, **options) -> float:
        defaults = {"max": {}, "percentile": {"percentile": 99.99}, "mse": {"bits": 8, "num_candidates": 100},
                    "entropy": {"bits": 8}}
        if method not in defaults:
            raise ValueError(f"method must be one of {list(self.METHODS)}, got {method!r}")
        unknown = sorted(set(options) - set(defaults[method]))
        if unknown:
            raise ValueError(f"threshold({method!r}) takes the options {sorted(defaults[method])}, not {unknown}")
        if self.num_values == 0:
            raise RuntimeError("no data observed: call update(x) before threshold()")
        options = {**defaults[method], **options}
        if method == "max":
            return self.max_abs
        if method == "percentile":
            return self._percentile_threshold(**options)
        if method == "mse":
            return self._mse_threshold(**options)
        qrange(options["bits"], signed=True)
        return 0.0 if self.counts is None else entropy_threshold(self.counts, self.edges, options["bits"])

    def _percentile_threshold(self, percentile: float) -> float:
        if (isinstance(percentile, (bool, np.bool_))
                or not isinstance(percentile, (int, float, np.integer, np.floating)) or not 0 < percentile <= 100):
            raise ValueError(f"percentile must be a real number in (0, 100], got {percentile!r}")
        if self.counts is None:
            return 0.0
        cdf = np.cumsum(self.counts / self.counts.sum())
        return float(self.edges[np.searchsorted(cdf, percentile / 100)])

    def _mse_threshold(self, bits: int, num_candidates: int) -> float:
        qrange(bits, signed=True)
        check_int("num_candidates", num_candidates, 1)
        if self.counts is None:
            return 0.0
        centres = (self.edges[:-1] + self.edges[1:]) / 2  # (B,)
        best_t, best_mse = 0.0, np.inf
        for k in range(1, num_candidates + 1):
            t = self.max_abs * k / num_candidates
            mse = np.average((symmetric_fake_quantize(centres, t, bits) - centres) ** 2, weights=self.counts)
            if mse < best_mse:
                best_t, best_mse = t, mse
        return float(best_t)
