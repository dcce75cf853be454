package timers

import "testing"

func TestDeriveStatus(t *testing.T) {
	t.Parallel()
	unloaded := UnitState{UnitFileState: "disabled"}
	for _, tc := range []struct {
		desc   string
		dropIn bool
		u      UnitState
		want   Status
	}{
		{"never configured, not loaded", false, unloaded, StatusDisabled},
		{"disabled but still loaded (not yet garbage-collected)", false,
			UnitState{LoadState: "loaded", ActiveState: "inactive", SubState: "dead", UnitFileState: "disabled"}, StatusDisabled},
		{"masked and unused", false, UnitState{LoadState: "masked", ActiveState: "inactive", UnitFileState: "masked"}, StatusDisabled},
		{"enabled, unloaded by systemd's GC", true, UnitState{UnitFileState: "enabled"}, StatusEnabled},
		{"enabled, loaded, stopped", true,
			UnitState{LoadState: "loaded", ActiveState: "inactive", SubState: "dead", UnitFileState: "enabled"}, StatusEnabled},
		{"running, waiting", true,
			UnitState{LoadState: "loaded", ActiveState: "active", SubState: "waiting", UnitFileState: "enabled"}, StatusRunning},
		{"running, triggering its service", true,
			UnitState{LoadState: "loaded", ActiveState: "active", SubState: "running", UnitFileState: "enabled"}, StatusRunning},
		{"drop-in but not enabled", true, unloaded, StatusInvalid},
		{"enabled without drop-in", false, UnitState{UnitFileState: "enabled"}, StatusInvalid},
		{"bad setting", true, UnitState{LoadState: "bad-setting", ActiveState: "inactive", UnitFileState: "enabled"}, StatusInvalid},
		// systemd keeps running a timer whose drop-in turned bad at the
		// last daemon-reload; what runs is no longer what is on disk.
		{"still running after its drop-in turned bad", true,
			UnitState{LoadState: "bad-setting", ActiveState: "active", SubState: "waiting", UnitFileState: "enabled"}, StatusInvalid},
		{"still running after its unit file went", true,
			UnitState{LoadState: "not-found", ActiveState: "active", SubState: "waiting", UnitFileState: "enabled"}, StatusInvalid},
		{"failed", true, UnitState{LoadState: "loaded", ActiveState: "failed", SubState: "failed", UnitFileState: "enabled"}, StatusInvalid},
		{"elapsed for good", true,
			UnitState{LoadState: "loaded", ActiveState: "active", SubState: "elapsed", UnitFileState: "enabled"}, StatusRunning},
		{"active in an unknown sub-state", true,
			UnitState{LoadState: "loaded", ActiveState: "active", SubState: "mounted", UnitFileState: "enabled"}, StatusInvalid},
		{"deactivating", true,
			UnitState{LoadState: "loaded", ActiveState: "deactivating", SubState: "dead", UnitFileState: "enabled"}, StatusInvalid},
		{"started by hand without drop-in", false,
			UnitState{LoadState: "loaded", ActiveState: "active", SubState: "waiting", UnitFileState: "disabled"}, StatusInvalid},
		{"running but unit file disabled by hand", true,
			UnitState{LoadState: "loaded", ActiveState: "active", SubState: "waiting", UnitFileState: "disabled"}, StatusInvalid},
	} {
		if got := DeriveStatus(tc.dropIn, tc.u); got != tc.want {
			t.Errorf("%s: DeriveStatus(%v, %+v) = %s, want %s", tc.desc, tc.dropIn, tc.u, got, tc.want)
		}
	}
}

func TestDeriveReason(t *testing.T) {
	t.Parallel()
	loaded := func(active, sub, file string) UnitState {
		return UnitState{LoadState: "loaded", ActiveState: active, SubState: sub, UnitFileState: file}
	}
	for _, tc := range []struct {
		desc           string
		dropIn, badDIn bool
		u              UnitState
		want           StatusReason
	}{
		{"masked by hand, no drop-in", false, false, UnitState{LoadState: "masked", UnitFileState: "masked"}, ReasonMasked},
		{"masked at runtime, drop-in kept", true, false, UnitState{UnitFileState: "masked-runtime"}, ReasonMasked},
		{"masked and stale", true, false, UnitState{LoadState: "masked", UnitFileState: "masked", NeedDaemonReload: true}, ReasonMasked},
		{"edited by hand, not reloaded", true, false,
			UnitState{LoadState: "loaded", ActiveState: "active", SubState: "waiting", UnitFileState: "enabled", NeedDaemonReload: true}, ReasonNeedReload},
		{"drop-in unreadable", true, true, loaded("inactive", "dead", "enabled"), ReasonBadDropIn},
		{"drop-in without enablement", true, false, UnitState{UnitFileState: "disabled"}, ReasonNotEnabled},
		{"enabled without drop-in", false, false, UnitState{UnitFileState: "enabled"}, ReasonNoDropIn},
		{"started by hand without drop-in", false, false, loaded("active", "waiting", "disabled"), ReasonNoDropIn},
		{"bad setting", true, false, UnitState{LoadState: "bad-setting", ActiveState: "inactive", UnitFileState: "enabled"}, ReasonLoadError},
		{"failed", true, false, loaded("failed", "failed", "enabled"), ReasonFailed},
		{"deactivating", true, false, loaded("deactivating", "dead", "enabled"), ReasonTransition},
	} {
		if got := DeriveReason(tc.dropIn, tc.badDIn, tc.u); got != tc.want {
			t.Errorf("%s: DeriveReason(%v, %v, %+v) = %s, want %s", tc.desc, tc.dropIn, tc.badDIn, tc.u, got, tc.want)
		}
	}
}
