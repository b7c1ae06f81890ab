# The two commands a newcomer needs: `make run` (the bot on its demo defaults) and `make test`.
# Both create ./.venv and install the project into it on first use (and again when pyproject.toml changes).
PYTHON ?= python3
VENV ?= .venv
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

clean:
	rm -rf $(VENV) data .pytest_cache .hypothesis
