package registry

import "syscall"

// dieWithParent has the kernel kill a replica when the thread that
// started it ends, so that a test binary that dies leaves none behind.
func dieWithParent(attr *syscall.SysProcAttr) {
	attr.Pdeathsig = syscall.SIGKILL
}
