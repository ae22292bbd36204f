# The two commands of the README are `make demo` and `make test`; `make bench` runs the benchmarks.
SWIFT ?= swift
DEMO := .demo

.PHONY: test-postgres setup build release dist demo test browser-test bench eval-announcement eval-hold clean

setup:
	@scripts/setup.sh

build: setup
	$(SWIFT) build

release: setup
	$(SWIFT) build -c release

# The binary to install on a vault host: release, with the Swift runtime linked in (the host needs only the
# Debian C libraries: libsndfile1, libsqlite3-0, libkissfft-float131, libsamplerate0).
dist: setup
	$(SWIFT) build -c release --static-swift-stdlib

# The main job on the embedded default: a fresh local store over a copy of the sample inbox in fixtures/.
# The sample calls are dated yesterday (the fixtures say 2026-11-20), so they are never already past their
# one-month audio expiry, whenever the demo runs.
demo: build
	@rm -rf $(DEMO) && mkdir -p $(DEMO) && cp -r fixtures/inbox $(DEMO)/inbox
	@sed -i "s/2026-11-20T/$$(date -u -d yesterday +%F)T/g" $(DEMO)/inbox/*.json $(DEMO)/inbox/*/*.json
	$(SWIFT) run -q callvault init --store $(DEMO)/store --tenant acme-energy --tenant telco-be
	$(SWIFT) run -q callvault ingest --store $(DEMO)/store $(DEMO)/inbox; rc=$$?; \
	  if [ $$rc -ne 0 ] && [ $$rc -ne 4 ]; then exit $$rc; fi; \
	  echo "demo: store in $(DEMO)/store; the pairs left in $(DEMO)/inbox are the incomplete ones (reported above)"
	$(SWIFT) run -q callvault list --store $(DEMO)/store
	$(SWIFT) run -q callvault report --store $(DEMO)/store --from $$(date -u -d '2 days ago' +%F)

# The Swift suite runs twice: on today, then as if today were 400 days ahead (CALLVAULT_TEST_SHIFT_DAYS: the
# fixtures, the `--now` values and the binary under test on its simulation stores all see the shifted day).
# Evidence bags are checked with standard tools too: openssl (Ed25519) and the Library of Congress's bagit-python.
test: setup
	@scripts/setup.sh --no-recommends openssl
	@python3 -c 'import bagit' 2>/dev/null || python3 -m pip install --quiet bagit
	$(SWIFT) build
	CALLVAULT_REQUIRE_BAGIT=1 $(SWIFT) test
	CALLVAULT_TEST_SHIFT_DAYS=400 CALLVAULT_REQUIRE_BAGIT=1 $(SWIFT) test --skip-build
	$(MAKE) --no-print-directory test-postgres
	$(MAKE) --no-print-directory browser-test

# The CLI suite again, every store's catalog in a PostgreSQL database of its own (issue 12), plus the tests of
# the shared catalog itself: a throwaway cluster on loopback (scripts/pg-cluster.sh), stopped at the end. Then
# the kill -9 torture of 3 workers on one catalog with a server restart (its own cluster), at full size.
PGTEST_DIR ?= /tmp/callvault-pgtest
PGTEST_PORT ?= 55439
test-postgres: setup
	$(SWIFT) build --build-tests
	@eval "$$(scripts/pg-cluster.sh start $(PGTEST_DIR) $(PGTEST_PORT))" && \
	  trap 'scripts/pg-cluster.sh stop $(PGTEST_DIR)' EXIT && \
	  $(SWIFT) test --skip-build --filter 'CLITests'
	scripts/torture-postgres.sh 3 1000 30 $$($(SWIFT) build --show-bin-path)/callvault

# The web app in headless Chromium driven by Selenium (tests/browser/run.sh): Debian's chromium, its driver and
# python3-selenium. Screenshots of every page go to $(SCREENSHOTS) (docs/screenshots holds the committed ones:
# `make browser-test SCREENSHOTS=docs/screenshots` renews them).
SCREENSHOTS ?= .build/screenshots
browser-test: setup
	@scripts/setup.sh --no-recommends chromium chromium-driver python3-selenium fonts-dejavu-core curl
	$(SWIFT) build
	SCREENSHOTS=$(SCREENSHOTS) tests/browser/run.sh $$($(SWIFT) build --show-bin-path)/callvault

bench: setup
	@scripts/setup.sh sox espeak-ng sqlite3 time openssl bc python3 wrk curl
	$(SWIFT) build -c release
	bench/ingest-bench.sh
	bench/sweep-bench.sh
	bench/watch-bench.sh
	bench/list-bench.sh
	bench/web-bench.sh
	bench/requests-bench.sh
	bench/postgres-bench.sh
	bench/evidence-bench.sh

clean:
	rm -rf .build $(DEMO) .bench .bench-web .bench-requests

# Re-measure the announcement detector on a generated corpus (TPR per condition, FPR per negative kind, cost).
eval-announcement: setup
	@scripts/setup.sh sox espeak-ng ffmpeg flac
	@python3 -c "import numpy" 2>/dev/null || pip install -q numpy
	$(SWIFT) build -c release
	python3 eval/announcement_eval.py --per 20 --hard 150 --seed 2026

# The hold-music check on Debian's real hold tracks (asterisk-moh-opsound-wav and their GSM twins), on the seed
# the README reports (23, never tuned on).
eval-hold: setup
	@scripts/setup.sh sox espeak-ng ffmpeg asterisk-moh-opsound-wav asterisk-moh-opsound-gsm
	@python3 -c "import numpy" 2>/dev/null || pip install -q numpy
	$(SWIFT) build -c release
	python3 eval/hold_eval.py --per 15 --negatives 320 --seed 23
