// Package version holds snapm-timersd's release version, the one place it
// is set: the daemon publishes it as Manager.Version, snapm-timersctl
// prints it, the Makefile reads it for the manuals, the release tarball
// and the Cockpit page's translation template, and tests/packaging holds
// the spec's Version: to it.
package version

// Version is the release: the daemon, the CLI, the page, the manuals and
// the spec are one release and speak its API.
const Version = "0.1.0"
