"""Run a submission with a time budget per cell and for the whole notebook."""
import time

from nbgrader.preprocessors import Execute
from traitlets import Integer


class BudgetedExecute(Execute):
    """nbgrader's Execute, plus ``notebook_timeout``: the seconds all cells of one notebook may take.

    Each cell may run for ``timeout`` seconds or for what is left of the notebook's budget,
    whichever is less, so one stuck submission cannot stall a whole grading run.
    """

    notebook_timeout = Integer(900, help="Seconds all cells of one notebook may take together.").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        deadline = time.monotonic() + self.notebook_timeout
        self.timeout_func = lambda cell: max(1, min(self.timeout, int(deadline - time.monotonic())))
        return super().preprocess(nb, resources, km=km)
