//go:build crashpoints

package crashpoint

import (
	"os"
	"syscall"
)

var crashAt = os.Getenv(EnvVar)

// Hit kills the process with SIGKILL, as an OOM kill or a power cut
// would end it, when step is the one the environment names.
func Hit(step string) {
	if step == crashAt {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
}
