# snapm-timersd: build, run in a private systemd, test, install.

PREFIX     ?= /usr
BINDIR     ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec
DATADIR    ?= $(PREFIX)/share
UNITDIR    ?= $(PREFIX)/lib/systemd/system
MANDIR     ?= $(DATADIR)/man
DESTDIR    ?=
# snapm owns and ships the four template units; `make install
# INSTALL_TEMPLATES=1` installs the repository's copies too (equal to
# snapm's), for a system without snapm's package.
INSTALL_TEMPLATES ?=

GO          ?= go
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

TEMPLATES = snapm-create@.service snapm-create@.timer snapm-gc@.service snapm-gc@.timer
UNITS = snapm-timersd.service $(if $(INSTALL_TEMPLATES),$(TEMPLATES))

.PHONY: bench all build run test lint pot install install-daemon install-cli install-cockpit clean

# Everything `make install` installs is built by `make` (all), so that
# `make && sudo make install` never needs Go as root.
all: build man cockpit/dist/index.js

# The binaries are real files, rebuilt only when a Go source is newer, so
# that install finds them up to date and does not run the Go toolchain.
GO_SOURCES := go.mod go.sum $(shell find cmd service introspection-xml version -name '*.go' -o -name '*.xml' 2>/dev/null)

bin/snapm-timersd: $(GO_SOURCES)
	$(GO) build -trimpath -o $@ ./cmd/snapm-timersd

bin/snapm-timersctl: $(GO_SOURCES)
	$(GO) build -trimpath -o $@ ./cmd/snapm-timersctl

build: bin/snapm-timersd bin/snapm-timersctl

# The Cockpit page, bundled by esbuild from the npm packages pinned in
# cockpit/package-lock.json; dist/index.js stands for the whole of dist/,
# which holds po.LANG.js for each translation cockpit/po/LANG.po and takes
# the Timer interface's members from its XML.
COCKPIT_SOURCES := cockpit/build.js cockpit/interface.js cockpit/po2js.js cockpit/package.json \
	introspection-xml/com.redhat.Snapm.Timers.Timer.xml introspection-xml/com.redhat.Snapm.Timers.Schedule.xml $(shell find cockpit/src cockpit/po -type f 2>/dev/null)

cockpit/node_modules/.package-lock.json: cockpit/package-lock.json
	cd cockpit && npm ci --no-audit --no-fund

cockpit/dist/index.js: cockpit/node_modules/.package-lock.json $(COCKPIT_SOURCES)
	cd cockpit && node build.js

# The page's translation template, as Cockpit's pages make theirs: every
# string of _() (cockpit.gettext) in its scripts. Translators start a
# cockpit/po/LANG.po from it (msginit) and keep it current (msgmerge).
build/po/snapm-timers.pot: $(filter cockpit/src/%.js cockpit/src/%.jsx,$(COCKPIT_SOURCES)) version/version.go
	@mkdir -p $(@D)
	xgettext --default-domain=snapm-timers --output=$@ --force-po --language=C --from-code=UTF-8 \
		--package-name=snapm-timersd --package-version=$(VERSION) --add-comments=Translators \
		--keyword= --keyword=_:1,1t --keyword=_:1c,2,2t --keyword=C_:1c,2 --keyword=N_ --keyword=NC_:1c,2 \
		--keyword=gettext:1,1t --keyword=gettext:1c,2,2t --keyword=ngettext:1,2,3t --keyword=ngettext:1c,2,3,4t \
		$(sort $(filter cockpit/src/%.js cockpit/src/%.jsx,$(COCKPIT_SOURCES)))

pot: build/po/snapm-timers.pot

# Builds the daemon and runs it against a real systemd booted in a private
# namespace (root needed; nothing system-wide is touched); it prints how to
# use the CLI, built first, in there. The real snapm 0.7 runs in there too
# when its archives are at hand (../shared/interop beside the repository,
# or SNAPM_INTEROP=DIR); else a stand-in does.
run: requirements-run bin/snapm-timersctl
	$(GO) run ./tests/sandbox

# The whole suite: static checks, unit tests, private-bus tests with a
# fault-injecting systemd1, the real-systemd suite (root needed), and the
# real snapm beside the daemon (tests/interop) when its archives are at hand
# (as for run; a summary line says when they are not).
# Tests that measure (TestLoad) append a summary line to SNAPM_TEST_SUMMARY,
# shown after the suite: go test prints a passing package's output only with -v.
test: requirements-test lint cockpit/dist/index.js
	@rm -f bin/test-summary && mkdir -p bin
	SNAPM_TEST_SUMMARY=$(CURDIR)/bin/test-summary $(GO) test -race -count=1 -timeout 15m ./...
	@! test -f bin/test-summary || cat bin/test-summary
	# Counted, not timed, fuzzing (15-30 s each on a busy machine): Go
	# before 1.27 can fail a fuzz run whose -fuzztime ends while a starved
	# worker is mid-call, "context deadline exceeded" with no input found
	# (golang/go#75804).
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 150000x ./service/calendar
	$(GO) test -run '^$$' -fuzz FuzzMethodArguments -fuzztime 80000x ./service/timers
	# The benchmark, a smoke run so that it cannot rot; nothing is judged
	# here (`make bench` measures, `-against REV` compares).
	$(GO) run ./tests/bench -smoke >/dev/null

# The benchmark on the real systemd (root needed): docs/benchmarks.md,
# the report the README links, and bench.json. To see what a change does,
# compare it with its base in one run instead: the machine drifts.
#   go run ./tests/bench -n 1000 -against REV -rounds 4
bench:
	$(GO) run ./tests/bench -n 100,1000,10000 -md docs/benchmarks.md -json bench.json

# What run and test need, named in one line with what to install.
.PHONY: requirements-run requirements-test
requirements-run requirements-test:
	@scripts/requirements $(@:requirements-%=%)

lint: cockpit/node_modules/.package-lock.json
	cd cockpit && npx --no-install eslint --max-warnings 0 .
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...
	$(STATICCHECK) ./...
	# The build the crash tests run, so that its own files are checked too.
	$(GO) vet -tags crashpoints ./...
	$(STATICCHECK) -tags crashpoints ./...
	@! git grep -n '"os/exec"' -- service cmd/snapm-timersd ':!*_test.go' || { echo "the daemon must not fork helpers (calendar answers are in-process)"; exit 1; }

install: install-daemon install-cli install-man install-cockpit

install-daemon: bin/snapm-timersd
	install -D -m 0755 bin/snapm-timersd $(DESTDIR)$(LIBEXECDIR)/snapm-timersd
	for u in $(UNITS); do install -D -m 0644 systemd/$$u $(DESTDIR)$(UNITDIR)/$$u; done
	sed -i 's|^ExecStart=.*|ExecStart=$(LIBEXECDIR)/snapm-timersd|' $(DESTDIR)$(UNITDIR)/snapm-timersd.service
	install -D -m 0644 dbus-policy/com.redhat.Snapm.Timers.conf $(DESTDIR)$(DATADIR)/dbus-1/system.d/com.redhat.Snapm.Timers.conf
	install -D -m 0644 dbus-policy/com.redhat.Snapm.Timers.service $(DESTDIR)$(DATADIR)/dbus-1/system-services/com.redhat.Snapm.Timers.service
	install -D -m 0644 dbus-policy/com.redhat.snapm.timers.policy $(DESTDIR)$(DATADIR)/polkit-1/actions/com.redhat.snapm.timers.policy
	for x in introspection-xml/*.xml; do install -D -m 0644 $$x $(DESTDIR)$(DATADIR)/dbus-1/interfaces/$$(basename $$x); done

install-cockpit: cockpit/dist/index.js
	cd cockpit/dist && find . -type f -exec install -D -m 0644 {} $(DESTDIR)$(DATADIR)/cockpit/snapm-timers/{} \;

# The admin's command line and its bash completion.
install-cli: bin/snapm-timersctl
	install -D -m 0755 bin/snapm-timersctl $(DESTDIR)$(BINDIR)/snapm-timersctl
	install -D -m 0644 shell-completion/bash/snapm-timersctl $(DESTDIR)$(DATADIR)/bash-completion/completions/snapm-timersctl

clean:
	rm -rf bin build cockpit/dist

# Manuals: every man/NAME.SECTION.md becomes build/man/NAME.SECTION. mangen
# expands the introspection blocks from introspection-xml/ and @VERSION@
# first, so that the API page cannot drift from what the daemon serves.
VERSION   := $(shell sed -n 's/^const Version = "\(.*\)"$$/\1/p' version/version.go)
MD2MAN    ?= go-md2man
MAN_PAGES := $(patsubst man/%.md,build/man/%,$(wildcard man/*.md))

.PHONY: man install-man uninstall dist

man: $(MAN_PAGES)

build/mangen: $(shell find man/mangen -name '*.go') go.mod go.sum
	$(GO) build -o $@ ./man/mangen

build/man/%: man/%.md build/mangen $(wildcard introspection-xml/*.xml) version/version.go
	@mkdir -p $(@D)
	build/mangen -xml introspection-xml -version $(VERSION) < $< > $@.md
	$(MD2MAN) -in $@.md -out $@
	rm $@.md

install-man: man
	for p in $(MAN_PAGES); do n=$${p##*/}; install -D -m 0644 $$p $(DESTDIR)$(MANDIR)/man$${n##*.}/$$n; done

# Removes exactly what `make install` (with the same variables) installs:
# the list comes from installing into a scratch directory, so every
# install target is covered. Directories stay, but for our own.
uninstall:
	@stage=$$(mktemp -d) && trap 'rm -rf "$$stage"' EXIT && \
	$(MAKE) --no-print-directory install DESTDIR="$$stage" >/dev/null && \
	(cd "$$stage" && find . ! -type d) | while read -r f; do rm -fv "$(DESTDIR)/$${f#./}"; done && \
	(cd "$$stage" && find . -depth -type d -name '*snapm*') | while read -r d; do \
		rmdir -v --ignore-fail-on-non-empty "$(DESTDIR)/$${d#./}" 2>/dev/null || true; done

# The release tarball: the tracked files as they are in the work tree, with
# the Go modules vendored, so that it builds offline (GOFLAGS=-mod=vendor,
# GOPROXY=off), as Fedora builds it from snapm-timersd.spec.
DIST := snapm-timersd-$(VERSION)

dist:
	rm -rf build/dist && mkdir -p build/dist/$(DIST)
	git ls-files -z | xargs -0 cp -P --parents -t build/dist/$(DIST)
	cd build/dist/$(DIST) && GOFLAGS=-mod=mod $(GO) mod vendor
	tar -C build/dist --sort=name --owner=0 --group=0 --numeric-owner \
		--mtime="@$$(git log -1 --format=%ct)" -czf build/$(DIST).tar.gz $(DIST)
	rm -rf build/dist
	@echo build/$(DIST).tar.gz
