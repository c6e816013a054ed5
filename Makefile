# Phoenix. `make run` builds and opens Phoenix on the default image;
# `make test` runs the whole test suite; `make bench` prints the benchmark
# ratios recorded in docs/BENCHMARKS.md.
SHELL := /bin/bash
GO ?= go
BIN := bin/phoenix
SANDBOX_BIN := bin/phoenix-sandbox
OUT := out
BENCHCOUNT ?= 5

.PHONY: all build run test vet bench deps fuzz clean

all: build

deps:
	@./scripts/deps.sh

# Two builds of cmd/phoenix: bin/phoenix with the GUI (Gio needs cgo), and
# bin/phoenix-sandbox, static (CGO_ENABLED=0, every command but gui): the
# only program inside the gVisor sandbox that validates generated code.
# bin/phoenix finds it next to itself (or via $PHOENIX_SANDBOX_BIN).
# bin/phoenix-guest is PID 1 of phoenix boot's QEMU guest: static, without
# the Weaviate backend (tag phoenix_guest) or symbol tables, to start faster.
build: deps
	CGO_ENABLED=1 $(GO) build -o $(BIN) ./cmd/phoenix
	CGO_ENABLED=0 $(GO) build -o $(SANDBOX_BIN) ./cmd/phoenix
	CGO_ENABLED=0 $(GO) build -tags phoenix_guest -ldflags='-s -w' -o bin/phoenix-guest ./cmd/phoenix

# Opens the window on the default image (the repl when there is no display).
run: build
	./$(BIN)

vet:
	$(GO) vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi

# The whole suite: unit tests, language-level Lua tests, fuzz seed corpora
# (run as ordinary tests), the crash test and the end-to-end CLI tests.
test: build vet
	@mkdir -p $(OUT)
	set -o pipefail; $(GO) test -count=1 -timeout 60m ./... 2>&1 | tee $(OUT)/test.log

bench: build
	@mkdir -p $(OUT)
	set -o pipefail; $(GO) test -run '^$$' -bench . -benchmem -count $(BENCHCOUNT) -timeout 120m \
	  ./vm/ ./image/ ./sandbox/ ./browser/ ./agent/ ./agent/memory/ ./kernelhost/remote/ ./tests/ 2>&1 | tee $(OUT)/bench.txt
	$(GO) run ./tests/benchreport < $(OUT)/bench.txt

# Longer fuzzing of the decoders (CI runs only the committed seed corpora).
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecodeRecord -fuzztime 60s ./image/
	$(GO) test -run '^$$' -fuzz FuzzReader -fuzztime 60s ./image/exportfmt/
	$(GO) test -run '^$$' -fuzz FuzzFuncs -fuzztime 60s ./vm/luasrc/
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 60s ./kernelhost/remote/

clean:
	rm -rf bin $(OUT)
