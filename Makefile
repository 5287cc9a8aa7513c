# xprof — the two set-up commands are `make demo` and `make test`; `make bench` measures.
SHELL := /bin/bash
SWIFT ?= $(shell command -v swift || echo /opt/swift/usr/bin/swift)
DEPS := libelf-dev libdw-dev libiberty-dev elfutils libzstd-dev zlib1g-dev linux-perf binutils llvm gcc g++ time python3 tar protobuf-compiler gzip \
  chromium python3-venv golang-go
# The browser tests' Playwright (PyPI) in a venv of its own (Debian's pip is externally managed); it drives the
# system chromium, as its own browser download is not reachable (Tests/Browser/pagedriver.py).
BROWSER_VENV ?= $(HOME)/.cache/xprof-test-venv
RELEASE_BIN = $(shell $(SWIFT) build -c release --static-swift-stdlib --show-bin-path)
DEBUG_BIN = $(shell $(SWIFT) build --show-bin-path)

.PHONY: deps build release test demo bench fuzz fuzz-cli proto man doc-check clean

# Installs the Debian packages xprof builds and tests with, when any is missing.
deps:
	@missing=""; for p in $(DEPS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing" >&2; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
	@$(BROWSER_VENV)/bin/python -c 'import playwright' 2>/dev/null || { \
	  echo "installing Playwright into $(BROWSER_VENV)" >&2; \
	  /usr/bin/python3 -m venv $(BROWSER_VENV) && $(BROWSER_VENV)/bin/pip install -q 'playwright>=1.40,<2'; }

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --static-swift-stdlib

test: deps
	./scripts/fetch-xen-syms.sh >/dev/null
	$(SWIFT) build
	XPROF_BIN_DIR=$(DEBUG_BIN) XPROF_BROWSER_PYTHON=$(BROWSER_VENV)/bin/python $(SWIFT) test

# Also writes the HTML pages of the demo recordings and their screenshots to demo-out/ (it says where).
demo: release
	XPROF_BROWSER_PYTHON=$(BROWSER_VENV)/bin/python ./scripts/demo.sh $(RELEASE_BIN)

# Every bench/*.sh runs in turn with the release binaries' folder as its argument.
bench: release
	./scripts/fetch-xen-syms.sh >/dev/null
	@for b in bench/*.sh; do echo "== $$b"; XPROF_BIN_DIR=$(RELEASE_BIN) XPROF_BROWSER_PYTHON=$(BROWSER_VENV)/bin/python ./$$b $(RELEASE_BIN) || exit 1; done

# libFuzzer under AddressSanitizer, SECONDS per decoder (perf.data, .xprof, Xenoprof capture, OProfile stream),
# built apart in .build-fuzz; crashing inputs are kept under Fixtures/fuzz/crashes/ (scripts/fuzz.sh).
SECONDS ?= 60
FUZZ_FLAGS = --scratch-path .build-fuzz --product xprof-fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -DXPROF_FUZZ -Xcc -fsanitize=address
fuzz: deps
	$(SWIFT) build
	$(SWIFT) build $(FUZZ_FLAGS)
	./scripts/fuzz.sh $(SECONDS) $$($(SWIFT) build $(FUZZ_FLAGS) --show-bin-path)/xprof-fuzz $(DEBUG_BIN)

# A longer campaign of the CLI mutation tests than `make test` runs (150 mutants per seed file).
FUZZ_ITERATIONS ?= 5000
fuzz-cli: deps
	$(SWIFT) build
	XPROF_FUZZ_ITERATIONS=$(FUZZ_ITERATIONS) $(SWIFT) test --filter FuzzTests

# Every public declaration of the library modules has a /// doc comment, or this fails listing the ones
# that lack it (scripts/doc-check.py; not part of `make test`).
DOC_CHECK_DIRS ?= Sources/SampleIO Sources/SymbolMap Sources/Recording Sources/Profile Sources/Render
doc-check:
	python3 scripts/doc-check.py $(DOC_CHECK_DIRS)

# Man pages, one per command (swift-argument-parser's generate-manual plugin), into man/.
man: deps
	$(SWIFT) package --allow-writing-to-package-directory generate-manual --multi-page
	mkdir -p man && cp .build/plugins/GenerateManual/outputs/xprof/*.1 man/
	@echo "man pages in man/: man -l man/xprof.1"

# Regenerates the committed Swift code of proto/pprof.proto (not part of the build: it needs protoc and
# protoc-gen-swift, built here from the swift-protobuf package the build already resolves). The tests decode
# xprof's pprof output with protoc and this schema.
proto: deps
	$(SWIFT) build -c release --package-path .build/checkouts/swift-protobuf --product protoc-gen-swift
	protoc --plugin=protoc-gen-swift=.build/checkouts/swift-protobuf/.build/release/protoc-gen-swift \
	  --swift_out=Sources/xprof-pprof/Generated --swift_opt=Visibility=Internal -I proto proto/pprof.proto

clean:
	rm -rf .build
