package calendar

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// Analyzer asks systemd-analyze, the reference implementation, about an
// expression.
type Analyzer struct {
	// Path of systemd-analyze; empty means look it up in $PATH.
	Path string
}

// Parse validates spec and computes its normalized form and its next elapse
// after now.
func (a Analyzer) Parse(ctx context.Context, spec string, now time.Time) (Info, error) {
	if err := CheckText(spec); err != nil {
		return Info{}, err
	}
	path := a.Path
	if path == "" {
		path = "systemd-analyze"
	}
	// "--" keeps an expression starting with "-" from being read as an option.
	cmd := exec.CommandContext(ctx, path, "calendar", fmt.Sprintf("--base-time=@%d", now.Unix()), "--", spec)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) && ctx.Err() == nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = "rejected by systemd-analyze"
		}
		return Info{}, fmt.Errorf("%w: %s", ErrInvalid, msg)
	}
	if err != nil {
		return Info{}, fmt.Errorf("running systemd-analyze calendar: %w", err)
	}
	return parseAnalyzeOutput(stdout.Bytes())
}

func parseAnalyzeOutput(out []byte) (Info, error) {
	fields := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ": ")
		if ok {
			fields[strings.TrimSpace(key)] = strings.TrimSpace(value)
		}
	}
	info := Info{Normalized: fields["Normalized form"]}
	if info.Normalized == "" {
		return Info{}, fmt.Errorf("systemd-analyze printed no normalized form: %q", out)
	}
	next, ok := fields["(in UTC)"]
	if !ok {
		next = fields["Next elapse"]
	}
	if next == "never" {
		return info, nil
	}
	t, err := time.Parse("Mon 2006-01-02 15:04:05 MST", next)
	if err != nil || !strings.HasSuffix(next, " UTC") {
		return Info{}, fmt.Errorf("systemd-analyze printed an unreadable next elapse %q", next)
	}
	info.Next = uint64(t.UnixMicro())
	return info, nil
}
