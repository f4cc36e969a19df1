"""The promises the README makes: two commands, one test command for CI, matching conda and pip metadata."""
import re

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

import yaml

from lessons import REPO

CONDA_NAMES = {"torch": "pytorch"}


def requirement(spec):
    """('name', 'constraint') of a requirement such as 'torch>=2.2' or 'psycopg[binary]>=3.1'."""
    name, constraint = re.match(r"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?\s*([^;]*)", spec).groups()
    return name.lower().replace("_", "-"), constraint.replace(" ", "")


def test_environment_yml_lists_the_pip_requirements():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pip = {requirement(s) for s in project["dependencies"] + project["optional-dependencies"]["test"]}
    pip = {(CONDA_NAMES.get(name, name), c) for name, c in pip}
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    from_pip = [s for d in env["dependencies"] if isinstance(d, dict) for s in d.get("pip", []) if not s.startswith("-")]
    conda = {requirement(s) for s in env["dependencies"] + from_pip if isinstance(s, str)} - {
        ("python", ">=3.10"), ("pip", "")}
    assert conda == pip, f"only in environment.yml: {conda - pip}; only in pyproject.toml: {pip - conda}"
    python = f">={project['requires-python'].removeprefix('>=')}"
    assert ("python", python) in {requirement(s) for s in env["dependencies"] if isinstance(s, str)}


def test_readme_gives_the_two_commands_and_ci_runs_the_test_one():
    readme = (REPO / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme
    commands = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    assert commands[-1] == "make test", ".ci/run must end by running the README's test command"


def test_grading_folders_are_gitignored():
    from traitlets.config.loader import PyFileConfigLoader

    ignored = (REPO / ".gitignore").read_text().split()
    assert "grading/" in ignored and ".venv/" in ignored
    config = PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()
    course = config.CourseDirectory
    for name in ["submitted_directory", "autograded_directory", "feedback_directory"]:
        assert course[name].startswith("grading/"), f"{name} should live under grading/"
    assert course.db_url == f"sqlite:///{REPO / 'grading' / 'gradebook.db'}"
    assert config.NbGrader.logfile == str(REPO / "grading" / "nbgrader.log")


def test_tests_that_share_a_fixture_share_an_xdist_group(request):
    """Grouped by node id (conftest.xdist_group), a test shares a worker with the tests whose costly fixture it
    uses; a notebook's nbval cells run in one kernel, in order (of the tests collected with this one)."""
    from conftest import GROUPS_WRONG

    assert request.config.stash[GROUPS_WRONG] == [], "\n".join(request.config.stash[GROUPS_WRONG])
