package bus

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// fakePolkit answers CheckAuthorization as told, to show the daemon's side
// of each answer polkit can give; the real polkitd is in the real-systemd
// suite.
type fakePolkit struct {
	conn   *dbus.Conn
	mu     sync.Mutex
	answer string // "yes", "no", "challenge" (yes once interaction is allowed), "error"
	calls  []polkitCall
}

type polkitCall struct {
	Kind, Name, Action string
	// NameUID is the uid the bus gives the subject's name, asked while
	// the caller waits: the caller's, not the daemon's.
	NameUID uint32
	Details map[string]string
	Flags   uint32
}

type polkitSubject struct {
	Kind    string
	Details map[string]dbus.Variant
}

type polkitResult struct {
	Authorized, Challenge bool
	Details               map[string]string
}

func (p *fakePolkit) CheckAuthorization(subject polkitSubject, action string, details map[string]string, flags uint32, _ string) (polkitResult, *dbus.Error) {
	name, _ := subject.Details["name"].Value().(string)
	uid := ^uint32(0)
	if err := p.conn.BusObject().Call("org.freedesktop.DBus.GetConnectionUnixUser", 0, name).Store(&uid); err != nil {
		return polkitResult{}, dbus.MakeFailedError(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, polkitCall{Kind: subject.Kind, Name: name, NameUID: uid, Action: action, Details: details, Flags: flags})
	switch p.answer {
	case "yes":
		return polkitResult{Authorized: true}, nil
	case "challenge":
		interactive := flags&1 != 0
		return polkitResult{Authorized: interactive, Challenge: !interactive}, nil
	case "error":
		return polkitResult{}, dbus.NewError("org.freedesktop.PolicyKit1.Error.Failed", []any{"broken"})
	}
	return polkitResult{}, nil
}

func startPolkit(t *testing.T, addr, answer string) *fakePolkit {
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	p := &fakePolkit{conn: conn, answer: answer}
	if err := conn.Export(p, "/org/freedesktop/PolicyKit1/Authority", "org.freedesktop.PolicyKit1.Authority"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.RequestName("org.freedesktop.PolicyKit1", dbus.NameFlagDoNotQueue); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPolkitDecides: for a non-root caller the daemon does what polkit
// says, fails closed when polkit fails, asks for interaction only when the
// caller allows it, and tells polkit exactly which timer is at stake.
func TestPolkitDecides(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		answer      string
		interactive bool
		wantErr     string
	}{
		"yes":                   {answer: "yes"},
		"no":                    {answer: "no", wantErr: "org.freedesktop.DBus.Error.AccessDenied"},
		"no-interactive":        {answer: "no", interactive: true, wantErr: "org.freedesktop.DBus.Error.AccessDenied"},
		"challenge":             {answer: "challenge", wantErr: "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"},
		"challenge-interactive": {answer: "challenge", interactive: true},
		"error":                 {answer: "error", wantErr: "org.freedesktop.DBus.Error.AccessDenied"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := start(t, 10*time.Second)
			polkit := startPolkit(t, e.addr, tc.answer)
			path := e.create("guarded")
			argv := []string{"gdbus", "call", "--address", e.addr, "--dest", busName,
				"--object-path", string(path), "--method", timerIf + ".Enable"}
			if tc.interactive {
				argv = append(argv, "--interactive")
			}
			out, err := runAs(65534, argv...)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Enable as uid 65534: %v %s", err, out)
			case tc.wantErr != "" && !strings.Contains(out, tc.wantErr):
				t.Fatalf("Enable as uid 65534: %v %s, want %s", err, out, tc.wantErr)
			}
			wantStatus, wantFiles := "enabled", 1
			if tc.wantErr != "" {
				wantStatus, wantFiles = "disabled", 0
			}
			if got := e.status(path); got != wantStatus {
				t.Errorf("status %s, want %s", got, wantStatus)
			}
			if files := e.leftovers(); len(files) != 1+wantFiles { // the .d directory CreateTimer made, and the drop-in
				t.Errorf("files under the unit directory: %v", files)
			}
			polkit.mu.Lock()
			t.Cleanup(polkit.mu.Unlock)
			if len(polkit.calls) != 1 {
				t.Fatalf("polkit asked %d times (root's CreateTimer must not ask): %+v", len(polkit.calls), polkit.calls)
			}
			c := polkit.calls[0]
			wantFlags := uint32(0)
			if tc.interactive {
				wantFlags = 1
			}
			if c.Kind != "system-bus-name" || !strings.HasPrefix(c.Name, ":") || c.NameUID != 65534 || c.Action != "com.redhat.snapm.timers.manage" ||
				c.Flags != wantFlags || c.Details["unit"] != "snapm-create@guarded.timer" || c.Details["type"] != "create" ||
				c.Details["name"] != "guarded" || c.Details["method"] != "Enable" {
				t.Errorf("polkit was asked %+v", c)
			}
		})
	}
}
