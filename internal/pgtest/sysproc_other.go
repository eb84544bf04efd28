//go:build !linux

package pgtest

import "syscall"

// dieWithParent does nothing: only Linux has a parent-death signal. A
// server whose test binary dies without stopping it outlives it.
func dieWithParent(*syscall.SysProcAttr) {}
