"""Progress bars show where someone watches a long loop and stay out of graded runs."""
from course import progress


def test_a_graded_run_draws_no_progress_bar(monkeypatch, capsys):
    monkeypatch.setenv(progress.ENV_VAR, "off")  # what the grader sets in every kernel (grader/kernel.py)
    assert list(progress.progress(range(3), desc="training")) == [0, 1, 2]
    assert capsys.readouterr() == ("", "")


def test_elsewhere_the_bar_is_drawn(monkeypatch, capsys):
    monkeypatch.delenv(progress.ENV_VAR, raising=False)
    assert list(progress.progress(range(3), desc="training")) == [0, 1, 2]
    assert "training: 100%" in capsys.readouterr().err
