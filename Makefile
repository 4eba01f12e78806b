# Latchkey — the two commands a newcomer needs are `make dev` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO          ?= go
GO_TEST     ?= $(GO) test -race -count=1
FUNCTIONS   := $(notdir $(wildcard functions/*))
BUILD_DIR   := .build
# Packages whose tests start moto_server (they import shared/awstest).
INTEGRATION := $(shell $(GO) list -f '{{.ImportPath}}: {{join .TestImports " "}} {{join .XTestImports " "}}' ./... 2>/dev/null | grep 'shared/awstest' | cut -d: -f1)
UNIT        := $(filter-out $(INTEGRATION),$(shell $(GO) list ./... 2>/dev/null))

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

.PHONY: dev
dev: ## Run the whole API on 127.0.0.1:3000 (in-memory store); prints an admin token
	$(GO) run ./cmd/latchkey dev $(DEV_FLAGS)

.PHONY: test
test: lint test-unit fuzz test-integration ## Every test: lint, unit, a short fuzz run, and the integration suite on moto_server

.PHONY: test-unit
test-unit: ## Unit and in-process end-to-end tests
	$(GO_TEST) $(UNIT)

.PHONY: test-integration
test-integration: ## DynamoDB/KMS suites against moto_server (started and stopped by the tests)
	@command -v moto_server >/dev/null || { echo "moto_server is not installed (pip install 'moto[server]')"; exit 1; }
	$(GO_TEST) -v $(INTEGRATION) 2>&1 | grep -vE '^=== (RUN|PAUSE|CONT)'

# Fuzz targets run briefly by `make test`: package:FuzzName:executions. A
# fixed number of executions (a few seconds each) rather than a duration: a
# -fuzztime duration races Go 1.26's fuzz coordinator at its deadline and
# fails runs that found nothing ("context deadline exceeded",
# golang/go#75804, fixed in Go 1.27). FUZZTIME=5m overrides every budget.
FUZZ_TARGETS := shared/bearer:FuzzFromHeader:300000x shared/apitoken:FuzzParse:300000x \
                shared/authorizer:FuzzAuthorizationHeader:50000x shared/authorizer:FuzzJOSEHeader:100000x

.PHONY: fuzz
fuzz: ## Fuzz the Authorization-header, token and JWT-header parsers briefly (FUZZTIME=5m for longer)
	@for t in $(FUZZ_TARGETS); do \
	  IFS=: read -r pkg fn budget <<< "$$t"; budget=$${FUZZTIME:-$$budget}; \
	  echo "fuzz $$fn in $$pkg for $$budget"; \
	  $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $$budget ./$$pkg || exit 1; \
	done

# Benchmarks and the baselines they are held to. Each package's test binary
# is built once and run BENCH_COUNT times, so a benchmark and its baseline
# are measured moments apart in every round; benchratio keeps each one's
# fastest round (load only ever slows a run down).
BENCH_COUNT  ?= 6
BENCH_PKGS   := shared/authorizer
BENCH_RATIOS := -ratio 'OpaqueDecision/OpaqueBaseline<=3' \
                -ratio 'AccessTokenDecision/ECDSAVerifyBaseline<=1.5'

.PHONY: bench
bench: ## Benchmarks with their baselines: ns/op, allocs/op and ratios (fails past a bound)
	@mkdir -p $(BUILD_DIR)/bench
	@for pkg in $(BENCH_PKGS); do \
	  $(GO) test -c -o $(BUILD_DIR)/bench/$$(basename $$pkg).test ./$$pkg || exit 1; \
	done
	@for i in $$(seq $(BENCH_COUNT)); do \
	  for pkg in $(BENCH_PKGS); do \
	    (cd $$pkg && $(CURDIR)/$(BUILD_DIR)/bench/$$(basename $$pkg).test -test.run '^$$' -test.bench . -test.benchmem) || exit 1; \
	  done; \
	done | tee $(BUILD_DIR)/bench/results.txt | $(GO) run ./cmd/benchratio $(BENCH_RATIOS)

.PHONY: lint
lint: ## go vet and gofmt
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files --cached --others --exclude-standard '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

.PHONY: build
build: ## Build each function as .build/<name>/bootstrap (linux/arm64, provided.al2023)
	@for fn in $(FUNCTIONS); do \
	  CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -ldflags "-s -w" \
	    -o $(BUILD_DIR)/$$fn/bootstrap ./functions/$$fn || exit 1; \
	  printf '%-12s %8s bytes  %s\n' $$fn $$(stat -c %s $(BUILD_DIR)/$$fn/bootstrap) $(BUILD_DIR)/$$fn/bootstrap; \
	done

.PHONY: clean
clean: ## Remove build output
	rm -rf $(BUILD_DIR)
