package timers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/snapm/snapm-timersd/service/atomicfile"
)

// recordDir holds one file per timer, named after its unit: creating or
// removing a timer writes one small file, whatever their number.
const recordDir = "timers"

type record struct {
	Type Type   `json:"type"`
	Name string `json:"name"`
	Spec string `json:"calendarspec"`
	// Creating marks a timer CreateWithFlags is still making: cleared
	// before the call answers, it tells start-up to undo a timer a crash
	// left half made (see undoCreating).
	Creating bool `json:"creating,omitempty"`
}

func (r record) key() Key { return Key{Type: r.Type, Name: r.Name} }

// record is what the state directory keeps of the timer k with spec.
func (k Key) record(spec string) record { return record{Type: k.Type, Name: k.Name, Spec: spec} }

// store keeps every timer and its spec in the state directory, so timers
// created but never enabled survive a restart. Enabled timers are also on
// disk as drop-ins; on a conflict the drop-in wins, since that is what
// systemd runs.
type store struct {
	dir string
}

func (s *store) recordDir() string { return filepath.Join(s.dir, recordDir) }

// load returns every record. A record that cannot be read is left as it is
// and reported in bad: one bad file does not hide the others.
func (s *store) load() (recs []record, bad []error, err error) {
	dir, err := atomicfile.OpenDir(s.recordDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, bad, nil
	}
	if err != nil {
		return nil, bad, fmt.Errorf("%w: %w", ErrIO, err)
	}
	defer dir.Close()
	entries, err := dir.ReadDir(-1)
	if err != nil {
		return nil, bad, fmt.Errorf("%w: %w", ErrIO, err)
	}
	recs = make([]record, 0, len(entries))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), atomicfile.TempPrefix) {
			atomicfile.Remove(dir, e.Name()) // left by a crash mid-write
			continue
		}
		r, err := readRecord(dir, e.Name())
		if err != nil {
			bad = append(bad, err)
			continue
		}
		recs = append(recs, r)
	}
	return recs, bad, nil
}

// maxRecord bounds what is read of a record: ours are under 200 bytes.
const maxRecord = 64 << 10

// readRecord reads the record name in dir: through the open directory, and
// only a regular file (one open, where os.ReadFile takes two more calls,
// and a FIFO put there could hang it).
func readRecord(dir *os.File, name string) (record, error) {
	var r record
	data, err := atomicfile.ReadAt(dir, name, maxRecord)
	if err == nil {
		err = json.Unmarshal(data, &r)
	}
	if err != nil {
		return record{}, fmt.Errorf("%s: %w", filepath.Join(dir.Name(), name), err)
	}
	return r, nil
}

// put makes r durable.
func (s *store) put(r record) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.recordDir(), 0o755); err != nil {
		return fmt.Errorf("%w: saving timer %s: %w", ErrIO, r.key(), err)
	}
	if err := atomicfile.Write(s.recordDir(), r.key().Unit(), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("%w: saving timer %s: %w", ErrIO, r.key(), err)
	}
	return nil
}

// remove forgets key durably.
func (s *store) remove(key Key) error {
	err := os.Remove(filepath.Join(s.recordDir(), key.Unit()))
	if err == nil {
		err = atomicfile.SyncDir(s.recordDir())
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: forgetting timer %s: %w", ErrIO, key, err)
	}
	return nil
}
