# The instructor's repository: `make lab` (the course and its tools in JupyterLab) and `make test` (everything
# is checked); release, autograde, feedback, grades, student-pack (see README.md). Students get the student pack.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ASSIGNMENTS := $(notdir $(wildcard solutions/[0-9][0-9]_*))
ASSIGNMENT ?= $(ASSIGNMENTS)
# nbgrader runs helpers (alembic) from PATH: use the virtual environment's.
export PATH := $(abspath $(BIN)):$(PATH)

# PyTorch: the CPU build on Linux without an NVIDIA GPU (a 190 MB wheel; the CUDA build needs several GB).
# For the CUDA build: make lab TORCH_INDEX=https://download.pytorch.org/whl/cu126 (or TORCH_INDEX= for PyPI's).
TORCH_SPEC ?= torch==2.13.0
ifeq ($(shell uname -s),Linux)
ifeq ($(shell command -v nvidia-smi),)
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
endif
endif

.PHONY: lab test release figures autograde feedback report roster instant grades student-pack bench clean

# A damaged .venv (bin/ deleted, moved, its Python gone, packages removed) is rebuilt from scratch: pip
# would find the packages still in lib/ and never restore their scripts. Every goal but clean checks it first,
# with one short python: it runs, and what its stamps promise is there (modules; a jupyter that starts).
LAB_MODULES := torch jupyterlab nbgrader course grader
TEST_MODULES := pytest xdist nbval playwright yaml
VENV_CHECK := import importlib.util as u, os; \
	stamps = {"$(VENV)/.installed": "$(LAB_MODULES)", "$(VENV)/.installed-test": "$(TEST_MODULES)"}; \
	gone = [m for s in stamps if os.path.exists(s) for m in stamps[s].split() if u.find_spec(m) is None]; \
	jupyter = "$(BIN)/jupyter"; \
	starts = os.path.exists(jupyter) and os.access((open(jupyter, "rb").readline()[2:].split() or [b""])[0], os.X_OK); \
	print("missing modules: " + " ".join(gone) if gone else \
		jupyter + " does not start" if os.path.exists("$(VENV)/.installed") and not starts else "")
ifneq ($(and $(wildcard $(VENV)),$(filter-out clean,$(or $(MAKECMDGOALS),default))),)
VENV_PROBLEM := $(shell $(BIN)/python -I -c '$(VENV_CHECK)' 2>/dev/null || echo "$(BIN)/python does not run")
endif

.PHONY: FORCE
$(BIN)/activate: $(if $(VENV_PROBLEM),FORCE)
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "Python 3.10 or newer is needed: set PYTHON=python3.x"'
	$(if $(VENV_PROBLEM),@echo "the virtual environment in $(VENV) is broken ($(VENV_PROBLEM)); rebuilding it")
	$(if $(VENV_PROBLEM),rm -rf $(VENV))
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

# Each stamp reinstalls when pyproject.toml changes: `make lab` needs the course, `make test` also its tools.
$(VENV)/.installed: pyproject.toml $(BIN)/activate
	$(BIN)/python -m pip install --retries 1 --timeout 20 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install -e ".[test]"
	touch $@

# student/jupyter/overrides.json: no news popup and no update check, as in the students' JupyterLab.
lab: $(VENV)/.installed
	$(BIN)/jupyter lab --ServerApp.root_dir=notebooks --LabApp.app_settings_dir=student/jupyter \
		$(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

# Two workers; a "scope" is a group of tests that share a costly fixture (tests/conftest.py: each group runs on
# one worker), longest first: --no-loadscope-reorder keeps that order.
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -n 2 --dist loadscope --no-loadscope-reorder --nbval-lax tests solutions

figures: $(VENV)/.installed
	$(BIN)/python assets/figures.py

# Each lesson is generated aside and swapped in whole: one that fails keeps its current release.
release: $(VENV)/.installed
	@$(BIN)/python -m grader release $(ASSIGNMENT)

# Lessons without submissions (or without graded ones, for feedback) are skipped with a note.
HAS = if [ -z "$$(ls -d grading/$(1)/*/$$a 2>/dev/null)" ]; then echo "$$a: nothing in grading/$(1)/, skipped"; continue; fi

# Sandboxed kernels, WORKERS at once (default: one per core); SCHEDULER=tcp://host:8786 grades on a Dask
# cluster; GRADEBOOK_URL=postgresql://... uses PostgreSQL. A report per lesson lands in grading/reports/.
autograde: $(VENV)/.installed
	for a in $(ASSIGNMENT); do $(call HAS,submitted); $(BIN)/python -m grader autograde "$$a" \
		$(if $(WORKERS),--workers $(WORKERS)) $(if $(SCHEDULER),--scheduler $(SCHEDULER)) || exit 1; done

# Feedback is written to grading/feedback/ for you to read; release-feedback then sends it to students
# through the exchange.
feedback: $(VENV)/.installed
	for a in $(ASSIGNMENT); do $(call HAS,autograded); $(BIN)/nbgrader generate_feedback "$$a" --force || exit 1; done
	@echo "Feedback is in grading/feedback/. Read it, then run make release-feedback to send it to students."

EXCHANGE = $(or $(NBGRADER_EXCHANGE),/srv/nbgrader/exchange)
.PHONY: release-feedback
release-feedback: $(VENV)/.installed
	@if [ -d "$(EXCHANGE)" ]; then \
		for a in $(ASSIGNMENT); do $(call HAS,feedback); $(BIN)/nbgrader release_feedback "$$a" || exit 1; done; \
	else echo "Feedback is in grading/feedback/. No exchange at $(EXCHANGE), so none was released (set NBGRADER_EXCHANGE)."; fi

# After autograde: grading/report/index.html and a page per lesson (figures inline, opens offline), and the
# same numbers as CSV beside them. ASSIGNMENT narrows it to some lessons.
report: $(VENV)/.installed
	$(BIN)/python -m grader.report $(ASSIGNMENT)

# The class list into the gradebook: FILE is CSV with id and optionally first_name, last_name, email,
# lms_user_id (Canvas's user id). Names then show in the Formgrader, the report and its exports.
roster: $(VENV)/.installed
	@test -n "$(FILE)" || { echo "usage: make roster FILE=students.csv (columns: id, first_name, last_name, email, lms_user_id)"; exit 2; }
	$(BIN)/python -m grader.roster "$(FILE)"

# Opt-in: grade each submission as it arrives in the exchange and release its feedback (PER_HOUR gradings per
# student per hour, default 3; ONCE=1 looks once and stops). Runs until stopped; off unless you start it.
instant: $(VENV)/.installed
	$(BIN)/python -m grader.instant $(ASSIGNMENT) $(if $(PER_HOUR),--per-hour $(PER_HOUR)) $(if $(ONCE),--once)

grades: $(VENV)/.installed
	$(BIN)/nbgrader export --to grading/grades.csv
	@echo "grades written to grading/grades.csv"

# What students receive: notebooks, figures, the course package (no solutions, hidden tests or grader).
PACK ?= dist/student-pack
student-pack: $(VENV)/.installed
	$(BIN)/python -m grader.pack $(PACK) --torch "$(TORCH_SPEC)"

# Benchmarks, never part of `make test`: both sides of each ratio in one run; tables land in docs/benchmarks.md.
# Pick some with BENCH="training cnn" (seconds to minutes); grading takes about 40 min and suite about 16 on 2 cores.
BENCH ?= training cnn feedback grading suite class_report
bench: $(VENV)/.installed
	for b in $(BENCH); do $(BIN)/python bench/$$b.py --write || exit 1; done

# Caches only: grading/ holds submissions and grades, and is never removed by make.
clean:
	rm -rf .pytest_cache
	find . -name __pycache__ -not -path "./.venv/*" -prune -exec rm -rf {} +
