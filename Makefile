# The two entry points of the course package (see README.md):
#   make grade   - release, autograde every submission in submitted/, feedback, grades.csv
#   make test    - all of the project's own tests
# Both create .venv from the pinned requirements on first use.

# The interpreter of .venv: PYTHON=... if given, else the first supported one tools/find_python.py
# finds (python3, python3.14 ... python3.11 on PATH, then pyenv's versions). The supported versions
# are stated once: requires-python in pyproject.toml.
PYTHON ?=
# uv installs the pinned set (pip if uv cannot; README "Set-up"); INSTALLER=pip uses pip alone.
INSTALLER ?= uv
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# nbgrader runs the `alembic` executable from PATH when it creates the gradebook.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# Keep JAX quiet and on the CPU; matplotlib never opens a window.
export JAX_PLATFORMS := cpu
export MPLBACKEND := Agg

.PHONY: grade test test-fast report collect export venv sandbox-tool clean

venv: $(STAMP)

# Student code runs inside bubblewrap (README, "Security model"). Installed here when missing and
# we are root with apt-get (as on CI); otherwise one sentence says what to run.
sandbox-tool:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing bubblewrap (the sandbox for student code)"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap; } >/dev/null; \
	  else \
	    echo "bubblewrap (bwrap) is missing: install it with 'sudo apt-get install bubblewrap' (or your system's package), or grade with 'make grade GRADE_ARGS=--no-sandbox'" >&2; exit 1; \
	  fi; }

# No supported interpreter: one sentence (found, needed, how to get one) and a stop. .venv is made
# anew when it is missing or its interpreter is not the chosen one, else brought up to date.
$(STAMP): requirements.txt pyproject.toml
	@boot=; for b in python3 python3.14 python3.13 python3.12 python3.11 python; do \
	  "$$b" -c "" >/dev/null 2>&1 && { boot=$$b; break; }; done; \
	[ -n "$$boot" ] || { echo "found no Python on PATH, but this project needs Python $$(sed -n 's/^requires-python *= *"\(.*\)"/\1/p' pyproject.toml) (requires-python in pyproject.toml): install one (e.g. 'sudo apt-get install python3 python3-venv') and run make again." >&2; exit 1; }; \
	py=$$("$$boot" tools/find_python.py $(if $(PYTHON),--python "$(PYTHON)")) || exit 1; \
	if [ "$$($(PY) -c 'import sys; print(sys.base_prefix)' 2>/dev/null)" != "$$("$$py" -c 'import sys; print(sys.base_prefix)')" ]; then \
	  echo "creating $(VENV) with Python $$("$$py" -c 'import platform; print(platform.python_version())') ($$py)"; \
	  "$$py" -m venv --clear $(VENV) || exit 1; \
	fi
	$(PY) tools/install_requirements.py $(if $(filter pip,$(INSTALLER)),--pip-only) -r requirements.txt
	# Kernels started by nbgrader must import reference/ and grader_tests/ from any directory.
	$(PY) -c "import site; open(site.getsitepackages()[0] + '/perceptrons_course.pth', 'w').write('$(CURDIR)\n')"
	touch $(STAMP)

grade: $(STAMP) $(if $(or $(findstring --no-sandbox,$(GRADE_ARGS)),$(SCHEDULER)),,sandbox-tool)
	$(PY) -m grading $(if $(STUDENT),--student $(STUDENT)) $(if $(WORKERS),--workers $(WORKERS)) $(if $(SCHEDULER),--scheduler $(SCHEDULER)) $(GRADE_ARGS)

test: $(STAMP) sandbox-tool
	$(PY) -m pytest $(PYTEST_ARGS)

# The quick loop (a few minutes): everything but the tests marked slow (whole-class batches,
# the mutation catalogue, fresh installs). CI runs `make test`.
test-fast: $(STAMP) sandbox-tool
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

# The instructor's class report, rebuilt from the stored results without regrading.
report: $(STAMP)
	$(PY) -m grading.class_report $(if $(THRESHOLD),--threshold $(THRESHOLD))

# An LMS's submissions download into submitted/ (README, TAs, "From an LMS download"):
#   make collect FROM=download.zip ROSTER=gradebook.csv [LMS=canvas|moodle|blackboard] [TIMEZONE=...] [ID_COLUMN=...]
collect: $(STAMP)
	$(PY) -m grading.collect --from "$(FROM)" --roster "$(ROSTER)" $(if $(LMS),--lms "$(LMS)") $(if $(TIMEZONE),--timezone "$(TIMEZONE)") $(if $(ID_COLUMN),--id-column "$(ID_COLUMN)")

# grades.csv for the LMS's gradebook import, exports/<lms>_grades.csv (README, TAs, "Grades to the LMS"):
#   make export ROSTER=gradebook.csv [LMS=canvas|moodle] [COLUMN="Perceptrons (5501)"] [ID_COLUMN=...]
export: $(STAMP)
	$(PY) -m grading.lms_export --roster "$(ROSTER)" $(if $(LMS),--lms "$(LMS)") $(if $(COLUMN),--column "$(COLUMN)") $(if $(ID_COLUMN),--id-column "$(ID_COLUMN)")

clean:
	rm -rf autograded feedback gradebook.db grades.csv class_report.html checks.csv .grading
