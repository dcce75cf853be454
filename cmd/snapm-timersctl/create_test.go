package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/tests/testbus"
)

// daemonCalls stands in for the daemon on a real bus: only the CLI's
// choice of calls is under test here; tests/realsystemd runs create
// against the real one.
type daemonCalls struct {
	mu    sync.Mutex
	calls []string
	// fail, if set, is the error of every call.
	fail *dbus.Error
}

// made is the calls so far; read under the lock, as the bus gives the race
// detector no order between a handler's write and the client's reply.
func (d *daemonCalls) made() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.calls)
}

func (d *daemonCalls) add(call string) *dbus.Error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, call)
	return d.fail
}

// manager records the Manager's calls that create does.
type manager struct{ d *daemonCalls }

func (m manager) CreateTimer(typ, name, spec string) (dbus.ObjectPath, *dbus.Error) {
	return rootPath + "/t", m.d.add(fmt.Sprintf("CreateTimer %s %s %s", typ, name, spec))
}

func (m manager) CreateTimerWithFlags(typ, name, spec string, flags uint64) (dbus.ObjectPath, *dbus.Error) {
	return rootPath + "/t", m.d.add(fmt.Sprintf("CreateTimerWithFlags %s %s %s %#x", typ, name, spec, flags))
}

// TestCreateCalls: create --enable and --now make one CreateTimerWithFlags
// call, all or nothing, and a failure is not tried again another way.
func TestCreateCalls(t *testing.T) {
	addr := testbus.Start(t)
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", addr)
	// One connection plays every daemon, its objects exported again for
	// each: a name let go and claimed again could race the next client.
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if reply, err := conn.RequestName(busName, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("claiming %s: %v %v", busName, reply, err)
	}
	jobFailed := dbus.NewError("com.redhat.Snapm.Timers.Error.JobFailed", []any{"starting timer snapm-gc@x.timer: failed"})
	for name, tc := range map[string]struct {
		flags    []string
		fail     *dbus.Error
		wantExit int
		want     []string
	}{
		"plain create": {
			want: []string{"CreateTimer gc x daily"},
		},
		"--enable": {
			flags: []string{"--enable"}, want: []string{"CreateTimerWithFlags gc x daily 0x1"},
		},
		"--now": {
			flags: []string{"--now"}, want: []string{"CreateTimerWithFlags gc x daily 0x3"},
		},
		"--now, failing: no second try": {
			flags: []string{"--now"}, fail: jobFailed, wantExit: 1,
			want: []string{"CreateTimerWithFlags gc x daily 0x3"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			d := &daemonCalls{fail: tc.fail}
			// The export replaces the last case's.
			if err := conn.Export(manager{d}, rootPath, managerIface); err != nil {
				t.Fatal(err)
			}
			a, _, errOut := testApp(t, false, nil)
			a.dial = nil
			args := append([]string{"--no-ask-password", "create", "gc", "x", "daily"}, tc.flags...)
			if code := a.run(context.Background(), args); code != tc.wantExit {
				t.Errorf("exit %d, want %d; stderr %q", code, tc.wantExit, errOut)
			}
			if calls := d.made(); !slices.Equal(calls, tc.want) {
				t.Errorf("calls %q, want %q", calls, tc.want)
			}
		})
	}
}
