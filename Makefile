# paramtui — run `make help` for the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help setup demo test lint typecheck wheel-check bench screenshots clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP) ## Create .venv and install paramtui with pinned dev dependencies

demo: $(STAMP) ## Build the demo checkpoint (cached) and open it in the TUI
	$(BIN)/paramtui demo

test: $(STAMP) ## Run the test suite
	$(BIN)/python -m pytest

lint: $(STAMP) ## ruff lint and format check; import-linter: the floors, no import loops
	$(BIN)/ruff check paramtui tests bench scripts
	$(BIN)/ruff format --check paramtui tests bench scripts
	$(BIN)/lint-imports

typecheck: $(STAMP) ## mypy (strict on paramtui.core, io and edits)
	$(BIN)/mypy paramtui

wheel-check: $(STAMP) ## Build the wheel (python -m build) and run it from a clean venv
	DEV_PYTHON=$(BIN)/python bash scripts/check_wheel.sh

bench: $(STAMP) ## Benchmarks: ratios against baselines measured in the same run -> BENCHMARKS.md
	$(BIN)/python bench/run.py

screenshots: $(STAMP) ## Regenerate screenshots/*.svg from the demo checkpoint
	$(BIN)/python scripts/screenshots.py screenshots

clean: ## Remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
