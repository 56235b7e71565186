"""mnas_reward applies beta at or below the target and alpha above it.

Caught by: mnas_reward_hard_and_sides
"""

# ruff: noqa: F821




def mnas_reward(acc: float, latency: float, target: float, alpha: float = -0.07, beta: float = -0.07) -> float:
    """ACC * (LAT / T) ** w, w = alpha if latency <= target else beta (MnasNet Eq. 2)."""
    if not 0.0 <= acc <= 1.0:
        raise ValueError(f"acc must be in [0, 1], got {acc!r}")
    if not latency > 0:
        raise ValueError(f"latency must be positive, got {latency!r}")
    if not target > 0:
        raise ValueError(f"target must be positive, got {target!r}")
    w = beta if latency <= target else alpha
    return float(acc * (latency / target) ** w)
