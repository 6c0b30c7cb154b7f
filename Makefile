# Videotube: `make run` serves the site, `make test` runs every suite. Both install what they need first.
SHELL := /bin/bash
PORT ?= 8080
PG_PORT ?= 55432
PG_DIR := /tmp/videotube-test-pg-$(PG_PORT)
TEST_DATABASE_URL := postgres://videotube@127.0.0.1:$(PG_PORT)/videotube_test
S3_PORT ?= 59000
TEST_S3 := http://127.0.0.1:$(S3_PORT)
PYTHON ?= python3

.PHONY: run serve build release install test test-swift test-postgres test-e2e bench fuzz check-api fmt deps test-deps pg-start pg-stop clean help

help:
	@echo "make run    - install ffmpeg if missing, build (release), serve on http://127.0.0.1:$(PORT) with demo content"
	@echo "make test   - install test tools (ffmpeg, chromium, PostgreSQL, Playwright), build, run every suite"
	@echo "make bench  - side-by-side benchmarks (this server vs nginx), results in docs/BENCHMARKS.md"
	@echo "make fuzz   - libFuzzer over the RTMP, Range, tus, multipart, storage-key, signed-URL and media request parsers (FUZZ_SECONDS each, default 60)"
	@echo "make check-api - schemathesis against docs/openapi.yaml on a server it starts (CHECK_API_SECONDS, default 600)"
	@echo "make fmt    - format the Swift sources with swift format"
	@echo "make install PREFIX=/usr/local - build (release) and install bin/videotube with its files in share/videotube"

# System packages: installed only when missing (apt-get needs root, as on the project's machines).
deps:
	@scripts/ensure-packages.sh ffmpeg zlib1g-dev

test-deps:
	@scripts/ensure-packages.sh ffmpeg zlib1g-dev chromium postgresql wrk nginx-light
	@$(PYTHON) -c "import playwright, pytest, yaml, openapi_spec_validator, tusclient, websockets, moto.server, boto3, prometheus_client, schemathesis" 2>/dev/null || $(PYTHON) -m pip install --quiet playwright pytest pyyaml openapi-spec-validator tuspy websockets "moto[server]" boto3 prometheus_client schemathesis

build:
	swift build

release: deps
	swift build -c release

PREFIX ?= /usr/local
CONFIG ?= release
# The binary finds its templates and public files in PREFIX/share/videotube (see ResourceLocator).
install: deps
	swift build -c $(CONFIG)
	install -d "$(PREFIX)/bin" "$(PREFIX)/share/videotube"
	install -m 755 .build/$(CONFIG)/videotube "$(PREFIX)/bin/videotube"
	rm -rf "$(PREFIX)/share/videotube/Resources" "$(PREFIX)/share/videotube/Public"
	cp -R Resources Public "$(PREFIX)/share/videotube/"
	@echo "Installed $(PREFIX)/bin/videotube (data goes to ./data unless VIDEOTUBE_DATA_DIR is set; see docs/DEPLOY.md)"

run: release
	.build/release/videotube serve --port $(PORT)

test: test-deps build
	swift build --build-tests
	$(MAKE) --no-print-directory pg-start
	@scripts/s3-test-server.sh start $(S3_PORT)
	@mkdir -p test-output; failed=""; export VIDEOTUBE_TEST_S3=$(TEST_S3); \
	step() { name=$$1; shift; echo "== $$name"; "$$@" 2>&1 | tee "test-output/$$name.log"; \
		[ "$${PIPESTATUS[0]}" = 0 ] || failed="$$failed $$name"; }; \
	step swift-sqlite swift test --skip-build; \
	step fuzz scripts/fuzz.sh 10; \
	step check-api-sqlite $(PYTHON) scripts/check-api.py --max-examples 5 --max-time 90 --seed 1; \
	step swift-postgres env DATABASE_URL=$(TEST_DATABASE_URL) swift test --skip-build --filter AppTests; \
	step e2e-sqlite env VIDEOTUBE_BIN=$(CURDIR)/.build/debug/videotube $(PYTHON) -m pytest -q Tests/e2e; \
	step e2e-postgres env DATABASE_URL=$(TEST_DATABASE_URL) VIDEOTUBE_BIN=$(CURDIR)/.build/debug/videotube $(PYTHON) -m pytest -q Tests/e2e -k "api or stream or user_command or sign_up or kill_9 or live or security or chat or search or comments or bucket or attack or fault"; \
	step check-api-postgres env DATABASE_URL=$(TEST_DATABASE_URL) $(PYTHON) scripts/check-api.py --max-examples 5 --max-time 90 --seed 1; \
	$(MAKE) --no-print-directory pg-stop; scripts/s3-test-server.sh stop $(S3_PORT); \
	if [ -n "$$failed" ]; then \
		echo "== FAILED:$$failed (full logs in test-output/)"; \
		for name in $$failed; do echo "-- $$name"; grep -E "✘|FAILED|Error|error:|Fatal|assert" "test-output/$$name.log" | grep -v " info " | tail -40; done; \
		exit 1; fi; echo "== all suites passed"

# A throwaway PostgreSQL server for the test suites, owned by the postgres user, on a private port.
pg-start:
	@scripts/postgres-test-server.sh start "$(PG_DIR)" $(PG_PORT)

pg-stop:
	@scripts/postgres-test-server.sh stop "$(PG_DIR)" $(PG_PORT)

bench: test-deps
	@scripts/ensure-packages.sh libnginx-mod-rtmp
	swift build -c release
	$(MAKE) --no-print-directory pg-start
	$(PYTHON) bench/run.py --binary .build/release/videotube --out docs/BENCHMARKS.md --postgres $(TEST_DATABASE_URL)

FUZZ_SECONDS ?= 60
fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS)

CHECK_API_SECONDS ?= 600
# Schemathesis over docs/openapi.yaml against a server it starts (every check, stateful links), longer than in make test.
check-api: test-deps build
	$(PYTHON) scripts/check-api.py --max-examples 50 --max-time $(CHECK_API_SECONDS)

fmt:
	swift format --in-place --recursive Sources Tests Package.swift

clean:
	rm -rf .build test-output
