package dbusapi

import (
	"fmt"

	"github.com/godbus/dbus/v5"

	"github.com/snapm/snapm-timersd/service/schedule"
	"github.com/snapm/snapm-timersd/service/timers"
)

// decodeOptions turns the a{sv} of CreateSchedule and Edit into the Go
// values the schedule model takes: strings, booleans, string arrays and
// integers. Anything else (a nested variant, a dictionary, a double) is
// refused here, named by its key; the model judges the keys and values.
func decodeOptions(in map[string]dbus.Variant) (schedule.Options, error) {
	out := make(schedule.Options, len(in))
	for key, v := range in {
		switch x := v.Value().(type) {
		case string, bool, []string, byte, int16, uint16, int32, uint32, int64, uint64:
			out[key] = x
		default:
			return nil, fmt.Errorf("%w: option %q has type %s, which no option takes", timers.ErrInvalidArgument, timers.Printable(key), v.Signature())
		}
	}
	return out, nil
}
