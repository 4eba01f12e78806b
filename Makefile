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
test: lint test-unit test-integration fuzz ## Every test: lint, unit, the integration suite on moto_server, short fuzz runs

.PHONY: test-unit
test-unit: ## Unit and in-process end-to-end tests
	$(GO_TEST) $(UNIT)

.PHONY: test-integration
test-integration: ## DynamoDB/KMS suites against moto_server (started and stopped by the tests)
	@command -v moto_server >/dev/null || { echo "moto_server is not installed (pip install 'moto[server]')"; exit 1; }
	$(GO_TEST) -v $(INTEGRATION) 2>&1 | grep -vE '^=== (RUN|PAUSE|CONT)'

FUZZTIME ?= 5s
.PHONY: fuzz
fuzz: ## Run every fuzz target briefly (FUZZTIME each, default 5s)
	@set -e; for pkg in $$($(GO) list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.Dir}}{{end}}' ./...); do \
	  for fn in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$pkg/*_test.go 2>/dev/null | cut -c6-); do \
	    echo "fuzz $$fn in $$(realpath --relative-to=. $$pkg) for $(FUZZTIME)"; \
	    $(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) ./$$(realpath --relative-to=. $$pkg) > .fuzz.log 2>&1 || { cat .fuzz.log; rm -f .fuzz.log; exit 1; }; \
	  done; \
	done; rm -f .fuzz.log

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
