# Two commands do all the setup on a fresh machine: `make run` and `make test`.
PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: run test test-fast lint eval bench bench-stores models index clean

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PY) not found)"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade --quiet pip
	# torch is pinned to the CPU build; an unpinned torch would pull several GB of CUDA wheels
	$(BIN)/python -m pip install --quiet "torch==2.13.0" -e ".[test]"
	touch $(STAMP)

models: $(STAMP)
	$(BIN)/qa models fetch

index: models
	$(BIN)/qa index

run: index
	$(BIN)/python ui.py

test: models lint
	bash scripts/test-deps.sh
	$(BIN)/python -m pytest -q

# style: ruff's lint rules (pyproject.toml) and its format, checked, not applied
lint: $(STAMP)
	$(BIN)/ruff check qa tests ui.py
	$(BIN)/ruff format --check qa tests ui.py

# no models and nothing over ~10 s (`make test` runs everything)
test-fast: lint
	$(BIN)/python -m pytest -q -m "not e2e and not browser and not slow"

# held-out score: the test split, default configuration beside the comparison configurations
eval: index
	$(BIN)/qa eval --split test --config default,dense-only,no-verify,naive --json reports/eval-test.json

bench: index
	$(BIN)/qa bench --json reports/bench.json

# the FAISS store beside PostgreSQL + pgvector at 1,000,000 synthetic chunks (long; by hand only)
bench-stores: $(STAMP)
	$(BIN)/qa bench --stores --large --json reports/bench-stores.json

clean:
	rm -rf index/ reports/ .pytest_cache
