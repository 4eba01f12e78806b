# Latchkey — the two commands a newcomer needs are `make dev` and `make test`;
# `make check` is the inner loop (under a minute, no moto, Node or Chromium).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO          ?= go
GO_TEST     ?= $(GO) test -race -count=1
# The functions that exist in this tree; shared/deploy lists every function
# of the system and a test holds this Makefile to that list.
FUNCTIONS   := $(notdir $(wildcard functions/*))
BUILD_DIR   := .build
LAMBDA_BUILD := CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -ldflags "-s -w"
# deploy.MaxBootstrapBytes (13.5 MB); a test holds the two equal.
MAX_BOOTSTRAP_BYTES := 13500000
# The CDK CLI (from npm) for synth, diff and deploy; CDK_FLAGS passes
# context, e.g. CDK_FLAGS='-c signingKeys=k2,k1'.
CDK         ?= npx --yes aws-cdk@2.1148.1
CDK_FLAGS   ?=
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# Package sets, listed only by the targets that use them (recursive
# variables), so that other targets and `make -n` run no `go list`.
# Packages whose tests start moto_server (they import shared/testkit/awstest).
INTEGRATION = $(shell $(GO) list -f '{{.ImportPath}}: {{join .TestImports " "}} {{join .XTestImports " "}}' ./... 2>/dev/null | grep 'shared/testkit/awstest' | cut -d: -f1)
# The CDK stack's tests drive a Node process through jsii; they run apart,
# without -race (infra/latchkeystack/jsiiclose_race_test.go says why).
INFRA       = $(shell $(GO) list ./infra/... 2>/dev/null)
UNIT        = $(filter-out $(INTEGRATION) $(INFRA),$(shell $(GO) list ./... 2>/dev/null))
# The unit tests that need Node or Chromium (shared/console): the console's
# pages rebuilt with npm, its rule run in Node, its browser test. make check
# leaves them out; make test runs them.
NODE_TESTS  := ^(TestDistIsCurrent|TestConsoleChangeRuleMatchesGo|TestConsoleInBrowser)$$
# staticcheck, pinned; it checks every package.
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

.PHONY: dev
dev: ## Run the whole API on 127.0.0.1:3000 (in-memory store); prints an admin token
	$(GO) run ./cmd/latchkey dev $(DEV_FLAGS)

.PHONY: check
check: lint ## The inner loop (under a minute): go vet, gofmt, staticcheck, unit tests; no moto, Node or Chromium
	$(GO) test -count=1 -skip '$(NODE_TESTS)' $(UNIT)

.PHONY: test
test: lint build test-unit test-infra fuzz test-integration ## Every test: lint, the arm64 build (size limit), unit, CDK stack and cfn-lint, short fuzz runs, integration on moto_server

.PHONY: test-unit
test-unit: console-test-deps ## Unit and in-process end-to-end tests (the console's in headless Chromium too)
	$(GO_TEST) $(UNIT)

# cdk-nag and the CDK library it runs on (infra/nag, pinned by its
# lockfile), which the stack's tests run on the synthesized template;
# installed again when the lockfile changes.
NAG := infra/nag

$(NAG)/node_modules/.package-lock.json: $(NAG)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is not installed (Node.js 20 or later runs cdk-nag)"; exit 1; }
	cd $(NAG) && npm ci

.PHONY: test-infra
test-infra: $(NAG)/node_modules/.package-lock.json ## CDK stack tests, cfn-lint of both templates, cdk-nag AwsSolutions, SAM/CDK parity (needs Node and cfn-lint)
	@command -v cfn-lint >/dev/null || { echo "cfn-lint is not installed (pip install cfn-lint)"; exit 1; }
	$(GO) test -count=1 $(INFRA)

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
                shared/authorizer:FuzzAuthorizationHeader:50000x shared/authorizer:FuzzJOSEHeader:100000x \
                shared/iplist:FuzzParse:100000x shared/pubkey:FuzzParse:100000x \
                shared/accesstoken:FuzzVerify:60000x shared/accesstoken:FuzzIssueVerify:10000x \
                shared/clientassertion:FuzzVerify:60000x shared/oauth:FuzzForm:30000x

# The authorization model (package shared/testkit/authzmodel, run by shared/devserver TestAuthorizationModel) runs
# fresh random seeds for MODEL_TIME (a duration, or Nx for N runs of 3000
# steps); make test's unit run already covers a fixed and a fresh seed.
MODEL_TIME ?= $(if $(FUZZTIME),$(FUZZTIME),3x)

.PHONY: fuzz
fuzz: ## Fuzz every parser briefly, and run the authorization model on fresh seeds (FUZZTIME=5m for longer)
	@for t in $(FUZZ_TARGETS); do \
	  IFS=: read -r pkg fn budget <<< "$$t"; budget=$${FUZZTIME:-$$budget}; \
	  echo "fuzz $$fn in $$pkg for $$budget"; \
	  $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $$budget ./$$pkg || exit 1; \
	done
	@echo "authorization model: fresh seeds for $(MODEL_TIME)"
	LATCHKEY_MODEL_DURATION=$(MODEL_TIME) $(GO) test -count=1 -run '^TestAuthorizationModel$$' ./shared/devserver

# `make bench` prints one report: the machine; the Go benchmarks beside
# their baselines; each arm64 bootstrap's size; the cold start of every
# function in milliseconds over a minimal aws-lambda-go binary (with
# BENCH_COLD_START_BASELINE=<dir>, relative to the repository or absolute,
# other builds of the functions in <dir>/<name>/bootstrap beside them); and
# the AWS calls per operation. It exits 1 when a bound is passed, after
# printing everything.
#
# Each benchmark package's test binary is built once and run BENCH_COUNT
# times, so a benchmark and its baseline are measured moments apart in every
# round; benchratio keeps each one's fastest round (load only ever slows a
# run down). BENCH_RATIOS are held to bounds; BENCH_SHOWN are reported.
BENCH_COUNT  ?= 6
BENCH_COLD_STARTS ?= 31
BENCH_COLD_START_BASELINE ?=
BENCH_PKGS   := shared/authorizer shared/oauth shared/admin
BENCH_RATIOS := -ratio 'OpaqueDecision/OpaqueBaseline<=4' \
                -ratio 'AccessTokenDecision/ECDSAVerifyBaseline<=1.5' \
                -report 'AssertionDecision/ECDSAVerifyBaseline' \
                -report 'Issuance/ECDSASignBaseline' \
                -report 'AccessTokenIssue/ECDSASignBaseline' \
                -report 'CreateToken/CreateTokenBaseline' \
                -report 'RotateToken/RotateTokenBaseline'

.PHONY: bench
bench: ## One performance report: benchmarks vs baselines, arm64 sizes, cold start, AWS calls per operation (fails past a bound)
	@command -v moto_server >/dev/null || { echo "moto_server is not installed (pip install 'moto[server]')"; exit 1; }
	@mkdir -p $(BUILD_DIR)/bench
	@for pkg in $(BENCH_PKGS); do \
	  $(GO) test -c -o $(BUILD_DIR)/bench/$$(basename $$pkg).test ./$$pkg || exit 1; \
	done
	@$(GO) test -c -tags bench -o $(BUILD_DIR)/bench/benchreport.test ./shared/testkit/benchreport
	@$(GO) build -o $(BUILD_DIR)/bench/benchratio ./cmd/benchratio
	@fail=0; \
	echo "== Machine"; \
	echo "cpu: $$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $$(nproc) cores; $$($(GO) version | cut -d' ' -f3-)"; \
	echo "load average at start: $$(cut -d' ' -f1-3 /proc/loadavg) (the CPU may be shared: compare ratios, not times)"; \
	echo; echo "== Go benchmarks: fastest of $(BENCH_COUNT) interleaved rounds, each beside its baseline"; \
	for i in $$(seq $(BENCH_COUNT)); do \
	  for pkg in $(BENCH_PKGS); do \
	    (cd $$pkg && $(CURDIR)/$(BUILD_DIR)/bench/$$(basename $$pkg).test -test.run '^$$' -test.bench . -test.benchmem) || exit 1; \
	  done; \
	done > $(BUILD_DIR)/bench/results.txt || fail=1; \
	$(BUILD_DIR)/bench/benchratio $(BENCH_RATIOS) < $(BUILD_DIR)/bench/results.txt || fail=1; \
	echo; echo "== arm64 bootstrap sizes (linux/arm64, -s -w; limit $(MAX_BOOTSTRAP_BYTES) bytes)"; \
	for fn in $(FUNCTIONS); do $(MAKE) -s --no-print-directory function FN=$$fn || fail=1; done; \
	echo; echo "== Cold start: exec to first response under the Runtime API harness"; \
	(cd shared/testkit/benchreport && BENCH_COLD_STARTS=$(BENCH_COLD_STARTS) BENCH_COLD_START_BASELINE='$(if $(BENCH_COLD_START_BASELINE),$(abspath $(BENCH_COLD_START_BASELINE)))' $(CURDIR)/$(BUILD_DIR)/bench/benchreport.test -test.run '^TestColdStart$$') 2>&1 \
	  | sed -e '/^PASS$$/d' -e '/^awstest: /d' || fail=1; \
	echo; echo "== AWS calls per operation (each function's binary against moto, counted at the wire)"; \
	(cd shared/testkit/benchreport && $(CURDIR)/$(BUILD_DIR)/bench/benchreport.test -test.run '^TestCallsPerOperation$$') 2>&1 \
	  | sed -e '/^PASS$$/d' -e '/^awstest: /d' || fail=1; \
	echo; if [ $$fail = 0 ]; then echo "bench: every bound holds"; else echo "bench: a bound is passed or a measurement failed (see above)"; fi; \
	exit $$fail

.PHONY: lint
lint: ## go vet, gofmt and staticcheck
	$(GO) vet ./...
	$(GO) vet -tags bench ./shared/testkit/benchreport
	@out=$$(gofmt -l $$(git ls-files --cached --others --exclude-standard '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(STATICCHECK) ./...

.PHONY: build
build: console ## Build the console, then each function as .build/<name>/bootstrap (linux/arm64, provided.al2023); prints sizes, fails at 13.5 MB or more
	@for fn in $(FUNCTIONS); do $(MAKE) --no-print-directory function FN=$$fn || exit 1; done

.PHONY: function
function: # One function: FN=<name>
	@test -n "$(FN)" || { echo "FN=<function> is required"; exit 1; }
	$(LAMBDA_BUILD) -o $(BUILD_DIR)/$(FN)/bootstrap ./functions/$(FN)
	@size=$$(stat -c %s $(BUILD_DIR)/$(FN)/bootstrap); \
	  awk -v fn=$(FN) -v n=$$size -v p=$(BUILD_DIR)/$(FN)/bootstrap 'BEGIN { printf "%-12s %10d bytes %6.2f MiB  %s\n", fn, n, n/1048576, p }'; \
	  if [ $$size -ge $(MAX_BOOTSTRAP_BYTES) ]; then echo "$(FN): bootstrap is $$size bytes, over the $(MAX_BOOTSTRAP_BYTES) limit"; exit 1; fi

# `sam build` (BuildMethod: makefile) calls build-<LogicalId> with
# ARTIFACTS_DIR set: IssueFunction, OAuthFunction, AuthorizerFunction,
# SweeperFunction build functions/issue, oauth, authorizer, sweeper.
build-%Function:
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is required (sam build sets it)"; exit 1; }
	$(MAKE) --no-print-directory function FN=$(shell echo '$*' | tr A-Z a-z)
	cp $(BUILD_DIR)/$(shell echo '$*' | tr A-Z a-z)/bootstrap $(ARTIFACTS_DIR)/bootstrap

.PHONY: synth
synth: build ## Synthesize the CDK stack into cdk.out/ (template and assets)
	cd infra && $(CDK) synth --quiet --output ../cdk.out $(CDK_FLAGS)

.PHONY: diff
diff: build ## Show what make deploy would change in the AWS account of your profile
	cd infra && $(CDK) diff --output ../cdk.out $(CDK_FLAGS)

.PHONY: deploy
deploy: build ## Deploy the stack with your AWS profile (after cdk bootstrap; see docs/operations.md)
	cd infra && $(CDK) deploy --output ../cdk.out $(CDK_FLAGS)

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

# A test target installs no system packages: .ci/run installs Chromium for
# CI, the README's set-up for a developer's machine.
.PHONY: console-test-deps
console-test-deps: $(CONSOLE)/node_modules/.package-lock.json ## The console's npm packages; fails early when Chromium is missing
	@if [ -z "$${LATCHKEY_CHROMIUM:-}" ] && ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null && ! command -v google-chrome >/dev/null; then \
	  echo "The console's browser tests need Chromium: sudo apt-get install -y chromium (or set LATCHKEY_CHROMIUM to a Chrome)"; exit 1; \
	fi

LOAD_PHASE   ?= 5s
LOAD_CLIENTS ?= 32
# The dev server's peak RSS must stay under this (MiB).
LOAD_MAX_RSS_MIB ?= 256
.PHONY: load
load: ## Load test: latchkey dev on loopback driven by latchkey load (LOAD_PHASE per phase, LOAD_CLIENTS clients); fails at a peak RSS of LOAD_MAX_RSS_MIB
	@mkdir -p $(BUILD_DIR) && $(GO) build -o $(BUILD_DIR)/latchkey ./cmd/latchkey
	@dir=$$(mktemp -d); port=$$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'); \
	  $(BUILD_DIR)/latchkey dev --quiet --addr 127.0.0.1:$$port --root-token-file $$dir/root.token > $$dir/dev.log 2>&1 & pid=$$!; \
	  trap 'kill $$pid 2>/dev/null; wait $$pid 2>/dev/null; rm -rf $$dir' EXIT; \
	  for i in $$(seq 50); do [ -s $$dir/root.token ] && break; sleep 0.1; done; \
	  [ -s $$dir/root.token ] || { cat $$dir/dev.log; exit 1; }; \
	  echo "machine: $$(nproc) cores, $$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $$(go version | cut -d' ' -f3)"; \
	  $(BUILD_DIR)/latchkey load --url http://127.0.0.1:$$port --token-file $$dir/root.token \
	    --phase $(LOAD_PHASE) --clients $(LOAD_CLIENTS) --server-pid $$pid --max-rss-mib $(LOAD_MAX_RSS_MIB)

.PHONY: clean
clean: ## Remove build output
	rm -rf $(BUILD_DIR) cdk.out
