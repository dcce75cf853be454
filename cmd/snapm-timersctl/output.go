package main

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/godbus/dbus/v5"
)

// page writes output through a pager when stdout is a terminal, as
// systemctl does: $SYSTEMD_PAGER, $PAGER or less, unless --no-pager.
func (a *app) page(write func(w io.Writer) error) error {
	pager := a.pagerCommand()
	if pager == "" {
		return write(a.stdout)
	}
	cmd := exec.Command("sh", "-c", pager)
	cmd.Stdout, cmd.Stderr = a.stdout, a.stderr
	cmd.Env = os.Environ()
	if a.getenv("LESS") == "" {
		cmd.Env = append(cmd.Env, "LESS=FRSXMK")
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		return write(a.stdout)
	}
	if err := cmd.Start(); err != nil {
		return write(a.stdout)
	}
	werr := write(in)
	in.Close()
	cmd.Wait() //nolint:errcheck // the user quitting the pager early is no failure
	return werr
}

func (a *app) pagerCommand() string {
	if !a.tty || a.opts.noPager || a.opts.json == "short" || a.opts.json == "pretty" {
		return ""
	}
	for _, name := range []string{"SYSTEMD_PAGER", "PAGER"} {
		if v := strings.TrimSpace(a.getenv(name)); v != "" {
			if v == "cat" {
				return ""
			}
			return v
		}
	}
	if _, err := exec.LookPath("less"); err != nil {
		return ""
	}
	return "less"
}

// jsonOn tells whether --json asked for JSON.
func (a *app) jsonOn() bool { return a.opts.json == "short" || a.opts.json == "pretty" }

// writeJSON prints v as one line (short) or indented (pretty).
func (a *app) writeJSON(w io.Writer, v any) error {
	var data []byte
	var err error
	if a.opts.json == "pretty" {
		data, err = json.MarshalIndent(v, "", "  ")
	} else {
		data, err = json.Marshal(v)
	}
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// jsonProps turns D-Bus properties into JSON values of their own types,
// keyed by property name.
func jsonProps(props map[string]dbus.Variant, names []string) map[string]any {
	out := make(map[string]any, len(names))
	for _, n := range names {
		if v, ok := props[n]; ok {
			out[n] = v.Value()
		}
	}
	return out
}
