# SPDX-License-Identifier: GPL-2.0
# rblk: `make` builds the module, rblkctl and the tests; `make check` runs
# the unit tests natively and the selftests in a qemu guest. `make help`.

KDIR ?= $(lastword $(sort $(wildcard /usr/src/linux-headers-6.12*-amd64)))
KSRC_TAR ?= /usr/src/linux-source-6.12.tar.xz
DEBUG_KERNEL_TAR ?= $(firstword $(wildcard ../shared/debug-kernel/rblk-debug-kernel-*.tar.xz))

B := build
KSRC := $(B)/ksrc
HARNESS_DIR := $(KSRC)/tools/testing/selftests
YNL_GEN := $(KSRC)/tools/net/ynl/ynl-gen-c.py
CHECKPATCH := $(KSRC)/scripts/checkpatch.pl

CC := gcc
PKGS := libmnl json-c blkid uuid
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS = $(shell pkg-config --libs $(PKGS))
WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes
CPPFLAGS_US := -D_GNU_SOURCE -Iinclude/uapi -Iuserspace/lib -Iuserspace/rblkctl -Ikmod
CFLAGS_US := -std=c11 -O2 -g $(WARN) $(PKG_CFLAGS)
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# Tests use kselftest_harness.h, which needs GNU C.
CFLAGS_TEST := -std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare $(PKG_CFLAGS) -I$(HARNESS_DIR)

# Pure C shared with the module (built unchanged in userspace).
SHARED_SRC := kmod/rblk_gen.c kmod/rblk_md.c kmod/rblk_commit.c userspace/lib/crc32c.c
SHARED_HDR := kmod/rblk_compat.h kmod/rblk_gen.h kmod/rblk_md.h kmod/rblk_commit.h
LIB_SRC := userspace/lib/rblk_nl.c userspace/lib/rblk_vol.c userspace/lib/rblk_args.c \
	userspace/lib/rblk_mdio.c $(SHARED_SRC)
LIB_HDR := $(wildcard userspace/lib/*.h) include/uapi/linux/rblk.h $(SHARED_HDR)
CTL_SRC := userspace/rblkctl/rblkctl.c userspace/rblkctl/cmd_md.c userspace/rblkctl/cmd_repl.c \
	userspace/rblkctl/cmd_events.c userspace/rblkctl/cmd_sync.c
UNIT_SRC := $(wildcard tests/unit/*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(B)/tests/unit/%,$(UNIT_SRC))
SELF_SRC := $(wildcard tests/selftests/*.c)
SELF_BIN := $(patsubst tests/selftests/%.c,$(B)/tests/selftests/%,$(SELF_SRC))

KMOD_SRC := $(wildcard kmod/*.c kmod/*.h) Kbuild kmod/Kbuild include/uapi/linux/rblk.h

.PHONY: fuzz-seeds all module userspace tests deps check check-unit check-guest check-debug check-long \
	demo bench checkpatch sparse nl-gen nl-check lint clean help

all: module userspace tests

help:
	@echo "make            build kmod/rblk.ko (KDIR=$(KDIR)), rblkctl and the tests"
	@echo "make deps       install the Debian packages the build, demo and tests need"
	@echo "make demo       boot a guest, create a volume, write and verify data"
	@echo "make check      unit tests (ASan/UBSan) natively, selftests in a guest"
	@echo "make check-debug  the teardown/error-path selftests on the KASAN+lockdep kernel"
	@echo "make check-long   the soaks make check sizes down (a hammered range resynced 10 times, 20 power cuts)"
	@echo "make bench      fio on a raw RAM disk, rblk (2, 3 nodes, chain) and DRBD 8.4; full resyncs"
	@echo "make lint       checkpatch --strict, sparse and the generated-code check"

# --- kernel source pieces: checkpatch, ynl-gen, kselftest harness --------
$(KSRC)/.stamp: $(KSRC_TAR)
	@mkdir -p $(KSRC)
	tar -xJf $(KSRC_TAR) -C $(KSRC) --strip-components=1 \
		linux-source-6.12/scripts/checkpatch.pl \
		linux-source-6.12/scripts/spelling.txt \
		linux-source-6.12/scripts/const_structs.checkpatch \
		linux-source-6.12/tools/net/ynl \
		linux-source-6.12/tools/testing/selftests/kselftest_harness.h \
		linux-source-6.12/tools/testing/selftests/kselftest.h \
		linux-source-6.12/tools/testing/selftests/kselftest/ktap_helpers.sh \
		linux-source-6.12/Documentation/netlink/genetlink.yaml
	@touch $@

# --- generated netlink code ------------------------------------------------
NL_SPEC := netlink/specs/rblk.yaml
NL_OUT := include/uapi/linux/rblk.h kmod/rblk_nl_gen.h kmod/rblk_nl_gen.c

nl-gen: $(KSRC)/.stamp
	ln -sf ../$(KSRC)/Documentation/netlink/genetlink.yaml netlink/genetlink.yaml
	tools/nl-gen $(YNL_GEN) $(NL_SPEC) $(NL_OUT)

# The generated files are committed; this fails when they are stale.
nl-check: $(KSRC)/.stamp
	@tools/nl-check $(YNL_GEN) $(NL_SPEC)

# --- module ------------------------------------------------------------------
module: kmod/rblk.ko

kmod/rblk.ko: $(KMOD_SRC)
	@test -d "$(KDIR)" || { echo "no kernel headers in KDIR='$(KDIR)': run make deps" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

# --- userspace ---------------------------------------------------------------
userspace: $(B)/rblkctl

$(B)/rblkctl: $(CTL_SRC) $(LIB_SRC) $(LIB_HDR) userspace/rblkctl/rblkctl.h
	@mkdir -p $(B)
	$(CC) $(CPPFLAGS_US) $(CFLAGS_US) -o $@ $(CTL_SRC) $(LIB_SRC) $(PKG_LIBS)

# Unit tests link the library (and rblkctl's helpers) under ASan and UBSan.
$(B)/tests/unit/%: tests/unit/%.c $(LIB_SRC) $(LIB_HDR) $(KSRC)/.stamp
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_US) $(CFLAGS_TEST) $(SAN) -o $@ $< $(LIB_SRC) $(PKG_LIBS)

$(B)/tests/selftests/%: tests/selftests/%.c tests/selftests/selftest_md.h $(LIB_SRC) $(LIB_HDR) $(KSRC)/.stamp
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_US) $(CFLAGS_TEST) -o $@ $< $(LIB_SRC) $(PKG_LIBS)

HELPER_BIN := $(patsubst tests/helpers/%.c,$(B)/tests/helpers/%,$(wildcard tests/helpers/*.c))

$(B)/tests/helpers/%: tests/helpers/%.c $(LIB_SRC) $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_US) $(CFLAGS_US) -o $@ $< $(LIB_SRC) $(PKG_LIBS)

# The test peer proves the secret with OpenSSL's HMAC-SHA256.
$(B)/tests/helpers/fake_peer: tests/helpers/fake_peer.c $(LIB_SRC) $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_US) $(CFLAGS_US) -o $@ $< $(LIB_SRC) $(PKG_LIBS) -lcrypto

# libFuzzer target for the metadata parser (clang); skipped without clang.
FUZZ_SRC := kmod/rblk_md.c kmod/rblk_gen.c userspace/lib/crc32c.c
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION=1 -D_GNU_SOURCE -Ikmod -Iuserspace/lib -Iinclude/uapi
$(B)/fuzz/fuzz_md: tests/fuzz/fuzz_md.c $(FUZZ_SRC) $(SHARED_HDR)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_md.c $(FUZZ_SRC)

# The seed corpus is committed; this regenerates it.
fuzz-seeds:
	@mkdir -p $(B)/fuzz tests/fuzz/corpus/md
	$(CC) $(CPPFLAGS_US) -std=c11 -o $(B)/fuzz/make_seeds tests/fuzz/make_seeds.c $(FUZZ_SRC)
	$(B)/fuzz/make_seeds tests/fuzz/corpus/md

tests: $(UNIT_BIN) $(SELF_BIN) $(HELPER_BIN) $(B)/fuzz/fuzz_md $(KSRC)/.stamp

# --- checks ------------------------------------------------------------------
deps:
	@tools/deps

# check, demo and bench work on a fresh machine: they install what is
# missing first, then build (a sub-make, so KDIR is found once installed).
# RBLK_CHECK_DEBUG=TARBALL adds the debug-kernel lane (as .ci/run does).
check:
	@tools/deps
	@$(MAKE) --no-print-directory all nl-check
	@RBLK_CHECK_DEBUG="$(RBLK_CHECK_DEBUG)" tools/check

check-unit: all
	@tools/check --unit-only

check-guest: all
	@tools/check --guest-only

check-debug: all
	@tools/check-debug "$(DEBUG_KERNEL_TAR)"

# Long runs of what make check sizes down (docs/testing.md).
check-long: all
	@RBLK_TEST_HAMMER_RUNS=10 RBLK_TEST_CRASH_ROUNDS=20 RBLK_TESTS="resync crash" \
		tools/check --guest-only

demo:
	@tools/deps
	@$(MAKE) --no-print-directory all
	@tools/vm/vm -- tools/demo

bench:
	@tools/deps
	@$(MAKE) --no-print-directory all
	@tools/vm/vm --timeout 3000 --mem 4096 -- tools/bench/run

# Generated code (ynl-gen-c.py output) is checked too, except for the
# length of the policy lines the generator writes.
NL_GEN_SRC := kmod/rblk_nl_gen.c kmod/rblk_nl_gen.h
checkpatch: $(KSRC)/.stamp
	$(CHECKPATCH) --no-tree --strict --terse --show-types \
		-f $(filter-out %.mod.c $(NL_GEN_SRC),$(wildcard kmod/*.c kmod/*.h)) \
		include/uapi/linux/rblk.h
	$(CHECKPATCH) --no-tree --strict --terse --show-types --ignore LONG_LINE \
		-f $(NL_GEN_SRC)

sparse:
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 C=2 CF="-D__CHECK_ENDIAN__" modules 2>&1 | \
		tee $(B)/sparse.log; ! grep -E "warning|error" $(B)/sparse.log

lint: checkpatch sparse nl-check

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null
	rm -rf $(B) netlink/genetlink.yaml
