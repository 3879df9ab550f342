# Celerity — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Re-install only when the manifests changed since the last install.
WORKSPACE_MANIFESTS := package.json $(wildcard apps/*/package.json packages/*/package.json)

# NODE=24 runs a target on another Node major (scripts/with-node: the npm registry's `node` package),
# e.g. `make test NODE=24`, `make bench NODE=24`. Unset: the Node on the PATH.
NODE ?=
ON_NODE := $(if $(NODE),scripts/with-node $(NODE),)

node_modules/.installed: $(WORKSPACE_MANIFESTS)
	npm install --no-audit --no-fund
	@touch $@

.PHONY: help install build run test test-unit test-int test-faults bench openapi ui-screenshots lint services up down clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: node_modules/.installed ## install dependencies (only when package.json files changed)

build: install ## compile every workspace (tsc -b)
	npm run build

run: build ## run API + worker + beat in one process against the local RabbitMQ and Redis
	npm start

test: install ## every test: unit, integration (local RabbitMQ/Redis), faults (private ones); NODE=24
	$(ON_NODE) npm test

test-unit: install ## unit tests only (no services needed)
	$(ON_NODE) npm run test:unit

test-int: install ## integration tests only
	$(ON_NODE) npm run test:int

test-faults: install ## fault injection only, on private RabbitMQ and Redis it starts and removes
	$(ON_NODE) npm run test:faults

bench: build ## benchmark the whole path (see docs/benchmarks.md); knobs: make bench ARGS="--n 5000"; NODE=24
	$(ON_NODE) npm run bench -- $(ARGS)

openapi: build ## regenerate openapi/openapi.json from the route schemas
	npm run openapi

ui-screenshots: build ## screenshots of every dashboard page into docs/ui/ (local RabbitMQ/Redis, Debian's chromium)
	npx tsx apps/ui/test/screenshots.ts

lint: install ## typecheck, package boundaries and import cycles (eslint.config.js)
	npm run lint

services: ## start local RabbitMQ and Redis (Debian packages) if they are not answering
	@redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
	@rabbitmq-diagnostics -q ping >/dev/null 2>&1 || rabbitmq-server -detached
	@echo "waiting for RabbitMQ..."; for i in $$(seq 1 60); do rabbitmq-diagnostics -q check_port_connectivity >/dev/null 2>&1 && break; sleep 1; done

up: ## start RabbitMQ (with management UI) and Redis in Docker
	docker compose up -d rabbitmq redis

down: ## stop the Docker services
	docker compose down

clean: ## remove build output
	npm run clean
