"""pareto_front drops only points strictly worse in both: it keeps weakly dominated ones.

Caught by: pareto_front_ties
"""

# ruff: noqa: F821




def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the non-dominated (accuracy, cost) points, by increasing cost, ties by index."""
    if any(len(p) != 2 for p in points):
        raise ValueError(f"points must be (accuracy, cost) pairs, got {points!r}")
    pts = [(float(a), float(c)) for a, c in points]
    front = []
    for i, (a, c) in enumerate(pts):
        dominated = any(aj > a and cj < c for aj, cj in pts)
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: (pts[i][1], i))
