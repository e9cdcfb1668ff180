# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test bench eval lint clean

install: $(STAMP)

# Re-installs only when pyproject.toml changes, so `make install` is idempotent and cheap.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/voc migrate
	$(BIN)/voc demo --if-empty
	$(BIN)/voc serve

test: install
	$(BIN)/python -m pytest -n 2 --dist loadgroup

bench: install
	$(BIN)/python bench/run.py

eval: install
	$(BIN)/python bench/eval_sentiment.py --fetch .cache/vader --markdown

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache
