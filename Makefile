# numbavm -- every target does its own set-up (venv + editable install).

PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
STAMP  := $(VENV)/.stamp
HELLO  := tests/guest/bin/hello.elf

.PHONY: all venv test run hello bench clean distclean

all: test

venv: $(STAMP)

# (Re)create the venv when it is missing or broken, then install the project
# editable with its test extra.  The stamp is written only after pip succeeds,
# so a failed install fails make and is retried next time.  pyproject.toml
# changes make the stamp stale and trigger a reinstall.
$(STAMP): pyproject.toml
	@if ! $(VPY) -c 'import sys' >/dev/null 2>&1; then \
		echo "creating $(VENV) with $$(command -v $(PYTHON))"; \
		rm -rf $(VENV); \
		$(PYTHON) -m venv $(VENV); \
	fi
	$(VPY) -m pip install --disable-pip-version-check -q -e '.[test]'
	@touch $@

# Debian packages the tests use (dtc, opensbi), then the bundled Linux guest
# (cached in ~/.cache/numbavm/linux; the boot tests use it), then the suite.
# Without root, the set-up prints the apt-get line to run and the tests that
# need the packages skip, saying why (on CI they fail instead).
test: $(STAMP)
	@bash tests/setup-debian.sh
	@bash lifecycle/linux/build.sh >/dev/null || echo "numbavm: the bundled Linux guest is not built: its boot tests will skip"
	$(VPY) -m pytest -q -rs

# Boot the bundled Linux guest to its shell (built on first use, with progress lines).
run: $(STAMP)
	$(VENV)/bin/numbavm boot

# The first bare-metal demo program.
hello: $(STAMP)
	@if [ ! -f $(HELLO) ]; then bash tests/guest/build.sh; fi
	$(VENV)/bin/numbavm run $(HELLO) --stats

bench: $(STAMP)
	$(VPY) -m bench

# Remove caches and build artefacts (keeps the venv and bench/results).
clean:
	find . -path ./$(VENV) -prune -o \
		\( -name __pycache__ -o -name '*.egg-info' -o -name .pytest_cache \) \
		-type d -print -exec rm -rf {} +
	find . -path ./$(VENV) -prune -o \( -name '*.nbi' -o -name '*.nbc' \) -type f -print -exec rm -f {} +
	rm -rf build dist .benchmarks .hypothesis bench/results/tmp*

# clean, and also remove the venv.
distclean: clean
	rm -rf $(VENV)
