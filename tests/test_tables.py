"""tools.tables.text_table: columns as wide as their widest entry, numbers right-aligned, text left-aligned."""

import pytest

from tools.tables import _reads_as_number, text_table


def test_columns_are_as_wide_as_their_widest_entry_and_numbers_align_right():
    rows = [{"case": "dense", "ms": 12.5, "speedup": 1.0}, {"case": "pruned at 90%", "ms": 3.25, "speedup": 3.846}]
    table = text_table("title line", [("case", "{case}"), ("ms", "{ms:.3f}"), ("speed-up", "{speedup:.2f}x")], rows)
    assert table.split("\n") == ["title line",
                                 "case               ms  speed-up",
                                 "dense          12.500     1.00x",
                                 "pruned at 90%   3.250     3.85x"]


def test_a_cell_may_be_a_function_of_the_row_and_mixed_columns_align_left():
    rows = [{"total": 130.0}, {"total": 80.0}]
    table = text_table("t", [("within", lambda r: "yes" if r["total"] <= 120 else "NO"), ("n", "{total:.0f}")], rows)
    assert table.split("\n")[2:] == ["NO      130", "yes      80"]


def test_no_rows_gives_the_title_and_headers():
    assert text_table("t", [("a", "{a}"), ("b", "{b}")], []) == "t\na  b"


@pytest.mark.parametrize("text, number", [("12", True), ("-0.5", True), ("1,024", True), ("3.41x", True),
                                          ("14.9%", True), ("0.97 s", True), ("yes", False), ("x", False),
                                          ("64-128-10", False), ("", False)])
def test_what_reads_as_a_number(text, number):
    assert _reads_as_number(text) is number
