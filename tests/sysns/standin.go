package sysns

// SnapmStandIn takes the place of Snapshot Manager's snapm, which the
// units' ExecStart= run, where the real one's archives are not at hand
// (the sandbox's fallback): like snapm 0.7, with its words and exit
// status, it fails for a schedule that does not exist, so that a timer
// without its schedule shows the failure it would have; for one that does,
// it says what snapm would do. tests/interop holds it to the real snapm.
const SnapmStandIn = `#!/bin/sh
# A stand-in for snapm inside the snapm-timersd sandbox.
name= prev=
for arg; do [ "$prev" = -c ] && name=$arg; prev=$arg; done
if [ -n "$name" ] && [ ! -e "/etc/snapm/schedule.d/$name.json" ]; then
	case "$1 $2" in
	"snapset create-scheduled") echo "ERROR - No schedule configuration matching '$name' found." >&2 ;;
	*) echo "ERROR - Command failed: No schedule named $name" >&2 ;;
	esac
	exit 1
fi
echo "snapm (sandbox stand-in): would run: snapm $*"
`
