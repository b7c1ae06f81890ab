# The two commands a newcomer needs: `make run` (the bot on its demo defaults) and `make test`.
# Both create ./.venv and install the project into it on first use (and again when pyproject.toml changes).
PYTHON ?= python3
VENV ?= .venv
# The suite runs twice: on SQLite, then on this PostgreSQL server (one fresh database per test) when it
# answers. CI (CI=true) requires it; .ci/run starts it.
TEST_POSTGRES ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test
BIN := $(VENV)/bin

.PHONY: run test chat clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/concierge run

chat: $(VENV)/.installed
	$(BIN)/concierge chat

test: $(VENV)/.installed
	$(BIN)/python -m pytest -q
	@if $(BIN)/python -m tests.pg_available "$(TEST_POSTGRES)"; then \
	  echo "== the same suite on PostgreSQL =="; \
	  CONCIERGE_TEST_POSTGRES="$(TEST_POSTGRES)" $(BIN)/python -m pytest -q; \
	elif [ "$${CI:-}" = "true" ]; then \
	  echo "PostgreSQL is not reachable at $(TEST_POSTGRES), and CI must test on it" >&2; exit 1; \
	else \
	  echo "PostgreSQL is not reachable at $(TEST_POSTGRES): skipped the PostgreSQL pass"; \
	fi

clean:
	rm -rf $(VENV) data .pytest_cache .hypothesis
