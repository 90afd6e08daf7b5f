# Bluewatch: `make demo` runs everything on this machine; `make test` runs the whole suite.
# Both set up what they need first: a virtual environment in .venv with the packages from
# pyproject.toml, and (for the tests) the system packages, installed when missing.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: demo test check setup sysdeps clean

$(STAMP): pyproject.toml
	@scripts/setup-venv.sh "$(PYTHON)" "$(VENV)"
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/bluewatch demo

sysdeps:
	@scripts/system-deps.sh

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: $(STAMP) sysdeps check
	$(BIN)/pytest

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
