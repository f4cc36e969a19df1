"""nbgrader configuration for the course (read by every `nbgrader` command run from this folder)."""
import os

from grader.feedback import TEMPLATE_DIRS, FeedbackExporter, NameQuestions
from grader.refuse import RefuseStockAutograde
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import GetGrades

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "pytorch-course"
# The instructor edits solutions/; `make release` generates the student notebooks into notebooks/.
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
# A lesson's grading.py (its probes and judgements) stays with the instructor: never released.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "grading.py"]
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

# `make autograde` grades (sandboxed kernels, answers judged as data, time limits in grader/sandbox.py);
# stock `nbgrader autograde` and the Formgrader's button refuse with a message saying so.
c.Autograde.autograde_preprocessors = [RefuseStockAutograde]

# Feedback: each question's verdict is already under its test cell (the grader wrote it there). The page
# names each question by its exercise and carries its figures (release_feedback sends the page alone).
c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, NameQuestions]
c.GenerateFeedback.exporter_class = FeedbackExporter
c.FeedbackExporter.extra_template_basedirs = TEMPLATE_DIRS
c.FeedbackExporter.template_name = "course_feedback"
c.FeedbackExporter.template_file = "feedback.html.j2"
c.FeedbackExporter.embed_images = True
