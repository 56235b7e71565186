import numpy as np
import pytest
import torch
from matplotlib import pyplot as plt

from compresslab import check_raises, compare, plot, seed_everything


def test_compare_reports_exact_allclose_and_different(capsys):
    x = np.array([1.0, 2.0, np.nan, np.inf])
    assert compare("same", x, torch.tensor(x)) == 0.0
    assert "exact" in capsys.readouterr().out
    assert compare("close", x + [1e-9, 0, 0, 0], x) == pytest.approx(1e-9)
    assert "allclose" in capsys.readouterr().out
    assert compare("far", x + [0.5, 0, 0, 0], x) == pytest.approx(0.5)
    assert "DIFFERENT" in capsys.readouterr().out


def test_compare_treats_one_sided_nan_or_inf_as_infinitely_far():
    assert compare("nan", np.array([np.nan]), np.array([1.0])) == np.inf
    assert compare("inf", np.array([np.inf]), np.array([1.0])) == np.inf
    assert compare("signs", np.array([np.inf]), np.array([-np.inf])) == np.inf
    with pytest.raises(ValueError, match="shape"):
        compare("shapes", np.zeros(3), np.zeros(4))


def test_seed_everything_makes_every_generator_repeat():
    seed_everything(7)
    first = (np.random.rand(), torch.rand(1).item())
    seed_everything(7)
    assert (np.random.rand(), torch.rand(1).item()) == first
    with pytest.raises(ValueError, match="seed"):
        seed_everything(-1)


def test_new_axes_sets_title_and_labels():
    fig, ax = plot.new_axes("t", "bits", "accuracy (%)")
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("t", "bits", "accuracy (%)")
    plt.close(fig)


def _needs_positive(bits: int) -> int:
    if bits <= 0:
        raise ValueError(f"bits must be positive, got {bits}")
    return bits


def test_check_raises_passes_only_on_the_named_error():
    check_raises(_needs_positive, 0, names="bits")
    with pytest.raises(AssertionError, match="should name 'scale'"):
        check_raises(_needs_positive, 0, names="scale")
    with pytest.raises(AssertionError, match=r"_needs_positive\(3\) should raise ValueError"):
        check_raises(_needs_positive, 3, names="bits")
    with pytest.raises(ValueError):  # another error type than the one asked for is not swallowed
        check_raises(_needs_positive, 0, names="bits", error=TypeError)
