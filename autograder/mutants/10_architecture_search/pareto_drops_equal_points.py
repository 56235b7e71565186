"""pareto_front keeps only strictly better points in a cost sweep: it drops equal points.

Caught by: pareto_front_ties
"""

# ruff: noqa: F821




def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the non-dominated (accuracy, cost) points, by increasing cost, ties by index."""
    if any(len(p) != 2 for p in points):
        raise ValueError(f"points must be (accuracy, cost) pairs, got {points!r}")
    pts = [(float(a), float(c)) for a, c in points]
    front, best = [], -float("inf")
    for i in sorted(range(len(pts)), key=lambda i: (pts[i][1], i)):
        if pts[i][0] > best:
            front.append(i)
            best = pts[i][0]
    return front
