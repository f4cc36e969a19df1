"""The full nbgrader cycle through a real exchange: release, fetch, submit, collect, grade, feedback, export."""
import csv
import shutil
from dataclasses import replace

import nbformat

from grader import autograde, pack, submissions, testing
from lessons import REPO, check_feedback_page, image_refs, png_size, source

LESSON = "02_forward_pass"


def test_full_cycle_through_the_exchange(tmp_path, monkeypatch, released_course):
    exchange, cache, home = tmp_path / "exchange", tmp_path / "cache", tmp_path / "student"
    exchange.mkdir()
    monkeypatch.setenv("NBGRADER_EXCHANGE", str(exchange))  # one setting, read by both sides
    instructor = testing.scratch_course(tmp_path / "instructor", exchange=exchange)
    pack.build(tmp_path / "pack")  # the student side knows the course and the exchange from its own config
    home.mkdir()
    shutil.copy(tmp_path / "pack" / "jupyter" / "nbgrader_config.py", home)
    shared = [f"--Exchange.root={exchange}", f"--Exchange.cache={cache}"]
    student = [f"--Exchange.cache={cache}"]

    def run(where, *args):
        return testing.nbgrader(where, *args)

    testing.copy_release(released_course(LESSON), instructor, LESSON)  # generate_assignment's release
    run(instructor, "release_assignment", LESSON, *shared)
    run(home, "fetch_assignment", LESSON, *student)

    # What the student received renders its images: the release carried them along.
    fetched = home / LESSON / f"{LESSON}.ipynb"
    nb = submissions.read(fetched)
    refs = image_refs(nb)
    assert refs, "lesson 02 shows figures"
    for ref in refs:
        assert png_size(fetched.parent / ref)[0] > 0, f"{ref} did not reach the student"

    nbformat.write(submissions.completed(nb, source(LESSON)), str(fetched))
    run(home, "submit", LESSON, *student)
    run(instructor, "collect", LESSON, *shared)
    course = replace(autograde.Course.at(instructor, release="release"), source=REPO / "solutions")
    graded = autograde.autograde(course, LESSON, workers=1, log=lambda *_: None)
    (outcome,) = graded.values()  # collected from the exchange, graded in the sandbox
    assert outcome.total == sum(submissions.test_cells(source(LESSON)).values()) and not outcome.flags
    assert not outcome.notes, "the figures the lesson came with are no extra files"
    run(instructor, "generate_feedback", LESSON)
    run(instructor, "release_feedback", LESSON, *shared)
    run(home, "fetch_feedback", LESSON, *student)

    feedback = list((home / LESSON / "feedback").glob(f"*/{LESSON}.html"))
    assert len(feedback) == 1, "the student should have received one feedback file"
    text = feedback[0].read_text()
    assert "passed: right on every input the grader tried" in text and "BEGIN HIDDEN TESTS" not in text
    check_feedback_page(text, LESSON, outcome.scores)  # the page alone: its figures are inside it

    run(instructor, "export", "--to", str(tmp_path / "grades.csv"))
    rows = list(csv.DictReader(open(tmp_path / "grades.csv")))
    total = sum(submissions.test_cells(source(LESSON)).values())
    assert [(r["assignment"], float(r["score"]), float(r["max_score"])) for r in rows] == [(LESSON, total, total)]
