"""``make bench``: time every lecture and solution notebook, one at a time, and print a table.

Notebooks run sequentially so that the two cores are not shared between timings. The budget column checks the
course's rule that each lecture and each solution runs in under 60 seconds on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys

import torch

from tools.notebooks import BUILD, ROOT, execute, sources

BUDGET_S = 60.0


def notebook_rows(dirs: tuple[str, ...]) -> list[dict[str, object]]:
    """One row per notebook: its path, wall-clock seconds and whether it is inside the budget."""
    rows = []
    for source in sources(dirs):
        _, seconds = execute(source)
        rows.append({"notebook": str(source.relative_to(ROOT)), "seconds": round(seconds, 1),
                     "budget_s": BUDGET_S, "ok": seconds < BUDGET_S})
        print(f"  ran {source.relative_to(ROOT)} in {seconds:.1f} s", file=sys.stderr)
    return rows


def format_table(rows: list[dict[str, object]]) -> str:
    """A plain-text table of notebook timings."""
    width = max(len(str(r["notebook"])) for r in rows)
    lines = [f"{'notebook':<{width}}  {'seconds':>8}  {'budget':>7}  within",
             f"{'-' * width}  {'-' * 8}  {'-' * 7}  ------"]
    for r in rows:
        lines.append(f"{r['notebook']:<{width}}  {r['seconds']:>8.1f}  {r['budget_s']:>6.0f}s  "
                     f"{'yes' if r['ok'] else 'NO'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dirs", nargs="+", default=["lectures", "solutions"])
    args = parser.parse_args(argv)
    os.environ["CI"] = "1"  # no progress bars inside timed runs
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads", file=sys.stderr)
    rows = notebook_rows(tuple(args.dirs))
    print(format_table(rows))
    BUILD.mkdir(exist_ok=True)
    (BUILD / "bench.json").write_text(json.dumps({"notebooks": rows}, indent=2))
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
