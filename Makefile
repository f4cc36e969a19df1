# Two commands for everyone:  `make lab` (students) and `make test` (everything is checked).
# Instructors: release, autograde, feedback, grades (see README.md).

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

.PHONY: lab test release figures autograde feedback grades student-pack bench clean

$(BIN)/activate:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "Python 3.10 or newer is needed: set PYTHON=python3.x"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

# Reinstall whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml $(BIN)/activate
	$(BIN)/python -m pip install --retries 1 --timeout 20 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -e ".[test]"
	touch $@

lab: $(VENV)/.installed
	$(BIN)/jupyter lab --ServerApp.root_dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

test: $(VENV)/.installed
	$(BIN)/python -m pytest -n 2 --dist loadfile --nbval-lax tests solutions

figures: $(VENV)/.installed
	$(BIN)/python assets/figures.py

release: $(VENV)/.installed
	for a in $(ASSIGNMENT); do $(BIN)/nbgrader generate_assignment "$$a" --force || exit 1; done

# Lessons without submissions (or without graded ones, for feedback) are skipped with a note.
HAS = if [ -z "$$(ls -d grading/$(1)/*/$$a 2>/dev/null)" ]; then echo "$$a: nothing in grading/$(1)/, skipped"; continue; fi

# Sandboxed kernels, WORKERS at once (default: one per core); SCHEDULER=tcp://host:8786 grades on a Dask
# cluster; GRADEBOOK_URL=postgresql://... uses PostgreSQL. A report per lesson lands in grading/reports/.
autograde: $(VENV)/.installed
	for a in $(ASSIGNMENT); do $(call HAS,submitted); $(BIN)/python -m grader autograde "$$a" \
		$(if $(WORKERS),--workers $(WORKERS)) $(if $(SCHEDULER),--scheduler $(SCHEDULER)) || exit 1; done

# Feedback goes to grading/feedback/, and to students through the exchange when there is one.
EXCHANGE = $(or $(NBGRADER_EXCHANGE),/srv/nbgrader/exchange)
feedback: $(VENV)/.installed
	for a in $(ASSIGNMENT); do $(call HAS,autograded); $(BIN)/nbgrader generate_feedback "$$a" --force || exit 1; done
	@if [ -d "$(EXCHANGE)" ]; then \
		for a in $(ASSIGNMENT); do $(call HAS,feedback); $(BIN)/nbgrader release_feedback "$$a" || exit 1; done; \
	else echo "Feedback is in grading/feedback/. No exchange at $(EXCHANGE), so none was released (set NBGRADER_EXCHANGE)."; fi

grades: $(VENV)/.installed
	$(BIN)/nbgrader export --to grading/grades.csv
	@echo "grades written to grading/grades.csv"

# What students receive: notebooks, figures, the course package (no solutions, hidden tests or grader).
PACK ?= dist/student-pack
student-pack: $(VENV)/.installed
	$(BIN)/python -m grader.pack $(PACK)

# Benchmarks, never part of `make test`: both sides of each ratio in one run; tables land in docs/benchmarks.md.
# Pick some with BENCH="training cnn" (seconds to minutes); grading takes about 40 min and suite about 16 on 2 cores.
BENCH ?= training cnn grading suite
bench: $(VENV)/.installed
	for b in $(BENCH); do $(BIN)/python bench/$$b.py --write || exit 1; done

# Caches only: grading/ holds submissions and grades, and is never removed by make.
clean:
	rm -rf .pytest_cache
	find . -name __pycache__ -not -path "./.venv/*" -prune -exec rm -rf {} +
