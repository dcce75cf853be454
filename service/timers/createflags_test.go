// Tests of CreateWithFlags: each flag's end state, the refusals that change
// nothing, the failures that leave nothing behind, and what the Observer
// hears meanwhile.

package timers

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/snapm/snapm-timersd/service/dropin"
)

func TestCreateWithFlags(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		flags uint64
		// dropIn, if set, is on disk before the call.
		dropIn string
		fail   string
		// wantErr: nil for success. wantDisk as env.disk says it; the
		// status of the one object announced ("": none, and nothing left
		// behind: no record, no UNIT.d, no object, no timer listed).
		wantErr    error
		wantDisk   string
		wantStatus Status
		// wantNoCalls: systemd is not asked anything.
		wantNoCalls bool
	}{
		"0 is CreateTimer": {
			flags: 0, wantDisk: "no drop-in", wantStatus: StatusDisabled,
		},
		"ENABLE": {
			flags: 0x1, wantDisk: `drop-in "hourly", enabled`, wantStatus: StatusEnabled,
		},
		"ENABLE|START": {
			flags: 0x3, wantDisk: `drop-in "hourly", enabled`, wantStatus: StatusRunning,
		},
		"START without ENABLE is refused": {
			flags: 0x2, wantErr: ErrInvalidFlags, wantDisk: "no drop-in", wantNoCalls: true,
		},
		"an unknown bit is refused": {
			flags: 0x5, wantErr: ErrInvalidFlags, wantDisk: "no drop-in", wantNoCalls: true,
		},
		"a bit far out is refused": {
			flags: 1 << 63, wantErr: ErrInvalidFlags, wantDisk: "no drop-in", wantNoCalls: true,
		},
		"EnableUnit failing leaves nothing": {
			flags: 0x3, fail: "EnableUnit", wantErr: errInjected, wantDisk: "no drop-in",
		},
		"the read after enabling failing leaves nothing": {
			flags: 0x1, fail: "UnitState", wantErr: errInjected, wantDisk: "no drop-in",
		},
		"StartUnit failing leaves nothing": {
			flags: 0x3, fail: "StartUnit", wantErr: errInjected, wantDisk: "no drop-in",
		},
		"a drop-in already on disk is adopted, neither enabled nor started": {
			flags: 0x3, dropIn: "weekly", wantErr: ErrTimerExists, wantDisk: `drop-in "weekly"`, wantStatus: StatusInvalid,
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			ctx := context.Background()
			const unit = "snapm-create@flags.timer"
			if tc.dropIn != "" {
				if err := dropin.Write(e.unitDir, unit, tc.dropIn); err != nil {
					t.Fatal(err)
				}
			}
			// Until a one-call creation returns, no one may see the timer:
			// it may yet be rolled back. (CreateTimer announces it once its
			// record is durable, while it reads systemd's view.)
			var listed []int
			e.sd.done = func(string) { listed = append(listed, len(e.m.List())) }
			e.sd.setFail(tc.fail, errInjected)
			e.sd.calls.take()
			e.schedule(t, "flags", "hourly")
			s, err := e.m.CreateWithFlags(ctx, "create", "flags", "hourly", tc.flags)
			e.sd.setFail(tc.fail, nil)
			if !errors.Is(err, tc.wantErr) || (err != nil) != (tc.wantErr != nil) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if got := e.disk(t, unit); got != tc.wantDisk {
				t.Errorf("disk: %s, want %s", got, tc.wantDisk)
			}
			if calls := e.sd.calls.take(); tc.wantNoCalls && len(calls) != 0 {
				t.Errorf("systemd was asked %q, want nothing", calls)
			}
			if tc.flags != 0 && tc.dropIn == "" && slices.ContainsFunc(listed, func(n int) bool { return n != 0 }) {
				t.Errorf("timers listed while systemd worked on the new one: %v, want none", listed)
			}
			events := e.obs.take()
			_, recErr := os.Stat(filepath.Join(e.state, recordDir, unit))
			_, dirErr := os.Stat(dropin.Dir(e.unitDir, unit))
			got, getErr := e.m.Get("create", "flags")
			if tc.wantStatus == "" {
				if len(events) != 0 || !errors.Is(recErr, fs.ErrNotExist) || !errors.Is(dirErr, fs.ErrNotExist) ||
					!errors.Is(getErr, ErrNoSuchTimer) || len(e.m.List()) != 0 {
					t.Errorf("left behind: events %+v, record %v, UNIT.d %v, Get %v, listed %d; want none of them",
						events, recErr, dirErr, getErr, len(e.m.List()))
				}
				return
			}
			if recErr != nil || dirErr != nil || getErr != nil {
				t.Fatalf("record %v, UNIT.d %v, Get %v", recErr, dirErr, getErr)
			}
			// Announced once, already as it ends up: never "disabled" on
			// the way to running.
			if tc.dropIn != "" {
				// Adopted as CreateTimer adopts: announced, then told what
				// systemd said.
				events = events[len(events)-1:]
			}
			if len(events) != 1 || events[0].Kind != map[bool]string{true: "changed", false: "added"}[tc.dropIn != ""] || events[0].Snapshot != got || got.Status != tc.wantStatus {
				t.Errorf("published %+v, then got %+v; want one \"added\" with the final state, status %s", events, got, tc.wantStatus)
			}
			if err == nil && s != got {
				t.Errorf("returned %+v, Get says %+v", s, got)
			}
		})
	}
}
