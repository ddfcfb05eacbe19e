# Set-up and everyday commands. `make run` and `make test` are the two that matter.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
INDEX ?= index
CORPUS ?= corpus
PORT ?= 8501
# Localhost only unless opened up on purpose (README, "Sign-in"): ADDRESS=0.0.0.0
ADDRESS ?= 127.0.0.1
# e.g. INGEST_FLAGS=--no-embed-sentences: sentences embedded at ask time instead (README, Ingest)
INGEST_FLAGS ?=
# This machine keeps the CPU build of torch on disk; elsewhere pip uses PyPI as usual.
FIND_LINKS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels,)

.PHONY: install run serve ingest test test-fast lint clean bench bench-full screenshots

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(FIND_LINKS) -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# Incremental: when corpus/ has not changed this takes well under a second and
# never loads the model.
ingest: install
	$(BIN)/python ingest.py $(CORPUS) --index $(INDEX) $(INGEST_FLAGS) || [ $$? -eq 2 ]  # 2: some files failed, the rest is served

run: ingest
	$(BIN)/streamlit run app.py --server.address $(ADDRESS) --server.port $(PORT) -- --index $(INDEX)

# The HTTP API (README, "HTTP API"): localhost only unless ADDRESS is set; WORKERS=2 for two.
API_PORT ?= 8000
WORKERS ?= 1
serve: ingest
	$(BIN)/python -m search serve --index $(INDEX) --host $(ADDRESS) --port $(API_PORT) --workers $(WORKERS)

test: install browser-deps
	$(BIN)/python -m pytest

# Refresh the README's screenshots (tests save theirs to the ignored build/screenshots/).
screenshots: install browser-deps
	SCREENSHOTS_DIR=docs/screenshots $(BIN)/python -m pytest tests/test_browser.py

# The browser test drives Debian's chromium; installed here when missing and apt-get
# exists. Failure is not fatal: without Chromium the browser test skips with a message.
.PHONY: browser-deps
browser-deps:
	-@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && apt-get install -y -qq chromium chromium-driver \
		|| echo "Could not install chromium (not root?): the browser test will be skipped"; \
	else echo "No apt-get here: install Chromium and chromedriver, or the browser test skips"; fi

# Benchmarks are run by hand, never by the tests (figures and ratios in the README).
# `make bench`: quick mode, the first 500 MedQuAD pages (about 25 min on 2 cores);
# `make bench-full`: all 5,489 pages and 1,000,000 vectors (hours).
BENCH_WORK := bench/results/medquad
bench: ingest
	$(BIN)/python bench/ingest.py --quick --profile --keep $(BENCH_WORK)
	$(BIN)/python bench/queries.py --index $(BENCH_WORK)/index \
		--questions $(BENCH_WORK)/medquad/questions.jsonl --paraphrases eval/medquad_reworded.jsonl
	$(BIN)/python bench/ask_profile.py --index $(BENCH_WORK)/index \
		--questions $(BENCH_WORK)/medquad/questions.jsonl --paraphrases eval/medquad_reworded.jsonl \
		--batch-sizes 4 8 16 --int8-quotes
	$(BIN)/python bench/ingest.py --quick --no-sentences --keep $(BENCH_WORK)-chunks-only
	$(BIN)/python bench/queries.py --index $(BENCH_WORK)-chunks-only/index --results queries-chunks-only \
		--questions $(BENCH_WORK)/medquad/questions.jsonl --paraphrases eval/medquad_reworded.jsonl
	$(BIN)/python bench/cold_start.py --index $(INDEX) --repeat 3
	$(BIN)/python bench/embedding.py --chunks $(BENCH_WORK)/index
	$(BIN)/python bench/scale.py --quick

bench-full: ingest
	$(BIN)/python bench/ingest.py --keep $(BENCH_WORK)
	$(BIN)/python bench/ingest.py --reingest-only
	$(BIN)/python bench/queries.py --index $(BENCH_WORK)/index \
		--questions $(BENCH_WORK)/medquad/questions.jsonl --paraphrases eval/medquad_reworded.jsonl
	$(BIN)/python bench/scale.py

test-fast: install
	$(BIN)/python -m pytest -m "not model and not browser"

lint: install
	$(BIN)/ruff check search tests eval bench app_pages ingest.py app.py
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(INDEX) .pytest_cache .mypy_cache .ruff_cache
