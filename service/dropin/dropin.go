// Package dropin reads and writes the 10-oncalendar.conf drop-in that gives
// a snapm timer instance its schedule. Writes are atomic and durable: a
// reader (systemd) sees the old file or the new one, never a torn one, and
// after Write returns the new file survives a crash.
package dropin

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/snapm/snapm-timersd/service/atomicfile"
)

// FileName is the drop-in's name inside UNIT.d; snapm's own tools use it.
const FileName = "10-oncalendar.conf"

const (
	fileMode = 0o644
	dirMode  = 0o755
)

// Content is the drop-in text for spec, byte for byte what snapm writes.
func Content(spec string) []byte {
	return []byte("[Timer]\n" +
		"# Reset the OnCalendar list\n" +
		"OnCalendar=\n" +
		"# Configure OnCalendar for this template instance.\n" +
		"OnCalendar=" + spec + "\n")
}

// Dir is the drop-in directory of unit under unitDir.
func Dir(unitDir, unit string) string { return filepath.Join(unitDir, unit+".d") }

// Path is the drop-in file of unit under unitDir.
func Path(unitDir, unit string) string { return filepath.Join(Dir(unitDir, unit), FileName) }

// ErrUnsafe is returned for input that would let the content or the path
// escape its place; callers validate first, this is the last line.
var ErrUnsafe = errors.New("unsafe drop-in input")

func checkUnit(unit string) error {
	if unit == "" || unit == "." || unit == ".." || strings.ContainsAny(unit, "/\x00") {
		return fmt.Errorf("%w: unit name %q", ErrUnsafe, unit)
	}
	return nil
}

// Write installs the drop-in for unit with spec.
func Write(unitDir, unit, spec string) error {
	sync, err := Install(unitDir, unit, spec)
	if err != nil {
		return err
	}
	return sync()
}

// Install puts the drop-in in place, where systemd sees it; it is durable
// once sync returns. A failed Install leaves nothing behind.
func Install(unitDir, unit, spec string) (sync func() error, err error) {
	if err := checkUnit(unit); err != nil {
		return nil, err
	}
	if strings.ContainsFunc(spec, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, fmt.Errorf("%w: control character in calendar expression", ErrUnsafe)
	}
	dir := Dir(unitDir, unit)
	content := Content(spec)
	// Rewriting identical content would still bump the mtime, which makes
	// systemd ask for a daemon-reload it does not need.
	if old, err := os.ReadFile(filepath.Join(dir, FileName)); err == nil && bytes.Equal(old, content) {
		return func() error { return nil }, nil
	}
	created := false
	if err := os.Mkdir(dir, dirMode); err == nil {
		created = true
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	if err := atomicfile.Replace(dir, FileName, content, fileMode); err != nil {
		if created {
			os.Remove(dir) // leave no empty directory behind a failed write
		}
		return nil, err
	}
	return func() error {
		if err := atomicfile.SyncDir(dir); err != nil || !created {
			return err
		}
		// The new directory's own entry must reach disk too.
		return atomicfile.SyncDir(unitDir)
	}, nil
}

// Remove deletes the drop-in of unit and its directory. Files other people
// put in the directory are left alone, and so is the directory then. It is
// not an error if nothing is there.
func Remove(unitDir, unit string) error {
	if err := checkUnit(unit); err != nil {
		return err
	}
	dir := Dir(unitDir, unit)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		// Temporary files are ours, left behind by a crash mid-write.
		if e.Name() == FileName || strings.HasPrefix(e.Name(), atomicfile.TempPrefix) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTEMPTY) {
		return err
	}
	return atomicfile.SyncDir(unitDir)
}

// Read returns the calendar expression unit's drop-in sets; present is
// false when there is no drop-in.
func Read(unitDir, unit string) (spec string, present bool, err error) {
	spec, err = readSpec(Path(unitDir, unit))
	// A UNIT.d that is not a directory holds no drop-in, for systemd too.
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return "", false, nil
	}
	return spec, err == nil, err
}

// Entry is a drop-in found on disk.
type Entry struct {
	Unit string
	Spec string
	// Err says why the drop-in, which is there, could not be read or sets
	// no expression; Spec is empty then.
	Err error
}

// Scan lists every "<prefix>*.timer.d/10-oncalendar.conf" under unitDir for
// the given unit name prefixes, with the calendar expression each sets. A
// drop-in that cannot be read is listed with its error: one bad file does
// not hide the others.
func Scan(unitDir string, prefixes ...string) ([]Entry, error) {
	entries, err := os.ReadDir(unitDir)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, e := range entries {
		unit, ok := strings.CutSuffix(e.Name(), ".d")
		if !ok || !e.IsDir() || !strings.HasSuffix(unit, ".timer") || !hasAnyPrefix(unit, prefixes) {
			continue
		}
		spec, err := readSpec(Path(unitDir, unit))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		out = append(out, Entry{Unit: unit, Spec: spec, Err: err})
	}
	return out, nil
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// maxLine is systemd's LONG_LINE_MAX.
const maxLine = 1 << 20

// readSpec returns the last OnCalendar= value of the [Timer] section, which
// is the one that survives systemd's list reset semantics.
func readSpec(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var spec string
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	// systemd takes lines of up to LONG_LINE_MAX (1 MiB), a long comment
	// say; so do we.
	sc.Buffer(nil, maxLine)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			section = line
		case section == "[Timer]":
			key, value, ok := strings.Cut(line, "=")
			if ok && strings.TrimSpace(key) == "OnCalendar" {
				spec = strings.TrimSpace(value)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	if spec == "" {
		return "", fmt.Errorf("%s sets no OnCalendar= value", path)
	}
	return spec, nil
}
