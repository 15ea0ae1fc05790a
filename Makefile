# Obsession for Swift. `make demo` serves the example behind nginx; `make test` runs every test.
# Both install what they need from Debian's packages first (CI starts on a bare Debian 12).

SHELL := /bin/bash

# Every swift command leaves empty TemporaryDirectory.* directories in TMPDIR (SwiftPM's, not
# ours): they go to .build/tmp rather than /tmp.
SWIFT_TMPDIR := $(CURDIR)/.build/tmp
SWIFT ?= TMPDIR=$(SWIFT_TMPDIR) swift
$(shell mkdir -p $(SWIFT_TMPDIR))
# Debian packages the tests start for real (PHP, Redis and a headless browser among them); bench adds a C
# compiler and valgrind.
TEST_PACKAGES := libfcgi-dev libfcgi-bin nginx-light curl systemd spawn-fcgi lighttpd apache2 libapache2-mod-fcgid fcgiwrap wrk strace \
	libhiredis-dev redis-server redis-sentinel redis-tools php8.2-cli php8.2-fpm php8.2-redis libcgi-session-perl \
	chromium chromium-driver fonts-liberation
BENCH_PACKAGES := $(TEST_PACKAGES) gcc python3 valgrind
DEMO_PORT ?= 8080
# What to deploy: the Swift runtime, and the C++ library and libgcc it needs, linked in. The
# server then needs no Swift toolchain, and a classic CGI process no longer spends most of its
# start loading shared libraries (`make bench` shows the time). STATIC_CXX holds libstdc++.a
# alone, so that the linker takes the archive for the runtime's -lstdc++.
STATIC_CXX := $(CURDIR)/.build/static-cxx
RELEASE := $(SWIFT) build -c release --static-swift-stdlib -Xlinker -L$(STATIC_CXX) -Xswiftc -Xclang-linker -Xswiftc -static-libgcc
# The programs a release holds, built one by one: a plain `swift build` would build the tests'
# support target too, which needs the testing library.
PRODUCTS := hello demo obsession obsession-tool backend-loop ObsessionStatic

.PHONY: all build release install test test-address test-thread fuzz demo bench docs deps bench-deps clean

all: build

deps:
	@bash .ci/apt-install $(TEST_PACKAGES)

bench-deps:
	@bash .ci/apt-install $(BENCH_PACKAGES)

build: deps
	$(SWIFT) build

release: deps $(STATIC_CXX)/libstdc++.a
	for product in $(PRODUCTS); do $(RELEASE) --product $$product || exit 1; done

$(STATIC_CXX)/libstdc++.a:
	@archive="$$(clang -print-file-name=libstdc++.a)"; \
	test -f "$$archive" || { echo "no libstdc++.a for the release link (Debian: libstdc++-12-dev)" >&2; exit 1; }; \
	mkdir -p $(STATIC_CXX) && ln -sf "$$archive" $@

# `make install` (PREFIX, default /usr/local; DESTDIR for packaging): the `obsession` command,
# linked statically (a script's every request starts it: a static start saves ~0.7 ms of
# dynamic loading), its tool in libexec, and in PREFIX/lib/obsession what a program outside this package needs
# to `import Obsession`: the modules, one static library of them, libstdc++'s archive for a
# static link, and swiftc-arguments, what `obsession script` and `obsession build` compile
# with (the first line the library's version, the second the compiler's: a script compiled
# against another is compiled again). CONFIG=debug installs the debug build, as the tests do.
PREFIX ?= /usr/local
CONFIG ?= release
LIBRARY_DIRECTORY := $(PREFIX)/lib/obsession
install: $(if $(filter release,$(CONFIG)),release,build) $(STATIC_CXX)/libstdc++.a
	@set -e; bin=$$($(SWIFT) build -c $(CONFIG) --show-bin-path); lib=$(DESTDIR)$(LIBRARY_DIRECTORY); \
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/libexec/obsession $$lib/modules/CFastCGI $$lib/static-cxx; \
	clang -O2 -static -o $(DESTDIR)$(PREFIX)/bin/obsession Sources/ObsessionLauncher/main.c; \
	install -m 755 $$bin/obsession-tool $(DESTDIR)$(PREFIX)/libexec/obsession/obsession-tool; \
	install -m 644 $$bin/libObsessionStatic.a $$lib/libObsessionStatic.a; \
	for module in FastCGI Obsession Logging; do rm -rf $$lib/modules/$$module.swiftmodule; \
	  cp -R $$bin/Modules/$$module.swiftmodule $$lib/modules/; done; \
	install -m 644 Sources/CFastCGI/module.modulemap Sources/CFastCGI/shim.h $$lib/modules/CFastCGI/; \
	cp -L $(STATIC_CXX)/libstdc++.a $$lib/static-cxx/libstdc++.a; \
	objects=$$(mktemp -d); (cd $$objects && ar x $$bin/libObsessionStatic.a); \
	libraries=$$(swift-autolink-extract $$objects/*.o -o - | sort -u); rm -rf $$objects; \
	{ echo "# obsession $$(git rev-parse --short HEAD 2>/dev/null || echo unknown) ($(CONFIG))"; \
	  echo "# $$(swiftc --version 2>&1 | head -n 1)"; command -v swiftc; echo -O; \
	  echo -Xcc; echo "-fmodule-map-file=$(LIBRARY_DIRECTORY)/modules/CFastCGI/module.modulemap"; \
	  echo -static-stdlib; echo "-L$(LIBRARY_DIRECTORY)/static-cxx"; echo -Xclang-linker; echo -static-libgcc; \
	  echo -lObsessionStatic; echo "$$libraries"; echo -ldispatch; echo -lBlocksRuntime; echo -lstdc++; } > $$lib/swiftc-arguments; \
	echo "installed in $(DESTDIR)$(PREFIX)"

# The tests, which must all run: a test whose program is missing reports itself skipped, and
# a skipped test fails the run here (deps installs every program they start).
# The script tests run `obsession script` as `make install` lays it out, from the debug build.
TEST_INSTALL := $(CURDIR)/.build/install-test
test: build
	@$(MAKE) --no-print-directory install PREFIX=$(TEST_INSTALL) CONFIG=debug
	set -o pipefail; OBSESSION_BIN_DIR=$$($(SWIFT) build --show-bin-path) OBSESSION_INSTALL_DIR=$(TEST_INSTALL) \
	  $(SWIFT) test 2>&1 | tee .build/test.log
	@! grep -a " skipped" .build/test.log || { echo "tests were skipped: a program they need is missing" >&2; exit 1; }
	@$(MAKE) --no-print-directory test-address test-thread
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=30

# The tests once more on a build with AddressSanitizer, and once on one with ThreadSanitizer,
# the programs they start included: the library reads libfcgi's and the kernel's structures
# through unsafe pointers, and its workers share backends between threads. Every report, the
# test process's or a started program's, lands in .build/SANITIZER/reports, is shown, and fails
# the run. Left out: the write-timeout test, whose bound a sanitizer's slowdown breaks; the
# request that crashes libfcgi on purpose, whose huge allocation a sanitizer refuses first; and
# the worker's peak memory against a huge form, which a sanitizer's allocator multiplies. Under
# ThreadSanitizer also the storm of SIGUSR1 over 150 forks: its runtime keeps a thread of its
# own in every process, and a child forked from a process with more than one thread can hang
# in the runtime's own locks (seen: a worker spinning for minutes).
SANITIZED_SKIP_address := 'connectionThatTakesNoAnswerIsDroppedAfterTheWriteTimeout|requestThatMakesLibfcgiAbortCostsOnlyThatProcess|formOfMillionsOfEmptyFieldsIsRefusedBeforeItBalloons'
SANITIZED_SKIP_thread := $(SANITIZED_SKIP_address:%'=%|statusRequestsDuringRetirementsStopNoFreshWorker')
test-address test-thread: test-%: deps
	$(SWIFT) build --build-tests --sanitize=$* --scratch-path $(CURDIR)/.build/$*
	rm -rf .build/$*/reports && mkdir -p .build/$*/reports
	status=0; reports=$(CURDIR)/.build/$*/reports; \
	OBSESSION_BIN_DIR=$(CURDIR)/.build/$*/debug OBSESSION_INSTALL_DIR=$(TEST_INSTALL) \
	  ASAN_OPTIONS=log_path=$$reports/report:detect_leaks=0 TSAN_OPTIONS=log_path=$$reports/report \
	  $(SWIFT) test --skip-build --sanitize=$* --scratch-path $(CURDIR)/.build/$* --skip $(SANITIZED_SKIP_$*) \
	  || status=$$?; \
	if ls $$reports/report.* >/dev/null 2>&1; then cat $$reports/report.*; status=1; fi; exit $$status

# Hostile requests, session data and session files through the library under libFuzzer and
# AddressSanitizer (Tests/Fuzz, which reads the record format through @testable, hence
# -enable-testing), for FUZZ_SECONDS. An input that crashes it is kept in
# .build/fuzz/ and named in the output; the corpus grows there from run to run. Linked with lld:
# gold crashes on this link. make test runs it briefly, so that it keeps building and working.
FUZZ_SECONDS ?= 300
fuzz: deps
	cd Tests/Fuzz && $(SWIFT) build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing \
	  -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld
	rm -rf .build/fuzz/scratch && mkdir -p .build/fuzz/corpus .build/fuzz/scratch
	FUZZ_SCRATCH=$(CURDIR)/.build/fuzz/scratch Tests/Fuzz/.build/release/fuzz .build/fuzz/corpus Tests/Fuzz/seeds \
	  -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -artifact_prefix=$(CURDIR)/.build/fuzz/ -print_final_stats=1

demo: build
	@bash Examples/run-demo.sh $$($(SWIFT) build --show-bin-path)/demo $(DEMO_PORT) --cookie-secure off

BENCH_INSTALL := $(CURDIR)/.build/install-bench
bench: bench-deps $(STATIC_CXX)/libstdc++.a
	@$(MAKE) --no-print-directory install PREFIX=$(BENCH_INSTALL)
	@OBSESSION_INSTALL_DIR=$(BENCH_INSTALL) python3 Benchmarks/bench.py $$($(RELEASE) --show-bin-path)

# The documentation of the five modules, with their guides (the .docc catalogues), as static sites
# in .build/docs/fastcgi, obsession, obsessionredis, obsessionphp and obsessionperl.
docs: deps
	rm -rf .build/docs && mkdir -p .build/docs
	for target in FastCGI Obsession ObsessionRedis ObsessionPHP ObsessionPerl; do \
	  lower=$$(echo $$target | tr A-Z a-z); \
	  $(SWIFT) package --allow-writing-to-directory .build/docs generate-documentation --target $$target \
	    --output-path .build/docs/$$lower --transform-for-static-hosting --hosting-base-path $$lower || exit 1; \
	done

clean:
	rm -rf .build Benchmarks/bin Tests/Fuzz/.build
