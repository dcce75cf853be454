package timers

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/snapm/snapm-timersd/service/atomicfile"
	"github.com/snapm/snapm-timersd/service/coalesce"
)

const (
	stateFile    = "timers.json"
	stateVersion = 1
)

type record struct {
	Type Type   `json:"type"`
	Name string `json:"name"`
	Spec string `json:"calendarspec"`
}

type stateDoc struct {
	Version int      `json:"version"`
	Timers  []record `json:"timers"`
}

// store keeps the set of timers and their specs in the state directory, so
// timers created but never enabled survive a restart. Enabled timers are
// also on disk as drop-ins; on a conflict the drop-in wins, since that is
// what systemd runs.
type store struct {
	dir     string
	records func() []record
	group   coalesce.Group
}

func newStore(ctx context.Context, dir string, records func() []record) *store {
	s := &store{dir: dir, records: records}
	s.group = coalesce.Group{Ctx: ctx, Fn: func(context.Context) error { return s.write() }}
	return s
}

func (s *store) load() ([]record, error) {
	data, err := os.ReadFile(filepath.Join(s.dir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var doc stateDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(s.dir, stateFile), err)
	}
	if doc.Version != stateVersion {
		return nil, fmt.Errorf("%s: unsupported version %d", filepath.Join(s.dir, stateFile), doc.Version)
	}
	return doc.Timers, nil
}

// save makes the current set durable; concurrent saves share one write.
func (s *store) save(ctx context.Context) error {
	if err := s.group.Do(ctx); err != nil {
		return fmt.Errorf("%w: saving timer state: %w", ErrIO, err)
	}
	return nil
}

func (s *store) write() error {
	recs := s.records()
	slices.SortFunc(recs, func(a, b record) int {
		return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.Name, b.Name))
	})
	data, err := json.MarshalIndent(stateDoc{Version: stateVersion, Timers: recs}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	return atomicfile.Write(s.dir, stateFile, append(data, '\n'), 0o644)
}
