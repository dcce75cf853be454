package schedule

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/snapm/snapm-timersd/service/atomicfile"
)

// fileMode is snapm's _SCHEDULE_CONF_FILE_MODE.
const fileMode = 0o644

// maxFileSize bounds what Load reads of one file: a schedule is a few
// hundred bytes, and a huge file there is no schedule.
const maxFileSize = 1 << 20

// syncFile makes a file's data or a directory's entries durable; tests
// replace it to see every sync and when it comes.
var syncFile atomicfile.Syncer = (*os.File).Sync

// Path returns the file of schedule name in dir: dir/NAME.json.
func Path(dir, name string) string {
	return filepath.Join(dir, name+".json")
}

// Write puts s's file in dir as snapm's write_config does: written to a
// temporary file in dir, its data synced, renamed over dir/NAME.json,
// mode 0644 whatever the umask, and dir synced. Two differences, both
// stricter: the mode is set before the rename (snapm's chmod after it
// shows the file 0600 for a moment), and the data sync is an fsync, not an
// fdatasync. The temporary file's name is atomicfile's, which snapm passes
// over (it loads only *.json), as it does its own ".tmp_*".
func Write(dir string, s Schedule) error {
	return inDir(dir, s.Name, func(d *os.File, file string) error {
		if err := atomicfile.ReplaceAtWith(d, d, file, s.Marshal(), fileMode, syncFile); err != nil {
			return err
		}
		return syncFile(d)
	})
}

// Remove removes schedule name's file from dir, as snapm's delete_config
// does, and syncs dir, which snapm does not: the removal is a change of
// the directory like any other. A missing file is not an error.
func Remove(dir, name string) error {
	return inDir(dir, name, func(d *os.File, file string) error {
		if err := atomicfile.Remove(d, file); err != nil {
			return err
		}
		return syncFile(d)
	})
}

// inDir runs fn on dir's handle and the file name of schedule name, a
// name that cannot lead out of dir.
func inDir(dir, name string, fn func(d *os.File, file string) error) error {
	if err := fileNameSafe(name); err != nil {
		return err
	}
	return atomicfile.InDir(dir, func(d *os.File) error { return fn(d, name+".json") })
}

// Load reads every schedule file in dir as snapm's Scheduler does: each
// entry named *.json, keyed by that file name ("NAME.json"), goes either
// to the schedules or, with the reason, to the errors; other entries
// (snapm's temporary ".tmp_*" and atomicfile's among them) are no
// schedules and in neither. A missing dir holds no schedules, as for
// snapm. Unlike snapm, a symlink, a directory or a device named *.json is
// reported, not followed or read, and one bad file never hides the
// others (snapm 0.7 stops at a file that is not UTF-8 or has an unknown
// gc_policy key). An error reading dir itself is under the name "".
//
// The name inside a file need not be the file's: snapm loads it by the
// name inside.
func Load(dir string) (map[string]Schedule, map[string]error) {
	schedules, errs := map[string]Schedule{}, map[string]error{}
	d, err := atomicfile.OpenDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return schedules, errs
	}
	if err != nil {
		errs[""] = err
		return schedules, errs
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		errs[""] = err
	}
	for _, name := range names {
		if !strings.HasSuffix(name, ".json") {
			continue
		}
		if s, err := readAt(d, name); err != nil {
			errs[name] = err
		} else {
			schedules[name] = s
		}
	}
	return schedules, errs
}

// Read reads schedule name's file in dir as Load reads each (an error
// wrapping fs.ErrNotExist if there is none). The name inside the file
// need not be name.
func Read(dir, name string) (s Schedule, err error) {
	err = inDir(dir, name, func(d *os.File, file string) error {
		s, err = readAt(d, file)
		return err
	})
	return s, err
}

// readAt reads and parses the regular file name in d; a symlink, a FIFO
// (which could block the reader) or a huge file is refused.
func readAt(d *os.File, name string) (Schedule, error) {
	data, err := atomicfile.ReadAt(d, name, maxFileSize)
	if err != nil {
		return Schedule{}, err
	}
	s, err := Parse(data)
	if err != nil {
		return Schedule{}, fmt.Errorf("%s: %w", filepath.Join(d.Name(), name), err)
	}
	return s, nil
}
