# sftpgate — every target provisions what it needs (pinned Node runtime, npm packages, test components), idempotently.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

INSTALL := test/infra/install
# The pinned Node runtime (test/infra/install/versions.env) leads PATH for every recipe; provisioned on first use.
NODE_BIN := $(shell bash $(INSTALL)/node.sh)
ifeq ($(NODE_BIN),)
$(error could not provision the pinned Node.js runtime; see the [install] lines above)
endif
export PATH := $(NODE_BIN):$(CURDIR)/node_modules/.bin:$(PATH)
# The machine's ~/.npmrc may point nodedir at the system (older) Node's headers; native builds must use ours.
export npm_config_nodedir := $(abspath $(NODE_BIN)/..)

# Test runner knobs: files run in parallel (each starts its own components); the per-test timeout is a hang guard.
TEST_CONCURRENCY ?= 2
TEST_TIMEOUT_MS ?= 900000
UNIT_TESTS := 'common/src/**/*.test.ts' 'operator/src/**/*.test.ts' 'sftp-pod/src/**/*.test.ts'
INFRA_TESTS := 'test/**/*.test.ts'

.PHONY: build lint test test-unit test-integration deps tools demo bench clean format images generate

# Not `npm ci`: the registry this machine reaches lacks some of Biome's other-platform optional packages, so the lock
# cannot list them and `npm ci` refuses the lock as out of sync. `npm install --no-save` installs exactly the locked
# versions and never rewrites the lock. Dependency install scripts stay off (package.json allowScripts).
node_modules/.installed: package.json package-lock.json
	npm install --no-audit --no-fund --no-save --loglevel=error
	touch $@

# Dependency patches (patches/*.patch, docs/decisions.md): applied explicitly, idempotently, on every run. A package
# carrying an older version of its patch is reinstalled from the lock first (the applier refuses to fuzz). Then
# ssh2's native crypto binding is compiled with g++ against the pinned Node's headers (once; needs g++).
deps: node_modules/.installed
	@node patches/apply.ts >/dev/null 2>&1 || { for p in patches/*.patch; do n=$$(basename "$$p"); rm -rf "node_modules/$${n%@*}"; done; \
		npm install --no-audit --no-fund --no-save --loglevel=error && node patches/apply.ts; }
	@node patches/build-ssh2-binding.ts

# Real components for tests and the demo, cached under ~/.cache/sftpgate (SFTPGATE_CACHE overrides).
tools:
	bash $(INSTALL)/all.sh

# Type-checks the shipped sources, then bundles the pod and the operator into dist/ (common/src/build/bundle.ts).
# The compiled pod as the image runs it: `node dist/sftp-pod/main.js <flags>` (docs/images.md).
build: deps
	tsc -p tsconfig.build.json
	node common/src/build/bundle.ts

lint: deps
	biome check .
	tsc -p tsconfig.json

format: deps
	biome check --write .

test-unit: deps
	node --test --test-concurrency=$(TEST_CONCURRENCY) --test-timeout=$(TEST_TIMEOUT_MS) $(UNIT_TESTS)

test-integration: deps tools
	node --test --test-concurrency=$(TEST_CONCURRENCY) --test-timeout=$(TEST_TIMEOUT_MS) $(INFRA_TESTS)

# Everything CI runs: lint and typecheck, unit, integration and end-to-end tests against real components.
test: lint tools
	node --test --test-concurrency=$(TEST_CONCURRENCY) --test-timeout=$(TEST_TIMEOUT_MS) $(UNIT_TESTS) $(INFRA_TESTS)

demo: deps tools
	node test/infra/cli.ts demo

# The issue-13 comparison against rclone and OpenSSH (docs/benchmarks.md); BENCH=<name> or BENCH=all for the others.
# The pod runs compiled, as the images run it: hence build.
bench: deps tools build
	node test/bench/run.ts

# Container images (docs/images.md). No engine runs on the development machines; CI never builds them.
IMAGE_REGISTRY ?= ghcr.io/sftpgate
IMAGE_TAG ?= $(shell sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$$/\1/p' charts/sftpgate/Chart.yaml)
CONTAINER_ENGINE ?= docker
images:
	$(CONTAINER_ENGINE) build --target operator -t $(IMAGE_REGISTRY)/sftpgate-operator:$(IMAGE_TAG) .
	$(CONTAINER_ENGINE) build --target sftp -t $(IMAGE_REGISTRY)/sftpgate-sftp:$(IMAGE_TAG) .

# Regenerates every generated file (drift tests fail until this is run after a source change).
generate: deps
	node operator/src/api/generate.ts
	node common/src/users/generate.ts
	node charts/sftpgate/hack/dashboard.ts
	node charts/sftpgate/hack/values-schema.ts
	node charts/sftpgate/hack/values-doc.ts
	node charts/sftpgate/hack/operator-policies.ts
	bash charts/sftpgate/hack/sync-crds.sh
	biome format --write charts/sftpgate/values.schema.json charts/sftpgate/files/operator-iam-policy.json charts/sftpgate/files/operator-s3-policy.json charts/sftpgate/files/profile-credentials-policy.json

clean:
	rm -rf dist .demo
