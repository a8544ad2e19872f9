# Clustered active/active IPsec gateway on Libreswan.
#
#   make demo      install what is missing, build, run the testbed, show what happened
#   make check     the same set-up and make deb, then every test (the packages
#                  are installed in a Debian 12 guest under qemu)
#   make bench-filter   data-plane benchmark (numbers beside their references)
#   make bench-single   our gateway against a strongSwan libipsec gateway, CPU per GB
#   make bench-cluster  unique datagrams delivered by N = 1, 2, 3, 6 budgeted nodes, q, the
#                       p2/p3 lines; flood-then-recover against strongSwan per N and mode
#   make paper     the paper's experiments, our numbers beside theirs (build/paper/REPORT.md)
#   make fuzz      long fuzz runs (FUZZ_SECONDS=300 per target)
#   make deb       the Debian packages libreswan and libreswan-cluster (build/deb/)
#
# Everything runs as root on a Debian 12 machine with nothing but the base image.

PYTHON := /usr/bin/python3
PYTEST := $(PYTHON) -m pytest
CF := cluster-filter

# Libreswan: the distro's 5.2 source, our overlay/ and patches/, built into
# build/ and installed under build/root (a private prefix: the testbed runs
# it from there, nothing is installed on the machine).
LSW_VERSION := 5.2
LSW_TARBALL = $(shell scripts/fetch-libreswan build/cache)
LSW_TREE := build/libreswan-$(LSW_VERSION)
LSW_ROOT := $(CURDIR)/build/root
LSW_FLAGS := USE_CLUSTER=true USE_XFRM=true INITSYSTEM=systemd INSTALL_INITSYSTEM=false \
	USE_DNSSEC=false USE_SYSTEMD_WATCHDOG=false USE_AUTHPAM=false USE_LIBCURL=false \
	USE_LDAP=false USE_SECCOMP=false USE_LABELED_IPSEC=false USE_LINUX_AUDIT=false USE_NM=false \
	PREFIX=$(LSW_ROOT)/usr SYSCONFDIR=$(LSW_ROOT)/etc VARDIR=$(LSW_ROOT)/var
LSW_INPUTS := patches/series $(wildcard patches/*.patch) $(shell find overlay -type f) \
	$(CF)/src/ctl.c $(CF)/src/ctl.h $(CF)/src/wire.h scripts/prepare-libreswan

all: build

deps:
	scripts/install-deps

build: deps
	$(MAKE) -C $(CF) all
	$(MAKE) libreswan

$(LSW_TREE)/.prepared: $(LSW_INPUTS)
	scripts/prepare-libreswan "$(LSW_TARBALL)" $(LSW_TREE)
	touch $@

libreswan: $(LSW_TREE)/.prepared
	+$(MAKE) -C $(LSW_TREE) -j$$(nproc) base $(LSW_FLAGS)
	+$(MAKE) -C $(LSW_TREE) install-base $(LSW_FLAGS) >build/libreswan-install.log

# a 3-node cluster against an unmodified strongSwan: IKE, ping, TCP, every node's SAs
demo: build
	testbed/cluster.sh demo 3

# one gateway against strongSwan
demo-single: build
	testbed/gateway-peer.sh demo

# the data plane alone: two cluster-filterd configured by hand
demo-filter: build
	testbed/filter-pair.sh demo

# pytest exit 5 means it collected no test: that is a failure too. The fifteen
# slowest tests are listed at the end: the whole run should stay under 45 min.
check: build deb
	$(MAKE) -C $(CF) check
	cd testbed && $(PYTEST) -q -p no:cacheprovider --durations=15 tests; rc=$$?; \
		if [ $$rc -eq 5 ]; then echo "check: pytest collected no tests" >&2; exit 1; fi; exit $$rc

bench-filter: build
	@echo "== ns per packet, encap and decap, beside the bare NSS AEAD call (same run)"
	$(CF)/build/bench
	@echo "== daemon TUN -> ESP path, one core"
	testbed/bench-filter.sh
	@echo "== a rekey, a new tunnel and one seal among 1,000 and 5,000 tunnels (a cluster node's SADB, NSS)"
	$(CF)/build/bench_scale

bench-single: build
	@echo "== the same TCP and UDP transfers through our gateway and a strongSwan libipsec gateway"
	testbed/bench-single.sh

bench-cluster: build
	@echo "== the flat cluster: unique datagrams delivered, speed-up, CPU per node and q against N"
	$(PYTHON) testbed/bench-cluster.py
	@echo "== overload and recovery against strongSwan's libipsec (a 128-packet window), per N and mode"
	testbed/bench-recover.sh
	BUDGET=20 testbed/bench-recover.sh

# the paper's experiments (section 4) beside its numbers: build/paper/REPORT.md,
# one CSV per table, plots; about 20 minutes (PAPER_QUICK=1: a smoke run)
PAPER_OUT ?= $(CURDIR)/build/paper
paper: build
	$(PYTHON) testbed/paper/paper.py --out $(PAPER_OUT)

fuzz: build
	$(MAKE) -C $(CF) fuzz

# libreswan_5.2-0+cluster1 and libreswan-cluster, from the distro's 5.2
# tarball, packaging/debian, overlay/ and patches/; then lintian on them
DEB_OUT := build/deb
deb:
	scripts/install-deps deb
	scripts/make-deb $(DEB_OUT)
	lintian --fail-on error,warning $(DEB_OUT)/*.changes

clean:
	$(MAKE) -C $(CF) clean

.PHONY: all deps build libreswan demo demo-single demo-filter check bench-filter bench-single bench-cluster paper fuzz deb clean
