// Package inotify reads the events of an inotify(7) descriptor, for the
// watchers of the unit directory and of the time zone.
package inotify

import (
	"strings"
	"syscall"
	"unsafe"
)

// Each calls fn for every whole event in buf, as read(2) returned them,
// with the name it carries (empty for the watched directory itself),
// until fn returns an error, which it returns.
func Each(buf []byte, fn func(wd int, mask uint32, name string) error) error {
	for len(buf) >= syscall.SizeofInotifyEvent {
		ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[0]))
		end := syscall.SizeofInotifyEvent + int(ev.Len)
		if end > len(buf) {
			break
		}
		name := strings.TrimRight(string(buf[syscall.SizeofInotifyEvent:end]), "\x00")
		buf = buf[end:]
		if err := fn(int(ev.Wd), ev.Mask, name); err != nil {
			return err
		}
	}
	return nil
}
