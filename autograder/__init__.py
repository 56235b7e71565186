"""The course's autograder: nbval runs the lab with the student's task code, hidden tests are compared in the
grader's own process with results from the reference solution. ``python -m autograder --help``."""
