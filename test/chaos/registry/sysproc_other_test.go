//go:build !linux

package registry

import "syscall"

// dieWithParent does nothing: only Linux has a parent-death signal. The
// tests' cleanups still kill every replica they started.
func dieWithParent(*syscall.SysProcAttr) {}
