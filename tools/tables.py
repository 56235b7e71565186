"""Plain-text tables for ``make bench``: one helper, so that every benchmark lays out its rows the same way."""

from __future__ import annotations

from collections.abc import Callable, Sequence

Cell = str | Callable[[dict], str]


def _fill(cell: Cell, row: dict) -> str:
    """One cell's text: a format string filled from the row's fields, or a function of the row."""
    return cell.format(**row) if isinstance(cell, str) else cell(row)


def _reads_as_number(text: str) -> bool:
    """True for '12', '-0.5', '1,024', '3.41x', '14.9%' or '0.97 s': a number with thousands commas and a unit."""
    try:
        float(text.replace(",", "").removesuffix(" s").rstrip("x%"))
    except ValueError:
        return False
    return True


def text_table(title: str, columns: Sequence[tuple[str, Cell]], rows: Sequence[dict]) -> str:
    """The title, a header line and one line per row. A column is (header, cell), where cell is a format string
    filled from the row (``"{ms:.3f}"``) or a function of the row; each column is as wide as its widest entry, and a
    column whose every cell reads as a number is right-aligned."""
    headers = [header for header, _ in columns]
    body = [[_fill(cell, row) for _, cell in columns] for row in rows]
    widths = [max(len(text) for text in [header, *(line[i] for line in body)]) for i, header in enumerate(headers)]
    numeric = [bool(body) and all(_reads_as_number(line[i]) for line in body) for i in range(len(columns))]

    def layout(texts: list[str]) -> str:
        padded = [t.rjust(w) if right else t.ljust(w) for t, w, right in zip(texts, widths, numeric)]
        return "  ".join(padded).rstrip()

    return "\n".join([title, layout(headers), *(layout(line) for line in body)])
