"""Hidden tests of lab 07, weight sharing and Huffman coding: 100 points over the eight tasks.

Each test's code runs in the kernel after the lab's cells and builds its own seeded inputs (seeds 7000 and up, which
the lab does not show). Expected values come from running the same code on solutions/07_clustering_huffman.py.
Huffman codes are returned as sorted (symbol, code) pairs, so the order of a student's dict does not matter.
"""

from autograder.spec import OUTCOME, Test

TESTS: list[Test] = []

TINY = """\
torch.manual_seed(7700)
tiny = nn.Sequential(nn.Linear(10, 12), nn.ReLU(), nn.Linear(12, 3))
for p in tiny.parameters():
    nn.init.normal_(p, 0, 0.5)
with torch.no_grad():
    tiny[0].weight[torch.rand(12, 10) < 0.6] = 0.0
    tiny[2].weight[torch.rand(3, 12) < 0.3] = 0.0
"""


def add(name: str, points: float, code: str, mistake: str, **options) -> None:
    TESTS.append(Test(name=name, points=points, code=code, mistake=mistake, **options))


# ---------------------------------------------------------------- Task 1: kmeans_1d (22 points)

add("kmeans_explicit_init_arrays", 5, """\
rng = np.random.default_rng(7000)
x = np.concatenate([rng.normal(-1, 0.3, 200), rng.normal(0.4, 0.1, 150), rng.normal(1.5, 0.4, 40)])
out = []
for k in (2, 5, 9):
    c, lab = kmeans_1d(x, k, rng.uniform(-1.5, 2.0, k), iters=300, tol=0.0)
    out.append([c, lab])
out
""", visibility="visible", atol=1e-9,
    mistake="Lloyd's k-means: label = argmin |x - c| (ties to the lower index), centroid = mean of its values; "
            "sort the initial array first and return (float64 ascending centroids, int64 labels of x's shape)")

add("kmeans_linear_init", 5, """\
rng = np.random.default_rng(7001)
x = np.concatenate([rng.normal(0, 0.05, 500), rng.normal(0, 0.5, 20)])
[kmeans_1d(x, k) for k in (1, 2, 4, 8, 16)] + [kmeans_1d(x, 4, "linear", iters=1)]
""", atol=1e-9,
    mistake="'linear' must start from np.linspace(x.min(), x.max(), k), evenly spaced over the whole range (not "
            "random values, not quantiles); one update with iters=1")

add("kmeans_density_init", 3, """\
rng = np.random.default_rng(7002)
x = rng.laplace(0, 0.1, 400)
[kmeans_1d(x, k, "density", iters=1) for k in (3, 8)] + [kmeans_1d(x, 8, "density")]
""", atol=1e-9,
    mistake="'density' must start at np.quantile(x, (np.arange(k) + 0.5) / k), the midpoints of k equal-probability "
            "bins (not linspace(0, 1, k) levels, which put centroids at the min and max)")

add("kmeans_random_init", 3, """\
rng = np.random.default_rng(7003)
x = rng.normal(0, 1, 300)
[kmeans_1d(x, 6, "random", iters=1), kmeans_1d(x, 6, "random", iters=1, seed=5), kmeans_1d(x, 4, "random")]
""", atol=1e-9,
    mistake="'random' (Forgy) must draw np.random.default_rng(seed).choice(x.ravel(), k, replace=False) and sort "
            "the draw; use the seed argument, not the global generator")

add("kmeans_empty_cluster_keeps_centroid", 3, """\
x = np.array([0.0, 0.0, 0.0, 1.0, 1.0, 5.0])
[kmeans_1d(x, 6), kmeans_1d(x, 3, np.array([0.0, 10.0, 20.0])), kmeans_1d(np.full(5, 2.5), 3)]
""", atol=1e-9,
    mistake="a cluster with no value must keep its previous centroid; dividing its sum by a count of 0 gives NaN")

add("kmeans_labels_shape_and_dtype", 1, """\
x = np.random.default_rng(7005).normal(size=(6, 7)).astype(np.float32)
c, lab = kmeans_1d(x, 4)
[str(c.dtype), list(c.shape), str(lab.dtype), list(lab.shape), c, lab]
""", atol=1e-6,
    mistake="centroids must be float64 of shape (k,) and labels int64 with x's shape (reshape the flat labels back)")

add("kmeans_rejects_bad_arguments", 2, OUTCOME + """\
x = np.arange(10.0)
[outcome(kmeans_1d, x, 0, names="k"), outcome(kmeans_1d, x, 2.0, names="k"), outcome(kmeans_1d, x, True, names="k"),
 outcome(kmeans_1d, x, 3, "forgy", names="init"), outcome(kmeans_1d, x, 3, np.zeros(4), names="init"),
 outcome(kmeans_1d, x, 3, iters=0, names="iters"), outcome(kmeans_1d, np.array([]), 2, names="x"),
 outcome(kmeans_1d, np.array([1.0, np.nan]), 2, names="x")]
""", mistake="missing validation: k and iters must be ints >= 1, init one of the three names or an array of k values, "
             "x non-empty and finite; each raises ValueError naming the argument")

# ---------------------------------------------------------------- Task 2: cluster_weights, reconstruct (12 points)

add("cluster_weights_codebook_size_and_dtypes", 4, """\
w = np.random.default_rng(7010).normal(0, 0.1, (20, 15)).astype(np.float32)
out = []
for bits in (1, 2, 3, 4):
    cb, idx = cluster_weights(w, bits)
    out.append([str(cb.dtype), str(idx.dtype), list(idx.shape), cb, idx])
out
""", visibility="visible", atol=1e-6,
    mistake="the codebook must hold exactly 2**bits float32 centroids from kmeans_1d with linear init (not 2**bits - 1)"
            " and the indices must be uint8 of w's shape")

add("cluster_weights_init_and_wide_indices", 2, """\
w = np.random.default_rng(7011).normal(0, 0.1, 600)
cb, idx = cluster_weights(w, 9)
[cluster_weights(w, 3, "density"), cluster_weights(w, 3, "random"), str(idx.dtype), len(cb)]
""", atol=1e-6,
    mistake="pass init on to kmeans_1d, and above 8 bits return uint16 indices (uint8 would wrap around)")

add("reconstruct_lookup", 4, """\
cb = np.array([-0.5, -0.1, 0.2, 0.75], dtype=np.float64)
idx = np.random.default_rng(7012).integers(0, 4, (5, 6)).astype(np.uint8)
out = reconstruct(cb, idx)
[str(out.dtype), out, reconstruct(np.float32([1.5]), np.zeros(3, dtype=np.int64))]
""", mistake="reconstruct is codebook[indices] as float32 with the indices' shape")

add("reconstruct_rejects_out_of_range", 2, OUTCOME + """\
cb = np.float32([0.1, 0.2, 0.3])
[outcome(reconstruct, cb, np.array([0, 3]), names="indices"), outcome(reconstruct, cb, np.array([-1]),
 names="indices"), outcome(reconstruct, cb, np.array([0.0, 1.0]), names="indices")]
""", mistake="an index outside [0, len(codebook)) or a float index must raise ValueError naming 'indices' (a negative "
             "index would silently read from the end)")

# ---------------------------------------------------------------- Task 3: centroid_grad (10 points)

add("centroid_grad_sums_per_cluster", 5, """\
rng = np.random.default_rng(7020)
g = rng.normal(size=(8, 9))
idx = rng.integers(0, 5, (8, 9))
[centroid_grad(g, idx, 5), centroid_grad(np.ones(6), np.array([0, 0, 0, 1, 2, 2]), 3)]
""", visibility="visible", rtol=1e-12, atol=1e-12,
    mistake="the gradient of a shared weight is the SUM of its weights' gradients (Eq. 3), not their mean: use "
            "np.bincount(indices.ravel(), weights=grad_w.ravel(), minlength=k)")

add("centroid_grad_empty_clusters", 3, """\
g = np.random.default_rng(7021).normal(size=7).astype(np.float32)
out = centroid_grad(g, np.array([6, 6, 1, 1, 1, 0, 6], dtype=np.uint8), 9)
[str(out.dtype), out]
""", rtol=1e-6, atol=1e-7,
    mistake="return all k entries as float64 (minlength=k), with 0.0, not NaN, for a cluster without weights")

add("centroid_grad_rejects_bad_arguments", 2, OUTCOME + """\
[outcome(centroid_grad, np.ones(3), np.array([0, 1]), 2, names="grad_w"),
 outcome(centroid_grad, np.ones(2), np.array([0, 2]), 2, names="indices"),
 outcome(centroid_grad, np.ones(2), np.array([0, 1]), 0, names="k")]
""", mistake="grad_w and indices must share a shape, indices lie in [0, k), k be an int >= 1; raise ValueError "
             "naming the argument")

# ---------------------------------------------------------------- Task 4: huffman_code, entropy_bits (20 points)

add("huffman_code_canonical", 5, """\
rng = np.random.default_rng(7030)
cases = [np.array([5, 9, 12, 13, 16, 45]), np.bincount(rng.geometric(0.35, 3000)), rng.integers(0, 30, 20)]
[sorted(huffman_code(f).items()) for f in cases]
""", visibility="visible",
    mistake="lengths from a heap of (count, order, node) with leaves in symbol order first, then canonical codes: "
            "sort by (length, symbol), start at 0, add 1 and shift left by the growth in length")

add("huffman_code_ties_prefix_free", 5, """\
out = []
for f in (np.ones(5, dtype=int), np.array([2, 2, 2, 2, 4, 4, 8]), np.array([1, 1, 2, 3, 5, 8, 13, 21])):
    code = huffman_code(f)
    words = sorted(code.values())
    prefix_free = all(not b.startswith(a) for a, b in zip(words, words[1:]))
    out.append([sorted(code.items()), prefix_free])
out
""", mistake="under ties the code must still be prefix-free and identical to the reference: break ties by creation "
             "order, and in the canonical step shift the next code left when the length grows (padding with zeros "
             "instead breaks the prefix property)")

add("huffman_average_length_and_entropy_bound", 4, """\
rng = np.random.default_rng(7032)
out = []
for f in (rng.integers(1, 100, 12), np.bincount(rng.poisson(3.0, 5000)), np.array([1, 1, 1, 1, 1, 1, 1, 1])):
    code = huffman_code(f)
    counts = {s: int(c) for s, c in enumerate(f) if c > 0}
    avg = sum(counts[s] * len(code[s]) for s in counts) / sum(counts.values())
    H = entropy_bits(f)
    out.append([round(avg, 12), H <= avg + 1e-12 < H + 1, sorted(code) == sorted(counts)])
out
""", mistake="the average code length must be optimal (H <= L < H + 1) and every symbol with a positive count, and "
             "only those, must get a code")

add("huffman_one_two_symbols_and_dict_input", 3, """\
[sorted(huffman_code({42: 7}).items()), sorted(huffman_code([0, 0, 3]).items()),
 sorted(huffman_code({3: 1, -1: 4}).items()), sorted(huffman_code({1: 2.5, 2: 0.5, 3: 1.0}).items())]
""", mistake="a lone symbol gets the 1-bit code '0' (an empty code cannot be decoded); two symbols get '0' and '1'; "
             "a dict maps symbols to counts")

add("entropy_bits_values", 3, """\
[entropy_bits([1, 1, 1, 1]), entropy_bits([1, 3]), entropy_bits({5: 2, 9: 0, 11: 6}), entropy_bits([7]),
 entropy_bits(np.random.default_rng(7034).integers(0, 9, 40))]
""", rtol=1e-12, atol=1e-15,
    mistake="entropy in bits: -sum p log2 p over the symbols with p > 0 (log2, not the natural log; skip zero "
            "counts, whose 0 * log 0 would be NaN)")

# ---------------------------------------------------------------- Task 5: huffman_encode, huffman_decode (14 points)

add("huffman_encode_packing", 4, """\
code = {0: "0", 1: "10", 2: "110", 3: "111"}
out = []
for s in ([0, 1, 2, 3], [3, 3, 3], [1], [2, 0, 0, 0, 0, 0, 1, 3, 1]):
    data, nbits = huffman_encode(np.array(s), code)
    out.append([list(data), nbits])
out
""", visibility="visible",
    mistake="concatenate the codes most significant bit first, pad only the last byte with zero bits, and return "
            "(bytes, the number of code bits before padding)")

add("huffman_decode_round_trips", 5, """\
rng = np.random.default_rng(7041)
streams = [rng.integers(0, 20, 500), rng.geometric(0.6, 777), np.full(11, 4), np.array([1, 0, 0, 1, 1, 1, 0])]
out = []
for s in streams:
    code = huffman_code(np.bincount(s))
    data, nbits = huffman_encode(s, code)
    out.append(huffman_decode(data, nbits, code))
out
""", mistake="decode must return exactly the encoded symbols as int64 for random, skewed, one-symbol and two-symbol "
             "streams; read only the first nbits bits")

add("huffman_decode_ignores_padding", 3, """\
code = {0: "0", 1: "1"}
[huffman_decode(bytes([0b10100000]), 3, code), huffman_decode(bytes([0xFF, 0x00]), 9, code),
 huffman_decode(b"", 0, code)]
""", mistake="the zero bits that pad the last byte are not symbols: stop after nbits bits")

add("huffman_encode_decode_reject", 2, OUTCOME + """\
code = {0: "0", 1: "10", 2: "11"}
[outcome(huffman_encode, [0, 5], code, names="symbols"),
 outcome(huffman_decode, bytes([0b10000000]), 1, code, names="data")]
""", mistake="a symbol without a code must raise ValueError naming 'symbols'; bits that end inside a code word "
             "ValueError naming 'data'")

# ---------------------------------------------------------------- Task 6: relative_indices (10 points)

add("relative_indices_small_mask", 3, """\
mask = np.zeros(30, dtype=bool)
mask[[2, 3, 12, 29]] = True
[[*relative_indices(mask, b)] for b in (2, 3, 4, 5)]
""", visibility="visible",
    mistake="gap d = position - previous position (from -1); while d exceeds F = 2^b - 1 emit a filler F and "
            "subtract F, then emit what is left; return (int64 stream, number of fillers)")

add("relative_indices_fillers_random_masks", 5, """\
rng = np.random.default_rng(7051)
out = []
for b, keep in ((2, 0.2), (3, 0.1), (5, 0.02), (8, 0.5)):
    mask = rng.random(2000) < keep
    stream, fillers = relative_indices(mask, b)
    positions = np.cumsum(stream) - 1
    out.append([stream, fillers, bool(np.isin(np.flatnonzero(mask), positions).all()), int(stream.max())])
out
""", mistake="a gap wider than 2^b - 1 does not fit in b bits: split it into filler entries of 2^b - 1 (each a stored "
             "zero weight) and a remainder in [1, 2^b - 1]")

add("relative_indices_edge_cases", 2, """\
[[*relative_indices(np.zeros(9, dtype=bool), 3)], [*relative_indices(np.ones(4, dtype=bool), 1)],
 [*relative_indices(np.r_[np.zeros(20, dtype=bool), True], 2)]]
""", mistake="an empty mask gives an empty stream and 0 fillers; adjacent positions give gaps of 1; a first kept "
             "position far from the start also needs fillers")

# ---------------------------------------------------------------- Task 7: compression_rate (4 points)

add("compression_rate_values", 3, """\
[compression_rate(16, 2, 4), compression_rate(16, 2, 4, 16), compression_rate(235000, 5, 32),
 compression_rate(1000, 8, 256), compression_rate(1, 1, 1)]
""", visibility="visible", rtol=1e-12,
    mistake="r = n*b / (n*bits + k*b): the codebook's k*b bits belong in the denominator")

add("compression_rate_rejects_bad_arguments", 1, OUTCOME + """\
[outcome(compression_rate, 0, 2, 4, names="n"), outcome(compression_rate, 16, 0, 4, names="bits"),
 outcome(compression_rate, 16, 2, 0, names="k"), outcome(compression_rate, 16, 2, 4, 1.5, names="b")]
""", mistake="every argument must be an int >= 1; raise ValueError naming the argument")

# ---------------------------------------------------------------- Task 8: share_weights_, deep_compress (8 points)

add("share_weights_keeps_zeros_and_shares", 2, TINY + """\
shared = share_weights_(tiny, 2)
[[name, cb, idx, mask] for name, (cb, idx, mask) in shared.items()] + [tiny[0].weight, tiny[2].weight]
""", atol=1e-6,
    mistake="cluster only the non-zero weights of each layer (zeros must stay zero and get no index) and write "
            "codebook[indices] back in place")

add("share_weights_fine_tunes_centroids", 2, TINY + """\
g = torch.Generator().manual_seed(7061)
batches = [(torch.randn(16, 10, generator=g), torch.randint(0, 3, (16,), generator=g)) for _ in range(4)]
shared = share_weights_(tiny, 2, batches, epochs=2, lr=0.01)
[[name, cb] for name, (cb, idx, mask) in shared.items()] + [tiny[0].weight, tiny[2].bias]
""", atol=1e-5,
    mistake="with a loader, step only the centroids with Adam on the per-cluster SUM of weight gradients (Task 3) and "
            "rewrite the weights from the codebook after every step; biases stay as they are")

add("deep_compress_report", 4, TINY + """\
report = deep_compress(tiny, 0.5, 2, index_bits=2)
[report["layers"], report["total"], tiny[0].weight]
""", atol=1e-6,
    mistake="count each stage per layer: 32 bits per stored slot (kept + fillers) plus index_bits per stream entry "
            "when pruned; bits per slot, the stream and the 32 * 2^bits codebook when shared; Huffman-coded weight "
            "indices (fillers as symbol 2^bits) and gaps plus the codebook at the end; the total sums the layers")
