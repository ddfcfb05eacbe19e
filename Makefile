# Set-up and everyday commands. `make run` and `make test` are the two that matter.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
INDEX ?= index
CORPUS ?= corpus
PORT ?= 8501
# This machine keeps the CPU build of torch on disk; elsewhere pip uses PyPI as usual.
FIND_LINKS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels,)

.PHONY: install run ingest test test-fast lint clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(FIND_LINKS) -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# Incremental: when corpus/ has not changed this takes well under a second and
# never loads the model.
ingest: install
	$(BIN)/python ingest.py $(CORPUS) --index $(INDEX) || [ $$? -eq 2 ]  # 2: some files failed, the rest is served

run: ingest
	$(BIN)/streamlit run app.py --server.port $(PORT) -- --index $(INDEX)

test: install
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not model and not browser"

lint: install
	$(BIN)/ruff check search tests ingest.py app.py
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(INDEX) .pytest_cache .mypy_cache .ruff_cache
