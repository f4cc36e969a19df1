"""Stock ``nbgrader autograde`` (and the Formgrader's Autograde button) would grade on the public checks alone."""
from nbgrader.preprocessors import NbGraderPreprocessor

MESSAGE = ("this course is graded with `make autograde` (python -m grader autograde): it runs each submission in a "
           "sandbox and judges its answers outside the student's kernel. Stock `nbgrader autograde` and the "
           "Formgrader's Autograde button would grade on the public checks alone, so they refuse.")


class RefuseStockAutograde(NbGraderPreprocessor):
    """The first autograde preprocessor: stops before any student code runs, saying what to use instead."""

    def preprocess(self, nb, resources):
        raise RuntimeError(MESSAGE)
