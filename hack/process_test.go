// Package hack holds the tests of the shell helpers that hack/demo.sh
// sources (hack/process.sh); hack/ has no Go code besides.
package hack

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// shell runs script in bash after sourcing process.sh and returns its
// output and exit code. A script that hangs fails the test after 30 s.
func shell(t *testing.T, script string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", "set -euo pipefail; source ./process.sh; "+script)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("the script did not end: %s\n%s", script, out)
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

func TestFreePortSkipsAPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	used := l.Addr().(*net.TCPAddr).Port
	out, code := shell(t, "free_port "+strconv.Itoa(used))
	got, err := strconv.Atoi(strings.TrimSpace(out))
	if code != 0 || err != nil {
		t.Fatalf("free_port %d: exit %d, output %q", used, code, out)
	}
	if got <= used {
		t.Errorf("free_port %d = %d: the port in use, or one before it", used, got)
	}
	// A port already taken by the demo's own choice is skipped too.
	out, code = shell(t, "free_port "+strconv.Itoa(got)+" "+strconv.Itoa(got))
	if next, err := strconv.Atoi(strings.TrimSpace(out)); code != 0 || err != nil || next <= got {
		t.Errorf("free_port %d %d = %q (exit %d), want a port after %d", got, got, out, code, got)
	}
}

func TestGuard(t *testing.T) {
	log := t.TempDir() + "/manager.log"
	// The watched program exits while the command waits: guard stops the
	// command and fails with the program's last log lines.
	out, code := shell(t, `echo "listen tcp 127.0.0.1:18081: bind: address already in use" >`+log+`
sleep 60 & pid=$!
(sleep 0.5; kill $pid) &
if guard "the operator" $pid `+log+` sleep 60; then echo "guard succeeded"; else echo "guard failed"; fi`)
	if code != 0 || !strings.Contains(out, "the operator exited; the last lines of its log") ||
		!strings.Contains(out, "bind: address already in use") || !strings.Contains(out, "guard failed") {
		t.Errorf("a program that exits: exit %d, output:\n%s", code, out)
	}
	// While the program runs, guard returns the command's own status.
	out, code = shell(t, `sleep 60 & pid=$!
guard "the operator" $pid `+log+` true && echo "true: 0"
guard "the operator" $pid `+log+` false || echo "false: $?"
kill $pid`)
	if code != 0 || !strings.Contains(out, "true: 0") || !strings.Contains(out, "false: 1") || strings.Contains(out, "exited") {
		t.Errorf("a program that runs: exit %d, output:\n%s", code, out)
	}
}
