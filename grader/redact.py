"""Feedback without the answers: hide hidden tests from students, keep their failure messages."""
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from grader.cells import is_test

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def redact_source(source, placeholder):
    """``source`` with each hidden-test region replaced by ``placeholder``; (new source, found any)."""
    kept, hiding, found = [], False, False
    for line in source.splitlines():
        if BEGIN in line:
            hiding, found = True, True
            indent = line[: len(line) - len(line.lstrip())]
            kept.append(indent + placeholder)
        elif END in line:
            hiding = False
        elif not hiding:
            kept.append(line)
    return "\n".join(kept), found


class RedactHiddenTests(NbGraderPreprocessor):
    """Replace hidden tests in feedback with a placeholder and shorten their errors to the message.

    A traceback would print the hidden test's source lines, so an error keeps only
    ``ErrorName: message``; the check helpers put the likely mistake in that message.
    """

    placeholder = Unicode("# (hidden tests: not shown)").tag(config=True)

    @staticmethod
    def message(error):
        """The one line a student sees for an error in a test cell."""
        if error.ename == "NotImplementedError" and not error.evalue:
            return "NotImplementedError: an answer this test needs is not written yet (it still raises NotImplementedError)"
        if error.ename in ("CellTimeoutError", "KeyboardInterrupt"):  # the grader interrupts a cell only on timeout
            return ("CellTimeoutError: this test ran past its time limit: look for an endless loop, "
                    "or a very slow step, in the code it calls")
        return f"{error.ename}: {error.evalue}"

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and is_test(cell):
            cell.source, found = redact_source(cell.source, self.placeholder)
            if found:
                for output in cell.get("outputs", []):
                    if output.output_type == "error":
                        output.traceback = [self.message(output)]
        return cell, resources
