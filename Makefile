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

.PHONY: all build release test demo bench deps bench-deps clean

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

demo: build
	@bash Examples/run-demo.sh $$($(SWIFT) build --show-bin-path)/demo $(DEMO_PORT) --cookie-secure off

bench: bench-deps $(STATIC_CXX)/libstdc++.a
	$(RELEASE)
	@python3 Benchmarks/bench.py $$($(RELEASE) --show-bin-path)

clean:
	rm -rf .build Benchmarks/bin
