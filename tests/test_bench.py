"""`make bench`: the int8 table, each module's share of `make test`, and the modules' own benches."""

import importlib

import pytest
import torch

from tools import bench


def test_significant_keeps_small_ratios_away_from_zero():
    assert bench.significant(0.000123456) == 0.0001235
    assert bench.significant(2.0163) == 2.016 and bench.significant(0.0) == 0.0


def test_wide_mlp_is_seeded_and_has_the_asked_width():
    first, second = bench.wide_mlp(16), bench.wide_mlp(16)
    assert [tuple(p.shape) for p in first.parameters()] == [(16, 16), (16,), (16, 16), (16,)]
    assert all(torch.equal(a, b) for a, b in zip(first.parameters(), second.parameters()))
    assert not first.training


def test_int8_rows_times_every_path_and_restores_the_thread_count():
    threads_before = torch.get_num_threads()
    rows = bench.int8_rows(width=64, batches=(1, 4), threads=1, repeats=1, warmup=0)
    assert torch.get_num_threads() == threads_before
    paths = ["fp32", "torch.ao dynamic int8", "torchao int8 dynamic", "torchao int8 weight-only"]
    assert [(r["path"], r["batch"]) for r in rows] == [(p, b) for b in (1, 4) for p in paths]
    for r in rows:
        assert r["width"] == 64 and r["threads"] == 1 and r["ms"] > 0 and r["speedup"] > 0
        if r["path"] == "fp32":
            assert r["speedup"] == 1.0 and r["max_abs_error"] == 0.0
        else:  # int8 rounding on unit-scale inputs moves the outputs by a few hundredths at most
            assert 0 < r["max_abs_error"] < 0.1
    table = bench.format_int8_table(rows)
    assert "1 thread(s)" in table and all(p in table for p in paths)


def test_module_shares_adds_each_modules_parts_from_the_recorded_reports(tmp_path, monkeypatch):
    (tmp_path / "timings").mkdir()
    (tmp_path / "timings" / "unit.xml").write_text(
        '<testsuites><testsuite><testcase file="tests/test_pruning.py" time="1.5"/>'
        '<testcase file="tests/test_pruning.py" time="2.0"/><testcase file="tests/test_data.py" time="9"/>'
        '</testsuite></testsuites>')
    (tmp_path / "timings" / "labs.xml").write_text(
        '<testsuites><testsuite><testcase file="build/nb/labs/04_pruning.ipynb" time="4.25"/></testsuite></testsuites>')
    (tmp_path / "timings" / "validate-04_pruning.json").write_text('{"seconds": 30.0}')
    (tmp_path / "executed").mkdir()
    (tmp_path / "executed" / "seconds.json").write_text('{"lectures/04_pruning": 20.0, "solutions/04_pruning": 5.0}')
    monkeypatch.setattr(bench, "BUILD", tmp_path)
    rows = {r["module"]: r for r in bench.module_shares()}
    assert rows["04_pruning"] == {"module": "04_pruning", "unit_s": 3.5, "lecture_s": 20.0, "solution_s": 5.0,
                                  "lab_nbval_s": 4.2, "validate_s": 30.0, "total_s": 62.7}
    assert rows["01_quantization_basics"]["total_s"] == 0.0  # nothing recorded: zeros, not a crash
    table = bench.format_shares(list(rows.values()))
    assert "04_pruning" in table and "yes" in table


def test_every_module_benchmark_is_found_and_has_rows_and_a_table():
    found = dict(bench.module_benches())
    assert {"efficient_layers", "pruning"} <= set(found)
    for module in found.values():
        assert callable(module.rows) and callable(module.format_table)


@pytest.mark.parametrize("module,small", [
    ("quantization_aware_training", {"REPEATS": 1, "WIDTHS": (16,)}),
    ("lottery_tickets", {"REPEATS": 1}),
    ("architecture_search", {"REPEATS": 1, "SAMPLES": 6}),
    ("efficient_layers", {"REPEATS": 1}),
])
def test_module_bench_times_the_solutions_code_on_a_small_run(module, small, monkeypatch):
    bench_module = importlib.import_module(f"tools.bench_{module}")
    for name, value in small.items():
        monkeypatch.setattr(bench_module, name, value)
    rows = bench_module.rows()
    assert rows and bench_module.format_table(rows).count("\n") >= len(rows)
    assert all(r["threads"] == 1 for r in rows)
