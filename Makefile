# distillguard — build, test, demo.
#   make            build ./distillguard (BPF objects, skeletons, controller)
#   sudo make test  install missing Debian packages, run unit + fuzz + BPF tests
#   sudo make demo  install missing packages, show traffic being observed
#   make bench      print benchmark numbers (no assertions)

CC      ?= gcc
CLANG   ?= clang
BPFTOOL ?= bpftool
OUT     := build
ARCH    := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

WARN    := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes
CFLAGS  ?= -O2 -g
# user/ is laid out by stage, so a reader follows a request through the tree:
#   cmd      the subcommands, thin
#   control  settings (and the daemon's loop, control socket, journal)
#   capture  libbpf: loading, attaching, ring buffers, kernel counters
#   parse    pure: captured bytes in, request records out
#   score    pure: records in, features, scores and decisions out
#   enforce  libbpf: decisions in force -> drops, cuts and pacing in the kernel
#   console  the `top` console: the daemon's answers in, frames out (pure), curses
#   util     small shared helpers
USER_DIRS := cmd control capture parse score enforce console util
INCS    := -Iinclude $(addprefix -Iuser/,$(USER_DIRS)) -I$(OUT)
CFLAGS  += -std=c11 -D_GNU_SOURCE $(WARN) $(INCS)
LDLIBS  := -lbpf -lelf -lz -lhttp_parser -lnghttp2 -lyajl -lsodium -lmicrohttpd -lncursesw -lm -lpthread
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(OUT)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(OUT)/%.skel.h,$(BPF_SRCS))
USER_SRCS := $(foreach d,$(USER_DIRS),$(wildcard user/$(d)/*.c))
LIB_SRCS  := $(filter-out user/cmd/main.c,$(USER_SRCS))
OBJS      := $(patsubst user/%.c,$(OUT)/obj/%.o,$(USER_SRCS))
LIB_OBJS  := $(patsubst user/%.c,$(OUT)/obj/%.o,$(LIB_SRCS))
ASAN_OBJS := $(patsubst user/%.c,$(OUT)/asan/%.o,$(LIB_SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUT)/tests/%,$(UNIT_SRCS))
# BPF program tests (root): the kernel runs our programs on fixtures.
BPFT_SRCS := $(wildcard tests/bpf/test_*.c)
UNIT_BINS += $(patsubst tests/bpf/%.c,$(OUT)/tests/%,$(BPFT_SRCS))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(OUT)/fuzz/%,$(FUZZ_SRCS))
HDRS      := $(wildcard include/*.h $(foreach d,$(USER_DIRS),user/$(d)/*.h)) $(SKELS)
# The pure stages link no I/O library (libbpf, libmicrohttpd, ncurses, zlib):
# build/purity links their objects alone with what they may use, and the
# build fails when one of them calls anything else.
PURE_SRCS := $(wildcard user/parse/*.c user/score/*.c user/util/*.c) \
	$(addprefix user/console/,snapshot.c frame.c detail.c text.c)
PURE_OBJS := $(patsubst user/%.c,$(OUT)/obj/%.o,$(PURE_SRCS))
PURE_LIBS := -lhttp_parser -lnghttp2 -lyajl -lsodium -lm

.PHONY: all deps test unit fuzz integration demo bench evaluate install uninstall clean
# Objects built through pattern rules are kept, not deleted as intermediates.
.SECONDARY:
all: distillguard $(OUT)/purity

deps:
	@sh scripts/deps.sh

# vmlinux.h is generated from the running kernel's BTF (not committed): the
# programs are CO-RE, so the header only has to name the fields we read.
$(OUT)/vmlinux.h:
	@mkdir -p $(OUT)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(OUT)/bpf/%.bpf.o: bpf/%.bpf.c $(OUT)/vmlinux.h $(wildcard bpf/*.h include/*.h)
	@mkdir -p $(@D)
	$(CLANG) -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Iinclude -Ibpf -I$(OUT) -c $< -o $@
	llvm-strip -g $@ 2>/dev/null || true

$(OUT)/%.skel.h: $(OUT)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

$(OUT)/obj/%.o: user/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

distillguard: $(OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(OUT)/purity: tests/purity.c $(PURE_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(PURE_LIBS)

# Unit tests: every user module but main.c, under ASan + UBSan.
$(OUT)/asan/%.o: user/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SANFLAGS) -c $< -o $@

$(OUT)/tests/%: tests/unit/%.c $(ASAN_OBJS) $(wildcard tests/unit/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SANFLAGS) -Itests/unit -o $@ $< $(ASAN_OBJS) $(LDLIBS) -lcmocka

$(OUT)/tests/%: tests/bpf/%.c $(ASAN_OBJS) $(SKELS) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $< $(ASAN_OBJS) $(LDLIBS) -lcmocka

# libFuzzer harnesses (clang), linked against the parser modules.
FUZZ_LIB := user/capture/decode.c user/control/config.c user/control/ctlproto.c user/control/httpd.c \
	user/control/journal.c $(wildcard user/score/*.c) user/util/jsonw.c user/util/jsonbuf.c \
	$(filter-out user/parse/legs.c,$(wildcard user/parse/*.c))
$(OUT)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB) $(HDRS)
	@mkdir -p $(@D)
	$(CLANG) -std=c11 -D_GNU_SOURCE -O1 -g $(INCS) \
		-fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_LIB) $(LDLIBS)

# Benchmarks: optimised build, print numbers only.
BENCH_SRCS := $(wildcard tests/bench/bench_*.c)
BENCH_BINS := $(patsubst tests/bench/%.c,$(OUT)/bench/%,$(BENCH_SRCS))
$(OUT)/bench/%: tests/bench/%.c $(LIB_OBJS) $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS)
# The load generator is a plain OpenSSL client: none of our objects.
$(OUT)/bench/bench_load: tests/bench/bench_load.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< -lssl -lcrypto -lpthread

unit: $(UNIT_BINS)
	@sh scripts/run-unit.sh $(UNIT_BINS)

fuzz: $(FUZZ_BINS)
	@sh scripts/run-fuzz.sh $(or $(FUZZ_SECONDS),15) $(FUZZ_BINS)

integration: distillguard
	@bash tests/integration/run.sh

test:
	@sh scripts/deps.sh
	@$(MAKE) --no-print-directory all $(UNIT_BINS) $(FUZZ_BINS)
	@sh scripts/run-tests.sh

demo:
	@sh scripts/deps.sh
	@$(MAKE) --no-print-directory all
	@bash scripts/demo.sh

# The quality report on labelled scenarios (README "Quality").
evaluate: distillguard
	@python3 scripts/evaluate.py --seed $(or $(SEED),1) --scale $(or $(SCALE),1)

bench:
	@sh scripts/deps.sh bench || echo "bench: packages missing (root installs them); going on without"
	@$(MAKE) --no-print-directory distillguard $(BENCH_BINS)
	@bash scripts/bench.sh

# make install [PREFIX=/usr/local] [DESTDIR=]: the binary, the systemd unit,
# the example config (a config already there is kept), the docs. Nothing is
# started: `systemctl enable --now distillguard` does that.
PREFIX  ?= /usr/local
UNITDIR ?= /etc/systemd/system
install: distillguard
	install -D -m 0755 distillguard $(DESTDIR)$(PREFIX)/sbin/distillguard
	install -d -m 0755 $(DESTDIR)$(UNITDIR) $(DESTDIR)/etc/distillguard
	sed 's#/usr/local/#$(PREFIX)/#g' deploy/systemd/distillguard.service \
		>$(DESTDIR)$(UNITDIR)/distillguard.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/distillguard.service
	install -m 0644 config/distillguard.conf $(DESTDIR)/etc/distillguard/distillguard.conf.example
	[ -e $(DESTDIR)/etc/distillguard/distillguard.conf ] || \
		install -m 0644 config/distillguard.conf $(DESTDIR)/etc/distillguard/distillguard.conf
	install -d -m 0755 $(DESTDIR)$(PREFIX)/share/doc/distillguard
	install -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/distillguard/README.md
	cp -r deploy/prometheus deploy/grafana $(DESTDIR)$(PREFIX)/share/doc/distillguard/
	@echo "installed; next: systemctl daemon-reload && systemctl enable --now distillguard"

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/distillguard $(DESTDIR)$(UNITDIR)/distillguard.service
	rm -f $(DESTDIR)/etc/distillguard/distillguard.conf.example
	rm -rf $(DESTDIR)$(PREFIX)/share/doc/distillguard
	@echo "kept /etc/distillguard/distillguard.conf and /var/lib/distillguard (journal, secret)"

clean:
	rm -rf $(OUT) distillguard
