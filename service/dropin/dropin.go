// Package dropin reads and writes the 10-oncalendar.conf drop-in that gives
// a snapm timer instance its schedule. Writes are atomic and durable: a
// reader (systemd) sees the old file or the new one, never a torn one, and
// after Write returns the new file survives a crash.
package dropin

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

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

// The unit directory is taken as its owner configured it; every name below
// it is opened relative to it and never through a symlink, so that a link
// planted there cannot send a root write, read or removal elsewhere.

// Install puts the drop-in in place, where systemd sees it; it is durable
// once sync returns. The temporary file lives in unitDir, under a name
// systemd passes over, so that UNIT.d never holds anything but the drop-in
// (snapm removes the drop-in and then the directory). A failed Install
// leaves nothing behind.
func Install(unitDir, unit, spec string) (sync func() error, err error) {
	if err := checkUnit(unit); err != nil {
		return nil, err
	}
	if strings.ContainsFunc(spec, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, fmt.Errorf("%w: control character in calendar expression", ErrUnsafe)
	}
	root, err := atomicfile.OpenDir(unitDir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	name := unit + ".d"
	content := Content(spec)
	// Rewriting identical content would still bump the mtime, which makes
	// systemd ask for a daemon-reload it does not need.
	old, err := readAt(root, name)
	if err == nil && bytes.Equal(old, content) {
		return func() error { return nil }, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	// No drop-in yet (err is ErrNotExist): into the UNIT.d CreateTimer
	// made, if it is there. A drop-in being replaced goes the long way at
	// once, rather than after a synced unnamed file that cannot be linked.
	if err != nil && create(root, name, content) == nil {
		return func() error { return syncDirs(unitDir, name) }, nil
	}
	created := false
	if err := unix.Mkdirat(int(root.Fd()), name, dirMode); err == nil {
		created = true
	} else if !errors.Is(err, unix.EEXIST) {
		return nil, &os.PathError{Op: "mkdirat", Path: Dir(unitDir, unit), Err: err}
	}
	if err := replace(root, name, content); err != nil {
		if created {
			unix.Unlinkat(int(root.Fd()), name, unix.AT_REMOVEDIR) // leave no empty directory behind
		}
		return nil, err
	}
	return func() error { return syncDirs(unitDir, name) }, nil
}

// create writes a new drop-in into an existing UNIT.d (see MakeDir)
// without a temporary file in unitDir: any entry added to or removed from
// unitDir changes its mtime, and systemd then rescans every unit directory
// at its next unit load, which costs it more than the whole of enabling
// and starting a timer once thousands of timers are there. It fails where
// there is no such directory, or where the file cannot be written
// unnamed; Install then goes the long way.
func create(root *os.File, name string, content []byte) error {
	d, err := atomicfile.OpenSubdir(root, name)
	if err != nil {
		return err
	}
	defer d.Close()
	return atomicfile.CreateAt(d, FileName, content, fileMode)
}

// MakeDir makes unit's drop-in directory, empty, ahead of its drop-in, so
// that enabling the timer later adds nothing to unitDir (see create): the
// rescan this costs systemd is paid once for a batch of new timers, at the
// next load of any unit, rather than at every enable. An empty UNIT.d is
// nothing to systemd or to snapm's tools, which remove the drop-in and
// then the directory; it need not be durable, as Install makes it again
// if it is gone.
func MakeDir(unitDir, unit string) error {
	return inUnitDir(unitDir, unit, func(root *os.File, name string) error {
		if err := unix.Mkdirat(int(root.Fd()), name, dirMode); err != nil && !errors.Is(err, unix.EEXIST) {
			return &os.PathError{Op: "mkdirat", Path: Dir(unitDir, unit), Err: err}
		}
		return nil
	})
}

// RemoveDir removes unit's drop-in directory if it is empty; anything in
// it keeps it.
func RemoveDir(unitDir, unit string) error {
	return inUnitDir(unitDir, unit, func(root *os.File, name string) error {
		err := unix.Unlinkat(int(root.Fd()), name, unix.AT_REMOVEDIR)
		if err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENOTEMPTY) && !errors.Is(err, unix.EEXIST) {
			return &os.PathError{Op: "unlinkat", Path: Dir(unitDir, unit), Err: err}
		}
		return nil
	})
}

// inUnitDir runs fn on unitDir's handle and the name of unit's UNIT.d.
func inUnitDir(unitDir, unit string, fn func(root *os.File, name string) error) error {
	if err := checkUnit(unit); err != nil {
		return err
	}
	return atomicfile.InDir(unitDir, func(root *os.File) error { return fn(root, unit+".d") })
}

func replace(root *os.File, name string, content []byte) error {
	d, err := atomicfile.OpenSubdir(root, name)
	if err != nil {
		return err
	}
	defer d.Close()
	return atomicfile.ReplaceAt(root, d, FileName, content, fileMode)
}

// syncDirs makes the new drop-in's entry durable, and the temporary
// file's departure from unitDir (with UNIT.d itself, if new).
func syncDirs(unitDir, name string) error {
	return atomicfile.InDir(unitDir, func(root *os.File) error {
		d, err := atomicfile.OpenSubdir(root, name)
		if err != nil {
			return err
		}
		defer d.Close()
		return errors.Join(d.Sync(), root.Sync())
	})
}

// Remove deletes the drop-in of unit and its directory. Files other people
// put in the directory are left alone, and so is the directory then. It is
// not an error if nothing is there.
func Remove(unitDir, unit string) error {
	return inUnitDir(unitDir, unit, func(root *os.File, name string) error {
		d, err := atomicfile.OpenSubdir(root, name)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		defer d.Close()
		if err := atomicfile.Remove(d, FileName); err != nil {
			return err
		}
		err = unix.Unlinkat(int(root.Fd()), name, unix.AT_REMOVEDIR)
		switch {
		case errors.Is(err, unix.ENOTEMPTY) || errors.Is(err, unix.EEXIST):
			return d.Sync() // someone else's files keep it
		case err != nil && !errors.Is(err, unix.ENOENT):
			return &os.PathError{Op: "unlinkat", Path: Dir(unitDir, unit), Err: err}
		}
		return root.Sync()
	})
}

// ScanAtStart is Scan for start-up, before any write can be under way: on
// its way it removes the temporary files a crash mid-write left in
// unitDir (Install's only ones: a new drop-in is created unnamed, and
// UNIT.d never holds a temporary file). What could not be removed is in
// cleanErr, and stops nothing.
func ScanAtStart(unitDir string, prefixes ...string) (entries []Entry, cleanErr, err error) {
	return scan(unitDir, prefixes, true)
}

// Read returns the calendar expression unit's drop-in sets; present is
// false when there is no drop-in.
func Read(unitDir, unit string) (spec string, present bool, err error) {
	if err := checkUnit(unit); err != nil {
		return "", false, err
	}
	root, err := atomicfile.OpenDir(unitDir)
	if err != nil {
		return "", false, err
	}
	defer root.Close()
	spec, err = readSpecAt(root, unit+".d")
	// A UNIT.d that is not a directory holds no drop-in, for systemd too;
	// one that is a symlink is refused, not followed.
	if errors.Is(err, syscall.ENOTDIR) && isSymlink(Dir(unitDir, unit)) {
		return "", false, fmt.Errorf("%s is a symbolic link, refusing to follow it: %w", Dir(unitDir, unit), syscall.ELOOP)
	}
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

func isSymlink(path string) bool {
	fi, err := os.Lstat(path)
	return err == nil && fi.Mode()&fs.ModeSymlink != 0
}

// Scan lists every "<prefix>*.timer.d/10-oncalendar.conf" under unitDir for
// the given unit name prefixes, with the calendar expression each sets. A
// drop-in that cannot be read is listed with its error: one bad file does
// not hide the others.
func Scan(unitDir string, prefixes ...string) ([]Entry, error) {
	entries, _, err := scan(unitDir, prefixes, false)
	return entries, err
}

// scan is Scan, and with clean ScanAtStart.
func scan(unitDir string, prefixes []string, clean bool) (out []Entry, cleanErr, err error) {
	root, err := atomicfile.OpenDir(unitDir)
	if err != nil {
		return nil, nil, err
	}
	defer root.Close()
	entries, err := root.ReadDir(-1)
	if err != nil {
		return nil, nil, err
	}
	var errs []error
	for _, e := range entries {
		if clean && e.Type().IsRegular() && strings.HasPrefix(e.Name(), atomicfile.TempPrefix) {
			errs = append(errs, atomicfile.Remove(root, e.Name()))
			continue
		}
		unit, ok := ourUnitDir(e, prefixes)
		if !ok {
			continue
		}
		spec, err := readSpecAt(root, e.Name())
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		out = append(out, Entry{Unit: unit, Spec: spec, Err: err})
	}
	return out, errors.Join(errs...), nil
}

// ourUnitDir tells whether e is the UNIT.d of a timer named with one of
// prefixes, and of which unit.
func ourUnitDir(e fs.DirEntry, prefixes []string) (unit string, ok bool) {
	unit, ok = strings.CutSuffix(e.Name(), ".d")
	return unit, ok && e.IsDir() && strings.HasSuffix(unit, ".timer") && hasAnyPrefix(unit, prefixes)
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// maxSize bounds what is read of a drop-in: ours are a few hundred bytes,
// and systemd's own bound on a line (LONG_LINE_MAX) is the same 1 MiB.
const maxSize = 1 << 20

// readAt returns the content of the drop-in in root's directory name.
func readAt(root *os.File, name string) ([]byte, error) {
	return atomicfile.ReadBelow(root, filepath.Join(name, FileName), maxSize)
}

// readSpecAt returns the expression of the drop-in in root's directory
// name (see parseSpec).
func readSpecAt(root *os.File, name string) (string, error) {
	data, err := readAt(root, name)
	if err != nil {
		return "", err
	}
	return parseSpec(data, filepath.Join(root.Name(), name, FileName))
}

// parseSpec returns the last OnCalendar= value of the [Timer] section of
// the drop-in data read from path, which is the one that survives
// systemd's list reset semantics.
func parseSpec(data []byte, path string) (string, error) {
	var spec string
	section := ""
	// The whole file is in hand (at most maxSize, systemd's own bound on
	// a line): cut it into lines in place.
	for rest := string(data); rest != ""; {
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		line = strings.TrimSpace(line)
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
	if spec == "" {
		return "", fmt.Errorf("%s sets no OnCalendar= value", path)
	}
	// A copy: the timer keeps its spec, and a slice of the file would keep
	// the whole file.
	return strings.Clone(spec), nil
}
