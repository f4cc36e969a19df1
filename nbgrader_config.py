"""nbgrader configuration for the course (read by every `nbgrader` command run from this folder)."""
import os

from grader.execute import BudgetedExecute
from grader.redact import RedactHiddenTests
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, GetGrades, IgnorePattern,
                                    LimitOutput, SaveAutoGrades)

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "pytorch-course"
# The instructor edits solutions/; `make release` generates the student notebooks into notebooks/.
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
# Everything grading produces lives under grading/ (gitignored): submissions, results, feedback, gradebook.
c.CourseDirectory.submitted_directory = "grading/submitted"
c.CourseDirectory.autograded_directory = "grading/autograded"
c.CourseDirectory.feedback_directory = "grading/feedback"
c.CourseDirectory.solution_directory = "grading/solution"
GRADING = os.path.join(os.path.dirname(os.path.abspath(__file__)), "grading")
os.makedirs(GRADING, exist_ok=True)
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(GRADING, "gradebook.db")
c.NbGrader.logfile = os.path.join(GRADING, "nbgrader.log")
# Where release_assignment / fetch / submit / collect meet; override per machine with NBGRADER_EXCHANGE.
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE", "/srv/nbgrader/exchange")

# Time budgets. nbgrader's default is 30 s per cell, which kills a CPU training cell of the MNIST lab
# (about a minute on 2 cores). Each cell gets up to 5 minutes, and one notebook 15 minutes in all, so a
# submission stuck in a loop costs the class at most 15 minutes, never the whole grading run.
c.BudgetedExecute.timeout = 300
c.BudgetedExecute.notebook_timeout = 900
c.Autograde.autograde_preprocessors = [
    BudgetedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
    SaveAutoGrades, AssignLatePenalties, CheckCellMetadata,
]

# Students see their failure messages but never the hidden tests' code.
c.GenerateFeedback.preprocessors = [GetGrades, RedactHiddenTests, CSSHTMLHeaderPreprocessor]
