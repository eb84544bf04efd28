package registry

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout is how long a replica may take to listen, starting again
// while the postmaster is away (the registry exits when it cannot migrate).
const startTimeout = time.Minute

// replica is one registry process, started again on the same arguments
// after each kill. Its output goes to a log of its own in workDir, which
// every run appends to.
type replica struct {
	name    string
	args    []string
	logPath string

	// mu guards proc, addr and starts.
	mu sync.Mutex
	// proc is the running process; nil once killed.
	proc *process
	// addr is where proc listens; empty while it does not.
	addr string
	// starts counts the runs that listened; took is how long the last
	// took to listen.
	starts int
	took   time.Duration
}

// process is one run of a replica.
type process struct {
	cmd *exec.Cmd
	// done is closed once the process has exited and exit is set.
	done chan struct{}
	exit error
}

// status tells how the process ended, once it has.
func (p *process) status() string {
	if p.exit == nil {
		return "exit status 0"
	}
	return p.exit.Error()
}

// fleet is the replicas of a test, on one database.
type fleet []*replica

// startFleet starts n replicas on the database at url (as pgtest gives it),
// one after the other: the first migrates the database; started together,
// all but one would wait for the migration lock's next try (goose tries
// its advisory lock every 5 s). Each is killed when the test ends. extra
// are more flags for every replica.
func startFleet(ctx context.Context, t *testing.T, url string, n int, extra ...string) fleet {
	t.Helper()
	f := make(fleet, n)
	for i := range f {
		name := fmt.Sprintf("replica-%d", i)
		args := []string{"--database-url", url + "&application_name=" + name, "--network-dir", networkDir(),
			"--staff-tokens", tokenFile, "--key-file", keyFile, "--listen", "127.0.0.1:0",
			"--public-rate", "1000000", "--public-burst", "1000000"}
		f[i] = &replica{name: name, args: append(args, extra...),
			logPath: filepath.Join(workDir, strings.ReplaceAll(t.Name(), "/", "-")+"-"+name+".log")}
		r := f[i]
		t.Cleanup(func() { _ = r.kill() })
		if err := r.start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var took []string
	for _, r := range f {
		took = append(took, fmt.Sprintf("%s %s", r.name, r.lastStart().Round(time.Millisecond)))
	}
	t.Logf("%d replicas listening (%s)", n, strings.Join(took, ", "))
	return f
}

// addr is where a replica of the fleet listens, the i-th (modulo its
// size) when it is up, else the next one up; empty when none is.
func (f fleet) addr(i int) string {
	for j := range f {
		if a := f[(i+j)%len(f)].address(); a != "" {
			return a
		}
	}
	return ""
}

// alive fails unless every replica still runs: none may have exited by
// itself.
func (f fleet) alive() error {
	var errs []error
	for _, r := range f {
		errs = append(errs, r.alive())
	}
	return errors.Join(errs...)
}

// lastStart is how long the replica's last run took to listen.
func (r *replica) lastStart() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.took
}

func (r *replica) address() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.addr
}

// alive fails when the replica is not running, or exited by itself.
func (r *replica) alive() error {
	r.mu.Lock()
	p := r.proc
	r.mu.Unlock()
	if p == nil {
		return fmt.Errorf("%s is not running", r.name)
	}
	select {
	case <-p.done:
		return fmt.Errorf("%s exited by itself (%s); its log is %s", r.name, p.status(), r.logPath)
	default:
		return nil
	}
}

// start runs the replica and returns once it listens. A run that exits
// before (the registry exits when it cannot reach its database) is tried
// again until startTimeout.
func (r *replica) start(ctx context.Context) error {
	deadline := time.Now().Add(startTimeout)
	for {
		err := r.startOnce(deadline)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (r *replica) startOnce(deadline time.Time) error {
	log, err := os.OpenFile(r.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(registryBin, r.args...)
	cmd.Stdout = log
	stderr, err := cmd.StderrPipe()
	if err != nil {
		_ = log.Close()
		return err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	dieWithParent(cmd.SysProcAttr)
	p := &process{cmd: cmd, done: make(chan struct{})}
	begin := time.Now()
	listening := make(chan string, 1)
	started := make(chan error, 1)
	go func() {
		defer func() { _ = log.Close() }()
		// The parent-death signal follows the thread that started the
		// child: this goroutine keeps it for as long as the child lives.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sent := false
		for sc.Scan() {
			line := sc.Bytes()
			_, _ = log.Write(append(line, '\n'))
			if !sent && bytes.Contains(line, []byte(`"listening on `)) {
				var entry struct {
					Addr string `json:"addr"`
				}
				if json.Unmarshal(line, &entry) == nil && entry.Addr != "" {
					listening <- entry.Addr
					sent = true
				}
			}
		}
		_, _ = io.Copy(log, stderr)
		p.exit = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("%s: %w", r.name, err)
	}
	r.mu.Lock()
	r.proc = p
	r.mu.Unlock()
	wait := time.NewTimer(time.Until(deadline))
	defer wait.Stop()
	select {
	case addr := <-listening:
		r.mu.Lock()
		r.addr, r.starts, r.took = addr, r.starts+1, time.Since(begin)
		r.mu.Unlock()
		return nil
	case <-p.done:
		r.mu.Lock()
		if r.proc == p {
			r.proc = nil
		}
		r.mu.Unlock()
		return fmt.Errorf("%s exited while starting (%s); its log is %s", r.name, p.status(), r.logPath)
	case <-wait.C:
		_ = r.kill()
		return fmt.Errorf("%s did not listen within %s; its log is %s", r.name, startTimeout, r.logPath)
	}
}

// kill ends the replica with SIGKILL, if it runs, and waits until it has
// exited. It fails when the replica had exited by itself.
func (r *replica) kill() error {
	r.mu.Lock()
	p := r.proc
	r.proc, r.addr = nil, ""
	r.mu.Unlock()
	if p == nil {
		return nil
	}
	select {
	case <-p.done:
		return fmt.Errorf("%s had exited by itself (%s); its log is %s", r.name, p.status(), r.logPath)
	default:
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	<-p.done
	return nil
}
