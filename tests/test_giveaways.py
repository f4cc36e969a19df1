"""Nothing a student can read earns the points: every visible snippet, pasted as the answer it resembles, loses."""
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader import autograde, submissions
from giveaways import candidates
from lessons import LESSONS, REPO, released, source


EXAMPLE = """t = torch.arange(4.0)
try:
    t.mean(dim=5)
except IndexError as error:
    print(error)
print([round(v) for v in t.tolist()], t.sum() / t.numel())"""


def tiny(answer):
    cells = [new_markdown_cell("Scale with `t * 3.0 + offset`, or:\n\n```python\nx = torch.ones(3)\n"
                               "print(x.sum() / x.numel())\n```"),
             new_code_cell(answer, metadata={"nbgrader": {"grade_id": "mean", "solution": True, "grade": False}}),
             new_code_cell("def helper(v):\n    return v.sum() / v.numel()"),
             new_code_cell(EXAMPLE)]
    return new_notebook(cells=cells)


def test_examples_become_the_answers_they_resemble():
    source = tiny("def mean(t):\n    ### BEGIN SOLUTION\n    return t.sum() / t.numel()\n    ### END SOLUTION")
    found = {c.origin: c.code for c in candidates(source, tiny("raise NotImplementedError()"))}
    assert found["x.sum() / x.numel() in the prose of cell 1"] == "def mean(t):\n    x = t\n    return x.sum() / x.numel()"
    # the example's `t` is the parameter `t`; `error` and `v` are its own names, not inputs a student supplies
    assert found["t.sum() / t.numel() in code cell 4"] == ("def mean(t):\n    try:\n        t.mean(dim=5)\n"
                                                          "    except IndexError as error:\n        print(error)\n"
                                                          "    return t.sum() / t.numel()")
    assert found["helper in code cell 3"].endswith("def mean(*args, **kwargs):\n    return helper(*args, **kwargs)")
    assert not any("offset" in code for code in found.values()), "an expression unlike the answer is no candidate"


@pytest.mark.parametrize("lesson", LESSONS)
def test_nothing_visible_earns_the_points(references, lesson, tmp_path):
    expected = references(lesson)
    course = autograde.Course(REPO / "solutions", REPO / "notebooks", tmp_path, None)
    rel, src = released(lesson), source(lesson)
    answers = submissions.solution_answers(src)
    found = candidates(src, rel)
    notebooks = {f"giveaway-{i}": submissions.with_answers(rel, {**answers, c.cell: c.code}) for i, c in enumerate(found)}
    points = {q: top for q, top in submissions.test_cells(src).items()}
    grade_all = autograde.reference_runner(course, lesson, autograde.sandbox.Limits(), 2, None)
    given = []
    for run_id, outcome in grade_all(notebooks).items():
        expected.judge(outcome, points)
        if outcome.total >= sum(points.values()):
            candidate = found[int(run_id.split("-")[1])]
            given.append(f"{candidate.origin}, pasted as {candidate.cell}")
    assert not given, f"{lesson}: visible code earns an exercise's points: {given}"
