package realsystemd

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkOneTimer times each step of one fresh timer's life on the real
// systemd, beside two floors measured in the same run: a GetId of the bus
// itself and a property Get from systemd. Run it with
//
//	go test -run '^$' -bench OneTimer -benchtime 50x ./tests/realsystemd
func BenchmarkOneTimer(b *testing.B) {
	conn := connect(b)
	samples := map[string][]time.Duration{}
	timeIt := func(name string, fn func()) {
		start := time.Now()
		fn()
		samples[name] = append(samples[name], time.Since(start))
	}
	bus := conn.BusObject()
	sd := conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1")
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("bench%d", i)
		path := create(b, conn, "create", name, "hourly")
		timeIt("floor: bus GetId", func() {
			if err := bus.Call("org.freedesktop.DBus.GetId", 0).Err; err != nil {
				b.Fatal(err)
			}
		})
		timeIt("floor: systemd Get", func() {
			if _, err := sd.GetProperty("org.freedesktop.systemd1.Manager.Version"); err != nil {
				b.Fatal(err)
			}
		})
		timeIt("Enable", func() { mustCall(b, conn, path, timerIf+".Enable") })
		timeIt("Start", func() { mustCall(b, conn, path, timerIf+".Start") })
		timeIt("Status read", func() {
			if _, err := conn.Object(busName, path).GetProperty(timerIf + ".Status"); err != nil {
				b.Fatal(err)
			}
		})
		timeIt("Stop", func() { mustCall(b, conn, path, timerIf+".Stop") })
		timeIt("Disable", func() { mustCall(b, conn, path, timerIf+".Disable") })
		b.StopTimer()
		mustCall(b, conn, rootPath, managerIf+".RemoveTimer", path)
		b.StartTimer()
	}
	floor := median(samples["floor: bus GetId"])
	b.Logf("%-20s %12s %12s %10s   (n=%d)", "step", "median", "p99", "x floor", b.N)
	for _, name := range []string{"floor: bus GetId", "floor: systemd Get", "Enable", "Start", "Status read", "Stop", "Disable"} {
		m := median(samples[name])
		b.Logf("%-20s %12v %12v %10.2f", name, m, percentile(samples[name], 99), float64(m)/float64(floor))
		b.ReportMetric(float64(m.Microseconds()), metricName(name))
	}
}

func metricName(step string) string {
	out := []rune{}
	for _, r := range step {
		switch {
		case r >= 'A' && r <= 'Z':
			out = append(out, r+'a'-'A')
		case r >= 'a' && r <= 'z':
			out = append(out, r)
		case len(out) > 0 && out[len(out)-1] != '-':
			out = append(out, '-')
		}
	}
	return string(out) + "-µs"
}

func median(d []time.Duration) time.Duration { return percentile(d, 50) }

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}
