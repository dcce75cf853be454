// The results: rows with their medians and percentiles, printed as a
// Markdown table or written as JSON.

package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

type row struct {
	Section string `json:"section"`
	Name    string `json:"name"`
	// Samples are individual latencies; Total a whole run of Count items.
	Samples  []time.Duration `json:"-"`
	MedianMS float64         `json:"median_ms,omitempty"`
	P99MS    float64         `json:"p99_ms,omitempty"`
	N        int             `json:"samples,omitempty"`
	Total    time.Duration   `json:"-"`
	TotalMS  float64         `json:"total_ms,omitempty"`
	Count    int             `json:"count,omitempty"`
	Reloads  int             `json:"daemon_reloads"`
	KiB      int             `json:"kib,omitempty"`
	Baseline time.Duration   `json:"-"`
	Ratio    float64         `json:"ratio_to_bus_floor,omitempty"`
	Target   string          `json:"target,omitempty"`
	Met      bool            `json:"met,omitempty"`
}

type report struct {
	Started time.Time `json:"started"`
	// Machine says what ran it: the figures are this machine's.
	Machine string `json:"machine"`
	// Args are the bench's command line.
	Args    string `json:"args"`
	Samples int    `json:"samples"`
	Clients int    `json:"clients"`
	Rows    []row  `json:"rows"`
}

func (r *report) add(x row) {
	if len(x.Samples) > 0 {
		x.N = len(x.Samples)
		x.MedianMS = ms(median(x.Samples))
		x.P99MS = ms(percentile(x.Samples, 99))
		if x.Baseline > 0 {
			x.Ratio = ratio(median(x.Samples), x.Baseline)
		}
	}
	x.TotalMS = ms(x.Total)
	r.Rows = append(r.Rows, x)
}

func (r *report) markdown() string {
	var b strings.Builder
	b.WriteString("# snapm-timersd benchmarks\n\n")
	fmt.Fprintf(&b, "Written by `go run ./tests/bench %s` (`make bench`): do not edit. "+
		"Each daemon figure is beside what systemd alone takes for the same in the same run; "+
		"compare runs only on the same machine, and a change with `-against REV`.\n\n", r.Args)
	fmt.Fprintf(&b, "- date: %s\n- machine: %s\n", r.Started.Format(time.RFC3339), r.Machine)
	if r.Samples > 0 {
		fmt.Fprintf(&b, "- %d samples per one-timer figure\n", r.Samples)
	}
	section := ""
	for _, x := range r.Rows {
		if x.Section != section {
			section = x.Section
			fmt.Fprintf(&b, "\n### %s\n\n| measure | median | p99 | x bus floor | total | reloads | memory | target |\n|---|---|---|---|---|---|---|---|\n", section)
		}
		cells := []string{x.Name, "", "", "", "", "", "", ""}
		if x.N > 0 {
			cells[1], cells[2] = fmtMS(x.MedianMS), fmtMS(x.P99MS)
		}
		if x.Ratio > 0 {
			cells[3] = fmt.Sprintf("%.2f", x.Ratio)
		}
		if x.Total > 0 {
			cells[4] = fmtMS(x.TotalMS)
			if x.Count > 0 {
				cells[4] += fmt.Sprintf(" (%.2f ms each)", x.TotalMS/float64(x.Count))
			}
			cells[5] = strconv.Itoa(x.Reloads)
		}
		if x.KiB > 0 {
			cells[6] = fmt.Sprintf("%.1f MiB", float64(x.KiB)/1024)
		}
		if x.Target != "" {
			verdict := "met"
			if !x.Met {
				verdict = "NOT met"
			}
			cells[7] = x.Target + ": " + verdict
		}
		fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | "))
	}
	return b.String()
}

func fmtMS(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.2f s", v/1000)
	}
	return fmt.Sprintf("%.3f ms", v)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

func median(d []time.Duration) time.Duration { return percentile(d, 50) }

func percentile(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}

// machine describes this machine in one line: processors, memory, kernel.
func machine() string {
	cpu, cpus := "unknown processor", 0
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if name, ok := strings.CutPrefix(line, "model name"); ok {
				cpus++
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
			}
		}
	}
	mem := ""
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		mem = fmt.Sprintf(", %.1f GiB", float64(kib(string(data), "MemTotal:"))/(1<<20))
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return fmt.Sprintf("%d x %s%s, Linux %s", cpus, cpu, mem, strings.TrimSpace(string(kernel)))
}
