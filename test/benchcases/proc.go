package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// registryProc is bin/registry running as a process of its own.
type registryProc struct {
	cmd  *exec.Cmd
	addr string
	done chan struct{}
	err  error
}

// startRegistry runs bin with args, its output to logPath, and returns
// once it logs the address it listens on.
func startRegistry(ctx context.Context, bin string, args []string, logPath string) (*registryProc, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout = logFile
	stderr, err := cmd.StderrPipe()
	if err != nil {
		_ = logFile.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, err
	}
	p := &registryProc{cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	copied := make(chan struct{})
	go func() {
		// Every line goes to the log; the first "listening on" line
		// gives the address.
		defer close(copied)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		found := false
		for sc.Scan() {
			line := sc.Bytes()
			_, _ = logFile.Write(append(line, '\n'))
			if found {
				continue
			}
			var l struct{ Msg, Addr string }
			if json.Unmarshal(line, &l) == nil && strings.HasPrefix(l.Msg, "listening on ") {
				found = true
				addr <- strings.TrimPrefix(l.Msg, "listening on ")
			}
		}
		_, _ = io.Copy(logFile, stderr)
	}()
	go func() {
		<-copied
		p.err = cmd.Wait()
		_ = logFile.Close()
		close(p.done)
	}()
	select {
	case p.addr = <-addr:
		return p, nil
	case <-p.done:
		exit := p.err
		if exit == nil {
			exit = errors.New("exit status 0")
		}
		return nil, fmt.Errorf("%s exited before it listened (%w); its log: %s", bin, exit, logPath)
	case <-time.After(time.Minute):
		err = fmt.Errorf("%s did not log its address within a minute; its log: %s", bin, logPath)
	case <-ctx.Done():
		err = ctx.Err()
	}
	_ = p.stop()
	return nil, err
}

// stop ends the registry as Kubernetes would: SIGTERM, then SIGKILL after
// 15 s. It returns an error when the process did not exit cleanly.
func (p *registryProc) stop() error {
	select {
	case <-p.done:
		return p.exitErr()
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.exitErr()
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		return errors.New("the registry did not exit within 15s of SIGTERM")
	}
}

func (p *registryProc) exitErr() error {
	if p.err != nil {
		return fmt.Errorf("the registry: %w", p.err)
	}
	return nil
}
