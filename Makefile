# Two commands set up everything on a fresh machine: `make demo` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha1sum | cut -c1-12)

.PHONY: install demo test bench lock clean

install: $(STAMP)

# requirements.lock pins every package; dlib builds from its sdist once (~6 min) and pip caches the wheel.
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check "setuptools==80.9.0" "wheel==0.48.0"
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-*
	touch $@

demo: $(STAMP)
	$(BIN)/punchaudit demo

# The inspector page is tested in Debian's headless Chromium; the script installs it once if missing.
test: $(STAMP)
	sh scripts/ensure-chromium.sh
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

bench: $(STAMP)
	$(BIN)/python -m bench

# Re-pin after changing dependencies in pyproject.toml.
lock: $(STAMP)
	$(BIN)/pip freeze --exclude-editable | grep -v '^punchaudit' > requirements.lock

clean:
	rm -rf $(VENV) var .pytest_cache
