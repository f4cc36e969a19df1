"""Grading tooling: nbgrader plugins and the harness that tests the tests."""
