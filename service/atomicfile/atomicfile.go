// Package atomicfile replaces files so that readers see the old content or
// the new, never a mix, and the new content survives a crash once the
// directories are synced. It works on directory handles, opened by the
// caller, and never follows a symlink below them: a link planted there
// cannot send a root write elsewhere.
package atomicfile

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// TempPrefix starts the name of the temporary files this package creates;
// a crash can leave one behind, and cleaners recognize it by this. The
// leading dot makes systemd (and ls) pass over it.
const TempPrefix = ".snapm-timersd-"

// Write replaces dir/name with data and mode, with the temporary file in
// dir, and makes it durable.
func Write(dir, name string, data []byte, mode os.FileMode) error {
	d, err := OpenDir(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := ReplaceAt(d, d, name, data, mode); err != nil {
		return err
	}
	return d.Sync()
}

// SyncDir makes dir's entries durable.
func SyncDir(dir string) error {
	d, err := OpenDir(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// OpenDir opens the directory at path, as its owner configured it
// (symlinks in path are followed), as a handle for the functions below.
func OpenDir(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// InDir runs fn on a handle of the directory at path (OpenDir), closed
// when fn returns.
func InDir(path string, fn func(d *os.File) error) error {
	d, err := OpenDir(path)
	if err != nil {
		return err
	}
	defer d.Close()
	return fn(d)
}

// OpenSubdir opens the directory name in parent; a symlink there is
// refused (ELOOP or ENOTDIR), whatever it points to.
func OpenSubdir(parent *os.File, name string) (*os.File, error) {
	fd, err := unix.Openat(int(parent.Fd()), name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, pathError("openat", parent, name, err)
	}
	return os.NewFile(uintptr(fd), filepath.Join(parent.Name(), name)), nil
}

// ReadAt returns the content of the regular file name in dir, at most max
// bytes of it. A symlink, a FIFO or a device is refused: none is ours, and
// reading one could hang or take anything.
func ReadAt(dir *os.File, name string, max int64) ([]byte, error) {
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, pathError("openat", dir, name, err)
	}
	defer unix.Close(fd)
	return readOpen(fd, filepath.Join(dir.Name(), name), max)
}

// noOpenat2 is set once openat2 turned out not to be there.
var noOpenat2 atomic.Bool

// ReadBelow is ReadAt for the regular file at rel, a path below dir (say
// "UNIT.d/FILE"), with no symlink anywhere in it: one openat2(2) where
// OpenSubdir and ReadAt take two opens and, through os.File, more calls
// again; a re-read of every drop-in at once is mostly that. Where the
// kernel has no openat2 it goes the long way.
func ReadBelow(dir *os.File, rel string, max int64) ([]byte, error) {
	fd, err := -1, error(unix.ENOSYS)
	if !noOpenat2.Load() {
		fd, err = unix.Openat2(int(dir.Fd()), rel, &unix.OpenHow{
			Flags:   unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_BENEATH,
		})
	}
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
		// No openat2, or a seccomp filter that does not know it (systemd
		// 252's SystemCallFilter= answers ENOSYS): not asked again.
		noOpenat2.Store(true)
		parent, name := filepath.Split(rel)
		d, err := OpenSubdir(dir, filepath.Clean(parent))
		if err != nil {
			return nil, err
		}
		defer d.Close()
		return ReadAt(d, name, max)
	}
	if err != nil {
		return nil, pathError("openat2", dir, rel, err)
	}
	defer unix.Close(fd)
	return readOpen(fd, filepath.Join(dir.Name(), rel), max)
}

// readOpen reads the file open as fd if it is a regular file of at most
// max bytes.
func readOpen(fd int, path string, max int64) ([]byte, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return nil, &os.PathError{Op: "read", Path: path, Err: errors.New("not a regular file")}
	case st.Size > max:
		return nil, &os.PathError{Op: "read", Path: path, Err: errors.New("file too large")}
	}
	data := make([]byte, st.Size)
	n := 0
	for n < len(data) {
		m, err := unix.Pread(fd, data[n:], int64(n))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if m == 0 {
			break // shrunk meanwhile
		}
		n += m
	}
	return data[:n], nil
}

// ReplaceAt puts data under name in dir, by way of a temporary file created
// in tmpDir, which must be on the same file system: dir never holds
// anything but name. Readers see the old content or the new; it survives a
// crash once tmpDir and dir are synced. Callers with other work to wait
// for overlap it with those syncs.
func ReplaceAt(tmpDir, dir *os.File, name string, data []byte, mode os.FileMode) error {
	return ReplaceAtWith(tmpDir, dir, name, data, mode, (*os.File).Sync)
}

// Syncer makes a file's data, or a directory's entries, durable:
// (*os.File).Sync, or a stand-in by which a test sees each sync and when
// it comes.
type Syncer func(*os.File) error

// ReplaceAtWith is ReplaceAt with sync making the new file's data durable.
func ReplaceAtWith(tmpDir, dir *os.File, name string, data []byte, mode os.FileMode, sync Syncer) (err error) {
	f, tmp, err := createTemp(tmpDir)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			unix.Unlinkat(int(tmpDir.Fd()), tmp, 0)
		}
	}()
	// Created 0600, and the mode must not depend on the umask either.
	if err = f.Chmod(mode); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = sync(f); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	// rename(2) replaces the entry name itself, a symlink included; it
	// never writes through one.
	if err = unix.Renameat(int(tmpDir.Fd()), tmp, int(dir.Fd()), name); err != nil {
		return &os.LinkError{Op: "renameat", Old: filepath.Join(tmpDir.Name(), tmp), New: filepath.Join(dir.Name(), name), Err: err}
	}
	return nil
}

// CreateAt puts data under name in dir, where nothing is yet, without a
// temporary name: the file is written unnamed (O_TMPFILE), made durable,
// and then linked in, so a crash leaves nothing and a reader sees the
// whole file or none. It fails where the file system or /proc cannot do
// that, and with fs.ErrExist if name is there; the caller falls back to
// ReplaceAt. It survives a crash once dir is synced.
func CreateAt(dir *os.File, name string, data []byte, mode os.FileMode) error {
	fd, err := unix.Openat(int(dir.Fd()), ".", unix.O_WRONLY|unix.O_TMPFILE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return pathError("openat O_TMPFILE", dir, ".", err)
	}
	f := os.NewFile(uintptr(fd), filepath.Join(dir.Name(), name))
	defer f.Close()
	if err := f.Chmod(mode); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	// linkat(AT_EMPTY_PATH) would need CAP_DAC_READ_SEARCH, which the
	// service does not have; the /proc link needs none. It never replaces
	// an existing name.
	if err := unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), int(dir.Fd()), name, unix.AT_SYMLINK_FOLLOW); err != nil {
		return pathError("linkat", dir, name, err)
	}
	return nil
}

func createTemp(dir *os.File) (*os.File, string, error) {
	for {
		name := TempPrefix + strconv.FormatUint(rand.Uint64(), 36)
		fd, err := unix.Openat(int(dir.Fd()), name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if errors.Is(err, unix.EEXIST) {
			continue
		}
		if err != nil {
			return nil, "", pathError("openat", dir, name, err)
		}
		return os.NewFile(uintptr(fd), filepath.Join(dir.Name(), name)), name, nil
	}
}

// Remove removes name from dir, not an error if it is not there.
func Remove(dir *os.File, name string) error {
	if err := unix.Unlinkat(int(dir.Fd()), name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return pathError("unlinkat", dir, name, err)
	}
	return nil
}

func pathError(op string, dir *os.File, name string, err error) error {
	return &os.PathError{Op: op, Path: filepath.Join(dir.Name(), name), Err: err}
}
