"""grader.feedback's question names and page, on tiny notebooks and on every lesson: no kernel, no nbgrader run."""
from pathlib import Path

import nbgrader
import pytest
from bs4 import BeautifulSoup
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from traitlets.config import Config

from grader.feedback import FIGURE, TEMPLATE_DIRS, FeedbackExporter, question_names
from lessons import LESSONS, source


def graded(grade_id, points=1):
    return new_code_cell("check()", metadata={"nbgrader": {"grade_id": grade_id, "grade": True, "solution": False,
                                                           "points": points}})


def answer(code, grade_id="answer"):
    return new_code_cell(code, metadata={"nbgrader": {"grade_id": grade_id, "grade": False, "solution": True}})


def test_a_question_is_named_by_the_heading_above_it_less_its_points():
    nb = new_notebook(cells=[
        new_markdown_cell("## 1. Tensors\n\n### Exercise 1 · `describe` a tensor (2 points)\n\nWrite it.\n\n"
                          "```python\n# a comment in a code block is no heading\n```"),
        answer("def describe(t):\n    ..."), graded("test_describe", 2),
        new_markdown_cell("### Exercise 2 · the gradients (1 point for the shapes, 3 for the values)"),
        answer("def gradients(x):\n    ..."), graded("test_shapes"), graded("test_values", 3),
        new_markdown_cell("### The trained model (3 points)"), graded("test_trained", 3)])
    assert question_names(nb) == {"test_describe": "Exercise 1 · describe a tensor",
                                  "test_shapes": "Exercise 2 · the gradients (part 1)",
                                  "test_values": "Exercise 2 · the gradients (part 2)",
                                  "test_trained": "The trained model"}


def test_with_no_heading_a_question_is_named_by_what_its_answer_defines_else_its_id():
    written = new_markdown_cell("### Exercise 9 · mine", metadata={
        "nbgrader": {"grade_id": "essay", "solution": True, "grade": False}})  # an answer: never a name
    nb = new_notebook(cells=[graded("test_first"), answer("class Net:\n    pass\n\ndef train(net):\n    ..."),
                             graded("test_net"), written, answer("x = 1", "x"), graded("test_x")])
    assert question_names(nb) == {"test_first": "test_first", "test_net": "Net, train", "test_x": "test_x"}


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_question_of_a_lesson_has_its_own_name(lesson):
    names = question_names(source(lesson))
    assert len(set(names.values())) == len(names), names
    assert all(name != key and "point" not in name for key, name in names.items()), names


def test_every_figure_on_a_feedback_page_has_alt_text():
    """FeedbackExporter skips HTMLExporter's page-wide parse, which gave images without alt text a placeholder:
    a figure the code drew is described instead, and alt text it was given is kept."""
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    drew = new_code_cell("plt.plot([1, 2])", outputs=[new_output("display_data", data={"image/png": png})])
    told = new_code_cell("show()", outputs=[new_output("display_data", data={"image/png": png},
                                                       metadata={"image/png": {"alt": "The loss falls"}})])
    test = graded("test_x", 2)
    test.metadata.nbgrader["score"] = 1  # as nbgrader's GetGrades leaves it
    nb = new_notebook(cells=[new_markdown_cell("![Two tensors](data:image/png;base64," + png + ")"), drew, told, test])
    bootstrap = Path(nbgrader.__file__).parent / "server_extensions/formgrader/static/node_modules/bootstrap/dist/css"
    config = Config({"FeedbackExporter": {
        "extra_template_basedirs": TEMPLATE_DIRS, "extra_template_paths": [str(bootstrap)],  # as nbgrader sets them
        "template_name": "course_feedback", "template_file": "feedback.html.j2"}})
    page, _ = FeedbackExporter(config=config).from_notebook_node(nb, resources={
        "nbgrader": {"notebook": "lesson", "score": 1, "max_score": 2, "late_penalty": 0}, "questions": {}})
    alts = [img.get("alt") for img in BeautifulSoup(page, "html.parser").find_all("img")]
    assert alts == ["Two tensors", FIGURE, "The loss falls"], alts
    assert "Score: 1 / 2" in page and "highlight hl-ipython3" in page  # the course's template, code highlighted
