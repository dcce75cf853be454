package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/snapm/snapm-timersd/tests/sysns"
)

// standInDir is where the stand-in lands in the namespace's private
// /usr/libexec, from where an overlay adds it to the namespace's /usr/bin.
const standInDir = "snapm-sandbox/bin"

// chooseSnapm picks the real snapm when its archives are at hand
// ($SNAPM_INTEROP, or ../shared/interop beside the repository), else puts
// the stand-in in opts; real is nil for the stand-in, and note says which.
func chooseSnapm(opts sysns.Options) (real *sysns.Snapm, note string, err error) {
	cache, err := sysns.DefaultSnapmCache()
	if err != nil {
		return nil, "", err
	}
	real, err = sysns.PrepareSnapm(sysns.InteropDir(), cache)
	if err == nil {
		return real, "the real snapm 0.7 (from " + real.Archives + ")", nil
	}
	if !errors.Is(err, sysns.ErrNoInterop) {
		return nil, "", err
	}
	opts.Files["libexec"][standInDir+"/snapm"] = []byte(sysns.SnapmStandIn)
	opts.Modes[standInDir+"/snapm"] = 0o755
	return nil, fmt.Sprintf("a stand-in for snapm (%v)", err), nil
}

// installSnapm makes the chosen snapm the namespace's /usr/bin/snapm.
func installSnapm(ctx context.Context, ns *sysns.NS, real *sysns.Snapm) error {
	if real != nil {
		return ns.InstallSnapm(ctx, real)
	}
	_, err := ns.Output(ctx, "mount", "-t", "overlay", "overlay", "-o",
		"lowerdir=/usr/libexec/"+standInDir+":/usr/bin", "/usr/bin")
	return err
}
