package main

import (
	"context"
	"os/exec"
	"testing"
	"time"
)

// When ssh fails, -H fails at once with systemctl's wording and status,
// rather than waiting for a bus that will never answer.
func TestRemoteHostSSHFails(t *testing.T) {
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Fatalf("ssh is needed (openssh-client): %v", err)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		host string
	}{
		{"unresolvable host", map[string]string{}, "nosuch.invalid"},
		{"ssh exits at once", map[string]string{"SYSTEMD_SSH": "/bin/false"}, "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, out, errOut := testApp(t, false, tc.env)
			a.dial = nil
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			start := time.Now()
			code := a.run(ctx, []string{"-H", tc.host, "list"})
			took := time.Since(start)
			if code != exitFailure || took > 5*time.Second {
				t.Errorf("-H %s list: exit %d after %v; want 1 within 5 s", tc.host, code, took)
			}
			if out.Len() != 0 || errOut.String() != "Failed to connect to bus: Transport endpoint is not connected\n" {
				t.Errorf("-H %s list: stdout %q, stderr %q", tc.host, out, errOut)
			}
			t.Logf("-H %s list failed after %v", tc.host, took.Round(time.Millisecond))
		})
	}
}
