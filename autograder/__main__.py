"""Command line of the autograder: grade, batch, gradescope and validate (``python -m autograder COMMAND --help``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder import batch as batching
from autograder import grade as grading
from autograder import gradescope, sandbox
from autograder import validate as validating


def _lab(value: str) -> str:
    if value not in grading.labs():
        raise argparse.ArgumentTypeError(f"unknown lab {value!r}; known labs: {', '.join(grading.labs())}")
    return value


def warn_about_protections() -> None:
    """Say on stderr which protections this machine cannot give the grading kernels, and why."""
    protections = sandbox.protections()
    for what in protections.missing:
        print(f"warning: grading runs without {what}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grade", help="grade one submission (.ipynb or Jupytext .py)")
    g.add_argument("submission", type=Path)
    g.add_argument("--lab", type=_lab, required=True)
    g.add_argument("--out", type=Path, default=Path("build/grade"))
    g.add_argument("--public", action="store_true", help="run only the tests the lab shows (a self-check)")
    b = sub.add_parser("batch", help="grade every submission in a folder and write a gradebook")
    b.add_argument("folder", type=Path)
    b.add_argument("--lab", type=_lab, required=True)
    b.add_argument("--jobs", type=int, default=grading.default_jobs(),
                   help="gradings at once (default: cores + 1, so one grading's waits overlap another's work)")
    b.add_argument("--out", type=Path, required=True)
    b.add_argument("--force", action="store_true", help="regrade students that already have results")
    z = sub.add_parser("gradescope", help="build a Gradescope autograder zip for one lab")
    z.add_argument("--lab", type=_lab, required=True)
    z.add_argument("-o", "--output", type=Path, default=Path("build/autograder.zip"))
    v = sub.add_parser("validate", help="solution full marks, untouched lab zero, every mutant loses points")
    v.add_argument("--lab", type=_lab, action="append", help="default: every lab with hidden tests")
    r = sub.add_parser("gradescope-run", help="(in a Gradescope image) grade the submission into results/")
    r.add_argument("--lab", type=_lab, required=True)
    r.add_argument("--home", type=Path, default=Path("/autograder"))
    args = parser.parse_args(argv)
    warn_about_protections()

    if args.command == "grade":
        if not args.submission.exists():
            parser.exit(2, f"error: {args.submission} does not exist\n")
        try:
            report = grading.grade(args.submission, args.lab, public=args.public)
        except FileNotFoundError as err:  # a student release has only the public checks
            parser.exit(2, f"error: {err}\n")
        grading.write_results(report, args.out)
        print(grading.table(report))
        for note in report.notes:
            print(f"note: {note}")
        print(f"wrote {args.out / 'results.json'} and {args.out / 'feedback.md'}")
        return 0
    if args.command == "gradescope":
        print(f"wrote {gradescope.build_zip(args.lab, args.output)}")
        return 0
    if args.command == "batch":
        if not args.folder.is_dir():
            parser.exit(2, f"error: {args.folder} is not a folder\n")
        try:
            print(f"wrote {batching.batch(args.folder, args.lab, args.out, args.jobs, args.force)}")
        except batching.BatchInputError as err:
            parser.exit(2, f"error: {err}\n")
        return 0
    if args.command == "gradescope-run":
        return gradescope.run(args.lab, args.home)
    ok = all([validating.validate(lab) for lab in (args.lab or grading.labs())])  # run every lab, then decide
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
