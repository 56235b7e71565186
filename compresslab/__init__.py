"""compresslab: the small helper package every module of the course shares.

Hand-written parts: ``data``, ``models``, ``train``, ``measure``, ``plot`` and ``utils``.
Files whose first line says "Generated" are exported from a lecture by ``make exports``; edit the lecture instead.
"""

from compresslab.utils import check_raises, compare, progress, seed_everything

__all__ = ["check_raises", "compare", "progress", "seed_everything"]
