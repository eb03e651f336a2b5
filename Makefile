# Two commands set up a fresh machine: `make serve` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8080
DATA_DIR ?= var

.PHONY: install system-deps node-tools serve test fuzz bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

system-deps:
	bash scripts/install-system-deps.sh

# axe-core for the accessibility audits the browser tests run (package.json pins it; npm's registry).
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

node-tools: system-deps node_modules/.package-lock.json

serve: $(STAMP)
	$(VENV)/bin/vaidya serve --host $(HOST) --port $(PORT) --data-dir $(DATA_DIR) --seed-demo --sms-log-otps

test: $(STAMP) system-deps node-tools
	$(PY) -m pytest

# The fuzz suite's properties with many more examples (profile `fuzz`, tests/fuzz/conftest.py); not in CI.
# FUZZ_EXAMPLES sets the examples per property (default 2000); failures are kept in .hypothesis/fuzz.
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest tests/fuzz -q --hypothesis-show-statistics -p no:cacheprovider

bench: $(STAMP)
	$(VENV)/bin/vaidya-bench forward --publishers 4 --subscribers 4 --seconds 20 --json bench-forward.json

clean:
	rm -rf $(VENV) build *.egg-info node_modules
