"""The course's autograder: nbval runs the lab with the student's task code, hidden tests are compared in the
grader's own process with results from the reference solution. ``python -m autograder --help``."""

import sys

# jsonschema (under nbformat, under nbval) imports the optional rfc3987_syntax checker, which builds a grammar for
# 2.5 s; notebooks never use the formats it checks. Refusing the import keeps every grading run 2.5 s shorter.
# This runs before nbval loads: pytest imports `-p autograder.capture`, and with it this package, first.
sys.modules.setdefault("rfc3987_syntax", None)
