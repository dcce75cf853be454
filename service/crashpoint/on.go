//go:build crashpoints

package crashpoint

import (
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
)

// crashAt is the step to kill at, and crashPass which pass of it.
var crashAt, crashPass = parse(os.Getenv(EnvVar))

// passes counts the passes of crashAt so far.
var passes atomic.Int64

func parse(env string) (step string, pass int64) {
	step, n, ok := strings.Cut(env, "#")
	if !ok {
		return step, 1
	}
	pass, err := strconv.ParseInt(n, 10, 64)
	if err != nil || pass < 1 {
		panic("crashpoint: " + EnvVar + "=" + env + ": the pass after # is a count from 1")
	}
	return step, pass
}

// Hit kills the process with SIGKILL, as an OOM kill or a power cut
// would end it, when step is the one the environment names, at its pass.
func Hit(step string) {
	if step == crashAt && passes.Add(1) == crashPass {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
}
