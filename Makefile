# The two entry points of the course package (see README.md):
#   make grade   - release, autograde every submission in submitted/, feedback, grades.csv
#   make test    - all of the project's own tests
# Both create .venv from the pinned requirements on first use.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# nbgrader runs the `alembic` executable from PATH when it creates the gradebook.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# Keep JAX quiet and on the CPU; matplotlib never opens a window.
export JAX_PLATFORMS := cpu
export MPLBACKEND := Agg

.PHONY: grade test venv clean

venv: $(STAMP)

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	# Kernels started by nbgrader must import reference/ and grader_tests/ from any directory.
	$(PY) -c "import site; open(site.getsitepackages()[0] + '/perceptrons_course.pth', 'w').write('$(CURDIR)\n')"
	touch $(STAMP)

grade: $(STAMP)
	$(PY) -m grading $(if $(STUDENT),--student $(STUDENT)) $(if $(WORKERS),--workers $(WORKERS)) $(GRADE_ARGS)

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

clean:
	rm -rf autograded feedback gradebook.db grades.csv .grading
