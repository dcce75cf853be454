package cockpit

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/tracing"
	"github.com/chromedp/chromedp"
)

// What Chromium records for DevTools' performance panel: the main thread's
// tasks by kind, and its JavaScript sampled by script.
const traceCategories = "devtools.timeline,disabled-by-default-devtools.timeline,v8.execute,blink.user_timing," +
	"disabled-by-default-v8.cpu_profiler"

// traceEvent is an event of Chromium's trace, as far as the breakdown
// reads it; ts and dur are in µs.
type traceEvent struct {
	Name string          `json:"name"`
	Ph   string          `json:"ph"`
	Ts   float64         `json:"ts"`
	Dur  float64         `json:"dur"`
	Pid  int             `json:"pid"`
	Tid  int             `json:"tid"`
	ID   string          `json:"id"`
	Args json.RawMessage `json:"args"`
}

// traced runs act with Chromium tracing the tab and returns the trace.
func traced(t *testing.T, ctx context.Context, act func()) []traceEvent {
	t.Helper()
	listen, stop := context.WithCancel(ctx)
	defer stop()
	var mu sync.Mutex
	var raw [][]byte
	done := make(chan struct{})
	if err := chromedp.Listen(listen, func(ev any) {
		switch ev := ev.(type) {
		case *tracing.EventDataCollected:
			mu.Lock()
			for _, v := range ev.Value {
				raw = append(raw, v)
			}
			mu.Unlock()
		case *tracing.EventTracingComplete:
			close(done)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, tracing.Start, tracing.StartParams{TransferMode: tracing.StartTransferModeReportEvents,
		TraceConfig: &tracing.TraceConfig{IncludedCategories: strings.Split(traceCategories, ",")}}); err != nil {
		t.Fatalf("Tracing.start: %v", err)
	}
	act()
	if _, err := chromedp.Call(ctx, tracing.End, cdp.Empty{}); err != nil {
		t.Fatalf("Tracing.end: %v", err)
	}
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("the trace did not complete")
	}
	mu.Lock()
	defer mu.Unlock()
	events := make([]traceEvent, 0, len(raw))
	for _, r := range raw {
		var e traceEvent
		if json.Unmarshal(r, &e) == nil {
			events = append(events, e)
		}
	}
	return events
}

// The kinds of the main thread's work, as DevTools' summary has them.
func taskKind(name string) string {
	switch {
	case name == "ParseHTML" || name == "ParseAuthorStyleSheet":
		return "parsing"
	case name == "UpdateLayoutTree" || name == "RecalculateStyles":
		return "style"
	case name == "Layout":
		return "layout"
	case slices.Contains([]string{"Paint", "PrePaint", "Layerize", "UpdateLayer", "CompositeLayers", "Commit", "PaintImage"}, name):
		return "paint"
	case strings.Contains(name, "GC") || strings.HasPrefix(name, "ThreadState"):
		return "garbage collection"
	case strings.HasPrefix(name, "v8.") || strings.HasPrefix(name, "V8.") || slices.Contains([]string{
		"FunctionCall", "EvaluateScript", "TimerFire", "EventDispatch", "FireAnimationFrame", "RunMicrotasks",
		"XHRReadyStateChange", "FireIdleCallback"}, name):
		return "scripting"
	}
	return "other"
}

// breakdown says where the main thread of the page's renderer spent the
// first upTo ms after the navigation that the trace holds: the self time
// of its tasks by kind, the rest idle (waiting for the network, the bridge
// or a timer), and its JavaScript by script as sampled.
func breakdown(events []traceEvent, upTo float64) (string, error) {
	// The renderer and its main thread: where the page's document was
	// parsed.
	var pid, tid int
	var parsed float64
	for _, e := range events {
		if e.Name == "ParseHTML" && strings.Contains(string(e.Args), "snapm-timers/index.html") {
			pid, tid, parsed = e.Pid, e.Tid, e.Ts
			break
		}
	}
	if pid == 0 {
		return "", fmt.Errorf("no ParseHTML of the page among %d trace events", len(events))
	}
	start := 0.0
	for _, e := range events {
		if e.Pid == pid && e.Name == "navigationStart" && e.Ts <= parsed && e.Ts > start {
			start = e.Ts
		}
	}
	if start == 0 {
		return "", fmt.Errorf("no navigationStart before the page's ParseHTML")
	}
	end := start + upTo*1000

	var tasks []traceEvent
	for _, e := range events {
		if e.Pid == pid && e.Tid == tid && e.Ph == "X" && e.Ts >= start && e.Ts < end {
			tasks = append(tasks, e)
		}
	}
	slices.SortStableFunc(tasks, func(a, b traceEvent) int {
		if a.Ts != b.Ts {
			return cmp.Compare(a.Ts, b.Ts)
		}
		return cmp.Compare(b.Dur, a.Dur)
	})
	self := map[string]float64{}
	busy := 0.0
	var open []traceEvent
	var openSelf []float64
	for _, e := range tasks {
		for len(open) > 0 && open[len(open)-1].Ts+open[len(open)-1].Dur <= e.Ts {
			self[taskKind(open[len(open)-1].Name)] += openSelf[len(open)-1]
			open, openSelf = open[:len(open)-1], openSelf[:len(openSelf)-1]
		}
		if len(open) == 0 {
			busy += e.Dur
		} else {
			openSelf[len(openSelf)-1] -= e.Dur
		}
		open, openSelf = append(open, e), append(openSelf, e.Dur)
	}
	for i := range open {
		self[taskKind(open[i].Name)] += openSelf[i]
	}
	var out []string
	kinds := []string{"scripting", "parsing", "style", "layout", "paint", "garbage collection", "other"}
	for _, k := range kinds {
		out = append(out, fmt.Sprintf("%s %.0f", k, self[k]/1000))
	}
	out = append(out, fmt.Sprintf("idle %.0f", (end-start-busy)/1000))
	return fmt.Sprintf("main thread, ms: %s; JavaScript sampled, ms: %s", strings.Join(out, ", "), scripts(events, pid, start, end)), nil
}

// cpuProfile is the part of a ProfileChunk event that scripts reads.
type cpuProfile struct {
	Data struct {
		CPUProfile struct {
			Nodes []struct {
				ID        int `json:"id"`
				CallFrame struct {
					FunctionName string `json:"functionName"`
					URL          string `json:"url"`
				} `json:"callFrame"`
			} `json:"nodes"`
			Samples []int `json:"samples"`
		} `json:"cpuProfile"`
		TimeDeltas []float64 `json:"timeDeltas"`
		StartTime  float64   `json:"startTime"`
	} `json:"data"`
}

// scripts sums the renderer's JavaScript samples between start and end by
// the script they ran in (cockpit.js, the page's chunks) or by V8's own
// names for the rest ((garbage collector), (program)); idle is left out.
func scripts(events []traceEvent, pid int, start, end float64) string {
	where := map[int]string{}
	by := map[string]float64{}
	// The time of each profile's last sample; a profile's chunks carry
	// the deltas from its start.
	at := map[string]float64{}
	for _, e := range events {
		if e.Pid != pid || e.Ph != "P" || (e.Name != "Profile" && e.Name != "ProfileChunk") {
			continue
		}
		var p cpuProfile
		if json.Unmarshal(e.Args, &p) != nil {
			continue
		}
		if e.Name == "Profile" {
			at[e.ID] = p.Data.StartTime
			continue
		}
		for _, n := range p.Data.CPUProfile.Nodes {
			name := path.Base(n.CallFrame.URL)
			if n.CallFrame.URL == "" {
				name = n.CallFrame.FunctionName
			}
			where[n.ID] = name
		}
		for i, s := range p.Data.CPUProfile.Samples {
			if i >= len(p.Data.TimeDeltas) {
				break
			}
			at[e.ID] += p.Data.TimeDeltas[i]
			// A sample stands for the time since the one before.
			if at[e.ID] >= start && at[e.ID] < end && where[s] != "(idle)" {
				by[where[s]] += p.Data.TimeDeltas[i]
			}
		}
	}
	names := make([]string, 0, len(by))
	for n := range by {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int { return cmp.Compare(by[b], by[a]) })
	var out []string
	for _, n := range names {
		if by[n] >= 1000 {
			out = append(out, fmt.Sprintf("%s %.0f", n, by[n]/1000))
		}
	}
	return strings.Join(out, ", ")
}
