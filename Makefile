# fabrx — make targets for developers and ops. Everything a fresh machine needs is installed by these targets.
#
#   make demo   bring up the default pharma consortium and run the end-to-end supervision scenario
#   make test   lint, type check, unit tests and integration tests against a real Fabric network
#   make reliability   faults under load and hostile input, with figures (docs/reliability.md)
#
# Fabric binaries are built once per machine into ~/.cache/fabrx (see docs/network.md).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FABRX  := $(BIN)/fabrx
STAMP  := $(VENV)/.fabrx-installed

.PHONY: install lock dist fabric postgres softhsm chromium jdk network-up network-down network-status demo test test-unit test-integration test-hosts test-compat lint bench reliability node-deps clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,pkcs11]'
	touch $@

# Re-resolve the development install against pyproject.toml's ranges in a scratch virtualenv and pin the
# result in constraints.txt (then run make test before committing it).
LOCK_VENV := .fabrx/lock-venv
lock:
	rm -rf $(LOCK_VENV) && $(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev,pkcs11]'
	{ sed -n '/^#/p' constraints.txt; $(LOCK_VENV)/bin/python -m pip freeze --all --exclude-editable \
		| grep -v '^pip=='; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf $(LOCK_VENV)

# The user-facing distributions (fabrx, fabrx-chaincode, fabrx-network, fabrx-pharma): wheels and sdists
# in dist/, built from distributions/*/pyproject.toml (docs/install.md).
dist: install
	$(BIN)/python distributions/build.py --out dist

fabric: install
	$(FABRX) fabric install

# PostgreSQL server binaries (Debian's postgresql) for the supervision store's tests; the tests start
# a private throwaway cluster themselves. Installed with apt-get when missing (needs root, as in CI).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; }

# SoftHSM (Debian's softhsm2), the PKCS#11 token the HSM signer's tests use; each test initialises its own
# token in a private directory. Installed with apt-get when missing (needs root, as in CI).
softhsm:
	@test -e /usr/lib/softhsm/libsofthsm2.so || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq softhsm2; }

# Debian's chromium (and a CJK font for its screenshots) for the portal's browser tests, which drive it
# with Playwright (no browser download). Installed with apt-get when missing (needs root, as in CI).
chromium:
	@command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi wenquanyi || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei; }

# A JDK (Debian's default-jdk-headless) for the Java example client the service's tests run
# (service/examples/Client.java, in source-file mode). Installed with apt-get when missing (needs root).
jdk:
	@command -v java >/dev/null 2>&1 || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jdk-headless; }

network-up: fabric
	$(FABRX) network up

network-down: install
	$(FABRX) network down

network-status: install
	$(FABRX) network status

demo: fabric
	$(FABRX) demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

node-deps:
	cd tests/interop && npm ci --no-audit --no-fund --loglevel=error

test: lint fabric node-deps postgres softhsm chromium jdk
	$(BIN)/python -m pytest -p no:cacheprovider

test-unit: install postgres softhsm jdk
	$(BIN)/python -m pytest -p no:cacheprovider tests/unit

# Fabric 2.5 LTS compatibility (builds 2.5.16 from ../shared/fabric once; not part of make test).
test-compat: install
	$(BIN)/python -m pytest -p no:cacheprovider tests/compat

test-integration: fabric node-deps softhsm chromium jdk
	$(BIN)/python -m pytest -p no:cacheprovider tests/integration

# The per-host deployments alone (docs/network.md, "A member's own host"): a consortium founded from five
# separate deployments on 127.0.1.1-5, and a member joining the shared test consortium. Both are in make test.
test-hosts: fabric node-deps
	$(BIN)/python -m pytest -p no:cacheprovider tests/integration/test_per_member_hosts.py tests/integration/test_member_host.py

bench: fabric node-deps
	$(BIN)/python -m bench

# The reliability suite in full (docs/reliability.md): the fast part that make test runs too, and kill -9
# of each node kind under load, on the test network and the raft3 and bft4 variants (about 15 minutes;
# FABRX_RELIABILITY_SECONDS of load per fault run, default 40). Records the figures in bench/results.json
# ("reliability") and docs/reliability.md, also when a test failed (then make fails after recording).
RELIABILITY_FIGURES := .fabrx/reliability-figures.json
reliability: fabric node-deps
	mkdir -p .fabrx && rm -f $(RELIABILITY_FIGURES)
	FABRX_RELIABILITY_FIGURES=$(CURDIR)/$(RELIABILITY_FIGURES) $(BIN)/python -m pytest -p no:cacheprovider \
		-m "faults or not faults" tests/reliability; status=$$?; \
		$(BIN)/python -m bench.reliability $(RELIABILITY_FIGURES) && exit $$status

clean:
	rm -rf $(VENV) .fabrx .mypy_cache .ruff_cache dist
