// Package atomicfile replaces files so that readers see the old content or
// the new, never a mix, and the new content survives a crash once Write
// returns.
package atomicfile

import (
	"os"
	"path/filepath"
)

// TempPrefix starts the name of the temporary file Write creates next to the
// target; a crash can leave one behind, and cleaners recognize it by this.
const TempPrefix = ".snapm-timersd-"

// Write replaces dir/name with data and mode: temporary file in the same
// directory, fsync, rename, fsync of the directory.
func Write(dir, name string, data []byte, mode os.FileMode) error {
	if err := Replace(dir, name, data, mode); err != nil {
		return err
	}
	return SyncDir(dir)
}

// Replace is Write up to the rename: readers see the new content, and it
// survives a crash once SyncDir(dir) returns. Callers with other work to
// wait for overlap it with that sync.
func Replace(dir, name string, data []byte, mode os.FileMode) (err error) {
	f, err := os.CreateTemp(dir, TempPrefix)
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	// CreateTemp uses 0600, and the mode must not depend on the umask either.
	if err = f.Chmod(mode); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, name))
}

// SyncDir makes dir's entries durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
