# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install lock run test bench eval lint mutate clean

install: $(STAMP)

# Re-installs only when pyproject.toml or the lock changes, so `make install` is idempotent and cheap.
# Exactly the versions in requirements.lock (the build backend too), then voc itself on top of them;
# `pip check` stops here if pyproject.toml names a dependency the lock lacks (run `make lock`).
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

# Writes requirements.lock from pyproject.toml, keeping the pinned versions that still fit;
# `make lock LOCK_FLAGS=--upgrade` moves every pin to the newest release the bounds allow.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(BIN)/pip-compile || $(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet $(LOCK_FLAGS) --extra dev --all-build-deps --strip-extras --no-emit-index-url \
		--no-emit-find-links --output-file requirements.lock pyproject.toml

run: install
	$(BIN)/voc migrate
	$(BIN)/voc demo --if-empty
	$(BIN)/voc serve

# The crowd tests assert that no request holds the server's event loop for 100 ms: they run first, alone, so
# neither the other test worker's load (browsers, servers of its own) nor what the main pass leaves running
# behind it (PostgreSQL vacuuming the rows the tests deleted, servers still stopping) takes the CPU from the
# server they watch.
test: install
	$(BIN)/python -m pytest -m alone
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not alone"

bench: install
	$(BIN)/python bench/run.py --readme README.md

eval: install
	$(BIN)/python bench/eval_sentiment.py --fetch .cache/vader --markdown

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

# Mutation testing of the figures' code ([tool.mutmut] in pyproject.toml; survivors reviewed in docs/mutation.md).
# One test process at a time: the machine is shared. mutmut keeps its results in mutants/, so a second run checks
# only what changed; `rm -rf mutants` first for a pass from scratch. Prints the summary README quotes.
# MUTATE_CHILDREN=2 on an otherwise idle 2-core machine: a whole pass in about 45 minutes.
MUTATE_CHILDREN ?= 1
mutate: install
	$(BIN)/mutmut run --max-children $(MUTATE_CHILDREN)
	$(BIN)/mutmut export-cicd-stats
	cat mutants/mutmut-cicd-stats.json
	@echo; echo "survivors by function:"
	@$(BIN)/mutmut results | grep survived | sed -E 's/^ *voc\.//; s/__mutmut_[0-9]+.*//; s/\.x_/./' | sort | uniq -c | sort -rn

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache
