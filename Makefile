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
test: lint test-unit test-integration ## Every test: lint, unit, and the integration suite on moto_server

.PHONY: test-unit
test-unit: console-test-deps ## Unit and in-process end-to-end tests (the console's in headless Chromium too)
	$(GO_TEST) $(UNIT)

.PHONY: test-integration
test-integration: ## DynamoDB/KMS suites against moto_server (started and stopped by the tests)
	@command -v moto_server >/dev/null || { echo "moto_server is not installed (pip install 'moto[server]')"; exit 1; }
	$(GO_TEST) -v $(INTEGRATION) 2>&1 | grep -vE '^=== (RUN|PAUSE|CONT)'

.PHONY: lint
lint: ## go vet and gofmt
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files --cached --others --exclude-standard '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

.PHONY: build
build: console ## Build each function as .build/<name>/bootstrap (linux/arm64, provided.al2023)
	@for fn in $(FUNCTIONS); do \
	  CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -ldflags "-s -w" \
	    -o $(BUILD_DIR)/$$fn/bootstrap ./functions/$$fn || exit 1; \
	  printf '%-12s %8s bytes  %s\n' $$fn $$(stat -c %s $(BUILD_DIR)/$$fn/bootstrap) $(BUILD_DIR)/$$fn/bootstrap; \
	done

# The admin console and API docs pages (shared/console): TypeScript built by
# Vite into shared/console/dist, which is committed so `go build` works on a
# clean clone; TestDistIsCurrent fails when it is stale.
CONSOLE := shared/console

$(CONSOLE)/node_modules/.package-lock.json: $(CONSOLE)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is not installed (Node.js 20.19 or later builds the console)"; exit 1; }
	cd $(CONSOLE) && npm ci

.PHONY: console
console: $(CONSOLE)/node_modules/.package-lock.json ## Build the console and API docs pages into shared/console/dist (commit the result)
	cd $(CONSOLE) && npm run --silent build

.PHONY: console-test-deps
console-test-deps: $(CONSOLE)/node_modules/.package-lock.json ## Install what the console's tests need: its npm packages and Chromium
	@if [ -z "$${LATCHKEY_CHROMIUM:-}" ] && ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null && ! command -v google-chrome >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }; \
	  elif sudo -n true 2>/dev/null; then sudo apt-get install -y chromium || { sudo apt-get update && sudo apt-get install -y chromium; }; \
	  else echo "The console's browser tests need Chromium: sudo apt-get install -y chromium (or set LATCHKEY_CHROMIUM)"; exit 1; fi; \
	fi

.PHONY: clean
clean: ## Remove build output
	rm -rf $(BUILD_DIR)
