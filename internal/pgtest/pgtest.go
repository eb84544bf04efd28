// Package pgtest runs a throwaway PostgreSQL 15 server for tests: initdb into
// a fresh temporary directory, then the postmaster as a child process of the
// test binary, reachable on a Unix socket only. Databases prepared once (for
// example migrated) become templates, and each test gets a fresh database
// cloned from one. Tests run on the real server, never on a mock.
//
// The tests of a package share one server through Main, called from their
// TestMain:
//
//	var server *pgtest.Server
//
//	func TestMain(m *testing.M) {
//		os.Exit(pgtest.Main(m, func(s *pgtest.Server) error {
//			server = s
//			return s.Template(context.Background(), "registry", migrate)
//		}))
//	}
//
//	func TestSomething(t *testing.T) {
//		t.Parallel()
//		url := server.Database(t, "registry")
//		...
//	}
//
// The server binaries (initdb, pg_ctl, postgres) come from the folder
// $PG_BIN_DIR when it is set, else from PATH, else from
// /usr/lib/postgresql/15/bin, where Debian's postgresql-15 installs them;
// hack/postgres.sh installs that package. PostgreSQL refuses to run as root:
// run as root, the harness runs the server as the postgres system user.
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Options say how Start runs the server.
type Options struct {
	// Durable keeps PostgreSQL's defaults that make a commit durable
	// (fsync, synchronous_commit and full_page_writes on) and has initdb
	// sync the new data directory. Without it all of them are off: the
	// server is quicker, and a crash of the server (Kill) may lose the last
	// transactions it reported committed. Crash tests want it on.
	Durable bool
	// Settings are more server settings, name to value, each passed as
	// -c name=value after the harness's own, which they override.
	Settings map[string]string
}

// Server is a PostgreSQL server of its own temporary directory, reachable
// on a Unix socket in that directory as the superuser postgres, with no
// password. Its methods are safe for concurrent use.
type Server struct {
	opts Options
	bin  binaries
	// cred is the user the server runs as; nil: the current user.
	cred *syscall.Credential
	// dir holds data/ (the data directory), sock/ (the socket) and the
	// server's log.
	dir string

	// mu guards proc and removed.
	mu sync.Mutex
	// proc is the running postmaster; nil after Kill, Shutdown or Stop.
	proc *process
	// removed is set once Stop has removed dir.
	removed bool

	// dbMu serialises the creation of databases: CREATE DATABASE ...
	// TEMPLATE fails while another session is connected to the template.
	dbMu sync.Mutex
	// seq numbers the databases of Database.
	seq atomic.Int64
}

// process is one run of the postmaster.
type process struct {
	cmd *exec.Cmd
	// done is closed once the process has exited and exit is set.
	done chan struct{}
	exit error
	// logFrom is the size of the log when this run started.
	logFrom int64
}

// status tells how the process ended, once it has.
func (p *process) status() string {
	if p.exit == nil {
		return "exit status 0"
	}
	return p.exit.Error()
}

// How long the server may take to accept connections, and to shut down.
const (
	startTimeout = 2 * time.Minute
	stopTimeout  = time.Minute
)

// errNotRunning is returned by Kill and Shutdown when there is no server
// to end.
var errNotRunning = errors.New("pgtest: the server is not running")

// Start creates a database cluster with initdb in a new temporary
// directory and starts its server, returning once the server accepts
// connections. Stop ends it and removes the directory. When the server
// binaries cannot be found, the error is ErrNotInstalled.
func Start(opts Options) (*Server, error) {
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	cred, err := serverUser()
	if err != nil {
		return nil, err
	}
	dir, err := tempDir(cred != nil)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, bin: bin, cred: cred, dir: dir}
	if err := s.initdb(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// URL returns the connection URL of database db on this server, as the
// superuser postgres, for pgx (pgx.Connect, pgxpool.New) or libpq.
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres:///%s?host=%s&user=postgres&sslmode=disable",
		url.PathEscape(db), url.QueryEscape(s.sockDir()))
}

// LogPath returns the path of the server's log, which every run of the
// server (Start, Restart) appends to. Stop removes it with the rest.
func (s *Server) LogPath() string { return filepath.Join(s.dir, "postgres.log") }

// Stop shuts the server down as `pg_ctl stop -m fast` does, if it runs,
// and removes its temporary directory. The server cannot be restarted
// after it. Later calls do nothing.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if s.proc != nil {
		err = s.shutdown()
	}
	if !s.removed {
		s.removed = true
		err = errors.Join(err, os.RemoveAll(s.dir))
	}
	return err
}

// Shutdown shuts the server down as `pg_ctl stop -m fast` does (SIGINT:
// sessions ended, a checkpoint written) and keeps its data directory for
// Restart.
func (s *Server) Shutdown() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return errNotRunning
	}
	return s.shutdown()
}

// Kill ends the server as a crash would: SIGKILL to the postmaster, no
// checkpoint written. Its backends end as soon as they notice the
// postmaster is gone. Restart then recovers from the write-ahead log.
func (s *Server) Kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.proc
	if p == nil {
		return errNotRunning
	}
	s.proc = nil
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	<-p.done
	return nil
}

// Restart starts the server again on its data directory after Kill or
// Shutdown and returns once it accepts connections.
func (s *Server) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.removed:
		return errors.New("pgtest: the server was stopped and its directory removed")
	case s.proc != nil:
		return errors.New("pgtest: the server is running")
	}
	return s.start()
}

// running reports whether the server runs.
func (s *Server) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc != nil
}

func (s *Server) dataDir() string { return filepath.Join(s.dir, "data") }
func (s *Server) sockDir() string { return filepath.Join(s.dir, "sock") }

// serverUser returns the user to run the server as: nil (the current user)
// unless this process runs as root, which PostgreSQL refuses; then the
// postgres system user that Debian's packages create.
func serverUser() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgtest: PostgreSQL refuses to run as root, and the postgres system user to run it as is missing (%w); hack/postgres.sh installs postgresql-15, which creates that user", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgtest: uid of the postgres user: %w", err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgtest: gid of the postgres user: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// socketName is the name of the server's socket in its socket directory
// (the default port, 5432: each server has a directory of its own).
const socketName = ".s.PGSQL.5432"

// maxSocketPath is the longest socket path the kernel takes (sun_path has
// 108 bytes on Linux, 104 on the BSDs, with the terminating NUL).
const maxSocketPath = 103

// tempDir makes the server's temporary directory, with its socket
// directory, in os.TempDir, or in /tmp when the socket's path would be too
// long there or when the server runs as another user, who must be able to
// reach it.
func tempDir(otherUser bool) (string, error) {
	base := os.TempDir()
	// MkdirTemp adds up to 10 digits to "pg".
	if otherUser || len(filepath.Join(base, "pg0123456789", "sock", socketName)) > maxSocketPath {
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, "pg")
	if err != nil {
		return "", err
	}
	if err := os.Mkdir(filepath.Join(dir, "sock"), 0o700); err != nil {
		_ = os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// sysProcAttr runs a server binary as the server's user.
func (s *Server) sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: s.cred}
}

// initdb creates the database cluster in dataDir, owned by the server's
// user.
func (s *Server) initdb() error {
	if s.cred != nil {
		for _, dir := range []string{s.dir, s.sockDir()} {
			if err := os.Chown(dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
				return fmt.Errorf("pgtest: %w", err)
			}
		}
	}
	args := []string{"-D", s.dataDir(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions"}
	if !s.opts.Durable {
		args = append(args, "--no-sync")
	}
	cmd := exec.Command(s.bin.initdb, args...)
	cmd.Dir = s.dir
	cmd.SysProcAttr = s.sysProcAttr()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgtest: %s: %w\n%s", s.bin.initdb, err, out)
	}
	return nil
}

// serverArgs are the arguments of postgres: the data directory, no TCP,
// the socket directory, durability per Options, then Options.Settings.
func (s *Server) serverArgs() []string {
	args := []string{"-D", s.dataDir(),
		"-c", "listen_addresses=",
		"-c", "unix_socket_directories=" + s.sockDir(),
	}
	if !s.opts.Durable {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	for _, name := range slices.Sorted(maps.Keys(s.opts.Settings)) {
		args = append(args, "-c", name+"="+s.opts.Settings[name])
	}
	return args
}

// start starts the postmaster and waits until it accepts connections; the
// caller holds mu. Right after Kill, backends of the killed postmaster may
// still hold its shared memory, and postgres refuses to start until they
// have gone: start tries again until then.
func (s *Server) start() error {
	deadline := time.Now().Add(startTimeout)
	for {
		p, err := s.spawn()
		if err != nil {
			return err
		}
		err = s.waitReady(p, deadline)
		if err == nil {
			s.proc = p
			return nil
		}
		select {
		case <-p.done:
		default:
			// Not ready in time: end it.
			_ = p.cmd.Process.Kill()
			<-p.done
			return fmt.Errorf("pgtest: postgres did not accept connections within %s: %w; the end of its log:\n%s", startTimeout, err, s.logTail(p.logFrom))
		}
		tail := s.logTail(p.logFrom)
		if strings.Contains(tail, "pre-existing shared memory block") && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		return fmt.Errorf("pgtest: postgres exited while starting (%s); the end of its log:\n%s", p.status(), tail)
	}
}

// spawn starts the postmaster as a child process whose output goes to the
// log.
func (s *Server) spawn() (*process, error) {
	log, err := os.OpenFile(s.LogPath(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	defer func() { _ = log.Close() }()
	info, err := log.Stat()
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	cmd := exec.Command(s.bin.postgres, s.serverArgs()...)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = s.sysProcAttr()
	// Should this process die without stopping the server, the server shuts
	// down rather than outlive it.
	dieWithParent(cmd.SysProcAttr)
	p := &process{cmd: cmd, done: make(chan struct{}), logFrom: info.Size()}
	started := make(chan error, 1)
	go func() {
		// The parent-death signal follows the thread that started the
		// child, not the process: this goroutine keeps that thread for
		// as long as the postmaster lives (the thread ends with the
		// goroutine, after the postmaster).
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.exit = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("pgtest: starting %s: %w", s.bin.postgres, err)
	}
	return p, nil
}

// waitReady waits until the postmaster accepts connections, exits, or the
// deadline passes.
func (s *Server) waitReady(p *process, deadline time.Time) error {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	for {
		attempt, cancelAttempt := context.WithTimeout(ctx, 5*time.Second)
		conn, err := pgx.Connect(attempt, s.URL("postgres"))
		cancelAttempt()
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-p.done:
			return fmt.Errorf("postgres exited (%s)", p.status())
		case <-ctx.Done():
			return fmt.Errorf("last attempt: %w", err)
		case <-poll.C:
		}
	}
}

// shutdown stops the running postmaster with a fast shutdown; the caller
// holds mu.
func (s *Server) shutdown() error {
	p := s.proc
	s.proc = nil
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("pgtest: %w", err)
	}
	select {
	case <-p.done:
		if p.exit != nil {
			return fmt.Errorf("pgtest: postgres ended with %w; the end of its log:\n%s", p.exit, s.logTail(p.logFrom))
		}
		return nil
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("pgtest: postgres did not shut down within %s of SIGINT and was killed; the end of its log:\n%s", stopTimeout, s.logTail(p.logFrom))
	}
}

// logTail returns the last lines the server logged from offset from on.
func (s *Server) logTail(from int64) string {
	const lines = 30
	data, err := os.ReadFile(s.LogPath())
	if err != nil {
		return fmt.Sprintf("(reading the log: %v)", err)
	}
	if from > 0 && from <= int64(len(data)) {
		data = data[from:]
	}
	data = bytes.TrimRight(data, "\n")
	for i, n := len(data)-1, 0; i >= 0; i-- {
		if data[i] == '\n' {
			if n++; n == lines {
				data = data[i+1:]
				break
			}
		}
	}
	return string(data)
}
