package pgtest

import "syscall"

// dieWithParent has the kernel send the postmaster SIGQUIT (an immediate
// shutdown: backends ended, shared memory and socket removed) when the
// thread that started it ends.
func dieWithParent(attr *syscall.SysProcAttr) {
	attr.Pdeathsig = syscall.SIGQUIT
}
