# numbavm -- every target does its own set-up (venv + editable install).

PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
STAMP  := $(VENV)/.stamp
HELLO  := tests/guest/bin/hello.elf

.PHONY: all venv test run hello bench fuzz clean distclean

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
# (cached in ~/.cache/numbavm/linux; the boot tests use it), Debian's riscv64 kernel and busybox
# (downloaded to ~/.cache/numbavm/debian by tests/debian/fetch.py), then the suite.
# Without root, the set-up prints the apt-get line to run and the tests that
# need the packages skip, saying why (on CI they fail instead).
# pytest-randomly shuffles the tests (and reseeds random, numpy and hypothesis) with SEED:
# a test that passes only in some order fails some run, and the seed printed repeats it.
ifndef SEED
SEED := $(shell od -An -N4 -tu4 /dev/urandom | tr -d ' ')
endif
test: $(STAMP)
	@bash tests/setup-debian.sh
	@bash lifecycle/guests/linux/build.sh >/dev/null || echo "numbavm: the bundled Linux guest is not built: its boot tests will skip"
	@$(VPY) -m tests.debian.fetch >/dev/null || echo "numbavm: Debian's riscv64 kernel and busybox are not fetched (tests/debian/fetch.py): their test will skip"
	@echo "numbavm: test order: $(if $(filter none,$(SEED)),the files' own (SEED=none),random with SEED=$(SEED) (make test SEED=$(SEED) repeats it))"
	$(VPY) -m pytest -q -rs $(if $(filter none,$(SEED)),-p no:randomly,--randomly-seed=$(SEED))

# Boot the bundled Linux guest to its shell (built on first use, with progress lines).
run: $(STAMP)
	$(VENV)/bin/numbavm boot

# The first bare-metal demo program.
hello: $(STAMP)
	@if [ ! -f $(HELLO) ]; then bash tests/guest/build.sh; fi
	$(VENV)/bin/numbavm run $(HELLO) --stats

bench: $(STAMP)
	$(VPY) -m bench

# Coverage-guided fuzzing (atheris, libFuzzer) of the parsers that take outside input: each
# fuzz/fuzz_*.py runs for FUZZ_SECONDS, its corpus kept in ~/.cache/numbavm/fuzz/NAME; a crash
# leaves its input as crash-* in fuzz/ and fails the target.  CI runs the bounded hypothesis
# versions of the same checks (tests/test_fuzz_*.py).
FUZZ_SECONDS ?= 60
FUZZ_CACHE   ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/numbavm/fuzz
fuzz: $(STAMP)
	@$(VPY) -c 'import atheris' 2>/dev/null || $(VPY) -m pip install --disable-pip-version-check -q -e '.[fuzz]'
	@for f in fuzz/fuzz_*.py; do \
		name=$$(basename $$f .py | sed 's/^fuzz_//'); \
		mkdir -p $(FUZZ_CACHE)/$$name; \
		seeds=; [ -d fuzz/corpus/$$name ] && seeds=fuzz/corpus/$$name; \
		echo "[fuzz] $$name for $(FUZZ_SECONDS) s (log: $(FUZZ_CACHE)/$$name.log)"; \
		if ! $(VPY) $$f -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=fuzz/crash-$$name- \
			-print_final_stats=1 $(FUZZ_CACHE)/$$name $$seeds >$(FUZZ_CACHE)/$$name.log 2>&1; then \
			tail -n 30 $(FUZZ_CACHE)/$$name.log; echo "[fuzz] $$name failed: inputs in fuzz/crash-$$name-*"; exit 1; \
		fi; \
		grep -E 'stat::number_of_executed_units|DONE' $(FUZZ_CACHE)/$$name.log | tail -n 2; \
	done

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
