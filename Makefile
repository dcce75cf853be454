# snapm-timersd: build, run in a private systemd, test, install.

PREFIX     ?= /usr
LIBEXECDIR ?= $(PREFIX)/libexec
DATADIR    ?= $(PREFIX)/share
UNITDIR    ?= $(PREFIX)/lib/systemd/system
DESTDIR    ?=

GO          ?= go
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

UNITS = snapm-timersd.service snapm-create@.service snapm-create@.timer snapm-gc@.service snapm-gc@.timer

.PHONY: bench all build run test lint install install-daemon clean

# Everything `make install` installs is built by `make` (all), so that
# `make && sudo make install` never needs Go as root.
all: build

# The binaries are real files, rebuilt only when a Go source is newer, so
# that install finds them up to date and does not run the Go toolchain.
GO_SOURCES := go.mod go.sum $(shell find cmd service introspection-xml -name '*.go' -o -name '*.xml' 2>/dev/null)

bin/snapm-timersd: $(GO_SOURCES)
	$(GO) build -trimpath -o $@ ./cmd/snapm-timersd

build: bin/snapm-timersd

# Builds the daemon and runs it against a real systemd booted in a private
# namespace (root needed; nothing system-wide is touched).
run:
	$(GO) run ./tests/sandbox

# The whole suite: static checks, unit tests, private-bus tests with a
# fault-injecting systemd1, and the real-systemd suite (root needed).
# Tests that measure (TestLoad) append a summary line to SNAPM_TEST_SUMMARY,
# shown after the suite: go test prints a passing package's output only with -v.
test: lint
	@rm -f bin/test-summary && mkdir -p bin
	SNAPM_TEST_SUMMARY=$(CURDIR)/bin/test-summary $(GO) test -race -count=1 -timeout 15m ./...
	@! test -f bin/test-summary || cat bin/test-summary
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 15s ./service/calendar
	$(GO) test -run '^$$' -fuzz FuzzMethodArguments -fuzztime 15s ./service/timers
	# The benchmark, short, so that it cannot rot; its times are not judged here.
	$(GO) run ./tests/bench -n 100 -samples 20 >/dev/null

# The benchmark on the real systemd: a Markdown table on stdout, and
# bench.md and bench.json to compare between runs (root needed).
bench:
	$(GO) run ./tests/bench -n 100,1000,10000 -md bench.md -json bench.json

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...
	$(STATICCHECK) ./...
	# The build the crash tests run, so that its own files are checked too.
	$(GO) vet -tags crashpoints ./...
	$(STATICCHECK) -tags crashpoints ./...
	@! git grep -n '"os/exec"' -- service cmd ':!*_test.go' || { echo "the daemon must not fork helpers (calendar answers are in-process)"; exit 1; }

install: install-daemon

install-daemon: bin/snapm-timersd
	install -D -m 0755 bin/snapm-timersd $(DESTDIR)$(LIBEXECDIR)/snapm-timersd
	for u in $(UNITS); do install -D -m 0644 systemd/$$u $(DESTDIR)$(UNITDIR)/$$u; done
	sed -i 's|^ExecStart=.*|ExecStart=$(LIBEXECDIR)/snapm-timersd|' $(DESTDIR)$(UNITDIR)/snapm-timersd.service
	install -D -m 0644 dbus-policy/com.redhat.Snapm.Timers.conf $(DESTDIR)$(DATADIR)/dbus-1/system.d/com.redhat.Snapm.Timers.conf
	install -D -m 0644 dbus-policy/com.redhat.Snapm.Timers.service $(DESTDIR)$(DATADIR)/dbus-1/system-services/com.redhat.Snapm.Timers.service
	install -D -m 0644 dbus-policy/com.redhat.snapm.timers.policy $(DESTDIR)$(DATADIR)/polkit-1/actions/com.redhat.snapm.timers.policy
	for x in introspection-xml/*.xml; do install -D -m 0644 $$x $(DESTDIR)$(DATADIR)/dbus-1/interfaces/$$(basename $$x); done

clean:
	rm -rf bin
