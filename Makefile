# PhoneHub: `make run` serves the app, `make test` checks everything. See README.md.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := run

export PATH := $(HOME)/.cargo/bin:$(PATH)
# A one-off build (CI, a clean clone) gains nothing from incremental artifacts: they would add
# some 20 GB to target/ on this workspace.
ifdef CI
export CARGO_INCREMENTAL := 0
endif
# Not exported: leptos reads LEPTOS_OUTPUT_NAME at compile time (then expecting <name>.wasm instead
# of wasm-bindgen's <name>_bg.wasm), so exporting it would make plain `cargo` and `make` builds differ.
OUTPUT_NAME := phonehub
export LEPTOS_SITE_ROOT ?= target/site
export LEPTOS_SITE_ADDR ?= 127.0.0.1:3000
# `DATABASE_URL` set means: use that database; otherwise our own cluster under .data/.
LOCAL_DB := $(shell scripts/db.sh url phonehub)
export DATABASE_URL ?= $(LOCAL_DB)
USE_LOCAL_DB := $(if $(filter $(LOCAL_DB),$(DATABASE_URL)),yes,)
# In CI (a clean clone) every query macro runs once, so the offline data it writes can be compared
# with the committed .sqlx/ (see sqlx-check).
ifdef CI
export SQLX_OFFLINE_DIR := $(CURDIR)/target/sqlx-check
endif

# The browser bundle is built by Debian's rustc (it has std sources for wasm32), see README.
WASM_ENV := RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 \
	CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=/usr/bin/wasm-ld-22
WASM_OUT := target/front/wasm32-unknown-unknown/debug/frontend.wasm
PKG := $(LEPTOS_SITE_ROOT)/pkg

.PHONY: run test dist wasm-size deps db migrate build server wasm css sql-layer layers fmt-check clippy unit e2e sqlx-prepare sqlx-check stop-db api-fuzz

deps:
	@scripts/deps.sh

db: deps
ifeq ($(USE_LOCAL_DB),yes)
	@scripts/db.sh start
endif

migrate: db
	@cargo run -q -p dbctl -- migrate
	@$(if $(SQLX_OFFLINE_DIR),mkdir -p $(SQLX_OFFLINE_DIR),true)

server: migrate
	cargo build -p server

wasm: deps
	$(WASM_ENV) /usr/bin/cargo -Zbuild-std=std,panic_abort build -p frontend --lib \
		--target wasm32-unknown-unknown --target-dir target/front
	@mkdir -p $(PKG)
	wasm-bindgen --target web --no-typescript --out-name $(OUTPUT_NAME) --out-dir $(PKG) $(WASM_OUT)
	@# The debug bundle is large: a quick gzip copy, served to browsers that accept it.
	gzip -1 -kf $(PKG)/$(OUTPUT_NAME)_bg.wasm

css: deps
	@mkdir -p $(PKG)
	npx tailwindcss -i style/main.css -o $(PKG)/$(OUTPUT_NAME).css

build: server wasm css

# The deployable build (release server, size-optimised hashed bundle, precompressed) in dist/.
dist:
	scripts/dist.sh

# The browser bundle alone, built as dist builds it and measured against its budget.
wasm-size:
	scripts/wasm-release.sh

# A local mail catcher (maildev, from npm) receives the e-mail alerts; its inbox is at
# http://127.0.0.1:$(MAILDEV_WEB_PORT)/ and it stops with the server.
MAILDEV_SMTP_PORT ?= 1025
MAILDEV_WEB_PORT ?= 1080

run: build
	@node_modules/.bin/maildev --ip 127.0.0.1 --smtp $(MAILDEV_SMTP_PORT) --web $(MAILDEV_WEB_PORT) >/dev/null 2>&1 & \
	maildev=$$!; trap 'kill $$maildev 2>/dev/null' EXIT INT TERM; \
	echo "mail catcher: http://127.0.0.1:$(MAILDEV_WEB_PORT)/ (e-mail alerts land there)"; \
	PHONEHUB_ENV=$${PHONEHUB_ENV:-development} \
	PHONEHUB_SMTP_URL=$${PHONEHUB_SMTP_URL:-smtp://127.0.0.1:$(MAILDEV_SMTP_PORT)} \
	./target/debug/phonehub

# Every SQL statement lives in app/src/ssr/db/ (see scripts/sql-layer.sh).
sql-layer:
	@scripts/sql-layer.sh

# The pages and /v1 are adapters over one use-case layer (see scripts/layers.sh).
layers:
	@scripts/layers.sh

fmt-check:
	cargo fmt --all --check

# The first line builds telephony with its sandbox feature (the server turns it on), the second
# without it, as other users of the crate see it.
clippy: migrate
	cargo clippy -p app -p server -p dbctl -p telephony -p sms-segments --all-targets -- -D warnings
	cargo clippy -p telephony --all-targets -- -D warnings
	cargo clippy -p frontend --all-targets -- -D warnings

# The examples (benchmarks, gigabytes each when linked) are checked by clippy and built by their
# bench scripts; the test run links only what runs tests. There are no doc tests.
TEST_TARGETS := --lib --bins --tests

# Tests are bounded: a hang fails the run instead of stalling CI.
unit: migrate
	cargo test --workspace --exclude frontend $(TEST_TARGETS) --no-run
	@# A fresh build leaves gigabytes of unwritten test binaries in the page cache: write them out
	@# now, so the first requests of a test (code paged in from disk) do not queue behind them.
	sync
	timeout 900 cargo test --workspace --exclude frontend $(TEST_TARGETS)

e2e: build
	timeout 900 scripts/e2e.sh

test: deps fmt-check sql-layer layers clippy unit sqlx-check e2e api-fuzz

# The public API fuzzed against its OpenAPI document (Schemathesis), on the server e2e built.
api-fuzz: build
	timeout 600 scripts/api-fuzz.sh

sqlx-check:
ifdef CI
	@diff -r .sqlx $(SQLX_OFFLINE_DIR) >/dev/null || { echo ".sqlx/ is stale: run make sqlx-prepare and commit it"; diff -r .sqlx $(SQLX_OFFLINE_DIR) | head -20; exit 1; }
	@echo ".sqlx/ matches the queries"
else
	@echo "sqlx-check runs in CI (CI=true) only"
endif

# Refreshes .sqlx/ (offline query data, for building without a database).
sqlx-prepare: migrate
	rm -rf .sqlx && mkdir -p .sqlx
	touch app/src/lib.rs
	SQLX_OFFLINE_DIR=$(CURDIR)/.sqlx cargo check -p server

stop-db:
	scripts/db.sh stop
