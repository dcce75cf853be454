package schedule

import (
	"fmt"
	"strings"
)

// maxNameLen is snapm's limit: a unit name is at most 255 characters
// (_SYSTEMD_UNIT_NAME_LEN) and the longest name made of a schedule's is its
// create timer's drop-in directory, "snapm-create@NAME.timer.d".
const maxNameLen = 255 - len("snapm-create@.timer.d")

// ValidateName says whether name is a name snapm 0.7 gives a new schedule
// (Scheduler.create): every character in its schedule set (ASCII letters,
// digits and `\:-_.`), at most 234 characters, then a valid snapshot set
// name (Manager._validate_snapset_name: no '_', every character in
// letters, digits and `+_.-`, not "."), so in effect [A-Za-z0-9.-]{1,234}
// but ".". snapm takes the empty name as far as its GcPolicy, which
// refuses it; that is refused here. Whether a snapshot set or a schedule
// of that name exists is the caller's to check.
func ValidateName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: schedule name cannot be empty", ErrInvalid)
	}
	for _, c := range name {
		if !isAlnum(c) && !strings.ContainsRune(`\:-_.`, c) {
			return fmt.Errorf("%w: Schedule name cannot include '%c'", ErrInvalid, c)
		}
	}
	if len(name) > maxNameLen {
		return fmt.Errorf("%w: Schedule name too long (%d>%d): %s", ErrInvalid, len(name), maxNameLen, name)
	}
	for _, c := range name {
		// snapm's snapset set is letters, digits and "+_.-", and '_' is
		// then refused on its own.
		if !isAlnum(c) && !strings.ContainsRune("+.-", c) {
			return fmt.Errorf("%w: Snapshot set name cannot include '%c'", ErrInvalid, c)
		}
	}
	if name == "." {
		return fmt.Errorf("%w: Snapshot set name cannot be '.'", ErrInvalid)
	}
	return nil
}

func isAlnum(c rune) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// fileNameSafe says whether name can name a file in the schedule
// directory: a file loaded by snapm may carry a name it would never make,
// but none may lead a write or a removal out of the directory.
func fileNameSafe(name string) error {
	if name == "" || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("%w: %q cannot name a schedule file", ErrInvalid, name)
	}
	return nil
}
