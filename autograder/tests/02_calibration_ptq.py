"""Hidden tests of lab 02, calibration and post-training quantization: 100 points over the thirteen graded names.

Each test's code runs in the kernel after the lab's cells and builds its own seeded inputs (seeds 2000 and up, which
the lab does not show). Expected values come from running the same code on solutions/02_calibration_ptq.py.

Validation tests define ``outcome`` (below) and return one short string per bad call, so that each bad argument is
checked separately and a student sees which call went wrong: "ValueError naming 'bits'" is what the reference gives.

Points: calibrate_max 3, calibrate_percentile 5, calibrate_mse 8, entropy_threshold and calibrate_entropy 14,
HistogramObserver 13, quantize_multiplier 7, requantize 11, int_linear 10, calibrate_model 10, quantize_static 7,
layer_sensitivity 4, allocate_bits 8.
"""

from autograder.spec import OUTCOME, Test

# Samples of several shapes of activation, shared by the calibration tests: name -> float64 array.
SAMPLES = '''\
def samples(seed, n=3000):
    rng = np.random.default_rng(seed)
    relu = np.maximum(rng.normal(0.2, 1.0, n), 0.0)  # about 40% exact zeros
    outliers = rng.normal(0.0, 0.5, n)
    outliers[rng.choice(n, 4, replace=False)] = [9.0, -14.0, 11.5, -6.0]
    return {"half_normal": np.abs(rng.normal(0.0, 1.5, n)), "uniform": rng.uniform(-3.0, 3.0, n),
            "student_t": rng.standard_t(2.5, n), "laplace": rng.laplace(0.0, 0.7, n), "relu": relu,
            "outliers": outliers, "negative": -rng.exponential(2.0, n)}

'''

TESTS: list[Test] = []


def add(name: str, points: float, code: str, mistake: str, **options) -> None:
    TESTS.append(Test(name=name, points=points, code=code, mistake=mistake, **options))


# ---------------------------------------------------------------- Task 1: calibrate_max (3 points)

add("calibrate_max_distributions_and_dtypes", 2, SAMPLES + """\
values = [calibrate_max(x) for x in samples(2000).values()]
rng = np.random.default_rng(2001)
odd = [rng.normal(size=(3, 4, 5)).astype(np.float32), np.array([-128, 5, 127], np.int8),
       np.array([0, 200, 255], np.uint8), np.array([[-7]]), [-2.5, 1.0, 2.25], np.zeros(6), np.float32(-3.5),
       np.full(5, -0.75)]
[type(calibrate_max(odd[0])).__name__, values, [calibrate_max(x) for x in odd]]
""", visibility="visible",
    mistake="the threshold is the largest magnitude max |x| (of the absolute values, so an all-negative x gives a "
            "positive threshold), as a Python float; cast to float64 before np.abs, since |-128| overflows int8")

# ---------------------------------------------------------------- Task 1: calibrate_percentile (5 points)

add("calibrate_percentile_distributions", 2, SAMPLES + """\
[[calibrate_percentile(x, p) for p in (50, 90.0, 99.0, 99.9, 99.99, 100)] for x in samples(2010).values()]
""", visibility="visible", rtol=1e-12,
    mistake="the threshold is np.percentile(np.abs(x), p) with NumPy's default linear interpolation, on the "
            "magnitudes (not on x itself, whose upper percentiles ignore the negative side)")

add("calibrate_percentile_magnitudes_and_interpolation", 1, """\
cases = [([3.0, -1.0], 50), ([-4.0, -1.0, -2.0], 75), ([1, 2, 3, 4, 5, 6, 7], 99.9), ([-10.0, 0.5, 0.5, 0.5], 95),
         ([2.0], 37.5), ([-5.0, 5.0, -5.0], 10), (np.arange(-50, 50), 99), ([0.0, 0.0, -1e-3], 60)]
[calibrate_percentile(x, p) for x, p in cases] + [calibrate_percentile(x, 99.99) for x, _ in cases]
""", rtol=1e-12,
    mistake="percentiles of the magnitudes |x| with linear interpolation between neighbouring sorted values, "
            "h = (n - 1) p / 100: np.percentile(np.abs(x), p), not the 'nearest', 'lower' or 'higher' methods, "
            "not np.percentile(x, p) and not a percentile of the signed values")

add("calibrate_percentile_dtypes_and_number_types", 1, """\
rng = np.random.default_rng(2012)
x32 = rng.normal(size=(20, 30)).astype(np.float32)
results = [calibrate_percentile(x32, 99.0), calibrate_percentile(x32, np.float32(99.5)),
           calibrate_percentile(x32, np.int64(90)), calibrate_percentile(np.array([-128, 3, 100], np.int8), 100),
           calibrate_percentile(np.array([-128, 3, 100], np.int8), 90), calibrate_percentile(x32.tolist(), 1e-6),
           calibrate_percentile(np.float64(-2.0))]
[[type(v).__name__ for v in results], results]
""", rtol=1e-12,
    mistake="return a Python float; accept NumPy numbers as percentile (np.float32(99.5), np.int64(90)) and any "
            "real x (int8 -128 has magnitude 128: cast to float64 before np.abs; lists and 0-d arrays too)")

add("calibrate_percentile_rejects_bad_arguments", 1, OUTCOME + """\
x = np.random.default_rng(2013).normal(size=50)
([outcome(calibrate_percentile, x, p, names="percentile")
  for p in (0, 0.0, -5.0, 100.0001, 150, float("nan"), float("inf"), True, np.bool_(True), "99", None, 99 + 0j)]
 + [outcome(calibrate_percentile, bad, 99.0, names="x") for bad in ([], [1.0, np.nan], [np.inf], np.array([1j]))])
""", mistake="percentile must be a real number (int or float, NumPy ones too, not a bool or string) with "
             "0 < p <= 100, else ValueError naming 'percentile'; a bad x raises ValueError naming 'x'")

# ---------------------------------------------------------------- Task 2: calibrate_mse (8 points)

add("calibrate_mse_distributions", 3, SAMPLES + """\
[[calibrate_mse(x, bits) for bits in (4, 8)] for x in samples(2020, 1500).values()]
""", visibility="visible", rtol=1e-12,
    mistake="try the candidates t_k = max|x| * k / num_candidates for k = 1..num_candidates and return the one of "
            "least mean((symmetric_fake_quantize(x, t, bits) - x)^2), with the error of the negative values counted "
            "too (Q is symmetric, so working on |x| is the same)")

add("calibrate_mse_candidate_grid_and_bit_widths", 2, """\
rng = np.random.default_rng(2021)
x = np.concatenate([rng.normal(0.0, 1.0, 800), [-7.5]])
[[calibrate_mse(x, bits, n) for n in (1, 2, 3, 7, 10, 37)] for bits in (2, 3, 5, 16)]
""", rtol=1e-12,
    mistake="wrong candidate grid: the candidates are max|x| * k / N for k = 1..N (N = num_candidates), so the "
            "last one is max|x| and 0 is never tried; not np.linspace(0, max, N) and not max * k / (N + 1); a "
            "single candidate (N = 1) returns max|x|")

add("calibrate_mse_ties_keep_first", 1, """\
cases = [([5.0, 8.0], 2, 8), ([0.0, -3.0, 3.0, 8.0], 2, 4), ([-8.0, 7.0], 3, 8), ([4.0, 5.0], 2, 5),
         ([7.0, -4.0, 1.0], 2, 7), ([-8.0, -6.0, 4.0], 2, 6)]
[calibrate_mse(np.array(x), bits, n) for x, bits, n in cases]
""", mistake="on equal errors keep the first (smallest) candidate: np.argmin, or a strict < when scanning; "
             "<= or the last minimum picks a larger threshold")

add("calibrate_mse_zero_constant_and_small_inputs", 1, """\
[calibrate_mse(np.zeros(5)), calibrate_mse(np.zeros((2, 3)), 4, 10), calibrate_mse(np.full(8, -1.25)),
 calibrate_mse([3.0]), calibrate_mse(np.array([-128, 0, 64], np.int8), 8, 16), calibrate_mse(-np.arange(1.0, 6.0), 3),
 calibrate_mse(np.arange(-127, 128), 8), type(calibrate_mse([1.5, -0.5])).__name__]
""", rtol=1e-12,
    mistake="an all-zero x must give 0.0 (no division by max|x| = 0), a constant or single value its magnitude, "
            "int8 input its true magnitudes (cast before np.abs); return a Python float")

add("calibrate_mse_rejects_bad_arguments", 1, OUTCOME + """\
x = np.random.default_rng(2023).normal(size=40)
([outcome(calibrate_mse, x, bits, names="bits") for bits in (1, 17, 8.0, True)]
 + [outcome(calibrate_mse, x, 8, n, names="num_candidates") for n in (0, -3, 2.5, True, "10")]
 + [outcome(calibrate_mse, bad, names="x") for bad in ([], [np.nan, 1.0], np.array([1j]))])
""", mistake="bad bits (outside 2..16 or not an int), num_candidates that is not an int >= 1 (check_int), or a "
             "bad x must raise ValueError naming the argument")

# ---------------------------------------------------------------- Task 3: entropy calibration (14 points)

add("calibrate_entropy_half_normal_with_outliers", 2, """\
rng = np.random.default_rng(2030)
x = np.concatenate([np.abs(rng.standard_normal(100_000)), np.full(4, 10.0)])
[calibrate_entropy(x), calibrate_entropy(-x, 8, 1024)]
""", visibility="visible",
    mistake="NVIDIA's entropy calibration: bins[0] = bins[1] on a copy, for i = 128..B P = bins[:i] with the "
            "clipped mass added to P[i-1], Q spread over the non-empty bins of each of the 2^(bits-1) groups, "
            "KL(P || Q) without smoothing, and the edge edges[i] of the LAST minimum")

add("calibrate_entropy_distributions", 3, SAMPLES + """\
[[calibrate_entropy(x, bits, num_bins) for bits, num_bins in ((8, 512), (8, 300), (6, 256), (4, 400))]
 for x in samples(2031, 4000).values()]
""", mistake="the entropy threshold differs on some distributions: histogram |x| with np.histogram(|x|, "
             "num_bins, range=(0, max|x|)), copy the counts and set bins[0] = bins[1], fold the clipped mass into "
             "the last kept bin of P, spread each group's total over its non-empty bins only in Q (sparse "
             "histograms have many empty bins), and return edges[i] of the last minimum")

add("entropy_threshold_crafted_histograms", 3, """\
rng = np.random.default_rng(2032)
results = []
for bins, bits in ((140, 2), (160, 3), (200, 8), (131, 8), (300, 5)):
    counts = rng.integers(0, 30, bins).astype(np.float64)
    counts[rng.random(bins) < 0.3] = 0  # empty bins, which Q must leave empty
    counts[-3:] = [0, 0, 4]  # an outlier bin after empty ones
    edges = np.linspace(0.0, bins / 16, bins + 1)
    kept = counts.copy()
    results.append([entropy_threshold(counts, edges, bits), bool(np.array_equal(counts, kept))])
ints = rng.integers(0, 5, 150)
results.append(entropy_threshold(ints, np.arange(151) * 0.5, 3))
results
""", visibility="visible",
    mistake="on a histogram: P is the first i bins with the mass of bins i.. added to P[i-1]; bin j of i falls in "
            "group np.digitize(range(i), np.linspace(0, i, L + 1)) - 1 (L = 2^(bits-1)); Q spreads each group's "
            "total over the group's non-empty bins (empty ones stay 0), D = scipy.stats.entropy(P, Q), inf when Q "
            "is 0 where P is not; work on a copy (the caller's counts must not change)")

add("entropy_threshold_ties_take_the_last_minimum", 1, """\
edges = np.linspace(0.0, 3.0, 201)
only_low = np.zeros(200)
only_low[1] = 50.0  # with bins[0] = bins[1], every Q equals its P: every divergence is 0
wide = np.random.default_rng(2033).integers(1, 9, 150).astype(np.float64)
[entropy_threshold(only_low, edges, 8), entropy_threshold(only_low, edges, 3),
 entropy_threshold(wide, np.linspace(0.0, 1.5, 151), 9)]  # 256 levels: one bin per level, no clipping at i = B
""", mistake="ties must go to the largest i (the widest range): take the last minimum, e.g. len(d) - 1 - "
             "np.argmin(d[::-1]); np.argmin alone returns the first")

add("calibrate_entropy_levels_per_bit_width", 2, """\
rng = np.random.default_rng(2034)
x = np.concatenate([rng.laplace(0.0, 1.0, 5000), [25.0, -30.0]])
[calibrate_entropy(x, bits, 600) for bits in (2, 3, 4, 5, 6, 7, 8, 9)]
""", mistake="the quantized distribution Q has 2^(bits-1) levels (128 at 8 bits, the magnitudes of the signed "
             "range), not 2^bits: group the i kept bins with np.linspace(0, i, 2^(bits-1) + 1)")

add("calibrate_entropy_constant_zero_and_single_values", 1, """\
[calibrate_entropy(np.zeros(10)), calibrate_entropy(np.full(7, -3.25)), calibrate_entropy([0.5], 8, 300),
 calibrate_entropy(np.array([0, 0, -128], np.int8), 8, 200), calibrate_entropy([[0.0, 2.0], [0.0, 0.0]], 4, 256),
 calibrate_entropy(-np.arange(1.0, 400.0), 8, 129), type(calibrate_entropy([1.0, 2.0], 8, 200)).__name__]
""", mistake="all-zero x must return 0.0 without dividing by zero; a constant or single value, whose mass lands "
             "in the last bin, must return max|x| (Q is 0 under the folded outliers for every smaller i); return a "
             "Python float")

add("calibrate_entropy_rejects_bad_arguments", 1, OUTCOME + """\
x = np.random.default_rng(2035).normal(size=200)
([outcome(calibrate_entropy, x, 8, n, names="num_bins") for n in (128, 100, 0, 512.0, True)]
 + [outcome(calibrate_entropy, x, bits, names="bits") for bits in (1, 17, 8.0)]
 + [outcome(calibrate_entropy, bad, names="x") for bad in ([], [np.inf], np.array([1j]))])
""", mistake="num_bins must be an int > 128 (START_BIN), else ValueError naming 'num_bins'; bad bits and bad x "
             "raise ValueError naming them")

add("entropy_threshold_rejects_bad_arguments", 1, OUTCOME + """\
edges = np.linspace(0.0, 1.0, 201)
good = np.ones(200)
negative, nan = good.copy(), good.copy()
negative[5], nan[7] = -1.0, np.nan
[outcome(entropy_threshold, np.ones(128), np.linspace(0, 1, 129), names="counts"),
 outcome(entropy_threshold, np.ones((10, 20)), edges, names="counts"),
 outcome(entropy_threshold, negative, edges, names="counts"),
 outcome(entropy_threshold, nan, edges, names="counts"),
 outcome(entropy_threshold, np.zeros(200), edges, names="counts"),
 outcome(entropy_threshold, good, np.linspace(0, 1, 200), names="edges"),
 outcome(entropy_threshold, good, edges[None], names="edges"),
 outcome(entropy_threshold, good, edges, 1, names="bits")]
""", mistake="counts must be a 1-D array of more than 128 finite, non-negative counts with some data beyond bin 0 "
             "(ValueError naming 'counts'), and edges must have shape (B + 1,) (naming 'edges')")

# ---------------------------------------------------------------- Task 4: HistogramObserver (13 points)

add("histogram_observer_single_update_methods", 2, """\
rng = np.random.default_rng(2040)
x = np.concatenate([rng.standard_t(3.0, size=(40, 100)).ravel(), [-20.0]])
observer = HistogramObserver(num_bins=512)
observer.update(x)
[observer.threshold("max"), observer.threshold("percentile"), observer.threshold("percentile", percentile=99),
 observer.threshold("mse"), observer.threshold("mse", bits=4, num_candidates=40), observer.threshold("entropy"),
 observer.threshold("entropy", bits=6), observer.threshold("entropy") == calibrate_entropy(x, 8, 512),
 observer.threshold("max") == calibrate_max(x), type(observer.threshold("percentile")).__name__]
""", visibility="visible", rtol=1e-12,
    mistake="after one update(x): max is max|x| exactly; percentile is edges[np.searchsorted(cumsum(counts / "
            "total), p / 100)] (default 99.99); mse scores the candidates max|x| * k / N on the bin centres "
            "weighted by the counts (defaults bits=8, num_candidates=100); entropy is entropy_threshold(counts, "
            "edges, bits), equal to calibrate_entropy(x, bits, num_bins)")

add("histogram_observer_growth_appends_same_width_bins", 3, """\
observer = HistogramObserver(num_bins=8)
states = []
for batch in ([0.5, -2.0, 1.0, 0.25], [-3.0, 0.75], [1.9, 0.1], [4.1], [-4.1, 3.99], [9.0, -0.5]):
    observer.update(np.array(batch))
    states.append([observer.edges.copy(), observer.counts.copy()])
rng = np.random.default_rng(2041)
grown = HistogramObserver(num_bins=50)
for scale in (1.0, 0.5, 2.3, 1.7, 6.1):
    grown.update(rng.normal(0.0, scale, 300))
states + [[grown.edges, grown.counts, float(grown.edges[1] - grown.edges[0])]]
""", visibility="visible", rtol=1e-12,
    mistake="the first non-zero batch fixes the bin width w = max|x| / num_bins; a later batch beyond the last "
            "edge e_B appends k = ceil((max|x| - e_B) / w) bins of the same width (edges e_B + j w), keeps the old "
            "counts in place and adds the batch's np.histogram on the new edges; never re-bin, never widen bins")

add("histogram_observer_many_batches", 2, """\
rng = np.random.default_rng(2042)
observer = HistogramObserver(num_bins=300)
for i, scale in enumerate((0.8, 1.2, 0.5, 2.0, 1.0, 3.5)):
    batch = rng.laplace(0.0, scale, (16, 25))
    batch[0, 0] = 0.0
    observer.update(batch if i % 2 else batch.astype(np.float32))
[len(observer.counts), int(observer.counts.sum()), observer.threshold("max"),
 observer.threshold("percentile", percentile=99.9), observer.threshold("percentile", percentile=50.0),
 observer.threshold("mse", bits=8), observer.threshold("mse", bits=3, num_candidates=25),
 observer.threshold("entropy"), observer.threshold("entropy", bits=5)]
""", rtol=1e-12,
    mistake="thresholds over several growing batches: keep one histogram of every value seen (counts add up to "
            "the number of values), grow it with same-width bins, and compute every method on the accumulated "
            "histogram, with the max the largest |x| of all batches")

add("histogram_observer_mse_uses_bin_centres_and_true_max", 2, """\
observer = HistogramObserver(num_bins=10)
observer.update(np.array([0.05, 0.95, 0.35, -0.62, 1.0, 0.11, 0.11]))
first = [observer.threshold("mse", bits=2, num_candidates=n) for n in (1, 4, 10, 33)]
observer.update(np.array([-1.37, 0.2]))  # grows to edge 1.4 while the largest |x| is 1.37
second = [observer.threshold("mse", bits=bits, num_candidates=n) for bits in (2, 3, 8) for n in (5, 20)]
[first, second, observer.threshold("max")]
""", rtol=1e-12,
    mistake="the mse method tries t_k = m * k / N with m the largest |x| seen (not the last bin edge, which lies "
            "beyond it after growth) and scores each by np.average((Q_t(c) - c)^2, weights=counts) over the bin "
            "centres c = (e_j + e_{j+1}) / 2; first minimum on ties")

add("histogram_observer_percentile_rule", 1, """\
observer = HistogramObserver(num_bins=5)
observer.update(np.array([0.1, 0.1, 0.1, 1.1, 2.5, 3.3, 4.9, 5.0]))  # width 1: counts [3, 1, 1, 1, 2]
[[observer.threshold("percentile", percentile=p) for p in (1, 37.5, 37.6, 50, 62.5, 75.0, 75.1, 99.99, 100)],
 observer.counts.tolist()]
""", rtol=1e-12,
    mistake="NVIDIA's histogram percentile: cdf = np.cumsum(counts / counts.sum()), then the LEFT edge "
            "edges[np.searchsorted(cdf, p / 100)] of the bin where the cdf reaches p (side='left': a cdf exactly "
            "equal to p / 100 stops there), not the right edge and not np.percentile of the bin centres")

add("histogram_observer_zero_batches", 1, """\
observer = HistogramObserver(num_bins=200)
observer.update(np.zeros(6))
observer.update(np.zeros((2, 2), np.int8))
only_zeros = [observer.threshold(m) for m in HistogramObserver.METHODS]
observer.update(np.random.default_rng(2043).normal(size=500))
observer.update(np.zeros(3))
[only_zeros, int(observer.counts[0]), int(observer.counts.sum()), len(observer.edges),
 [observer.threshold(m) for m in HistogramObserver.METHODS]]
""", rtol=1e-12,
    mistake="all-zero batches before the range is known must not fix a zero bin width: count them, and add them "
            "to bin 0 once the first non-zero batch creates the histogram; while only zeros were seen every method "
            "returns 0.0")

add("histogram_observer_rejects_bad_arguments", 1, OUTCOME + """\
def raised(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except Exception as err:
        return [type(err).__name__, "no data" in str(err)]
    return "returned without raising"

observer = HistogramObserver(num_bins=300)
before = raised(observer.threshold, "max")
observer.update(np.random.default_rng(2044).normal(size=100))
[before,
 outcome(HistogramObserver, 0, names="num_bins"), outcome(HistogramObserver, 2.5, names="num_bins"),
 outcome(HistogramObserver, True, names="num_bins"),
 outcome(observer.update, [], names="x"), outcome(observer.update, [1.0, np.nan], names="x"),
 outcome(observer.update, np.array([1j]), names="x"),
 outcome(observer.threshold, "kl", names="method"), outcome(observer.threshold, "kl", names="entropy"),
 outcome(observer.threshold, "MAX", names="method"),
 outcome(observer.threshold, "max", names="bits", bits=8),
 outcome(observer.threshold, "entropy", names="percentile", percentile=99.0),
 outcome(observer.threshold, "percentile", names="percentile", percentile=0),
 outcome(observer.threshold, "percentile", names="percentile", percentile=101),
 outcome(observer.threshold, "mse", names="bits", bits=1),
 outcome(observer.threshold, "mse", names="num_candidates", num_candidates=0),
 outcome(observer.threshold, "entropy", names="bits", bits=17)]
""", mistake="num_bins must be an int >= 1; update checks x like abs_values; threshold raises ValueError naming "
             "'method' and the four allowed names for an unknown method, naming an option the method does not "
             "take, or a bad option value, and RuntimeError saying 'no data' was observed before any update")

# ---------------------------------------------------------------- Task 5: quantize_multiplier (7 points)

add("quantize_multiplier_random", 2, """\
rng = np.random.default_rng(2050)
ms = np.concatenate([rng.uniform(0.0, 1.0, 40), 10.0 ** rng.uniform(-9, 0, 40)])
pairs = [quantize_multiplier(float(m)) for m in ms]
m0s, shifts = quantize_multiplier(ms.reshape(4, 20))  # per-channel multipliers: arrays of m's shape
[[type(v).__name__ for v in pairs[0]], pairs, str(m0s.dtype), m0s, shifts]
""", visibility="visible",
    mistake="m = M0 * 2^e with M0 in [0.5, 1) from math.frexp: return (m0, shift) = (round(M0 * 2^31), -e) as "
            "Python ints, with m0 in [2^30, 2^31), so that m ~= m0 * 2^(-31 - shift); for an array of m, two int64 "
            "arrays of its shape, element by element")

add("quantize_multiplier_rounding_edges", 3, """\
ms = [0.5, 0.25, 2.0**-20, 0.5 + 2.0**-32, 0.5 + 3 * 2.0**-32, 0.75 + 2.0**-32, 0.5 - 2.0**-40, 0.25 - 2.0**-45,
      2.0**-10 - 2.0**-50, 1 - 2.0**-31, 1 - 2.0**-32, 1 - 2.0**-33, 1 - 2.0**-52, np.nextafter(1.0, 0.0),
      0.9999999995, 2.0**-3 * (1 - 2.0**-33)]
[quantize_multiplier(m) for m in ms] + [quantize_multiplier(ms), quantize_multiplier(tuple(ms[:3]))]
""", mistake="rounding of 2^31 * M0: round half away from zero (math.floor(v + 0.5), as TFLite), not Python's "
             "round (half to even) or int() (truncation); when it rounds up to 2^31 use (2^30, shift - 1), and for "
             "m > 1 - 2^-32, where that shift would be -1, return (2^31 - 1, 0)")

add("quantize_multiplier_tiny_and_numpy_m", 1, """\
ms = [1e-12, 2.0**-60, 1e-300, 5e-324, np.float32(0.1), np.float64(0.3), np.float32(1e-30), np.float16(0.5)]
pairs = [quantize_multiplier(m) for m in ms]
[[type(v).__name__ for pair in pairs for v in pair], pairs, quantize_multiplier(np.array([1e-12, 2.0**-60, 5e-324])),
 quantize_multiplier(np.array([0.1, 1e-30], np.float32))]
""", mistake="very small m just has a large shift (-e from math.frexp, for subnormals too); NumPy floats are "
             "accepted (convert with float(m)) and the result is always a pair of Python ints")

add("quantize_multiplier_exactness", 1, """\
from fractions import Fraction
rng = np.random.default_rng(2051)
worst = Fraction(0)
ms = np.concatenate([rng.uniform(0.0, 1.0, 300), 10.0 ** rng.uniform(-15, 0, 300)])
m0s, shifts = quantize_multiplier(ms)  # all at once, as for one multiplier per output channel
for m, m0, shift in zip(ms.tolist(), m0s.tolist(), shifts.tolist()):
    worst = max(worst, abs(Fraction(m0, 2 ** (31 + shift)) - Fraction(m)) / Fraction(m))
bool(worst <= Fraction(1, 2**31))
""", mistake="the relative error |m0 * 2^(-31 - shift) - m| / m must stay within 2^-31: m0 is the nearest int to "
             "2^31 * M0, and the shift is -e exactly (no off-by-one)")

add("quantize_multiplier_rejects_bad_m", 1, OUTCOME + """\
[outcome(quantize_multiplier, m, names="m")
 for m in (0, 0.0, 1, 1.0, -0.25, 1.5, float("nan"), float("inf"), -float("inf"), True, np.bool_(False), "0.5",
           None, 0.5j, np.array([0.5, 1.5]), [0.25, float("nan")], np.array([True]))]
""", mistake="m must be a real number (not a bool or string), or an array of them, finite, with 0 < m < 1; "
             "anything else raises ValueError naming 'm'")

# ---------------------------------------------------------------- Task 6: requantize (11 points)

add("requantize_random_accumulators", 3, """\
rng = np.random.default_rng(2060)
acc = rng.integers(-(2**31), 2**31, size=(8, 25))
small = rng.integers(-50_000, 50_000, size=300)
m0s, shifts = rng.integers(2**30, 2**31, 5).tolist(), [1, 11, 0, 19, 4]  # M = m0 * 2^(-31 - shift)
out = []
for m0, shift, (zero_point, qmin, qmax) in zip(m0s, shifts, ((0, -128, 127), (128, 0, 255), (-3, -128, 127),
                                                             (10, 0, 255), (0, -(2**31), 2**31 - 1))):
    out += [requantize(acc, m0, shift, zero_point, qmin, qmax), requantize(small, m0, shift, zero_point, qmin, qmax)]
pc_m0, pc_shift = rng.integers(2**30, 2**31, 25), rng.integers(0, 20, 25)  # per channel: one per column of acc
out + [requantize(acc, pc_m0, pc_shift, 0, -128, 127), requantize(acc, int(pc_m0[0]), pc_shift, 3, -128, 127),
       requantize(acc, pc_m0, 7, 10, 0, 255)]
""", visibility="visible", check_dtype=True,
    mistake="SaturatingRoundingDoublingHighMul then RoundingDivideByPOT in int64: h = trunc((acc * m0 + nudge) / "
            "2^31) with nudge 2^30 (or 1 - 2^30 when acc * m0 < 0), then h / 2^shift rounded half away from zero, "
            "+ zero_point, clipped to [qmin, qmax], returned as int32 of acc's shape; m0 and shift may be arrays "
            "(one per output channel) that broadcast to acc: compute element-wise with them")

add("requantize_rounding_ties", 2, """\
acc = np.arange(-40, 41)
([requantize(acc, m0, shift, 0, -1000, 1000)
  for m0, shift in ((2**30, 0), (2**30, 1), (2**30, 2), (2**30, 3), (3 * 2**29, 1), (3 * 2**29, 4), (2**31 - 1, 5))]
 + [requantize(np.tile(acc[:, None], (1, 3)), np.array([2**30, 2**30, 3 * 2**29]), np.array([1, 3, 4]), 0, -1000,
               1000)])
""", check_dtype=True,
    mistake="rounding at exact halves: the doubling high multiply rounds +0.5 up and -0.5 toward zero (nudge "
            "1 - 2^30 for negative products, then truncating division, not floor division: >> 31 on a negative "
            "number floors), and the shift rounds half away from zero ((h >> n) + (remainder > (mask >> 1) + "
            "(h < 0))); truncating or flooring the shift is wrong")

add("requantize_saturation_and_int32_extremes", 2, """\
lo, hi = -(2**31), 2**31 - 1
acc = np.array([lo, hi, lo + 1, hi - 1, -1, 0, 1, 2**30, -(2**30)])
[requantize(acc, lo, 0, -7, lo, hi), requantize(acc, lo, 0, 0, lo, hi), requantize(acc, hi, 0, 0, lo, hi),
 requantize(acc, hi, 0, 5, lo, hi), requantize(acc, 2**30, 1, 0, lo, hi), requantize(acc, lo, 3, 2, lo, hi),
 requantize(np.array([lo]), lo, 0, -(2**31), lo, hi),
 requantize(np.tile(acc[:, None], (1, 3)), np.array([lo, hi, lo]), np.array([0, 0, 3]), 0, lo, hi)]
""", check_dtype=True,
    mistake="extremes of int32: (-2^31) * (-2^31) doubled is 2^63, which gemmlowp saturates to h = 2^31 - 1 before "
            "the shift and zero point; other products fit in int64 (|acc * m0| <= 2^62), so compute in int64, not "
            "int32 or float64")

add("requantize_clamps_to_code_range", 1, """\
rng = np.random.default_rng(2061)
acc = rng.integers(-(2**20), 2**20, size=200)
m0, shift = 1099511628, 8  # M = 0.002
[requantize(acc, m0, shift, 0, -128, 127), requantize(acc, m0, shift, 100, 0, 255),
 requantize(acc, m0, shift, -7, -8, 7), requantize(acc, m0, shift, 0, 0, 1),
 requantize(acc.reshape(50, 4), np.array([m0, m0, 2**30, 2**31 - 1]), np.array([8, 2, 12, 8]), 3, -8, 7)]
""", check_dtype=True,
    mistake="clip after adding the zero point: np.clip(rounded + zero_point, qmin, qmax); forgetting the clip, "
            "or clipping before adding the zero point, lets codes leave [qmin, qmax]")

add("requantize_negative_m0_dtypes_and_shapes", 1, """\
rng = np.random.default_rng(2062)
acc = rng.integers(-5000, 5000, size=(3, 4, 5))
[requantize(acc, -(2**30) - 12345, 4, 0, -128, 127), requantize(acc.astype(np.int16), 1500000000, 9, 3, -128, 127),
 requantize(acc[0].astype(np.int32), np.int64(2**30), np.int32(2), np.int8(-1), np.int16(-128), 127),
 requantize(np.array([200, 0, 255], np.uint8), 2**30, 0, 0, 0, 255), requantize([5, -5, 7], 2**30, 1, 0, -128, 127),
 requantize(np.zeros((0, 4), np.int64), 2**30, 0, 0, -128, 127), requantize(np.int32(77), 2**30, 0, 0, -128, 127),
 requantize(acc, np.array([-(2**30) - 12345, 2**30, -(2**31), 2**31 - 1, -7], np.int32), np.array([4, 0, 9, 3, 0]), 0,
            -128, 127)]
""", check_dtype=True,
    mistake="accept any integer acc (int8, int16, uint8, int64, lists, 0-d, empty) and NumPy integer parameters, "
            "compute in int64 and return int32 of acc's shape; a negative m0 is valid int32 (the nudge follows the "
            "sign of the product acc * m0, not of acc)")

add("requantize_per_channel_broadcasting", 2, """\
rng = np.random.default_rng(2063)
acc = rng.integers(-(2**24), 2**24, size=(2, 4, 6))
m0s, shifts = rng.integers(2**30, 2**31, 6), rng.integers(0, 16, 6)
[requantize(acc, m0s, shifts, 0, -128, 127), requantize(acc, m0s.reshape(1, 1, 6), 9, 5, -128, 127),
 requantize(acc, rng.integers(2**30, 2**31, (1, 4, 1)), rng.integers(5, 12, (4, 1)), 0, 0, 255),
 requantize(acc[0, 0], m0s.astype(np.int32), shifts.astype(np.uint8), -2, -8, 7)]
""", check_dtype=True,
    mistake="m0 and shift may be integer arrays of any shape that broadcasts to acc's (per channel along the last "
            "axis, or along another axis with keepdims shapes), of any integer dtype: each element of acc uses its "
            "own multiplier and shift (np.int64(1) << shift and >> shift are element-wise)")

add("requantize_rejects_bad_arguments", 1, OUTCOME + """\
acc = np.array([1, -2, 3])
[outcome(requantize, np.array([1.0, 2.0]), 2**30, 0, 0, -128, 127, names="acc"),
 outcome(requantize, np.array([True]), 2**30, 0, 0, -128, 127, names="acc"),
 outcome(requantize, np.array([2**31]), 2**30, 0, 0, -128, 127, names="acc"),
 outcome(requantize, np.array([-(2**31) - 1]), 2**30, 0, 0, -128, 127, names="acc"),
 outcome(requantize, acc, 2**31, 0, 0, -128, 127, names="m0"),
 outcome(requantize, acc, 0.5, 0, 0, -128, 127, names="m0"),
 outcome(requantize, acc, 2**30, -1, 0, -128, 127, names="shift"),
 outcome(requantize, acc, 2**30, 32, 0, -128, 127, names="shift"),
 outcome(requantize, acc, 2**30, 1.0, 0, -128, 127, names="shift"),
 outcome(requantize, acc, 2**30, True, 0, -128, 127, names="shift"),
 outcome(requantize, acc, 2**30, 0, 200, -128, 127, names="zero_point"),
 outcome(requantize, acc, 2**30, 0, 1.0, -128, 127, names="zero_point"),
 outcome(requantize, acc, 2**30, 0, 0, 127, -128, names="qmin"),
 outcome(requantize, acc, 2**30, 0, 0, 5, 5, names="qmin"),
 outcome(requantize, acc, 2**30, 0, 0, -128.0, 127, names="qmin"),
 outcome(requantize, acc, 2**30, 0, 0, -128, 2**31, names="qmax"),
 outcome(requantize, acc, np.array([2**30, 2**30]), 0, 0, -128, 127, names="m0"),
 outcome(requantize, acc, 2**30, np.array([0, 1, 32]), 0, -128, 127, names="shift")]
""", mistake="acc must be an integer array (not float or bool) within int32; m0 an int or integer array in int32 "
             "and shift in [0, 31], each broadcasting to acc's shape; qmin < qmax ints within int32; zero_point an "
             "int in [qmin, qmax]: otherwise raise ValueError naming the argument")

# ---------------------------------------------------------------- Task 7: int_linear (10 points)

add("int_linear_random_layers", 3, """\
rng = np.random.default_rng(2070)
out = []
for c_in, c_out, batch in ((17, 5, 6), (64, 12, 9), (3, 1, 4), (130, 7, 2)):
    x = rng.uniform(-0.6, 1.0, (batch, c_in))  # asymmetric: uint8 codes with a zero point near 96
    w = rng.normal(size=(c_out, c_in)) / np.sqrt(c_in)
    b = rng.normal(size=c_out) * 0.2
    s_x, x_zp = affine_qparams(float(x.min()), float(x.max()), 8)
    s_w = symmetric_scale(float(np.abs(w).max()), 8)
    y = x @ w.T + b
    s_y, y_zp = affine_qparams(float(y.min()), float(y.max()), 8)
    x_q = quantize(x, s_x, x_zp, 0, 255)
    w_q = quantize(w, s_w, 0, -127, 127).astype(np.int8)
    b_q = np.round(b / (s_x * s_w)).astype(np.int32)
    mantissa, exponent = math.frexp(s_x * s_w / s_y)  # as quantize_multiplier would, kept independent of it
    m0, shift = min(math.floor(mantissa * 2**31 + 0.5), 2**31 - 1), -exponent
    out.append(int_linear(x_q, x_zp, w_q, b_q, m0, shift, y_zp, 0, 255))
    s_w_rows = np.maximum(np.abs(w).max(axis=1), 1e-8) / 127  # per-channel weights: one scale per output row
    w_q_rows = quantize(w, s_w_rows[:, None], 0, -127, 127).astype(np.int8)
    b_q_rows = np.round(b / (s_x * s_w_rows)).astype(np.int32)
    pairs = [math.frexp(s_x * s / s_y) for s in s_w_rows.tolist()]
    m0s = np.array([min(math.floor(mantissa * 2**31 + 0.5), 2**31 - 1) for mantissa, _ in pairs])
    shifts = np.array([-exponent for _, exponent in pairs])
    out.append(int_linear(x_q, x_zp, w_q_rows, b_q_rows, m0s, shifts, y_zp, 0, 255))
out
""", visibility="visible", check_dtype=True,
    mistake="acc = x_q @ w_q.T - x_zp * w_q.sum(axis=1) + b_q in int64 (shape (N, C_out)), then requantize(acc, "
            "m0, shift, y_zp, qmin, qmax) with m0 and shift ints or (C_out,) arrays (per-channel weights); no "
            "floats, int32 result")

add("int_linear_zero_point_cross_term", 2, """\
rng = np.random.default_rng(2071)
x_q = rng.integers(-128, 128, (5, 9))
w_q = rng.integers(0, 128, (4, 9)).astype(np.int8)  # positive rows: a large sum(w_q) per output
b_q = rng.integers(-3000, 3000, 4).astype(np.int32)
([int_linear(x_q, x_zp, w_q, b_q, 2**30, 7, y_zp, -128, 127)
  for x_zp, y_zp in ((0, 0), (-128, 5), (127, -20), (37, 0), (-1, 0))]
 + [int_linear(x_q, 100, w_q, b_q, np.array([2**30, 2**31 - 1, 3 * 2**29, 2**30]), np.array([7, 8, 6, 9]), 0, -128,
               127)])
""", check_dtype=True,
    mistake="the zero-point cross term is missing or wrong: (x_q - x_zp) @ w_q.T = x_q @ w_q.T - x_zp * "
            "w_q.sum(axis=1) (one number per output channel, summed over C_in), subtracted for every x_zp, "
            "negative ones too")

add("int_linear_integer_dtypes", 1, """\
rng = np.random.default_rng(2072)
x_q = rng.integers(0, 256, (3, 6))
w_q = rng.integers(-128, 128, (2, 6))
b_q = rng.integers(-1000, 1000, 2)
args = (2**30 + 99, 6, 3, 0, 255)
[int_linear(x_q.astype(np.uint8), 128, w_q.astype(np.int8), b_q.astype(np.int32), np.array([2**30, 2**30 + 99],
                                                                                           np.int32),
            np.array([6, 7], np.uint8), 3, 0, 255),
 int_linear(x_q.astype(np.uint8), 128, w_q.astype(np.int8), b_q.astype(np.int32), *args),
 int_linear(x_q.astype(np.int16), np.int64(128), w_q.astype(np.int64), b_q.astype(np.int64), *args),
 int_linear(x_q.tolist(), 128, w_q.tolist(), b_q.tolist(), *args),
 int_linear(np.zeros((0, 6), np.int32), 0, w_q, b_q, *args)]
""", check_dtype=True,
    mistake="accept any integer dtype (uint8 x_q would wrap around in x_q @ w_q.T and in x_zp * sum: widen "
            "everything to int64 before multiplying), lists, and an empty batch; return int32 (N, C_out)")

add("int_linear_accumulator_int32_boundary", 2, OUTCOME + """\
lo, hi = -(2**31), 2**31 - 1
w_q = np.array([[127, 127]], np.int8)
x_q = np.array([[2**30 - 8, 2**30 - 8]])  # x_q @ w_q.T is 254 * (2^30 - 8), far beyond int32
fits_high = int_linear(np.array([[1000, 0]]), 0, w_q, np.array([hi - 127000]), 2**30, 0, 0, lo, hi)
fits_low = int_linear(np.array([[-1000, 0]]), 0, w_q, np.array([lo + 127000]), 2**30, 0, 0, lo, hi)
[fits_high, fits_low,
 outcome(int_linear, np.array([[1000, 1]]), 0, w_q, np.array([hi - 127000]), 2**30, 0, 0, lo, hi, names="int32"),
 outcome(int_linear, np.array([[-1000, -1]]), 0, w_q, np.array([lo + 127000]), 2**30, 0, 0, lo, hi, names="int32"),
 outcome(int_linear, x_q, 0, w_q, np.array([0]), 2**30, 0, 0, lo, hi, names="int32")]
""", mistake="compute the accumulator in int64 and raise ValueError mentioning int32 when any value leaves "
             "[-2^31, 2^31 - 1] (INT32_MAX and INT32_MIN themselves fit); int32 arithmetic would wrap silently, and "
             "the check must include what the bias and the zero-point term add")

add("int_linear_per_channel_equals_per_row_layers", 2, """\
rng = np.random.default_rng(2073)
x_q = rng.integers(0, 256, (5, 11))
w_q = rng.integers(-127, 128, (6, 11)).astype(np.int8)
b_q = rng.integers(-5000, 5000, 6).astype(np.int32)
m0s, shifts = rng.integers(2**30, 2**31, 6), rng.integers(6, 12, 6)
[int_linear(x_q, 128, w_q, b_q, m0s, shifts, -3, -128, 127),
 int_linear(x_q, 128, w_q, b_q, m0s.tolist(), shifts.tolist(), -3, -128, 127)]
""", check_dtype=True,
    mistake="with per-channel m0 and shift of shape (C_out,), output column o must equal the per-tensor layer of "
            "row o alone with m0[o] and shift[o]: pass the arrays on to requantize, which applies them along the "
            "last axis of the (N, C_out) accumulator")

add("int_linear_rejects_bad_arguments", 1, OUTCOME + """\
x_q, w_q, b_q = np.ones((2, 3), np.int32), np.ones((4, 3), np.int8), np.zeros(4, np.int32)
tail = (2**30, 0, 0, 0, 255)
[outcome(int_linear, x_q.astype(np.float32), 0, w_q, b_q, *tail, names="x_q"),
 outcome(int_linear, np.ones(3, np.int32), 0, w_q, b_q, *tail, names="x_q"),
 outcome(int_linear, np.ones((2, 3), bool), 0, w_q, b_q, *tail, names="x_q"),
 outcome(int_linear, np.full((2, 3), 2**31), 0, w_q, b_q, *tail, names="x_q"),
 outcome(int_linear, x_q, 0, np.ones((4, 2), np.int8), b_q, *tail, names="w_q"),
 outcome(int_linear, x_q, 0, np.ones((3,), np.int8), b_q, *tail, names="w_q"),
 outcome(int_linear, x_q, 0, np.full((4, 3), 128), b_q, *tail, names="w_q"),
 outcome(int_linear, x_q, 0, np.full((4, 3), -129), b_q, *tail, names="w_q"),
 outcome(int_linear, x_q, 0, w_q.astype(np.float64), b_q, *tail, names="w_q"),
 outcome(int_linear, x_q, 0, w_q, np.zeros(3, np.int32), *tail, names="b_q"),
 outcome(int_linear, x_q, 0, w_q, np.zeros((4, 1), np.int32), *tail, names="b_q"),
 outcome(int_linear, x_q, 0, w_q, np.zeros(4), *tail, names="b_q"),
 outcome(int_linear, x_q, 0, w_q, np.full(4, 2**31), *tail, names="b_q"),
 outcome(int_linear, x_q, 0.5, w_q, b_q, *tail, names="x_zp"),
 outcome(int_linear, x_q, True, w_q, b_q, *tail, names="x_zp"),
 outcome(int_linear, x_q, 0, w_q, b_q, 2**30, 40, 0, 0, 255, names="shift")]
""", mistake="x_q must be a 2-D integer array within int32, w_q a 2-D integer array in [-128, 127] with the same "
             "C_in, b_q a 1-D integer array (C_out,) within int32, x_zp an int; otherwise raise ValueError naming "
             "the argument (requantize checks the rest)")

# ---------------------------------------------------------------- Task 8: calibrate_model (10 points)

add("calibrate_model_mlp_max_over_batches", 2, """\
net = mlp([7, 6, 5, 4], seed=2080)
data = torch.randn(50, 7, generator=torch.Generator().manual_seed(2081)) * torch.linspace(0.5, 3.0, 50)[:, None]
loader = DataLoader(TensorDataset(data, torch.zeros(50, dtype=torch.long)), batch_size=12)
calibrate_model(net, loader, "max")
""", visibility="visible", rtol=1e-6,
    mistake="one HistogramObserver per layer input and output, fed by forward hooks on every Linear/Conv2d with "
            "inputs[0] and output of every batch (the largest values sit in the last batches), keys "
            "f'{name}.input' and f'{name}.output' in named_modules() order; observe activations, not weights")

add("calibrate_model_histogram_methods", 2, """\
net = mlp([6, 8, 3], seed=2082)
batches = [(torch.randn(10, 6, generator=torch.Generator().manual_seed(2083 + i)) * (1 + i), None) for i in range(4)]
[calibrate_model(net, batches, "percentile"), calibrate_model(net, batches, "percentile", percentile=99.0),
 calibrate_model(net, batches, "mse"), calibrate_model(net, batches, "mse", bits=4),
 calibrate_model(nn.Sequential(net[0]), batches[:2], "entropy")]
""", rtol=1e-6,
    mistake="return observer.threshold(method, **options) of observers that saw every batch (one observer per "
            "key for the whole loader, not one per batch), with the options passed through (percentile=..., "
            "bits=...)")

add("calibrate_model_conv_model", 1, """\
net = digits_cnn(channels=(3, 4), seed=2084)
images = torch.rand(12, 1, 8, 8, generator=torch.Generator().manual_seed(2085))
loader = DataLoader(TensorDataset(images, torch.zeros(12, dtype=torch.long)), batch_size=5)
[calibrate_model(net, loader, "max"), calibrate_model(net, loader, "percentile", percentile=99.5)]
""", rtol=1e-6,
    mistake="Conv2d layers are calibrated too (their inputs and outputs are 4-D tensors: observe them whole), "
            "keys for layers 0, 3 and 7 of digits_cnn in named_modules() order")

add("calibrate_model_leaves_model_unchanged", 2, """\
torch.manual_seed(2086)
net = nn.Sequential(nn.Linear(5, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Dropout(0.5), nn.Linear(6, 3))
net.train()
net[4].eval()  # mixed flags must come back exactly as they were
before = copy.deepcopy(net.state_dict())
batches = [(torch.randn(8, 5, generator=torch.Generator().manual_seed(2087 + i)), torch.zeros(8)) for i in range(3)]
thresholds = calibrate_model(net, batches, "max")
[thresholds, [m.training for m in net.modules()], all(torch.equal(v, before[k]) for k, v in net.state_dict().items()),
 any(m._forward_hooks or m._forward_pre_hooks for m in net.modules()), torch.is_grad_enabled()]
""", rtol=1e-6,
    mistake="run the model in eval mode (BatchNorm must use its running statistics and not update them, Dropout "
            "must be off) under torch.no_grad(), then restore every module's own training flag and remove every "
            "hook: the model must be left exactly as it was")

add("calibrate_model_cleans_up_when_a_batch_fails", 1, """\
net = mlp([4, 3, 2], seed=2088)
net.train()

def failing():
    yield torch.randn(3, 4, generator=torch.Generator().manual_seed(2089)), None
    raise RuntimeError("the second batch failed")

try:
    calibrate_model(net, failing(), "max")
    raised = False
except Exception:
    raised = True
[raised, any(m._forward_hooks for m in net.modules()), [m.training for m in net.modules()],
 calibrate_model(net, [(torch.ones(2, 4), None)], "max")]
""", mistake="register the hooks, then run the batches inside try/finally: the finally block removes every hook "
             "and restores the training flags even when a batch raises (and the error propagates)")

add("calibrate_model_nested_and_shared_layers", 1, """\
class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return self.fc(torch.relu(self.fc(x)))  # the same layer twice: both calls are observed

torch.manual_seed(2090)
net = nn.Sequential(nn.Linear(3, 4), nn.Sequential(Block(), nn.ReLU(), Block()), nn.LayerNorm(4), nn.Linear(4, 2))
batches = [(torch.randn(6, 3, generator=torch.Generator().manual_seed(2091 + i)), None) for i in range(2)]
calibrate_model(net, batches, "max")
""", rtol=1e-6,
    mistake="walk model.named_modules() (not only the top level) so that nested layers get keys like '1.0.fc'; a "
            "layer called twice in one forward pass feeds both calls to its observers")

add("calibrate_model_rejects_bad_arguments", 1, OUTCOME + """\
class Exploding:
    def __iter__(self):
        raise RuntimeError("the loader was iterated before the method was checked")

net = mlp([4, 3, 2], seed=2092)
batches = [(torch.randn(3, 4), None)]
[outcome(calibrate_model, net, Exploding(), "minmax", names="method"),
 outcome(calibrate_model, net, Exploding(), "Entropy", names="method"),
 outcome(calibrate_model, nn.Sequential(nn.ReLU(), nn.Conv1d(1, 1, 1)), batches, "max", names="model"),
 outcome(calibrate_model, net, [], "max", names="loader"),
 outcome(calibrate_model, net, iter(()), "percentile", names="loader"),
 any(m._forward_hooks for m in net.modules())]
""", mistake="check the method before touching the loader (ValueError naming 'method'), a model without "
             "Linear/Conv2d layers (naming 'model'), and a loader that yields no batch (naming 'loader', and no "
             "hook left behind)")

# ---------------------------------------------------------------- Task 9: quantize_static (7 points)

add("quantize_static_mlp_outputs", 2, """\
net = mlp([7, 6, 5, 4], seed=2100)
rng = np.random.default_rng(2101)
thresholds = {f"{i}.{side}": float(rng.uniform(0.3, 3.0)) for i in (0, 2, 4) for side in ("input", "output")}
x = torch.randn(16, 7, generator=torch.Generator().manual_seed(2102)) * 2
with torch.no_grad():
    outs = [quantize_static(net, thresholds, bits)(x) for bits in (3, 4, 8)]
outs
""", visibility="visible", rtol=1e-6, atol=1e-6,
    mistake="in the copy, every Linear/Conv2d gets per-channel fake-quantized weights, a forward pre-hook that "
            "fake-quantizes its input at thresholds[f'{name}.input'] and a forward hook that fake-quantizes its "
            "output at thresholds[f'{name}.output'] (scale threshold / (2^(b-1) - 1), range +-(2^(b-1) - 1)); "
            "build each hook in a function that takes its scale, or every layer ends up with the last layer's")

add("quantize_static_conv_model", 1, """\
net = digits_cnn(channels=(3, 4), seed=2103)
rng = np.random.default_rng(2104)
thresholds = {f"{i}.{side}": float(rng.uniform(0.2, 2.0)) for i in (0, 3, 7) for side in ("input", "output")}
images = torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(2105))
with torch.no_grad():
    outs = [quantize_static(net, thresholds, bits)(images) for bits in (4, 8)]
outs
""", rtol=1e-6, atol=1e-6,
    mistake="Conv2d layers are quantized like Linear ones: weights per output channel (scales shaped (C_out, 1, "
            "1, 1)), 4-D inputs and outputs fake-quantized per tensor at their thresholds")

add("quantize_static_weights_and_biases", 1, """\
torch.manual_seed(2106)
net = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Conv1d(1, 2, 3), nn.BatchNorm1d(2), nn.Linear(4, 3))
with torch.no_grad():
    net[4].weight[1] *= 20  # one row much larger: per-channel scales differ
thresholds = {f"{i}.{side}": 1.0 for i in (0, 4) for side in ("input", "output")}
[[p.detach() for p in quantize_static(net, thresholds, bits).parameters()] for bits in (2, 3, 6)]
""", rtol=1e-6, atol=1e-7,
    mistake="weights: one symmetric scale per output row, max|w_c| / (2^(b-1) - 1) (the setup cell's "
            "fake_quantize_weight_), not one per tensor; biases stay float, and layers other than Linear/Conv2d "
            "(Conv1d, BatchNorm) keep their parameters")

add("quantize_static_copy_leaves_original", 1, """\
net = mlp([5, 4, 3], seed=2107)
params = list(net.parameters())
before = copy.deepcopy(net.state_dict())
x = torch.randn(4, 5, generator=torch.Generator().manual_seed(2108))
with torch.no_grad():
    reference = net(x)
thresholds = {"0.input": 2.0, "0.output": 1.0, "2.input": 1.0, "2.output": 0.5}
quantized = quantize_static(net, thresholds, 2)
with torch.no_grad():
    after = net(x)
[quantized is not net, all(a is b for a, b in zip(params, net.parameters())),
 all(torch.equal(v, before[k]) for k, v in net.state_dict().items()),
 any(m._forward_hooks or m._forward_pre_hooks for m in net.modules()),
 any(p is q for p in quantized.parameters() for q in params), torch.equal(reference, after)]
""", mistake="quantize a copy.deepcopy of the model: the original keeps its weights, parameters and outputs, and "
             "gets no hooks (register them on the copy's modules)")

add("quantize_static_clips_inputs_and_outputs", 1, """\
layer = nn.Linear(4, 4)
with torch.no_grad():
    layer.weight.copy_(torch.eye(4))
    layer.bias.zero_()
x = torch.linspace(-3.0, 3.0, 24).reshape(6, 4)
with torch.no_grad():
    outs = [quantize_static(nn.Sequential(layer), {"0.input": t_in, "0.output": t_out}, bits)(x)
            for t_in, t_out, bits in ((2.0, 1.0, 3), (1.0, 2.0, 3), (0.7, 5.0, 4), (2.5, 2.5, 8))]
outs
""", rtol=1e-6, atol=1e-7,
    mistake="the input is fake-quantized (clipped to +-threshold) before the layer, by a forward pre-hook, and "
            "the output after it, by a forward hook, each at its own threshold: swapping them or skipping one "
            "changes where the values saturate")

add("quantize_static_rejects_bad_arguments", 1, OUTCOME + """\
net = mlp([4, 3, 2], seed=2109)
before = copy.deepcopy(net.state_dict())
thresholds = {"0.input": 1.0, "0.output": 1.0, "2.input": 1.0, "2.output": 1.0}
without = lambda key: {k: v for k, v in thresholds.items() if k != key}
[outcome(quantize_static, net, without("2.output"), 8, names="2.output"),
 outcome(quantize_static, net, without("0.input"), 8, names="0.input"),
 outcome(quantize_static, net, {**thresholds, "2.input": -0.5}, 8, names="threshold"),
 outcome(quantize_static, net, {**thresholds, "0.output": float("nan")}, 8, names="threshold"),
 outcome(quantize_static, net, {**thresholds, "0.output": float("inf")}, 8, names="threshold"),
 outcome(quantize_static, net, thresholds, 1, names="bits"),
 outcome(quantize_static, net, thresholds, 8.0, names="bits"),
 all(torch.equal(v, before[k]) for k, v in net.state_dict().items()),
 any(m._forward_hooks or m._forward_pre_hooks for m in net.modules())]
""", mistake="check bits and every key before copying: a missing key raises ValueError naming the key (e.g. "
             "'2.output'), a negative, NaN or infinite threshold raises ValueError naming 'threshold' "
             "(symmetric_scale does), bad bits names 'bits'")

# ---------------------------------------------------------------- Task 10: layer_sensitivity (4 points)

add("layer_sensitivity_mlp", 2, """\
net = mlp([6, 5, 4, 3], seed=2110)
x = torch.randn(40, 6, generator=torch.Generator().manual_seed(2111))
with torch.no_grad():
    target = net(x)

def closeness(model):
    with torch.no_grad():
        return -float(((model(x) - target) ** 2).mean())

drops = [layer_sensitivity(net, closeness, bits) for bits in (2, 3, 5)]
[drops, [type(v).__name__ for v in drops[0].values()]]
""", visibility="visible", rtol=1e-9, atol=1e-12,
    mistake="for each Linear/Conv2d name in named_modules() order: deep-copy the model, fake-quantize only that "
            "layer's weight per channel (fake_quantize_weight_), and return eval_fn(model) - eval_fn(copy) as a "
            "Python float")

add("layer_sensitivity_one_layer_per_copy", 1, """\
net = digits_cnn(channels=(2, 3), seed=2112)
originals = [m.weight.detach().clone() for _, m in quant_layers(net)]
images = torch.rand(5, 1, 8, 8, generator=torch.Generator().manual_seed(2113))
seen = []

def probe(model):
    layers = quant_layers(model)
    seen.append([model is net] + [not torch.equal(m.weight, w) for (_, m), w in zip(layers, originals)])
    with torch.no_grad():
        return np.float32(model(images).abs().mean())

drops = layer_sensitivity(net, probe, 3)
[drops, seen, all(torch.equal(m.weight, w) for (_, m), w in zip(quant_layers(net), originals))]
""", rtol=1e-6, atol=1e-9,
    mistake="call eval_fn once on the original model, then once per layer on a fresh deep copy in which ONLY that "
            "layer's weights are quantized: not all layers at once, not cumulatively in one copy, and never the "
            "original model")

add("layer_sensitivity_rejects_bad_arguments", 1, OUTCOME + """\
net = mlp([3, 2], seed=2114)
score = lambda model: 0.5
[outcome(layer_sensitivity, net, "accuracy", 8, names="eval_fn"),
 outcome(layer_sensitivity, net, None, 8, names="eval_fn"),
 outcome(layer_sensitivity, net, score, 1, names="bits"),
 outcome(layer_sensitivity, net, score, 4.0, names="bits"),
 outcome(layer_sensitivity, nn.Sequential(nn.ReLU(), nn.Conv1d(1, 1, 1)), score, 8, names="model")]
""", mistake="a non-callable eval_fn raises ValueError naming 'eval_fn', bad bits naming 'bits', and a model "
             "without Linear/Conv2d layers naming 'model'")

# ---------------------------------------------------------------- Task 11: allocate_bits (8 points)

add("allocate_bits_random_problems", 3, """\
rng = np.random.default_rng(2120)
allocations = []
for trial in range(14):
    n = int(rng.integers(1, 6))
    names = [f"layer{i}" for i in rng.permutation(n)]  # key order is not sorted order
    sensitivity = {name: float(v) for name, v in zip(names, rng.uniform(-0.2, 1.0, n))}
    sizes = {name: int(v) for name, v in zip(names, rng.integers(1, 3000, n))}
    total = sum(sizes.values())
    budget = float(rng.uniform(total * 2 / 8, total * 9 / 8))
    choices = ((2, 4, 8), (8, 2, 4), (3, 5, 8, 16), (4, 8))[trial % 4]
    if trial % 4 == 3:
        budget = max(budget, total * 4 / 8)
    allocations.append(allocate_bits(sensitivity, sizes, budget, choices))
allocations
""", visibility="visible",
    mistake="the allocation of least sum(max(sensitivity, 0) * 4^-bits) whose weight bytes sum(sizes * bits) / 8 "
            "fit the budget, searched exactly over every combination of choices (itertools.product), returned in "
            "sensitivity's key order as Python ints")

add("allocate_bits_tie_breaking", 2, """\
[allocate_bits({"a": 1.0, "b": 1.0}, {"a": 100, "b": 100}, 125, (2, 8)),
 allocate_bits({"b": 1.0, "a": 1.0}, {"a": 100, "b": 100}, 125, (8, 2)),
 allocate_bits({"a": 1.0, "b": 1.0}, {"a": 1, "b": 100}, 100.5, (2, 8)),  # equal damage, 26 or 100.25 bytes
 allocate_bits({"b": 1.0, "a": 1.0}, {"a": 1, "b": 100}, 100.5, (2, 8)),
 allocate_bits({"z": 0.0, "y": 0.0, "x": 0.5}, {"x": 10, "y": 10, "z": 10}, 1e6, (2, 4, 8)),
 allocate_bits({"c": 0.25, "a": 0.25, "b": 0.25}, {"a": 64, "b": 64, "c": 64}, 96, (2, 8)),
 allocate_bits({"b": 0.5, "a": 0.5}, {"a": 10, "b": 10}, 12.5, (2, 4, 8, 16))]
""", mistake="ties on predicted damage go to fewer bytes, then to the widths that come first lexicographically "
             "in sorted layer-name order; a layer of sensitivity 0 gets the fewest bits; the result keeps "
             "sensitivity's key order")

add("allocate_bits_budget_edges_and_types", 1, """\
sens, sizes = {"fc1": 0.5, "fc2": -0.25, "fc3": 2.0}, {"fc1": 30, "fc2": 50, "fc3": 20}
results = [allocate_bits(sens, sizes, 25), allocate_bits(sens, sizes, 40), allocate_bits(sens, sizes, np.float64(1e9)),
           allocate_bits({"a": 1.0}, {"a": 8}, 8), allocate_bits({"a": 1.0}, {"a": 8}, 8 - 1e-9),
           allocate_bits(sens, sizes, 60, (np.int64(8), 4, 4, 2)), allocate_bits(sens, sizes, 40, (3,)),
           allocate_bits(sens, sizes, 100, [1, 32]), allocate_bits({"only": 0.1}, {"only": np.int32(7)}, 7)]
[results, [type(v).__name__ for v in results[5].values()]]
""", mistake="the budget is inclusive (bytes <= budget_bytes; exactly the all-smallest size is allowed), "
             "negative sensitivities count as 0, choices may be unsorted, repeated or NumPy ints (any ints in "
             "1..32), and the widths returned are Python ints")

add("allocate_bits_rejects_bad_arguments", 1, OUTCOME + """\
sens, sizes = {"a": 1.0, "b": 0.5}, {"a": 100, "b": 50}
[outcome(allocate_bits, sens, sizes, 37.4, names="budget_bytes"),
 outcome(allocate_bits, sens, sizes, 37, (4, 8), names="budget_bytes"),
 outcome(allocate_bits, sens, sizes, float("nan"), names="budget_bytes"),
 outcome(allocate_bits, sens, sizes, "100", names="budget_bytes"),
 outcome(allocate_bits, sens, {"a": 100}, 1000, names="sizes"),
 outcome(allocate_bits, sens, {"a": 100, "b": 50, "c": 1}, 1000, names="sizes"),
 outcome(allocate_bits, {}, {}, 1000, names="sizes"),
 outcome(allocate_bits, {"a": 1.0, "b": float("nan")}, sizes, 1000, names="sensitivity"),
 outcome(allocate_bits, {"a": 1.0, "b": float("inf")}, sizes, 1000, names="sensitivity"),
 outcome(allocate_bits, {"a": 1.0, "b": "high"}, sizes, 1000, names="sensitivity"),
 outcome(allocate_bits, sens, {"a": 100, "b": 0}, 1000, names="sizes"),
 outcome(allocate_bits, sens, {"a": 100, "b": 2.5}, 1000, names="sizes"),
 outcome(allocate_bits, sens, sizes, 1000, (), names="choices"),
 outcome(allocate_bits, sens, sizes, 1000, (0, 8), names="choices"),
 outcome(allocate_bits, sens, sizes, 1000, (4, 33), names="choices"),
 outcome(allocate_bits, sens, sizes, 1000, (4.0, 8), names="choices"),
 outcome(allocate_bits, sens, sizes, 1000, (True, 8), names="choices")]
""", mistake="raise ValueError naming the argument: budget_bytes below the all-smallest-choice size (or NaN or not "
             "a number), keys of sizes that differ from sensitivity's or are empty ('sizes'), a non-finite or "
             "non-numeric sensitivity, sizes that are not ints >= 1, and choices that are empty or not ints in "
             "1..32")
