# Clustered active/active IPsec gateway on Libreswan.
#
#   make demo      install what is missing, build, run the testbed, show what happened
#   make check     the same set-up, then every test
#   make bench-filter   data-plane benchmark (numbers beside their references)
#   make fuzz      long fuzz runs (FUZZ_SECONDS=300 per target)
#
# Everything runs as root on a Debian 12 machine with nothing but the base image.

PYTHON := /usr/bin/python3
PYTEST := $(PYTHON) -m pytest
CF := cluster-filter

all: build

deps:
	scripts/install-deps

build: deps
	$(MAKE) -C $(CF) all

demo: build
	testbed/filter-pair.sh demo

# pytest exit 5 means it collected no test: that is a failure too.
check: build
	$(MAKE) -C $(CF) check
	cd testbed && $(PYTEST) -q -p no:cacheprovider tests; rc=$$?; \
		if [ $$rc -eq 5 ]; then echo "check: pytest collected no tests" >&2; exit 1; fi; exit $$rc

bench-filter: build
	@echo "== ns per packet, encap and decap, beside the bare NSS AEAD call (same run)"
	$(CF)/build/bench
	@echo "== daemon TUN -> ESP path, one core"
	testbed/bench-filter.sh

fuzz: build
	$(MAKE) -C $(CF) fuzz

clean:
	$(MAKE) -C $(CF) clean

.PHONY: all deps build demo check bench-filter fuzz clean
