VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: demo test test-all bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed constraints.txt
	$(PIP) install -q -c constraints.txt -e '.[dev,torch,hf,ray]'
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/verify report

# the fast tier: every test module, less the tests marked slow (a few minutes on 2 cores); one worker per
# core (pytest-xdist), each test file on one worker so that a file's tests keep their order
test: $(VENV)/.installed-test
	$(PY) -m pytest -q -m "not slow" -n auto --dist loadfile --durations=15

# the whole suite, slow tests included (what .ci/run runs)
test-all: $(VENV)/.installed-test
	$(PY) -m pytest -q -n auto --dist loadfile --durations=15

bench: $(VENV)/.installed
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info
