"""The allow-list of cell tags. A misspelt tag would silently change what runs, so any other tag is an error."""

from __future__ import annotations

from collections.abc import Iterable

ALLOWED_TAGS: dict[str, str] = {
    "slow": "trains, sweeps or plots; runs in the notebook and in CI, skipped when grading",
    "solution": "a whole cell of reference solution; dropped from the generated lab",
    "answer": "a markdown answer to a written question; the lab keeps the cell with a placeholder to fill in",
    "export": "a lecture cell copied into compresslab/<topic>.py by `make exports`",
    "raises-exception": "the cell is expected to raise; the lab generator adds it to cells that call a stub",
    "hide-input": "rendered pages show the output of this cell but not its code",
    "headline": "a lecture cell whose printed lines are the module's measured results on the course index",
}


class TagError(ValueError):
    """A cell carries a tag that is not on the allow-list."""


def check_tags(tags: Iterable[str], where: str) -> None:
    """Raise TagError naming ``where`` if any tag is not in ALLOWED_TAGS."""
    unknown = sorted(set(tags) - set(ALLOWED_TAGS))
    if unknown:
        raise TagError(f"{where}: unknown cell tag(s) {unknown}; allowed: {sorted(ALLOWED_TAGS)}")
