# The two commands of the quick start: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# Every adapter and contrib distribution, plus the example adapter of the docs.
PACKAGES := $(sort $(dir $(wildcard adapters/*/pyproject.toml contrib/*/pyproject.toml examples/*/pyproject.toml)))

.PHONY: demo test setup deps lint typecheck docs bench clean

$(VENV)/.installed: pyproject.toml $(wildcard adapters/*/pyproject.toml contrib/*/pyproject.toml examples/*/pyproject.toml)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]' $(foreach p,$(PACKAGES),-e $(p))
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(PY) examples/demo.py

deps:
	./scripts/install-test-deps

test: setup deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) -m pytest

docs: setup
	$(PY) docs/generate.py

bench: setup
	$(PY) bench/startup.py
	$(PY) bench/importtime.py --imports docker --out bench/results/importtime-docker.json
	$(PY) bench/importtime.py --imports ssh --out bench/results/importtime-ssh.json
	$(PY) bench/docker_deploy.py
	$(PY) bench/ssh_fanout.py
	$(PY) bench/ssh_peers.py
	$(PY) bench/k8s_requests.py
	$(PY) bench/static_hash.py
	$(PY) bench/static_deploy.py

clean:
	rm -rf $(VENV) .wave examples/demo/.wave examples/demo/.claude
