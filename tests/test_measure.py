import pytest
import torch
from torch import nn

from compresslab import measure, models


def test_count_parameters_and_nonzero():
    net = models.mlp([4, 3, 2])
    assert measure.count_parameters(net) == 4 * 3 + 3 + 3 * 2 + 2
    with torch.no_grad():
        net[0].weight[0].zero_()
    assert measure.count_parameters(net, nonzero_only=True) == measure.count_parameters(net) - 4


def test_size_bytes_scales_with_bits_and_accepts_a_per_parameter_map():
    net = models.mlp([10, 7, 3])
    n = measure.count_parameters(net)
    assert measure.size_bytes(net) == 4 * n
    assert measure.size_bytes(net, 8) == n
    assert measure.size_bytes(net, 4) == (4 * n + 7) // 8
    widths = {"0.weight": 8, "2.weight": 4}
    expected_bits = 70 * 8 + 21 * 4 + (7 + 3) * 32
    assert measure.size_bytes(net, widths) == (expected_bits + 7) // 8
    with pytest.raises(ValueError, match="bits"):
        measure.size_bytes(net, 0)


def test_count_macs_matches_layer_formulas():
    net = models.mlp([64, 300, 100, 10])
    assert measure.count_macs(net, (64,)) == 64 * 300 + 300 * 100 + 100 * 10
    conv = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1), nn.Conv2d(8, 8, 3, stride=2, groups=4))
    h1 = 6 * 6 * 8 * 4 * 9
    h2 = 2 * 2 * 8 * (8 // 4) * 9
    assert measure.count_macs(conv, (4, 6, 6)) == h1 + h2
    cnn = models.mnist1d_cnn(channels=5)
    expected = 19 * 5 * 1 * 5 + 10 * 5 * 5 * 3 + 5 * 5 * 5 * 3 + 25 * 10
    assert measure.count_macs(cnn, (40,)) == expected


def test_latency_calls_warmup_plus_repeats_and_returns_the_median():
    calls = []
    ms = measure.latency_ms(lambda: calls.append(1), repeats=7, warmup=3)
    assert len(calls) == 10 and ms >= 0.0
    with pytest.raises(ValueError, match="repeats"):
        measure.latency_ms(lambda: None, repeats=0)


def test_torch_threads_sets_and_restores_the_count_even_after_an_error():
    before = torch.get_num_threads()
    other = before + 1  # a count that differs from the current one, so that restoring it is observable
    with measure.torch_threads(other):
        assert torch.get_num_threads() == other
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), measure.torch_threads(other):
        raise RuntimeError("a failing timing")
    assert torch.get_num_threads() == before
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="n must be"), measure.torch_threads(bad):
            pass
