"""`make student-pack`: what students receive holds no solution, no hidden test and no grader code."""
import subprocess
import zipfile

from lessons import LESSONS, REPO, secret_lines


def test_student_pack_has_the_course_and_no_answers(tmp_path):
    proc = subprocess.run(["make", "--no-print-directory", "-o", ".venv/.installed", "student-pack",
                           f"PACK={tmp_path / 'student-pack'}"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    archive = tmp_path / "student-pack.zip"
    names = zipfile.ZipFile(archive).namelist()
    assert {f"notebooks/{lesson}/{lesson}.ipynb" for lesson in LESSONS} <= set(names)
    assert "course/checks.py" in names and "pyproject.toml" in names
    assert not [n for n in names if n.startswith(("grader/", "solutions/", "tests/")) or n.endswith(".yml")]
    figures = [n for n in names if n.endswith(".png")]
    assert figures and all(zipfile.ZipFile(archive).read(n)[:4] == b"\x89PNG" for n in figures)
    files = {n: zipfile.ZipFile(archive).read(n).decode("utf-8", "replace") for n in names}
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert not [n for n, text in files.items() if marker in text]
    shared = "\n".join(text for n, text in files.items() if not n.startswith("notebooks/"))
    for lesson in LESSONS:
        # Each lesson's secrets, searched in its own files and in everything shared by all lessons
        # (a line public in another lesson is no secret).
        text = shared + "\n".join(t for n, t in files.items() if n.startswith(f"notebooks/{lesson}/"))
        leaked = sorted(line for line in secret_lines(lesson) if line in text)
        assert not leaked, f"{lesson}: the student pack contains solution or hidden-test lines: {leaked[:3]}"

