# Obsession for Swift. `make demo` serves the example behind nginx; `make test` runs every test.
# Both install what they need from Debian's packages first (CI starts on a bare Debian 12).

SWIFT ?= swift
# Debian packages the tests start for real; bench adds wrk and the peers' own.
TEST_PACKAGES := libfcgi-dev libfcgi-bin nginx-light curl systemd spawn-fcgi lighttpd apache2 libapache2-mod-fcgid fcgiwrap wrk
BENCH_PACKAGES := $(TEST_PACKAGES) wrk gcc php8.2-fpm python3 valgrind
DEMO_PORT ?= 8080
# What to deploy: the Swift runtime, and the C++ library and libgcc it needs, linked in. The
# server then needs no Swift toolchain, and a classic CGI process no longer spends most of its
# start loading shared libraries (`make bench` shows the time). STATIC_CXX holds libstdc++.a
# alone, so that the linker takes the archive for the runtime's -lstdc++.
STATIC_CXX := $(CURDIR)/.build/static-cxx
RELEASE := $(SWIFT) build -c release --static-swift-stdlib -Xlinker -L$(STATIC_CXX) -Xswiftc -Xclang-linker -Xswiftc -static-libgcc

.PHONY: all build release test test-asan demo bench deps bench-deps clean

all: build

deps:
	@bash .ci/apt-install $(TEST_PACKAGES)

bench-deps:
	@bash .ci/apt-install $(BENCH_PACKAGES)

build: deps
	$(SWIFT) build

release: deps $(STATIC_CXX)/libstdc++.a
	$(RELEASE)

$(STATIC_CXX)/libstdc++.a:
	@archive="$$(clang -print-file-name=libstdc++.a)"; \
	test -f "$$archive" || { echo "no libstdc++.a for the release link (Debian: libstdc++-12-dev)" >&2; exit 1; }; \
	mkdir -p $(STATIC_CXX) && ln -sf "$$archive" $@

test: build
	OBSESSION_BIN_DIR=$$($(SWIFT) build --show-bin-path) $(SWIFT) test
	@$(MAKE) --no-print-directory test-asan

# The tests once more on a build with AddressSanitizer, the programs they start included: the
# library reads libfcgi's and the kernel's structures through unsafe pointers. Every report, the
# test process's or a started program's, lands in ASAN_REPORTS, is shown, and fails the run.
# Left out: the write-timeout test, whose bound ASan's slowdown breaks, and the request that
# crashes libfcgi on purpose, whose huge allocation ASan refuses before libfcgi can abort.
ASAN_BUILD := $(CURDIR)/.build/asan
ASAN_REPORTS := $(ASAN_BUILD)/reports
test-asan: deps
	$(SWIFT) build --build-tests --sanitize=address --scratch-path $(ASAN_BUILD)
	rm -rf $(ASAN_REPORTS) && mkdir -p $(ASAN_REPORTS)
	status=0; OBSESSION_BIN_DIR=$(ASAN_BUILD)/debug ASAN_OPTIONS=log_path=$(ASAN_REPORTS)/report:detect_leaks=0 \
	  $(SWIFT) test --skip-build --sanitize=address --scratch-path $(ASAN_BUILD) \
	  --skip 'connectionThatTakesNoAnswerIsDroppedAfterTheWriteTimeout|requestThatMakesLibfcgiAbortCostsOnlyThatProcess' \
	  || status=$$?; \
	if ls $(ASAN_REPORTS)/report.* >/dev/null 2>&1; then cat $(ASAN_REPORTS)/report.*; status=1; fi; exit $$status

demo: build
	@bash Examples/run-demo.sh $$($(SWIFT) build --show-bin-path)/demo $(DEMO_PORT) --cookie-secure off

bench: bench-deps $(STATIC_CXX)/libstdc++.a
	$(RELEASE)
	@python3 Benchmarks/bench.py $$($(RELEASE) --show-bin-path)

clean:
	rm -rf .build Benchmarks/bin
