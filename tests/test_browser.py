"""The student's and the instructor's JupyterLab, driven in a real browser (Playwright and Debian's chromium).

Students: the student pack, installed in a fresh environment, shows no instructor tools; every lesson opens,
its figures load. In the first lesson, its first cells run, the first check fails with its hint on the blank
answer, one answer typed in passes its public test, and nbgrader's Validate button fails the blank notebook and
passes a completed one: these work the same in every lesson. Each lesson's failure report is checked without a
browser by test_validate.py; that each completed lesson passes its checks, by nbval and by grading the
solution; that the student environment declares what the lessons import, by test_student_pack.py.
Instructors: after `make autograde`, the Formgrader lists the course's assignments and a submission's
score. Screenshots of every step land in build/e2e-screenshots/<test>/ for a person to look at.
"""
import csv
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest

import student_env
from course_copy import copy_course, make
from grader import pack, submissions, testing
from grader.feedback import question_names as feedback_names
from lessons import LESSONS, REPO, check_feedback_page, image_refs, png_size, released, source

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
SHOTS = REPO / "build" / "e2e-screenshots"
WINDOWING = {"@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"}}  # every cell in the DOM
NO_NEWS = {"@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False}}
TOKEN = "course-e2e-token"
# Timeouts guard against hangs, however busy the machine: none of them is a speed check.
VALIDATE_SECONDS = 600  # nbgrader runs the whole notebook

playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the [test] extra has it)")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install chromium")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def jupyterlab(root, home, python=sys.executable, settings=WINDOWING):
    """JupyterLab of ``python``'s environment on 127.0.0.1 serving ``root``, with its own user ``settings``,
    workspaces and runtime in ``home``."""
    for name, values in settings.items():
        path = home / "settings" / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port = free_port()
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTER_CONFIG_DIR": str(home / "config"),
           "HOME": str(home)}
    log = open(home / "jupyterlab.log", "w")
    server = subprocess.Popen(
        [str(python), "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}", "--ServerApp.allow_root=True",
         f"--LabApp.user_settings_dir={home / 'settings'}", f"--LabApp.workspaces_dir={home / 'workspaces'}",
         "--LabApp.expose_app_in_browser=True"],  # window.jupyterapp: open a notebook without reloading the app
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not start:\n{(home / 'jupyterlab.log').read_text()[-3000:]}")
                time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Steps:
    """A page plus numbered screenshots of each step; the last one is taken when a step fails."""

    def __init__(self, page, folder):
        self.page, self.folder, self.count = page, folder, 0
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)

    def shot(self, name):
        self.count += 1
        self.page.screenshot(path=str(self.folder / f"{self.count:02d}-{name}.png"))


def shots_of(test):
    return SHOTS / re.sub(r"[^\w.-]+", "_", test.name)


@pytest.fixture
def steps(browser, request):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(120_000)
    recorder = Steps(page, shots_of(request.node))
    yield recorder
    if getattr(request.node, "call_failed", True):  # set by conftest.pytest_runtest_makereport
        recorder.shot("failed")
    page.close()


def open_notebook(page, url, path):
    """Open ``path`` in a fresh workspace; returns the visible notebook panel once its kernel is idle."""
    page.goto(f"{url}/lab/tree/{path}?reset&token={TOKEN}")
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    panel.locator(".jp-Cell").first.wait_for()
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(timeout=300_000)
    return panel


def run_cells(page, panel, first, last):
    """Select cell ``first`` and press Shift+Enter through cell ``last``, as a student does; wait until each
    code cell shows a new execution count (a cell run before still shows its old one until it starts)."""
    cells = panel.locator(".jp-Cell")
    code = [i for i in range(first, last + 1) if "jp-CodeCell" in (cells.nth(i).get_attribute("class") or "")]
    before = {i: cells.nth(i).locator(".jp-InputPrompt").inner_text() for i in code}
    cells.nth(first).locator(".jp-Cell-inputWrapper").click()
    if "jp-MarkdownCell" not in (cells.nth(first).get_attribute("class") or ""):
        page.keyboard.press("Escape")  # command mode: Shift+Enter runs and moves on
    for _ in range(first, last + 1):
        page.keyboard.press("Shift+Enter")
    for index in code:
        prompt = cells.nth(index).locator(".jp-InputPrompt").element_handle()
        page.wait_for_function("([p, old]) => /\\[\\d+\\]/.test(p.textContent) && p.textContent.trim() !== old.trim()",
                               arg=[prompt, before[index]], timeout=300_000)


def errors_in(cell):
    return cell.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").all_inner_texts()


def validate(page, panel, expect):
    """Press nbgrader's Validate button; returns the dialog's text once it reports ``expect``."""
    panel.locator(".validate-button").click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator(f"#validation-message.validation-{expect}").wait_for(timeout=VALIDATE_SECONDS * 1000)
    return dialog.inner_text()


def close_dialog(page):
    page.locator(".jp-Dialog .jp-mod-accept").click()
    page.locator(".jp-Dialog").wait_for(state="detached")


@pytest.fixture(scope="module")
def student_pack(tmp_path_factory):
    """(the student pack, the python of a fresh environment it is installed in, as `pip install` would)."""
    home = tmp_path_factory.mktemp("student-pack")
    pack.build(home / "pack")
    return home / "pack", student_env.install(home / "pack", home / "venv")


@pytest.fixture(scope="module")
def student_lab(tmp_path_factory, student_pack):
    """The student pack, served by JupyterLab, with a completed copy of the first lesson beside its blank one."""
    home = tmp_path_factory.mktemp("student")
    root, python = student_pack
    lesson = LESSONS[0]
    nbformat.write(submissions.completed(released(lesson), source(lesson)),
                   str(root / "notebooks" / lesson / f"{lesson}_completed.ipynb"))
    with jupyterlab(root / "notebooks", home, python) as url:  # no news settings: the pack turns news off
        yield url


def first_exercise(lesson):
    """(index of the first answer cell, its solution, index of its public test: the next graded test cell)."""
    nb = source(lesson)
    answers, tests = submissions.answer_cells(nb), submissions.test_cells(nb)
    ids = [submissions.grade_id(c) if c.get("metadata", {}).get("nbgrader") else None for c in nb.cells]
    answer = next(i for i, g in enumerate(ids) if g in answers)
    test = next(i for i, g in enumerate(ids) if i > answer and g in tests)
    return answer, submissions.solution_answers(nb)[ids[answer]], test


def markdown_images(lesson):
    return sum(len(re.findall(r"!\[[^\]]*\]\([^)]+\)|<img ", c.source)) for c in released(lesson).cells
               if c.cell_type == "markdown")


def test_student_lab_shows_no_instructor_tools(student_lab, steps):
    """The student route's JupyterLab: no Formgrader, no Create Assignment, no course list, no news popup."""
    page = steps.page
    page.goto(f"{student_lab}/lab?reset&token={TOKEN}")
    page.locator("#jp-MainMenu").wait_for()
    config = json.loads(page.locator("#jupyter-config-data").text_content())
    disabled = set(config.get("disabledExtensions", []))
    assert {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
            "@jupyter/nbgrader:course-list"} <= disabled, disabled
    menus = page.locator("#jp-MainMenu .lm-MenuBar-itemLabel").all_inner_texts()
    assert "Nbgrader" in menus, menus
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    items = page.locator(".lm-Menu:visible .lm-Menu-itemLabel").all_inner_texts()
    steps.shot("nbgrader-menu")
    assert [i for i in items if i] == ["Assignment List"], items
    page.keyboard.press("Escape")
    for path in ("formgrader", "formgraders"):
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{student_lab}/{path}?token={TOKEN}", timeout=30)
        assert missing.value.code == 404, path
    news = json.load(urllib.request.urlopen(
        f"{student_lab}/lab/api/settings/@jupyterlab/apputils-extension:notification?token={TOKEN}", timeout=30))
    defaults = {key: value.get("default") for key, value in news["schema"]["properties"].items()}  # overrides.json
    assert defaults["fetchNews"] == "false" and defaults["checkForUpdates"] is False, defaults


def figures_load(page, panel, lesson):
    """Every figure the lesson's prose shows loads in its open notebook ``panel``."""
    images = panel.locator(".jp-RenderedMarkdown img")
    expected = markdown_images(lesson)
    playwright.expect(images).to_have_count(expected, timeout=120_000)  # markdown renders after the panel appears
    for i in range(expected):
        images.nth(i).scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete", arg=images.nth(i).element_handle())
        width = images.nth(i).evaluate("img => img.naturalWidth")
        assert width > 0, f"{lesson}: image {images.nth(i).get_attribute('src')} did not load"


@pytest.fixture(scope="module")
def one_lab_page(browser, student_lab):
    """One page of the student's JupyterLab, loaded once, in which lesson after lesson is opened in a new tab,
    as from the file browser."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(120_000)
    page.goto(f"{student_lab}/lab?reset&token={TOKEN}")
    page.locator("#jp-MainMenu").wait_for()
    yield page
    page.close()


@pytest.mark.parametrize("lesson", LESSONS[1:])
def test_every_lesson_opens_with_its_figures(one_lab_page, lesson, request):
    """What differs between lessons in the browser is their figures; running cells, checks and Validate work
    the same in each, and are proven once, on the first lesson (whose kernel proves the lessons' kernel starts)."""
    page = one_lab_page
    steps = Steps(page, shots_of(request.node))
    opened = page.evaluate("async path => (await window.jupyterapp.commands.execute('docmanager:open', {path})).id",
                           f"{lesson}/{lesson}.ipynb")
    panel = page.locator(f"[id='{opened}'].jp-NotebookPanel")
    panel.locator(".jp-Cell").first.wait_for()
    try:
        figures_load(page, panel, lesson)
    finally:
        steps.shot("opened")


def test_student_works_through_the_first_lesson(student_lab, steps):
    page, lesson = steps.page, LESSONS[0]
    panel = open_notebook(page, student_lab, f"{lesson}/{lesson}.ipynb")
    figures_load(page, panel, lesson)
    steps.shot("opened")

    text = validate(page, panel, "failed")  # the button's failure report; test_validate.py checks each lesson's
    assert "The following cell failed" in text, text
    steps.shot("validate-blank-fails")
    close_dialog(page)

    answer, code, test = first_exercise(lesson)
    cells = panel.locator(".jp-Cell")
    run_cells(page, panel, 0, answer - 1)
    for index in range(answer):
        assert not errors_in(cells.nth(index)), f"{lesson}: cell {index + 1} failed:\n{errors_in(cells.nth(index))}"
    ran = [cells.nth(i) for i in range(answer) if "jp-CodeCell" in cells.nth(i).get_attribute("class")]
    assert ran and any(c.locator(".jp-OutputArea-output").count() for c in ran), f"{lesson}: the first cells printed nothing"
    steps.shot("first-cells-ran")

    for index in range(answer, test + 1):  # one at a time: the kernel drops cells queued behind an error
        run_cells(page, panel, index, index)  # the blank answer: its check fails with the hint first, in a few lines
    failure = errors_in(cells.nth(test))
    cells.nth(test).scroll_into_view_if_needed()
    steps.shot("blank-answer-check-fails")
    assert failure and failure[0].startswith("Check failed:"), failure
    assert len(failure[0].splitlines()) <= 8, failure[0]

    editor = cells.nth(answer).locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(code)
    page.keyboard.press("Escape")
    run_cells(page, panel, answer, test)
    cells.nth(test).scroll_into_view_if_needed()
    steps.shot("public-test-passes")
    assert not errors_in(cells.nth(test)), f"{lesson}: the public test failed:\n{errors_in(cells.nth(test))}"
    assert re.search(r"\[\d+\]", cells.nth(test).locator(".jp-InputPrompt").inner_text())

    panel = open_notebook(page, student_lab, f"{lesson}/{lesson}_completed.ipynb")
    text = validate(page, panel, "success")
    assert "Success! Your notebook passes all the tests." in text, text
    steps.shot("validate-completed-passes")
    close_dialog(page)


LESSON = "02_forward_pass"  # conftest.INSTRUCTOR_LESSON


@pytest.fixture(scope="module")
def instructor_lab(tmp_path_factory, instructor_course):
    """The session's instructor course (three submissions graded by `make autograde`, their feedback written by
    `make feedback`; mallory's outputs try to run script in the instructor's browser), served by JupyterLab."""
    course, _, _ = instructor_course
    with jupyterlab(course, tmp_path_factory.mktemp("instructor-lab"), settings={**WINDOWING, **NO_NEWS}) as url:
        yield url


def test_instructor_sees_autograded_scores_in_formgrader(instructor_lab, steps):
    page = steps.page
    page.goto(f"{instructor_lab}/lab?reset&token={TOKEN}")
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    page.locator(".lm-Menu").get_by_text("Formgrader", exact=True).click()
    frame = page.frame_locator("#formgrader-iframe iframe")
    frame.locator("#main-table td.name", has_text=LESSON).wait_for()
    listed = [name.strip() for name in frame.locator("#main-table td.name").all_inner_texts()]
    assert sorted(listed) == LESSONS, f"the formgrader lists {listed}, not the course's {LESSONS}"
    steps.shot("formgrader-assignments")

    frame.locator("a", has_text="Manage Students").click()
    frame.locator("#main-table tr", has_text="alice").locator("td.score", has_text="/").wait_for()
    alice = frame.locator("#main-table tr", has_text="alice").inner_text()
    full = sum(submissions.test_cells(source(LESSON)).values())
    assert re.search(rf"\b{full:g}(\.0+)?\s*/\s*{full:g}", alice), f"alice's row: {alice!r}"
    assert "Liddell" in alice and "Alice" in alice and "None" not in alice, f"`make roster` names her: {alice!r}"
    bob = frame.locator("#main-table tr", has_text="bob").inner_text()
    assert re.search(rf"\b0(\.0+)?\s*/\s*{full:g}", bob), f"bob's row: {bob!r}"
    steps.shot("formgrader-scores")


def test_instructor_reads_the_class_report_offline(instructor_course, steps):
    """`make report` after `make autograde`: the course page lists each student's total, and the lesson's page
    opens from the disk, with no server, its figure loaded and no script run."""
    course, _, _ = instructor_course
    out = make(course, "report", assignment=LESSON)
    assert "grading/report/index.html" in out, out
    page = steps.page
    hits = beacons(page)
    page.goto((course / "grading" / "report" / "index.html").as_uri(), wait_until="load")
    full = sum(submissions.test_cells(source(LESSON)).values())
    for student, total in [("alice", full), ("bob", 0)]:
        row = page.locator("tr", has_text=student).inner_text()
        assert re.search(rf"\b{total:g}(\.0+)?\b", row), f"{student}'s row: {row!r}"
    page.get_by_role("link", name=LESSON).click()
    page.wait_for_load_state("load")
    figure = page.locator("img").first
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=figure.element_handle())
    playwright.expect(page.get_by_role("heading", name="Questions")).to_be_visible()
    assert page.locator("tr").filter(has_text="test_").count() >= 3
    steps.shot("lesson-report")
    assert_nothing_ran(page, hits, "report")


def beacons(page):
    """What the hostile outputs' script would leave if it ever ran: requests to /__pwned__/, in any frame."""
    hits = []
    page.on("request", lambda request: hits.append(request.url) if "__pwned__" in request.url else None)
    return hits


def assert_nothing_ran(page, hits, where):
    page.wait_for_timeout(1000)  # handlers of images that fail or load late
    marks = [frame.evaluate("() => window.__pwned") for frame in page.frames if not frame.is_detached()]
    assert not hits and not any(marks), f"{where}: the submission's script ran: requests {hits}, window.__pwned {marks}"


def assert_harmless_parts_shown(page, where):
    """The sanitizer keeps what cannot run: printed text (escaped), HTML and markdown text, a PNG image."""
    for text in ["kept: printed <script>window.__pwned", "kept: raised <script>window.__pwned", "kept: markdown cell"]:
        playwright.expect(page.get_by_text(text).first).to_be_visible()
    for text in ["kept: html output", "kept: markdown output"]:  # as rendered, not in the code that displayed them
        playwright.expect(page.get_by_text(text, exact=True).first).to_be_visible()
    image = page.locator("img[src^='data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAABgAAAAQ']").first
    image.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth === 24", arg=image.element_handle())
    assert image.is_visible(), f"{where}: the submission's PNG output is not shown"


def test_student_outputs_cannot_run_script_in_feedback_or_formgrader(instructor_lab, steps):
    """mallory's outputs try HTML <script>, img onerror, iframe srcdoc, SVG onload, application/javascript,
    markdown with raw HTML (an output and a cell of her own), an injected image width, printed and raised
    <script> text: on her feedback page and in the Formgrader's view of her submission nothing of it runs,
    and what is harmless still shows."""
    page = steps.page
    hits = beacons(page)
    feedback = f"grading/feedback/mallory/{LESSON}/{LESSON}.html"
    page.goto(f"{instructor_lab}/files/{feedback}?token={TOKEN}", wait_until="load")
    assert_harmless_parts_shown(page, "feedback")
    steps.shot("feedback")
    assert_nothing_ran(page, hits, "feedback")

    api = f"{instructor_lab}/formgrader/api/student_notebook_submissions/mallory/{LESSON}?token={TOKEN}"
    submission, = [notebook["id"] for notebook in page.request.get(api).json() if notebook["name"] == LESSON]
    page.goto(f"{instructor_lab}/formgrader/submissions/{submission}/?token={TOKEN}", wait_until="load")
    page.locator("#notebook-container").first.wait_for()
    assert_harmless_parts_shown(page, "formgrader")
    playwright.expect(page.locator(".score").first).to_be_visible()  # the page an instructor grades on
    steps.shot("formgrader")
    assert_nothing_ran(page, hits, "formgrader")


def assignment_list(page):
    """Open nbgrader's Assignment List from its menu; returns the panel once its lists have loaded."""
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    page.locator(".lm-Menu:visible").get_by_text("Assignment List", exact=True).click()
    panel = page.locator("#released_assignments_list").locator("xpath=ancestor::div[contains(@class, 'lm-Widget')][1]")
    page.locator("#released_assignments_list_loading").wait_for(state="hidden")
    return panel


def test_exchange_round_trip_with_figures_in_the_fetched_feedback(tmp_path, monkeypatch, student_pack, steps):
    """The whole nbgrader cycle through a real exchange, as people do it: a student (the pack's own
    configuration, one environment variable) fetches and submits from the Assignments tab; the instructor
    collects, grades, writes and releases feedback with the make targets; the student fetches it, and its page
    names every question with its score and shows its figures; `make grades` exports the score."""
    page = steps.page
    exchange, home = tmp_path / "exchange", tmp_path / "student"
    exchange.mkdir()
    (home / "work").mkdir(parents=True)
    monkeypatch.setenv("NBGRADER_EXCHANGE", str(exchange))  # the one setting both sides read
    course = copy_course(tmp_path / "course")
    make(course, "release", assignment=LESSON)
    testing.nbgrader(course, "release_assignment", LESSON)
    _, python = student_pack
    with jupyterlab(home / "work", home, python) as url:
        page.goto(f"{url}/lab?reset&token={TOKEN}")
        page.locator("#jp-MainMenu").wait_for()
        assignment_list(page)
        row = page.locator("#released_assignments_list .list_item", has_text=LESSON)
        steps.shot("released")
        row.get_by_role("button", name="Fetch", exact=True).click()
        fetched = home / "work" / LESSON / f"{LESSON}.ipynb"
        page.locator("#fetched_assignments_list .list_item", has_text=LESSON).first.wait_for()
        assert fetched.is_file(), "Fetch should put the lesson in the student's folder"
        refs = image_refs(submissions.read(fetched))
        assert refs and all(png_size(fetched.parent / ref)[0] > 0 for ref in refs), "the release carries its figures"
        nbformat.write(submissions.completed(submissions.read(fetched), source(LESSON)), str(fetched))  # the work
        page.locator("#fetched_assignments_list .list_item", has_text=LESSON).get_by_role(
            "button", name="Submit", exact=True).first.click()
        page.locator("#submitted_assignments_list .list_item", has_text=LESSON).first.wait_for()
        steps.shot("submitted")

        testing.nbgrader(course, "collect", LESSON)
        for target in ("autograde", "feedback", "release-feedback"):
            make(course, target, assignment=LESSON)
        report, = csv.DictReader(open(course / "grading" / "reports" / f"{LESSON}.csv"))
        assert report["status"] == "ok" and not report["notes"], "the lesson's own figures are no extra files"

        page.reload()
        page.locator("#jp-MainMenu").wait_for()
        assignment_list(page)
        page.locator("#submitted_assignments_list").get_by_role("button", name="Fetch Feedback").first.click()
        page.locator("#submitted_assignments_list a", has_text="view feedback").first.wait_for()
        steps.shot("feedback-fetched")
        feedback, = (home / "work" / LESSON / "feedback").glob(f"*/{LESSON}.html")
        html = feedback.read_text()
        assert "passed: right on every input the grader tried" in html and "BEGIN HIDDEN TESTS" not in html
        points = submissions.test_cells(source(LESSON))
        check_feedback_page(html, LESSON, {question: (top, top) for question, top in points.items()})
        page.goto(f"{url}/files/{feedback.relative_to(home / 'work').as_posix()}?token={TOKEN}")
        images = page.locator("img")
        assert images.count() >= len(image_refs(source(LESSON)))
        for i in range(images.count()):
            images.nth(i).scroll_into_view_if_needed()
            page.wait_for_function("img => img.complete", arg=images.nth(i).element_handle())
            assert images.nth(i).evaluate("img => img.naturalWidth") > 0, f"figure {i} did not load in the feedback"
        text, full = page.locator("body").inner_text(), sum(points.values())
        for name in feedback_names(source(LESSON)).values():
            assert name in text, f"the feedback page should name {name!r}"
        assert f"Score: {full:g} / {full:g}" in text
        steps.shot("feedback-page")
    make(course, "grades", assignment=LESSON)
    rows = list(csv.DictReader(open(course / "grading" / "grades.csv")))
    assert [(r["assignment"], float(r["score"]), float(r["max_score"])) for r in rows] == [(LESSON, full, full)]
