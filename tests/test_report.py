"""`make report` on a synthetic class of 200 students per lesson: every number checked against the truth."""
import csv
from pathlib import Path
from dataclasses import replace

import nbformat
import pytest

from grader import report, similarity, testing
from grader.autograde import Course
from lessons import REPO, lesson_mutants
from synthetic_class import HOSTILE_FLAG, generate

LESSONS = ["02_forward_pass", "03_numpy_interop"]  # a plain lesson, and one whose quiz gives credit per item


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def classes(tmp_path_factory, references, released_course):
    """lesson -> (course, truth, report folder): the lesson's class graded into its own course, then reported;
    once per lesson, on the worker that runs the lesson's group."""
    cache = {}

    def get(lesson):
        if lesson not in cache:
            root = testing.scratch_course(tmp_path_factory.mktemp(f"class-{lesson}"))
            testing.copy_release(released_course(lesson), root, lesson)
            course = replace(Course.at(root, release="release"), source=REPO / "solutions")
            truth = generate(course, lesson, references(lesson), lesson_mutants(lesson))
            report.write(course, root / "grading" / "report", [lesson])
            cache[lesson] = course, truth, root / "grading" / "report"
        return cache[lesson]

    return get


@pytest.mark.parametrize("lesson", LESSONS)
def test_question_numbers_match_the_truth(classes, lesson):
    _, truth, folder = classes(lesson)
    got = {r["question"]: r for r in rows(folder / f"{lesson}-questions.csv")}
    for q in next(iter(truth.scores.values())):
        scores = [s[q] for s in truth.scores.values()]
        top = float(got[q]["max_points"])
        assert int(got[q]["graded"]) == len(scores) == 200 - 4
        assert float(got[q]["mean"]) == pytest.approx(sum(scores) / len(scores), abs=1e-3), q
        assert float(got[q]["full_marks"]) == pytest.approx(sum(s >= top for s in scores) / len(scores), abs=1e-3), q


@pytest.mark.parametrize("lesson", LESSONS)
def test_mistake_counts_and_hints_match_the_truth(classes, lesson):
    _, truth, folder = classes(lesson)
    want = {}
    for mistakes in truth.mistakes.values():
        for q, m in mistakes.items():
            want[q, m] = want.get((q, m), 0) + 1
    got = rows(folder / f"{lesson}-mistakes.csv")
    assert {(r["question"], r["mistake"]): int(r["students"]) for r in got} == want
    hints = {m.id: m.feedback for m in lesson_mutants(lesson)}
    assert all(r["hint"] == hints[r["mistake"]] for r in got)
    assert len(want) >= 5, "the class should make a variety of mistakes"


@pytest.mark.parametrize("lesson", LESSONS)
def test_review_late_ungraded_and_totals_match_the_truth(classes, lesson):
    course, truth, folder = classes(lesson)
    review = {r["student"]: r for r in rows(folder / f"{lesson}-review.csv")}
    assert {s: r["reasons"] for s, r in review.items()} == {s: " | ".join(f) for s, f in truth.flags.items()}
    assert all(r["notebook"].endswith(f"autograded/{s}/{lesson}/{lesson}.ipynb") for s, r in review.items())
    late = {r["student"]: (float(r["hours_late"]), float(r["penalty"])) for r in rows(folder / f"{lesson}-late.csv")}
    assert late == {s: (pytest.approx(h, abs=0.01), pytest.approx(truth.penalty[s], abs=1e-3))
                    for s, h in truth.late_hours.items()}
    assert "s004" not in late and late["s006"][1] == 0, "an extension and the grace period count"
    assert any(p > 0 for _, p in late.values())
    course_rows = rows(folder / "course.csv")
    graded = {r["student"]: float(r["total"]) for r in course_rows if r[lesson] != ""}
    assert graded == pytest.approx({s: sum(q.values()) - truth.penalty.get(s, 0) for s, q in truth.scores.items()})
    assert {r["student"] for r in course_rows} == set(truth.people), "everyone on the roster has a row"
    page = (folder / f"{lesson}.html").read_text()
    assert ", ".join(truth.ungraded) in page and len(truth.ungraded) == 5
    assert "<script>" not in page and "&lt;script&gt;" in page and HOSTILE_FLAG.split("<")[0] in page
    assert page.count('<img src="data:image/png;base64,') == 1, "the figures are inline: the page opens offline"


@pytest.mark.parametrize("lesson", LESSONS)
def test_the_canvas_file_has_canvas_columns_and_the_true_scores(classes, lesson):
    _, truth, folder = classes(lesson)
    with open(folder / "canvas.csv", newline="") as f:
        header, points, *students = list(csv.reader(f))
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", lesson]
    assert points[0] == "Points Possible" and float(points[5]) == sum(report.load(
        classes(lesson)[0], lesson).questions.values())
    got = {row[3]: row for row in students}
    assert set(got) == set(truth.people)
    for student, person in truth.people.items():
        name, canvas_id, _, _, _, score = got[student]
        shown = f"{person['last_name']}, {person['first_name']}"
        assert name == ("'" + shown if shown.startswith("=") else shown), "a formula stays text"
        assert canvas_id == person["lms_user_id"]
        want = truth.scores.get(student)
        total = sum(want.values()) - truth.penalty.get(student, 0) if want is not None else None
        assert (float(score) == pytest.approx(total)) if want is not None else score == ""


@pytest.mark.parametrize("lesson", LESSONS)
def test_planted_copies_are_found_and_independent_work_is_not_paired(classes, lesson):
    _, truth, folder = classes(lesson)
    found = {(r["student_a"], r["student_b"]) for r in rows(folder / f"{lesson}-similar.csv")}
    planted = {tuple(sorted(pair)) for pair in truth.copies}
    assert len(planted) == 10 and len(found & planted) >= 0.95 * len(planted), sorted(planted - found)
    assert len(found - planted) <= 2, f"independent students paired: {sorted(found - planted)}"
    page = (folder / f"{lesson}.html").read_text()
    a, b = sorted(planted)[0]
    assert f"{a} and {b}:" in page and "<mark>" in page, "each pair is shown side by side, the shared code marked"


def test_shared_code_is_marked_and_everything_else_escaped():
    code = "x = '<script>'\ny = 1"
    assert similarity._marked(code, ([0], [14])) == "<mark>x = &#x27;&lt;script&gt;&#x27;</mark>\ny = 1"
    assert similarity.pairs({"a": "", "b": "print(1)"}, similarity.boilerplate(
        nbformat.v4.new_notebook(), nbformat.v4.new_notebook())) == [], "empty or tiny code pairs with nobody"


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium: apt-get install chromium")
@pytest.mark.parametrize("lesson", LESSONS[:1])
def test_the_class_report_opens_in_a_browser_with_its_figure_and_no_script_run(classes, lesson):
    """The 200-student page, a flag with a <script> in it included, from the disk: figure loaded, nothing run."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the [test] extra has it)")
    _, truth, folder = classes(lesson)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        dialogs = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto((folder / f"{lesson}.html").as_uri(), wait_until="load")
        figure = page.locator("img").first
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=figure.element_handle())
        assert page.get_by_text(HOSTILE_FLAG).count() == 1, "the flag is shown as text"
        assert page.locator("mark").count() > 0 and page.locator(".pair").count() >= len(truth.copies)
        page.wait_for_timeout(500)
        browser.close()
    assert not dialogs, f"a flag's script ran in the report: {dialogs}"
