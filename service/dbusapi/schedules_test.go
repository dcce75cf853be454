package dbusapi

import (
	"testing"

	introspection "github.com/snapm/snapm-timersd/introspection-xml"
	"github.com/snapm/snapm-timersd/service/schedule"
	"github.com/snapm/snapm-timersd/service/timers"
)

// The Schedule interface's properties are exactly the XML's, each of the
// XML's type, whether its timers exist or not.
func TestSchedulePropsFollowTheXML(t *testing.T) {
	iface, err := introspection.Interface(introspection.Schedule)
	if err != nil {
		t.Fatal(err)
	}
	s, err := schedule.New("nightly", []string{"/", "/var:2G"}, "daily", schedule.Options{"policy_type": "count", "keep_count": 7})
	if err != nil {
		t.Fatal(err)
	}
	keys := timers.ScheduleKeys(s.Name)
	create, gc := timers.Snapshot{Key: keys[0]}, timers.Snapshot{Key: keys[1]}
	for _, pair := range [][2]*timers.Snapshot{{nil, nil}, {&create, &gc}} {
		props := scheduleProps(s, pair[0], pair[1])
		if len(props) != len(iface.Properties) {
			t.Errorf("%d properties published, the XML declares %d", len(props), len(iface.Properties))
		}
		for _, p := range iface.Properties {
			got, ok := props[p.Name]
			switch {
			case !ok:
				t.Errorf("%s is declared but not published", p.Name)
			case got.Signature().String() != p.Type:
				t.Errorf("%s is published as %s, declared %s", p.Name, got.Signature(), p.Type)
			}
		}
	}
}
