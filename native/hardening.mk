# hardening.mk — sanitizer builds, the load/stress program and libFuzzer targets (SECURITY.md, native/fuzz/README.md).
# Included from the end of native/Makefile; reuses its CORE_SRCS / GUARD_SRCS / HOOK_SRCS lists. Needs clang.
#
#   make asan       ASan+UBSan: build/asan/libegressguard.so (+ C unit tests, run when test/unit.c exists) + stress
#   make tsan       TSan:       build/tsan/libegressguard.so + a stress program that links it first (see below),
#                               and build/tsan/egress-guard-agent
#   make fuzz       every harness for FUZZ_SECONDS (default 300) each, corpus in build/fuzz/corpus-<name>
#   make fuzz-ci    replay the committed seeds and crash reproducers, then FUZZ_CI_SECONDS (default 15) each
#   make fuzz-regress  replay only (no fuzzing): seeds + every committed reproducer must pass
# The load test itself (32 threads × 5,000 lookups/connects under the sanitized library) needs a network namespace
# and runs from test/hardening/load.test.ts.
SAN_CC      ?= clang
SAN_BASE    := -std=c11 -g -O1 -fno-omit-frame-pointer -fPIC -fvisibility=hidden -Wall -Wextra -Werror -Wshadow \
               -Wstrict-prototypes -fno-strict-aliasing -Isrc
ASAN_FLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=all
TSAN_FLAGS  := -fsanitize=thread
# -shared-libsan: the sanitizer runtime is a shared object that LD_PRELOAD can put first (it must come first).
SAN_LIB_LDFLAGS := -shared -shared-libsan -Wl,--version-script=$(MAP) -Wl,-z,now -ldl -lpthread
FUZZ_FLAGS  := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZERS     := egp json dnsq dnsname launch
FUZZ_SECONDS    ?= 300
FUZZ_CI_SECONDS ?= 15
FUZZ_DIR    := $(BUILD)/fuzz
HAVE_UNIT   := $(wildcard test/unit.c)

.PHONY: asan tsan fuzz fuzz-ci fuzz-regress fuzz-build

$(BUILD)/asan $(BUILD)/tsan $(FUZZ_DIR):
	mkdir -p $@

$(BUILD)/asan/libegressguard.so: $(LIB_SRCS) $(HEADERS) $(MAP) | $(BUILD)/asan
	$(SAN_CC) $(SAN_BASE) $(ASAN_FLAGS) -o $@ $(LIB_SRCS) $(SAN_LIB_LDFLAGS)

$(BUILD)/asan/stress: stress/stress.c | $(BUILD)/asan
	$(SAN_CC) $(SAN_BASE) $(ASAN_FLAGS) -shared-libsan -o $@ $< -lpthread
# TSan: clang 14's shared TSan runtime (libclang_rt.tsan-x86_64.so) segfaults at startup on this Debian even for
# /bin/true, so it cannot be LD_PRELOADed. Instead the TSan stress program carries the static runtime and lists the
# TSan-built libegressguard.so as its FIRST needed library: the lookup order is then program (TSan's interceptors) →
# libegressguard.so (the hooks, unchanged) → libc, the same chain as LD_PRELOAD gives; TSan's own getaddrinfo/connect
# interceptors still run first, so libc's internal locking stays visible to TSan (no false reports from inside libc).
# TSan's own initialisation installs its signal handlers through sigaction(), which the hooks then serve before TSan
# can run instrumented code (a TSan function entry there segfaults): the sigaction hooks (signal.c) and the lookup
# of the real functions they call (real.c) are built without TSan instrumentation; every other file is checked.
TSAN_PLAIN_SRCS := src/signal.c src/real.c
$(BUILD)/tsan/plain-%.o: src/%.c $(HEADERS) | $(BUILD)/tsan
	$(SAN_CC) $(SAN_BASE) -c -o $@ $<
$(BUILD)/tsan/libegressguard.so: $(LIB_SRCS) $(HEADERS) $(MAP) $(patsubst src/%.c,$(BUILD)/tsan/plain-%.o,$(TSAN_PLAIN_SRCS)) | $(BUILD)/tsan
	$(SAN_CC) $(SAN_BASE) $(TSAN_FLAGS) -o $@ $(filter-out $(TSAN_PLAIN_SRCS),$(LIB_SRCS)) \
	  $(patsubst src/%.c,$(BUILD)/tsan/plain-%.o,$(TSAN_PLAIN_SRCS)) -shared -Wl,--version-script=$(MAP) -ldl -lpthread
$(BUILD)/tsan/stress: stress/stress.c $(BUILD)/tsan/libegressguard.so | $(BUILD)/tsan
	$(SAN_CC) $(SAN_BASE) $(TSAN_FLAGS) -o $@ stress/stress.c -Wl,--no-as-needed -L$(BUILD)/tsan -l:libegressguard.so \
	  -Wl,-rpath,'$$ORIGIN' -lpthread
# The agent under TSan (test/hardening/agent-tsan.test.ts): its worker threads and its sampler share the invoke table,
# the state file and the upstream pool. An ordinary executable with the static TSan runtime (libc's start files, not
# src/exe_start.c: the runtime must initialise before main).
$(BUILD)/tsan/egress-guard-agent: $(AGENT_DEPS) | $(BUILD)/tsan
	$(SAN_CC) $(SAN_BASE) $(TSAN_FLAGS) -Iagent -o $@ $(AGENT_SRCS) -lpthread
$(BUILD)/stress: stress/stress.c | $(BUILD)
	$(CC) $(CFLAGS_BASE) -o $@ $< -lpthread

$(BUILD)/asan/unit_tests: test/unit.c test/egpw.c test/egpw.h $(CORE_SRCS) src/json.c $(HEADERS) | $(BUILD)/asan
	$(SAN_CC) $(SAN_BASE) $(ASAN_FLAGS) -Itest -o $@ test/unit.c test/egpw.c $(CORE_SRCS) src/json.c

ASAN_TARGETS := $(BUILD)/asan/libegressguard.so $(BUILD)/asan/stress $(if $(HAVE_UNIT),$(BUILD)/asan/unit_tests)
asan: $(ASAN_TARGETS)
ifneq ($(HAVE_UNIT),)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(BUILD)/asan/unit_tests ../test/fixtures/golden
endif

tsan: $(BUILD)/tsan/stress $(BUILD)/tsan/egress-guard-agent

# --- libFuzzer ---
$(FUZZ_DIR)/fuzz_egp: fuzz/fuzz_egp.c $(CORE_SRCS) $(HEADERS) | $(FUZZ_DIR)
	$(SAN_CC) $(SAN_BASE) $(FUZZ_FLAGS) -o $@ fuzz/fuzz_egp.c $(CORE_SRCS)
$(FUZZ_DIR)/fuzz_json: fuzz/fuzz_json.c src/json.c src/json.h | $(FUZZ_DIR)
	$(SAN_CC) $(SAN_BASE) $(FUZZ_FLAGS) -o $@ fuzz/fuzz_json.c src/json.c

$(FUZZ_DIR)/fuzz_dnsq: fuzz/fuzz_dnsq.c src/dnsq.c src/dnsq.h src/dnsname.h | $(FUZZ_DIR)
	$(SAN_CC) $(SAN_BASE) $(FUZZ_FLAGS) -o $@ fuzz/fuzz_dnsq.c src/dnsq.c

$(FUZZ_DIR)/fuzz_dnsname: fuzz/fuzz_dnsname.c src/dnsname.c src/dnsname.h | $(FUZZ_DIR)
	$(SAN_CC) $(SAN_BASE) $(FUZZ_FLAGS) -o $@ fuzz/fuzz_dnsname.c src/dnsname.c -lresolv

# The launcher's record reader: its sources but main.c (the harness calls eg_launch_check itself).
$(FUZZ_DIR)/fuzz_launch: fuzz/fuzz_launch.c $(filter-out launcher/main.c,$(LAUNCHER_SRCS)) $(LAUNCHER_DEPS) | $(FUZZ_DIR)
	$(SAN_CC) $(SAN_BASE) $(FUZZ_FLAGS) -Ilauncher -o $@ fuzz/fuzz_launch.c $(filter-out launcher/main.c,$(LAUNCHER_SRCS))

fuzz-build: $(foreach f,$(FUZZERS),$(FUZZ_DIR)/fuzz_$(f))

# Replay: every committed seed and crash reproducer runs once (a fixed crash that comes back fails here).
fuzz-regress: fuzz-build
	@for f in $(FUZZERS); do \
	  files=$$(find fuzz/corpus/$$f fuzz/crashes/$$f -type f ! -name '.*' 2>/dev/null); \
	  [ -z "$$files" ] && continue; \
	  $(FUZZ_DIR)/fuzz_$$f -runs=1 $$files >$(FUZZ_DIR)/regress-$$f.log 2>&1 \
	    || { tail -40 $(FUZZ_DIR)/regress-$$f.log; echo "fuzz-regress: $$f failed"; exit 1; }; \
	  echo "fuzz-regress $$f: $$(echo $$files | wc -w) inputs ok"; \
	done

# Fuzz each harness for $(1) seconds into a working corpus (seeded from the committed one); new crashes are written
# to build/fuzz/crash-<name>-* (copy them to fuzz/crashes/<name>/ and add a regression test).
define run_fuzz
	@for f in $(FUZZERS); do \
	  mkdir -p $(FUZZ_DIR)/corpus-$$f; \
	  $(FUZZ_DIR)/fuzz_$$f -max_total_time=$(1) -max_len=65536 -use_value_profile=1 -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_DIR)/crash-$$f- $(FUZZ_DIR)/corpus-$$f fuzz/corpus/$$f >$(FUZZ_DIR)/fuzz-$$f.log 2>&1; \
	  rc=$$?; grep -E '^stat::(number_of_executed_units|new_units_added)|^#[0-9]+ +DONE' $(FUZZ_DIR)/fuzz-$$f.log; \
	  echo "fuzz $$f: corpus $$(ls $(FUZZ_DIR)/corpus-$$f | wc -l) files, exit $$rc"; \
	  [ $$rc -eq 0 ] || { tail -60 $(FUZZ_DIR)/fuzz-$$f.log; exit 1; }; \
	done
endef

fuzz: fuzz-regress
	$(call run_fuzz,$(FUZZ_SECONDS))

fuzz-ci: fuzz-regress
	$(call run_fuzz,$(FUZZ_CI_SECONDS))

# The probe of test/hardening (one lookup + one connect, JSON result) — plain and ASan+UBSan builds.
$(BUILD)/probe: stress/probe.c | $(BUILD)
	$(CC) $(CFLAGS_BASE) -o $@ $<
$(BUILD)/asan/probe: stress/probe.c | $(BUILD)/asan
	$(SAN_CC) $(SAN_BASE) $(ASAN_FLAGS) -shared-libsan -o $@ $<
$(BUILD)/asan/egpcheck: fuzz/egpcheck.c $(CORE_SRCS) $(HEADERS) | $(BUILD)/asan
	$(SAN_CC) $(SAN_BASE) $(ASAN_FLAGS) -o $@ fuzz/egpcheck.c $(CORE_SRCS)
