import pytest
import torch
from torch import nn

from compresslab import models


def test_lenet_300_100_has_the_published_layer_shapes():
    net = models.lenet_300_100(in_features=64)
    linears = [m for m in net if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(64, 300), (300, 100), (100, 10)]
    assert sum(p.numel() for p in net.parameters()) == 64 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10
    assert net(torch.zeros(5, 64)).shape == (5, 10)


def test_mlp_seed_fixes_weights_and_rejects_bad_sizes():
    a, b, c = models.mlp([8, 4, 2], seed=1), models.mlp([8, 4, 2], seed=1), models.mlp([8, 4, 2], seed=2)
    assert torch.equal(a[0].weight, b[0].weight) and not torch.equal(a[0].weight, c[0].weight)
    assert any(isinstance(m, nn.Dropout) for m in models.mlp([8, 4, 2], dropout=0.5))
    for bad in ([8], [8, 0, 2], [8, 2.5, 2]):
        with pytest.raises(ValueError, match="sizes"):
            models.mlp(bad)
    with pytest.raises(ValueError, match="dropout"):
        models.mlp([8, 2], dropout=1.0)


def test_cnns_map_inputs_to_logits():
    assert models.digits_cnn()(torch.zeros(3, 1, 8, 8)).shape == (3, 10)
    assert models.mnist1d_cnn(channels=6)(torch.zeros(3, 40)).shape == (3, 10)
    with pytest.raises(ValueError, match="channels"):
        models.digits_cnn(channels=(0, 4))
