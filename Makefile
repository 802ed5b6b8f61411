# Everything a fresh machine needs is built from here: `make demo`, `make test`, `make bench`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   ?= demo
SEED   ?= 7

.PHONY: demo test bench holdout matrix lint typecheck lock clean help browser pdftools

help:
	@echo "make demo   build .venv, generate a synthetic review world, assess it, print the PDF path"
	@echo "make test   build .venv and run the test suite"
	@echo "make bench  build .venv and run the benchmarks (writes benchmarks/RESULTS.md)"
	@echo "make holdout  build .venv and measure detection on independent worlds (benchmarks/holdout/RESULTS.md)"
	@echo "make matrix  build .venv and measure detection over the synthetic stress matrix (tuning seeds)"
	@echo "make lint   ruff over the code, tests and benchmarks (part of make test)"
	@echo "make typecheck  mypy over the library (part of make test)"
	@echo "make lock   re-pin every package with hashes (requirements/runtime.txt, dev.txt)"
	@echo "make browser  install Debian's chromium + chromium-driver for the web tests (root; part of make test)"
	@echo "make .venv  build the environment only"

$(VENV): $(STAMP)

# Every package is pinned with its hashes: runtime (requirements/runtime.txt) and development and CI
# (requirements/dev.txt: tests, lint, types, Spark). Regenerate both with `make lock`.
$(STAMP): requirements/runtime.txt requirements/dev.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "audit-kit needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/runtime.txt -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

demo: $(STAMP)
	@rm -rf $(DEMO)/world $(DEMO)/workspace
	$(BIN)/audit-kit synth $(DEMO)/world --seed $(SEED) --orgs 24 --days 60 --children 20000
	$(BIN)/audit-kit assess $(DEMO)/world --workspace $(DEMO)/workspace -o $(DEMO)/risk-assessment.pdf

test: $(STAMP) lint typecheck browser pdftools
	$(BIN)/python -m pytest -q -n 2

# The web app's browser tests drive Debian's headless chromium through chromium-driver (never a
# downloaded browser). Installed here when missing and we are root (CI is); otherwise those tests skip
# and say why.
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium and chromium-driver for the browser tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
		|| echo "warning: could not install chromium; the browser tests will skip"; \
	else echo "note: chromium/chromium-driver missing and not root: the browser tests will skip"; fi

# The DPO packs' golden text test reads PDFs with poppler's pdftotext (Debian's poppler-utils), installed
# here like chromium when missing and we are root; otherwise that test skips and says why.
pdftools:
	@if command -v pdftotext >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing poppler-utils for the pack text golden test"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null) \
		|| echo "warning: could not install poppler-utils; the pack text golden test will skip"; \
	else echo "note: pdftotext missing and not root: the pack text golden test will skip"; fi

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

# Independent worlds (benchmarks/holdout/README.md): tuning seeds only; held-out seeds need
# --allow-held-out and are run once, by hand, for a final measure.
HOLDOUT_CELLS ?= base,sparse_involvements,noisy_browsing,no_optional,bursty_legit,popular_records,small_orgs,quiet_misuse
HOLDOUT_SEEDS ?= 1,2
HOLDOUT_JOBS  ?= 2

holdout: $(STAMP)
	$(BIN)/python benchmarks/holdout/evaluate.py --cells $(HOLDOUT_CELLS) --seeds $(HOLDOUT_SEEDS) \
		--jobs $(HOLDOUT_JOBS) -o benchmarks/holdout/RESULTS.md --json-out benchmarks/holdout/results.json
	@cat benchmarks/holdout/RESULTS.md

# The synthetic stress matrix (docs/detection-quality.md): tuning cells x tuning seeds; the held-out
# seeds and cells need --held-out and are run once, by hand.
matrix: $(STAMP)
	$(BIN)/python benchmarks/detection_matrix.py --jobs 2 -o benchmarks/matrix-tuning.md

lint: $(STAMP)
	$(BIN)/ruff check audit_kit tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

# Resolve the newest versions the pyproject ranges allow, with hashes (pip-tools in a throwaway venv).
LOCK_VENV := /tmp/audit-kit-lock
PIP_COMPILE := $(LOCK_VENV)/bin/pip-compile --quiet --generate-hashes --no-strip-extras --allow-unsafe \
	--no-header --no-annotate --no-emit-index-url --no-emit-find-links
lock:
	rm -rf $(LOCK_VENV) && $(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install --quiet pip-tools
	cd requirements && $(PIP_COMPILE) --upgrade -o runtime.txt ../pyproject.toml
	cd requirements && $(PIP_COMPILE) --upgrade -o dev.txt dev.in

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache
