"""Hidden tests of lab 01, quantization basics: 100 points over the eleven tasks.

Each test's code runs in the kernel after the lab's cells and builds its own seeded inputs (seeds 1234 and up, which
the lab does not show). Expected values come from running the same code on solutions/01_quantization_basics.py.

Validation tests start with ``autograder.spec.OUTCOME``, which defines ``outcome``, and return one short string per
bad call, so that each bad argument is checked separately and a student sees which call went wrong: "ValueError
naming 'bits'" is what the reference gives.
"""

from autograder.spec import OUTCOME, Test

# Integer ties x / s = k + 1/2 at power-of-two scales, which float32 represents exactly.
TIES = "k = np.arange(-40, 40)\nties = ((k + 0.5) * 0.125).astype(np.float32)\n"

TESTS: list[Test] = []


def add(name: str, points: float, code: str, mistake: str, **options) -> None:
    TESTS.append(Test(name=name, points=points, code=code, mistake=mistake, **options))


# ---------------------------------------------------------------- Task 1: qrange (5 points)

add("qrange_all_bit_widths_and_flags", 3, """\
[[bits, signed, narrow, *qrange(bits, signed, narrow)]
 for bits in range(2, 17) for signed in (False, True) for narrow in (False, True)]
""", visibility="visible",
    mistake="wrong range: unsigned is [0, 2^b - 1], signed [-2^(b-1), 2^(b-1) - 1], and narrow drops the lowest "
            "code (qmin + 1), never the highest")

add("qrange_numpy_integer_bits_give_python_int_tuple", 1, """\
pairs = [qrange(np.int64(6), True, True), qrange(np.int32(12), False), qrange(np.uint8(2), True)]
[[type(pair).__name__, [type(v).__name__ for v in pair], [int(v) for v in pair]] for pair in pairs]
""", mistake="with a NumPy integer bits, return a tuple of Python ints (int(bits) first, or int(...) on each "
             "value), not NumPy integers")

add("qrange_rejects_bad_arguments", 1, OUTCOME + """\
bad_bits = (0, 1, 17, 64, -8, np.int64(17), 8.0, np.float64(4.0), True, np.True_, "8", None)
([outcome(qrange, bits, True, names="bits") for bits in bad_bits]
 + [outcome(qrange, 8, flag, names="signed") for flag in ("yes", 1, None)]
 + [outcome(qrange, 8, True, flag, names="narrow") for flag in (0, "no")])
""", mistake="bits not validated as an int (not bool, not float) in 2..16, or signed/narrow not checked to be "
             "bools; each must raise ValueError naming the argument")

# ---------------------------------------------------------------- Task 2: affine_qparams (10 points)

add("affine_qparams_random_ranges", 3, """\
rng = np.random.default_rng(1234)
lows, highs = -rng.uniform(0.01, 5.0, 10), rng.uniform(0.01, 5.0, 10)
types = [type(v).__name__ for v in affine_qparams(-1.0, 3.0)]
[types] + [[*affine_qparams(lo, hi, bits, signed)]
           for lo, hi in zip(lows.tolist(), highs.tolist()) for bits in (2, 4, 8, 16) for signed in (False, True)]
""", visibility="visible", rtol=1e-12,
    mistake="scale must be (max(x_max, 0) - min(x_min, 0)) / (qmax - qmin) with 2^b - 1 steps (not 2^b), and the "
            "zero point qmin - round(x^- / scale) rounded half to even to a Python int (not left as a float, not "
            "truncated with int()); return (float, int)")

add("affine_qparams_widens_range_to_include_zero", 2, """\
ranges = ((2.0, 5.0), (0.3, 0.9), (1e-3, 7.5), (-4.0, -1.0), (-0.25, -0.125))
[[*affine_qparams(lo, hi, bits, signed)] for lo, hi in ranges for bits in (4, 8) for signed in (False, True)]
""", rtol=1e-12,
    mistake="the range is not widened to include 0: use min(x_min, 0) and max(x_max, 0), so that an all-positive "
            "range gets zero point qmin and an all-negative one zero point qmax")

add("affine_qparams_zero_point_ties_half_to_even", 2, """\
zero_points = []
for bits in (3, 4, 8):
    levels = 2**bits - 1
    for signed in (False, True):
        for k in range(min(levels, 12)):
            lo = -(k + 0.5) * 0.25  # scale 0.25 exactly, so x^- / scale = -(k + 1/2): a tie
            zero_points.append(affine_qparams(lo, lo + levels * 0.25, bits, signed)[1])
zero_points
""", mistake="the zero point is not rounded half to even: round(-2.5) is -2 and round(-1.5) is -2 (np.rint, "
             "np.round or Python's round); np.floor(v + 0.5) rounds half up, and rounding half away from zero, "
             "truncating with int() or not rounding at all (a float zero point) is also wrong")

add("affine_qparams_all_zero_constant_and_tiny_ranges", 1, """\
ranges = ((0.0, 0.0), (3.0, 3.0), (-2.0, -2.0), (-1e-12, 1e-12), (0, 0))
[[*affine_qparams(lo, hi, bits, signed)] for lo, hi in ranges for bits in (2, 8, 16) for signed in (False, True)]
""", rtol=1e-12,
    mistake="a zero-width range must give scale FP32_EPS (not 0, not NaN from 0/0) and the zero point of 0; a "
            "constant range is first widened to include 0")

add("affine_qparams_rejects_bad_arguments", 2, OUTCOME + """\
[outcome(affine_qparams, 1.0, -1.0, names="x_min"),
 outcome(affine_qparams, 0.5, 0.25, names="x_min"),
 outcome(affine_qparams, float("nan"), 1.0, names="x_min"),
 outcome(affine_qparams, -np.inf, 1.0, names="x_min"),
 outcome(affine_qparams, 0.0, np.inf, names="x_max"),
 outcome(affine_qparams, 0.0, float("nan"), names="x_max"),
 outcome(affine_qparams, 1j, 2.0, names="x_min"),
 outcome(affine_qparams, np.array([0.0, 1.0]), 2.0, names="x_min"),
 outcome(affine_qparams, -1.0, 1.0, bits=1, names="bits"),
 outcome(affine_qparams, -1.0, 1.0, bits=17, names="bits"),
 outcome(affine_qparams, -1.0, 1.0, bits=8.0, names="bits")]
""", mistake="missing validation: x_min > x_max (check before widening, so [0.5, 0.25] is caught), a NaN, "
             "infinite, complex or array bound, or bad bits must raise ValueError naming the argument")

# ---------------------------------------------------------------- Task 3: symmetric_scale (5 points)

add("symmetric_scale_thresholds_and_bit_widths", 2, """\
thresholds = np.random.default_rng(1240).uniform(0.0, 10.0, 6).tolist() + [127.0, 7.0, 2.5, 1e-3]
types = [isinstance(symmetric_scale(np.float32(2.5), 4), float), isinstance(symmetric_scale(7, 4), float)]
[types] + [[symmetric_scale(t, bits) for t in thresholds] for bits in (2, 3, 4, 8, 12, 16)]
""", visibility="visible", rtol=1e-12,
    mistake="the scale must be threshold / (2^(b-1) - 1), the largest level of the narrow signed range (127 for 8 "
            "bits), not threshold / 2^(b-1) (128) or / (2^b - 1); compute in float64 and return a Python float")

add("symmetric_scale_floor_at_fp32_eps", 1, """\
[symmetric_scale(0.0, 2), symmetric_scale(0.0, 8), symmetric_scale(0, 16), symmetric_scale(1e-9),
 symmetric_scale(1e-5, 16), symmetric_scale(np.float32(0.0))]
""", mistake="a threshold of 0 (or one so small that threshold / qmax < FP32_EPS) must give FP32_EPS, not 0: "
             "return max(threshold / qmax, FP32_EPS)")

add("symmetric_scale_rejects_bad_arguments", 2, OUTCOME + """\
bad = (-1.0, -1e-30, np.inf, -np.inf, np.nan, 1j, "3", np.array([1.0, 2.0]))
([outcome(symmetric_scale, t, names="threshold") for t in bad]
 + [outcome(symmetric_scale, 1.0, bits, names="bits") for bits in (1, 17, 4.0)])
""", mistake="missing validation: a negative, infinite, NaN, complex, string or array threshold must raise "
             "ValueError naming 'threshold', and bad bits ValueError naming 'bits'")

# ---------------------------------------------------------------- Task 4: quantize (15 points)

add("quantize_random_per_tensor", 3, """\
rng = np.random.default_rng(1250)
x = rng.normal(0.0, 2.0, size=(6, 7)).astype(np.float32)
[quantize(x, 0.037, 5, -128, 127), quantize(x, 0.011, 128, 0, 255), quantize(x.astype(np.float64), 0.5, -3, -8, 7),
 quantize(np.arange(-20, 20).reshape(4, 10), 3.0, 0, -4, 3)]
""", visibility="visible", check_dtype=True,
    mistake="q must be clamp(rint(x * (1/scale)) + zero_point, qmin, qmax) computed on float32, returned as int32 "
            "codes of x's shape")

add("quantize_ties_half_to_even", 3, TIES + """\
[quantize(ties, 0.125, 0, -128, 127), quantize(ties, 0.125, 7, -128, 127), quantize(4 * ties, 0.5, 100, 0, 255)]
""", mistake="rounds half away from zero (np.sign(v) * np.floor(np.abs(v) + 0.5)) or half up (np.floor(v + 0.5)) "
             "instead of half to even (np.rint): 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -2.5 -> -2")

add("quantize_saturates_out_of_range", 2, """\
f32 = np.finfo(np.float32)
x = np.array([1e6, -1e6, np.inf, -np.inf, f32.max, -f32.max, 16.0, -17.0, 7.4, -8.6, 1e-45, -1e-40], np.float32)
[quantize(x, 1.0, 0, -8, 7), quantize(x, 0.25, 3, 0, 15), quantize(x, 1e-3, -100, -128, 127)]
""", mistake="codes are not clamped to [qmin, qmax] (np.clip after adding the zero point), or are cast to an "
             "integer before clamping, so that inf and huge values (x * inv_scale overflows to inf) wrap around")

add("quantize_float32_reciprocal_at_ties", 2, """\
s = np.float32(0.1)
near = ((np.arange(-120, 120) + 0.5) * np.float64(s)).astype(np.float32)  # x / s within an ulp of a tie
x = np.concatenate([np.nextafter(near, np.float32(-np.inf)), near, np.nextafter(near, np.float32(np.inf))])
[quantize(x, 0.1, 0, -128, 127), quantize(3 * x, 0.3, 0, -128, 127), quantize(0.7 * x, 0.07, 0, -128, 127)]
""", mistake="computes x / scale (or x times a float64 reciprocal) instead of x * (np.float32(1) / "
             "np.float32(scale)) in float32, as PyTorch's kernel does: near ties the codes differ by one")

add("quantize_per_channel_broadcast", 2, """\
rng = np.random.default_rng(1252)
x = rng.normal(size=(4, 5, 3)).astype(np.float32)
row_scales, row_zero_points = rng.uniform(0.01, 0.2, (4, 1, 1)), rng.integers(0, 256, (4, 1, 1))
[quantize(x, row_scales, row_zero_points, 0, 255), quantize(x, rng.uniform(0.01, 0.2, 3), 0, -128, 127),
 quantize(x, 0.05, rng.integers(-20, 20, (1, 5, 1)), -128, 127)]
""", mistake="array scales and zero points must broadcast element-wise against x (one per channel), each used "
             "as float32 (scale) and an integer (zero point); do not reduce them to a single value")

add("quantize_rejects_bad_arguments", 1, OUTCOME + """\
x = np.array([0.5, -1.0])
[outcome(quantize, np.array([1 + 2j]), 0.1, 0, 0, 255, names="x"),
 outcome(quantize, np.array([0.1, np.nan]), 0.1, 0, 0, 255, names="x"),
 outcome(quantize, x, 1.0, 0, 10, 3, names="qmin"),
 outcome(quantize, x, 1.0, 0, 0, 2**31, names="qmax"),
 outcome(quantize, x, 0.0, 0, 0, 255, names="scale"),
 outcome(quantize, x, -0.1, 0, 0, 255, names="scale"),
 outcome(quantize, x, 0.1, 300, 0, 255, names="zero_point"),
 outcome(quantize, x, 0.1, 3.0, 0, 255, names="zero_point")]
""", mistake="the checks a caller needs: x real without NaN (name 'x'), qmin < qmax within int32 (name 'qmin' or "
             "'qmax'), a positive finite scale (name 'scale'), and an integer zero point in [qmin, qmax] (name "
             "'zero_point'); each raises ValueError naming the argument")

add("quantize_rejects_params_that_do_not_broadcast_to_x", 1, OUTCOME + """\
x = np.zeros((4, 5), np.float32)
[outcome(quantize, x, np.full(3, 0.1), 0, 0, 255, names="scale"),
 outcome(quantize, x, np.full((5, 1), 0.1), 0, 0, 255, names="scale"),
 outcome(quantize, x, np.full((2, 4, 5), 0.1), 0, 0, 255, names="scale"),
 outcome(quantize, x, 0.1, np.zeros((4, 1, 1), np.int64), 0, 255, names="zero_point"),
 outcome(quantize, x, 0.1, np.zeros(4, np.int64), 0, 255, names="zero_point")]
""", mistake="scale and zero_point must broadcast to exactly x's shape (check np.broadcast_shapes(...) == x.shape):"
             " a shape that broadcasts to a larger result, or not at all, raises ValueError naming the argument")

add("dequantize_values_float32", 2, """\
rng = np.random.default_rng(1260)
q = rng.integers(0, 256, size=(5, 6)).astype(np.int32)
[dequantize(q, 0.1, 77), dequantize(q - 128, 0.0173, -5), dequantize(q, np.float32(0.02), np.int64(0)),
 dequantize(q.astype(np.int64), rng.uniform(0.01, 0.1, (5, 1)), rng.integers(0, 256, (1, 6)))]
""", visibility="visible", check_dtype=True,
    mistake="x_hat must be float32(q - zero_point) * np.float32(scale), a float32 array; multiplying by the "
            "float64 scale and casting afterwards rounds differently")

add("dequantize_narrow_integer_codes_are_widened", 1, """\
codes = [np.array([-128, -1, 0, 127], np.int8), np.array([0, 1, 200, 255], np.uint8), np.array([0, 65535], np.uint16)]
[dequantize(codes[0], 0.5, 100), dequantize(codes[1], 0.25, 3), dequantize(codes[2], 1.0, 40000)]
""", mistake="q - zero_point is taken in q's own dtype (int8, uint8), where it wraps around: widen to int64 first, "
             "q.astype(np.int64) - zero_point")

add("dequantize_rejects_bad_arguments", 1, OUTCOME + """\
q = np.array([1, 2, 3], np.int32)
[outcome(dequantize, np.array([1.5]), 0.1, 0, names="q"),
 outcome(dequantize, np.array([1.0, 2.0]), 0.1, 0, names="q"),
 outcome(dequantize, np.array([True]), 0.1, 0, names="q"),
 outcome(dequantize, q, 0.0, 0, names="scale"),
 outcome(dequantize, q, -1.0, 0, names="scale"),
 outcome(dequantize, q, np.nan, 0, names="scale"),
 outcome(dequantize, q, 0.1, 1.5, names="zero_point"),
 outcome(dequantize, q, np.ones(2), 0, names="scale")]
""", mistake="dequantize must reject codes that are not of an integer dtype (float codes too), non-positive or "
             "non-finite scales, non-integer zero points and shapes that do not broadcast to q's, naming each")

# ---------------------------------------------------------------- Task 5: fake_quantize (7 points)

add("fake_quantize_random_per_tensor", 2, """\
rng = np.random.default_rng(1270)
x = rng.normal(size=(3, 7, 5)).astype(np.float32)
[fake_quantize(x, 0.05, -3, -128, 127), fake_quantize(x, 0.0123, 128, 0, 255),
 fake_quantize(x.astype(np.float64), 0.3, 0, -7, 7)]
""", visibility="visible", check_dtype=True,
    mistake="fake_quantize must be dequantize(quantize(x, ...), scale, zero_point): float32 values of x's shape, "
            "equal bit for bit to torch.fake_quantize_per_tensor_affine")

add("fake_quantize_ties_half_to_even", 2, TIES + """\
[fake_quantize(ties, 0.125, 0, -128, 127), fake_quantize(ties / 4, 0.03125, 3, -128, 127),
 fake_quantize(ties, 0.125, 250, 0, 255)]
""", mistake="ties must round half to even, as torch.fake_quantize_per_tensor_affine does: build fake_quantize "
             "from quantize (np.rint), not from np.floor(x / scale + 0.5) or rounding half away from zero")

add("fake_quantize_per_channel", 2, """\
rng = np.random.default_rng(1272)
x = rng.normal(size=(5, 4, 3)).astype(np.float32)
[fake_quantize(x, rng.uniform(0.01, 0.3, (5, 1, 1)), rng.integers(0, 256, (5, 1, 1)), 0, 255),
 fake_quantize(x, rng.uniform(0.01, 0.3, (1, 4, 1)), 0, -127, 127),
 fake_quantize(x, rng.uniform(0.01, 0.3, 3), rng.integers(-8, 8, 3), -8, 7)]
""", mistake="per-channel scales and zero points (shape (C, 1, 1), (1, C, 1) or (C,)) must broadcast against x "
             "element-wise, as in torch.fake_quantize_per_channel_affine")

add("fake_quantize_constant_zero_and_extreme_inputs", 1, """\
f32 = np.finfo(np.float32)
[fake_quantize(np.zeros((2, 3)), f32.eps, 0, -128, 127),
 fake_quantize(np.full(5, 0.7, np.float32), 0.7 / 127, 0, -127, 127),
 fake_quantize(np.full(4, -2.0), 2.0 / 255, 255, 0, 255),
 fake_quantize(np.array([np.inf, -np.inf, f32.max, -f32.max, 1e-45, -0.0, 2.5, -3.0], np.float32), 0.01, 10, 0, 255)]
""", mistake="constant, all-zero, infinite or huge inputs: zeros must stay 0, a constant equal to qmax * scale "
             "must come back (almost) unchanged, and +-inf and +-float32 max saturate at (qmax - z) * s and "
             "(qmin - z) * s: clamp the codes to [qmin, qmax] before casting them to integers")

# ---------------------------------------------------------------- Task 6: per_channel_qparams (13 points)

add("per_channel_qparams_symmetric_rows", 2, """\
rng = np.random.default_rng(1280)
w = rng.normal(size=(6, 10)).astype(np.float32)
w[2] *= 10
w[4] *= 0.01
[list(per_channel_qparams(w, 0, 8, True)), list(per_channel_qparams(w, 0, 4, True)),
 list(per_channel_qparams(-np.abs(w), 0, 3, True))]
""", visibility="visible", rtol=1e-12, check_dtype=True,
    mistake="symmetric per-channel: scale_c = symmetric_scale(max |w_c|, bits) = max |w_c| / (2^(b-1) - 1) (the "
            "absolute value: a row's largest magnitude may be negative), zero points 0; return float64 scales and "
            "int64 zero points")

add("per_channel_qparams_asymmetric_rows", 3, """\
rng = np.random.default_rng(1281)
w = rng.uniform(-0.5, 2.0, size=(7, 9))
w[3] = np.abs(w[3]) + 0.1
w[5] = -np.abs(w[5]) - 0.1
[list(per_channel_qparams(w, 0, 8, False)), list(per_channel_qparams(w, 0, 4, False))]
""", rtol=1e-12,
    mistake="asymmetric per-channel: (scale_c, zero_point_c) = affine_qparams(min w_c, max w_c, bits, "
            "signed=False) for each slice, with the unsigned range")

add("per_channel_qparams_any_axis", 3, """\
rng = np.random.default_rng(1282)
w = rng.normal(size=(4, 3, 5, 2))
w[:, 1] *= 8
[list(per_channel_qparams(w, axis, 8, symmetric)) for axis in (1, 2, 3, -1, -3) for symmetric in (True, False)]
""", rtol=1e-12,
    mistake="per-channel statistics taken along the wrong axis: slice c is w.take(c, axis), so reduce over every "
            "other axis (np.moveaxis(w, axis, 0).reshape(C, -1)); w.reshape(w.shape[axis], -1) without moving "
            "the axis first mixes channels, and negative axes count from the end")

add("per_channel_qparams_constant_rows_and_1d", 1, """\
w = np.array([[0.0, 0.0, 0.0], [2.5, 2.5, 2.5], [-1.0, -1.0, -1.0], [0.0, 1e-9, 0.0]])
v = np.array([0.5, -2.0, 0.0, 3.0])
[list(per_channel_qparams(w, 0, 8, True)), list(per_channel_qparams(w, 0, 8, False)),
 list(per_channel_qparams(v, 0, 4, True)), list(per_channel_qparams(v, -1, 4, False)),
 list(per_channel_qparams(np.arange(6).reshape(2, 3), 1, 8, False))]
""", rtol=1e-12,
    mistake="all-zero, constant or 1-D channels: an all-zero slice gets scale FP32_EPS and zero point 0, a "
            "1-D w has one channel per element, and integer w is accepted")

add("per_channel_qparams_rejects_bad_axis", 1, OUTCOME + """\
w = np.zeros((3, 4))
[outcome(per_channel_qparams, w, axis, names="axis") for axis in (2, -3, 5, 1.0, True, None)]
""", mistake="axis must be an int (not a float or bool) in [-w.ndim, w.ndim - 1]; otherwise raise ValueError "
             "naming 'axis' and the allowed range")

add("per_channel_qparams_rejects_bad_w_bits_symmetric", 1, OUTCOME + """\
[outcome(per_channel_qparams, np.float32(1.0), names="w"),
 outcome(per_channel_qparams, np.zeros((0, 3)), names="w"),
 outcome(per_channel_qparams, np.array([[1 + 1j]]), names="w"),
 outcome(per_channel_qparams, np.array([[True, False]]), names="w"),
 outcome(per_channel_qparams, np.array([[1.0, np.nan]]), names="w"),
 outcome(per_channel_qparams, np.array([[1.0, np.inf]]), names="w"),
 outcome(per_channel_qparams, np.ones((2, 2)), 0, 1, names="bits"),
 outcome(per_channel_qparams, np.ones((2, 2)), 0, 8, "yes", names="symmetric")]
""", mistake="a 0-d, empty, complex, bool or non-finite w must raise ValueError naming 'w'; bad bits or a "
             "non-bool symmetric must raise too")

# ---------------------------------------------------------------- Task 7: stochastic_quantize (8 points)

add("stochastic_quantize_same_seed_as_reference", 2, """\
x = np.random.default_rng(1290).normal(0.0, 1.2, size=(8, 25))
scales = np.random.default_rng(1297).uniform(0.01, 0.3, size=(8, 1))
[stochastic_quantize(x, 0.3, 3, -128, 127, np.random.default_rng(1291)),
 stochastic_quantize(x.astype(np.float32), scales, 0, -7, 7, np.random.default_rng(1292))]
""", visibility="visible", check_dtype=True,
    mistake="compute y = x * (1 / scale) in float32, draw u = rng.random(x.shape) in one call, and return "
            "clamp(floor(y) + (u < y - floor(y)) + zero_point, qmin, qmax) as int32; rounding up when u > frac, "
            "or np.round(y + u - 0.5), gives other results for the same seed")

add("stochastic_quantize_is_unbiased", 2, """\
x = np.array([-1.75, -0.5, 0.1, 0.25, 0.5, 2.9, 7.3]) * 0.125
codes = stochastic_quantize(np.tile(x, (20000, 1)), 0.125, 5, -128, 127, np.random.default_rng(1293))
(codes.mean(axis=0) - 5).tolist()
""", atol=0.03,
    mistake="biased stochastic rounding: round up with probability equal to the fractional part of x / scale "
            "(u < frac), not 1 - frac (u > frac); the mean code minus the zero point must be x / scale")

add("stochastic_quantize_zero_point_and_clamp", 1, """\
rng = np.random.default_rng(1294)
x = np.array([-100.0, -2.0, -0.5, 0.0, 0.75, 3.0, 100.0])
[stochastic_quantize(x, 0.5, 3, -8, 7, rng), stochastic_quantize(x, 0.5, 0, 0, 15, rng),
 stochastic_quantize(x, 1.0, 250, 0, 255, rng)]
""", mistake="add the zero point to the rounded value and clamp the sum to [qmin, qmax] (values beyond the range "
             "saturate): not clamp first and add the zero point after, and not forget it")

add("stochastic_quantize_on_grid_values_and_shapes", 1, """\
rng = np.random.default_rng(1295)
k = np.arange(-6, 7).reshape(13, 1) * np.ones((1, 3))
[stochastic_quantize(k * 0.25, 0.25, 1, -128, 127, rng), stochastic_quantize([0.5, -0.25], 0.25, 0, -8, 7, rng),
 stochastic_quantize(np.float32(0.75), 0.25, 0, -8, 7, rng)]
""", check_dtype=True,
    mistake="values on the grid (x = k * scale) must come back as exactly k + zero_point, and the codes must be "
            "int32 of x's shape (a list or a scalar x included)")

add("stochastic_quantize_draws_once_with_x_shape", 1, """\
rng = np.random.default_rng(1296)
stochastic_quantize(np.full((3, 4), 0.5), 1.0, 0, -8, 7, rng)
rng.random(4)  # the generator has moved on by exactly 12 draws
""", mistake="stochastic_quantize must make exactly one call rng.random(x.shape) (12 numbers for a (3, 4) x), no "
             "extra draws and no new generator")

add("stochastic_quantize_rejects_bad_arguments", 1, OUTCOME + """\
x = np.array([0.5, 1.5])
[outcome(stochastic_quantize, x, 0.1, 0, -8, 7, bad_rng, names="rng") for bad_rng in (0, None, np.random)] + [
 outcome(stochastic_quantize, np.array([0.5, np.nan]), 0.1, 0, -8, 7, np.random.default_rng(0), names="x"),
 outcome(stochastic_quantize, np.array([np.inf]), 0.1, 0, -8, 7, np.random.default_rng(0), names="x"),
 outcome(stochastic_quantize, x, 0.0, 0, -8, 7, np.random.default_rng(0), names="scale")]
""", mistake="rng must be a np.random.Generator (not a seed, None or the np.random module), x finite and scale "
             "positive; otherwise raise ValueError naming 'rng', 'x' or 'scale'")

# ---------------------------------------------------------------- Task 8: round_mantissa (8 points)

add("round_mantissa_bfloat16_and_float16_precision", 2, """\
rng = np.random.default_rng(1300)
x = (rng.normal(size=300) * 10.0 ** rng.uniform(-35, 35, 300)).astype(np.float32)
[[str(out.dtype), list(out.shape), np.asarray(out, np.float32).view(np.uint32)]  # the bit patterns
 for out in (round_mantissa(x, 7), round_mantissa(x, 10))]
""", visibility="visible",
    mistake="must round to nearest, ties to even, on the bit pattern: with d = 23 - m dropped bits, "
            "(b + 2^(d-1) - 1 + ((b >> d) & 1)) & ~(2^d - 1), returned as float32 of x's shape; m = 7 is bfloat16")

add("round_mantissa_every_width", 2, """\
rng = np.random.default_rng(1302)
x = (rng.normal(size=200) * 10.0 ** rng.uniform(-30, 30, 200)).astype(np.float32)
[np.asarray(round_mantissa(x, m), np.float32).view(np.uint32) for m in (0, 1, 3, 5, 12, 17, 22, 23)]
""", mistake="the number of dropped bits must be d = 23 - mantissa_bits for every width, not 16 as for bfloat16: "
             "the rounding bias is 2^(d-1) - 1 plus bit d, the mask clears the low d bits, and m = 23 changes "
             "nothing")

add("round_mantissa_ties_to_even", 1, """\
outs = []
for m in (7, 2, 15):
    d = 23 - m
    upper = np.concatenate([np.arange(0x3F80, 0x3FA0) << 16, [0x3FFF0000, 0x7F7E0000, 0x00010000]]).astype(np.uint32)
    upper = upper >> np.uint32(d) << np.uint32(d)
    half = np.uint32(1 << (d - 1))
    bits = np.concatenate([upper | half, upper | np.uint32(0x80000000) | half, upper | (half - np.uint32(1)),
                           upper | (half + np.uint32(1))])
    outs.append(np.asarray(round_mantissa(bits.view(np.float32), m), np.float32).view(np.uint32))
outs
""", mistake="an exact tie (dropped bits exactly half) must round to the even kept part: add 2^(d-1) - 1 plus the "
             "lowest kept bit ((b >> d) & 1); adding 2^(d-1) rounds ties up, truncation rounds everything down")

add("round_mantissa_nan_stays_nan", 1, """\
bits = np.array([0x7FC00000, 0x7F800001, 0x7F80FFFF, 0x7FFFFFFF, 0xFFFFFFFF, 0xFF800001, 0x7FBF8000, 0x7FFF8000],
                np.uint32)
[np.isnan(round_mantissa(bits.view(np.float32), m)).tolist() for m in (7, 0, 20)]
""", mistake="NaN patterns go through the rounding addition or the mask: a NaN whose payload sits in the dropped "
             "bits becomes inf once they are cleared, and 0xFFFFFFFF plus the bias wraps to a small number; return "
             "a NaN for every NaN (set the quiet bit 0x00400000 and do not clear it)")

add("round_mantissa_infinities_overflow_zeros_subnormals", 1, """\
bits = np.array([0x7F800000, 0xFF800000, 0x7F7FFFFF, 0xFF7FFFFF, 0x7F7F0000, 0x7F7F7FFF, 0x7F7F8000, 0x00000000,
                 0x80000000, 0x00000001, 0x00008000, 0x00018000, 0x807FFFFF, 0x00800000, 0x0000FFFF], np.uint32)
[np.asarray(round_mantissa(bits.view(np.float32), m), np.float32).view(np.uint32) for m in (7, 3)]
""", mistake="extremes: +-inf stay +-inf, values that round past the largest finite value become +-inf "
             "(truncation leaves them finite), signed zeros keep their sign, and subnormals round on the bit "
             "pattern like any other value (do not flush them to 0 or round in float arithmetic)")

add("round_mantissa_dtype_shape_and_input_untouched", 1, """\
rng = np.random.default_rng(1301)
x64 = rng.normal(size=(2, 3, 4))
x32 = x64.astype(np.float32)
kept = x32.copy()
inputs = [x64, np.arange(-6, 6).reshape(3, 4), x32[:, ::2, ::-1], [0.1, -2.5], x32]
outs = [round_mantissa(x) for x in inputs] + [round_mantissa(x32, 4), round_mantissa(x32, np.int64(9))]
[[str(o.dtype), list(o.shape), np.asarray(o, np.float32).view(np.uint32)] for o in outs] + [np.array_equal(x32, kept)]
""", mistake="cast x to a fresh float32 array first (x.astype(np.float32)): viewing a float64 array as uint32 "
             "doubles the length, and rounding in place through x.view(np.uint32) changes the caller's array; "
             "mantissa_bits defaults to 7 and may be a NumPy integer")

# ---------------------------------------------------------------- Task 9: log2_quantize (8 points)

add("log2_quantize_random", 2, """\
x = (np.random.default_rng(1310).laplace(size=60) * 0.1).astype(np.float32)
[log2_quantize(x, bits, None) + np.float32(0) for bits in (3, 4, 6)]  # + 0 turns -0.0 into 0.0
""", visibility="visible",
    mistake="each element must become sign(x) * 2^e with e = min(rint(log2 |x|), e_max), e_max = rint(log2 max|x|),"
            " and 0 when e < e_max - (2^(b-1) - 1) + 1")

add("log2_quantize_rounds_in_log_domain", 1, """\
x = np.array([16.0, 5.5, 5.7, -5.8, 2.8, 2.9, -2.7, 0.36, 0.35, 11.0, 11.4, 1.4, 1.42, -0.7], np.float32)
[log2_quantize(x, 8, None) + np.float32(0), log2_quantize(x.reshape(2, 7), 8, 1) + np.float32(0)]
""", mistake="rounds to the nearer power of two on a linear scale; round log2 |x| instead, so the boundary between "
             "2^e and 2^(e+1) is the geometric midpoint 2^(e+1/2) (5.7 -> 8, 2.9 -> 4, 0.36 -> 0.5)")

add("log2_quantize_small_values_become_zero", 1, """\
x = np.array([1.0, 0.6, 0.3, 0.2, 0.12, 0.06, 0.03, 0.01, -0.5, -0.24], np.float32)
[log2_quantize(x, bits, None) + np.float32(0) for bits in (2, 3, 4)]
""", mistake="wrong number of levels or wrong handling below them: there are L = 2^(b-1) - 1 magnitudes "
             "2^(e_max - L + 1) .. 2^e_max (one at 2 bits), and anything that rounds below the lowest becomes 0, "
             "not the lowest level")

add("log2_quantize_exponent_capped_at_127", 1, """\
f32max = np.finfo(np.float32).max
[log2_quantize(np.array([f32max, 1.0, -3e38], np.float32), 8, None) + np.float32(0),
 log2_quantize(np.array([[2.0**127, 2.0**100], [-2.0**126, 1.0]]), 4, 0) + np.float32(0)]
""", mistake="e_max must be capped at 127: for max |x| >= 2^127.5, rint(log2 max|x|) = 128 and 2^128 overflows "
             "float32 to inf")

add("log2_quantize_zeros_subnormals_and_dtype", 1, """\
[log2_quantize(np.zeros((2, 3)), 4, None), log2_quantize(np.array([0.0, -0.0, 3.0, 0.0]), 3, None),
 log2_quantize(np.arange(-3, 4).reshape(7, 1), 5, None), log2_quantize(np.zeros(0, np.float32), 4, None),
 log2_quantize(np.array([1e-45, 1e-40, 1.0], np.float32), 16, None), log2_quantize(np.zeros((2, 3)), 4, 0)]
""", check_dtype=True,
    mistake="zeros must stay 0 (log2 0 is -inf: leave them out), an all-zero or empty x gives zeros, subnormal "
            "magnitudes become their power of two, and the result is float32 of x's shape")

add("log2_quantize_per_channel_axis", 2, """\
rng = np.random.default_rng(1311)
w = (rng.laplace(size=(6, 20)) * 10.0 ** rng.uniform(-3, 1, size=(6, 1))).astype(np.float32)
w[4] = 0.0  # an all-zero row stays zero
cube = rng.normal(size=(3, 4, 5)) * np.array([1.0, 0.01, 100.0, 1e-5]).reshape(1, 4, 1)
[log2_quantize(w, 4, 0) + np.float32(0), log2_quantize(w, 3, 1) + np.float32(0),
 log2_quantize(w, 4, -2) + np.float32(0), log2_quantize(cube, 5, 1) + np.float32(0),
 log2_quantize(cube, 5, np.int64(-1)) + np.float32(0)]
""", mistake="with an int axis, each index along that axis gets its own e_max from the largest |x| of its slice "
             "(max over every other axis, keepdims=True so that it broadcasts); axis=None is one e_max for all")

# ---------------------------------------------------------------- Task 10: sqnr_db (6 points)

add("sqnr_db_random_signals", 2, """\
rng = np.random.default_rng(1320)
x = rng.normal(size=500)
[sqnr_db(x, x + rng.normal(0.0, sigma, 500)) for sigma in (1.0, 0.1, 1e-3, 1e-6)] + [
 sqnr_db(x.reshape(20, 25), np.round(x, 1).reshape(20, 25)), sqnr_db(x.tolist(), (0.5 * x).tolist())]
""", visibility="visible", rtol=1e-9,
    mistake="SQNR is 10 * log10(sum x^2 / sum (x - x_hat)^2) (powers, so 10 log10, not 20 log10), summed over all "
            "elements")

add("sqnr_db_float32_inputs_computed_in_float64", 1, """\
rng = np.random.default_rng(1321)
x = rng.normal(size=4000).astype(np.float32)
x_hat = (x + rng.normal(0.0, 1e-3, 4000)).astype(np.float32)
[sqnr_db(x, x_hat), sqnr_db(np.arange(1, 200), np.arange(1, 200) + 1)]
""", rtol=1e-10,
    mistake="the sums are taken in float32: cast x and x_hat to float64 before squaring and summing")

add("sqnr_db_identical_inputs_give_inf", 1, """\
v = sqnr_db(np.array([1.0, -2.0, 3.5]), np.array([1.0, -2.0, 3.5]))
[bool(v == float("inf")), isinstance(v, float), bool(sqnr_db(np.float32([0.1, 0.2]), np.float32([0.1, 0.2])) > 1e300)]
""", mistake="zero noise must give float('inf') (a Python float), not an error, NaN or a division warning")

add("sqnr_db_rejects_shape_mismatch", 1, """\
sqnr_db(np.ones(6), np.ones((2, 3)))
""", error_match="shape",
    mistake="x and x_hat of different shapes (even with the same number of elements) must raise ValueError "
            "naming 'shape'")

add("sqnr_db_rejects_zero_power_and_bad_inputs", 1, OUTCOME + """\
[outcome(sqnr_db, np.zeros(3), np.ones(3), names="x"),
 outcome(sqnr_db, np.zeros(0), np.zeros(0), names="x"),
 outcome(sqnr_db, np.array([1.0, np.nan]), np.ones(2), names="x"),
 outcome(sqnr_db, np.ones(2), np.array([1.0, np.inf]), names="x_hat"),
 outcome(sqnr_db, np.array([1j, 1.0]), np.ones(2), names="x"),
 outcome(sqnr_db, np.ones(3), np.ones((3, 1)), names="shape")]
""", mistake="an all-zero or empty x (SQNR undefined) must raise ValueError naming 'x'; NaN, inf or complex "
             "inputs raise naming the input; shapes (3,) and (3, 1) differ even though they broadcast")

# ---------------------------------------------------------------- Task 11: fake_quantize_weights_ (14 points)

add("fake_quantize_weights_per_channel_mlp", 2, """\
net = mlp([12, 9, 5], seed=1330)
fake_quantize_weights_(net, 4, True)
[p.detach() for p in net.parameters()]
""", visibility="visible",
    mistake="per_channel=True: each Linear weight row c gets scale max|w_c| / (2^(b-1) - 1), codes in the narrow "
            "signed range, zero point 0 (per_channel_qparams(w, 0, bits, True) reshaped to (C_out, 1))")

add("fake_quantize_weights_per_tensor_mlp", 2, """\
net = mlp([12, 9, 5], seed=1331)
fake_quantize_weights_(net, 3, False)
[p.detach() for p in net.parameters()]
""", visibility="visible",
    mistake="per_channel=False: one scale per weight tensor, symmetric_scale(max |w|, bits) = max |w| / "
            "(2^(b-1) - 1) (the largest magnitude, not the largest value), narrow signed range, zero point 0")

add("fake_quantize_weights_conv_model", 3, """\
net = digits_cnn(channels=(3, 4), seed=1332)
per_channel = fake_quantize_weights_(copy.deepcopy(net), 3, True)
per_tensor = fake_quantize_weights_(copy.deepcopy(net), 5, False)
[[p.detach() for p in per_channel.parameters()], [p.detach() for p in per_tensor.parameters()]]
""", mistake="Conv2d weights (C_out, C_in, K, K) must be quantized too, per output channel with scales reshaped to "
             "(C_out, 1, 1, 1), or per tensor")

add("fake_quantize_weights_per_tensor_scale_from_max_abs", 1, """\
layer = nn.Linear(4, 3)
w = -np.abs(np.random.default_rng(1336).normal(size=(3, 4))).astype(np.float32)
w[0, 0] = 0.05  # the only positive weight is small: max(w) is not max |w|
with torch.no_grad():
    layer.weight.copy_(torch.from_numpy(w))
    layer.bias.zero_()
fake_quantize_weights_(nn.Sequential(layer), 3, False)
layer.weight.detach()
""", mistake="the per-tensor scale comes from max(w) instead of max |w|: when the largest magnitude is negative "
             "the scale is too small and the large negative weights are clamped")

add("fake_quantize_weights_leaves_biases_and_other_layers", 2, """\
torch.manual_seed(1333)
net = nn.Sequential(nn.Conv1d(2, 3, 3), nn.BatchNorm1d(3), nn.Flatten(), nn.Linear(12, 5), nn.LayerNorm(5))
with torch.no_grad():
    for p in net.parameters():
        p.mul_(7).add_(0.1)  # biases and norm weights as large as the weights, so quantizing them would show
result = []
for per_channel in (True, False):
    copied = copy.deepcopy(net)
    fake_quantize_weights_(copied, 3, per_channel)
    result.append({name: torch.equal(a, b) for (name, a), b in zip(net.named_parameters(), copied.parameters())})
result
""", mistake="only the .weight of nn.Linear and nn.Conv2d changes: biases stay float32 (do not quantize the bias "
             "too), and other layers (Conv1d, BatchNorm, LayerNorm) are left alone")

add("fake_quantize_weights_nested_modules", 1, """\
torch.manual_seed(1337)
net = nn.Sequential(nn.Sequential(nn.Linear(6, 5), nn.ReLU()), nn.ModuleList([nn.Linear(5, 4)]), nn.Linear(4, 2))
fake_quantize_weights_(net, 3, True)
[p.detach() for p in net.parameters()]
""", mistake="layers inside nested containers are skipped: walk every submodule with model.modules(), not only "
             "model.children() or the top level")

add("fake_quantize_weights_in_place_same_objects", 1, """\
net = mlp([5, 4, 3], seed=1335)
params = list(net.parameters())
w0 = net[0].weight.detach().clone()
out = fake_quantize_weights_(net, 2, True)
[out is net, all(a is b for a, b in zip(params, net.parameters())), not torch.equal(w0, net[0].weight),
 [[str(p.dtype), p.requires_grad] for p in net.parameters()]]
""", mistake="quantize in place and return the same model: write with module.weight.copy_(...) under "
             "torch.no_grad() rather than a deep copy or a new nn.Parameter, so parameters stay the same float32 "
             "objects")

add("fake_quantize_weights_validates_before_changing", 2, OUTCOME + """\
net = mlp([6, 4, 3], seed=1338)
before = [p.detach().clone() for p in net.parameters()]
calls = [outcome(fake_quantize_weights_, net, 1, True, names="bits"),
         outcome(fake_quantize_weights_, net, 17, False, names="bits"),
         outcome(fake_quantize_weights_, net, 4.0, True, names="bits"),
         outcome(fake_quantize_weights_, net, 4, "yes", names="per_channel"),
         outcome(fake_quantize_weights_, "net", 4, True, names="model")]
[calls, all(torch.equal(a, b) for a, b in zip(before, net.parameters()))]
""", mistake="validate model, bits and per_channel (a bool: 'yes' is not) before touching any weight, raising "
             "ValueError naming the argument; a bad call must leave every weight as it was")
