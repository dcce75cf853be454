package calendar

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode"
)

// ZoneInfoDir is where systemd (and glibc) look for zone files.
const ZoneInfoDir = "/usr/share/zoneinfo"

// HostZoneFile is the system's zone, as glibc reads it without $TZ, and
// what timedatectl set-timezone replaces.
const HostZoneFile = "/etc/localtime"

// Zone is a time zone as glibc sees it: the rules, and the two names
// tzset(3) puts in tzname[] (standard, daylight), which expressions may
// use as a suffix.
type Zone struct {
	loc   *time.Location
	names [2]string
	// utc zones convert with plain arithmetic, like timegm(3).
	utc bool
}

// Location is the zone's rules, for printing times in it.
func (z *Zone) Location() *time.Location { return z.loc }

// UTC is Coordinated Universal Time.
var UTC = &Zone{loc: time.UTC, names: [2]string{"UTC", "UTC"}, utc: true}

var zoneCache sync.Map // name -> *Zone

// LoadZone loads a zone file by name, as TZ=":name" would.
func LoadZone(name string) (*Zone, error) {
	if z, ok := zoneCache.Load(name); ok {
		return z.(*Zone), nil
	}
	path := name
	if !filepath.IsAbs(name) {
		path = filepath.Join(ZoneInfoDir, name)
	}
	z, err := readZone(name, path)
	if err != nil {
		return nil, err
	}
	zoneCache.Store(name, z)
	return z, nil
}

// readZone reads the zone file at path, uncached.
func readZone(name, path string) (*Zone, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocationFromTZData(name, data)
	if err != nil {
		return nil, err
	}
	return newZone(loc), nil
}

func newZone(loc *time.Location) *Zone {
	z := &Zone{loc: loc}
	z.names = tzNames(loc)
	return z
}

// tzNames finds what glibc's tzset(3) leaves in tzname[]: the names of the
// latest standard and daylight time types, the standard one standing in
// for both in zones that never had daylight time.
func tzNames(loc *time.Location) [2]string {
	var names [2]string
	for t := time.Date(maxYear+1, 1, 1, 0, 0, 0, 0, time.UTC); t.Year() >= 1900; t = t.AddDate(0, 0, -15) {
		lt := t.In(loc)
		name, _ := lt.Zone()
		dst := 0
		if lt.IsDST() {
			dst = 1
		}
		if names[dst] == "" {
			names[dst] = name
		}
		if names[0] != "" && names[1] != "" {
			break
		}
	}
	if names[0] == "" {
		names[0] = names[1]
	}
	if names[1] == "" {
		names[1] = names[0]
	}
	return names
}

// ZoneFromTZ interprets a TZ environment value as glibc does: empty is
// UTC, ":name" or a name is a zone file, anything else a POSIX TZ rule.
func ZoneFromTZ(tz string) (*Zone, error) {
	if tz == "" {
		return &Zone{loc: time.UTC, names: [2]string{"UTC", "UTC"}}, nil
	}
	if name, ok := strings.CutPrefix(tz, ":"); ok {
		return LoadZone(name)
	}
	if z, err := LoadZone(tz); err == nil {
		return z, nil
	}
	loc, err := time.LoadLocationFromTZData(tz, posixTZif(tz))
	if err == nil {
		if name, _ := time.Unix(0, 0).In(loc).Zone(); name != "" {
			return newZone(loc), nil
		}
	}
	// glibc runs a TZ it cannot make sense of as UTC under the name given.
	name := strings.TrimLeftFunc(tz, func(r rune) bool { return !unicode.IsLetter(r) })
	name = name[:len(name)-len(strings.TrimLeftFunc(name, unicode.IsLetter))]
	if name == "" {
		name = "UTC"
	}
	return &Zone{loc: time.FixedZone(name, 0), names: [2]string{name, name}}, nil
}

// HostZone is the zone the host runs in: $TZ if set, else /etc/localtime.
func HostZone() (*Zone, error) {
	if tz, ok := os.LookupEnv("TZ"); ok {
		return ZoneFromTZ(tz)
	}
	// Read afresh every time: the system's zone changes under it.
	z, err := readZone(HostZoneFile, HostZoneFile)
	if errors.Is(err, os.ErrNotExist) {
		return &Zone{loc: time.UTC, names: [2]string{"UTC", "UTC"}}, nil
	}
	return z, err
}

// posixTZif wraps a POSIX TZ rule in a version 2 zone file with no
// transitions, so that the rule (its footer) governs all time.
func posixTZif(rule string) []byte {
	var b bytes.Buffer
	block := func() {
		b.WriteString("TZif2")
		b.Write(make([]byte, 15))
		// isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
		for _, n := range []uint32{0, 0, 0, 0, 1, 1} {
			binary.Write(&b, binary.BigEndian, n)
		}
		binary.Write(&b, binary.BigEndian, int32(0)) // utoff of the only type
		b.Write([]byte{0, 0})                        // isdst, abbrind
		b.WriteByte(0)                               // the (empty) abbreviation
	}
	block() // version 1 data
	block() // version 2 data: no transitions, so no times of either size
	b.WriteString("\n" + rule + "\n")
	return b.Bytes()
}

// validZoneName is systemd's timezone_is_valid(): a plain relative name
// whose file under /usr/share/zoneinfo is a regular file in TZif format.
func validZoneName(name string) bool {
	if name == "" {
		return false
	}
	if name == "UTC" {
		return true
	}
	if name[0] == '/' {
		return false
	}
	slash := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_' || c == '+' || c == '/') {
			return false
		}
		if c == '/' {
			if slash {
				return false
			}
			slash = true
		} else {
			slash = false
		}
	}
	if slash || len(name) >= 4096 {
		return false
	}
	return isTZif(filepath.Join(ZoneInfoDir, name))
}

// isTZif: a regular file (or a link to one) holding a compiled zone.
func isTZif(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return false
	}
	magic := make([]byte, 4)
	_, err = f.Read(magic)
	return err == nil && string(magic) == "TZif"
}
