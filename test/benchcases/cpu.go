package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// clockTicks is the unit of the CPU times of /proc/PID/stat (USER_HZ,
// 100 on Linux).
const clockTicks = 100

// cpu is the CPU time the registry, PostgreSQL and the benchmark itself
// had used at a moment, read from /proc (zero elsewhere than on Linux).
type cpu struct {
	registry, postgres, bench time.Duration
}

func (c cpu) sub(d cpu) cpu {
	return cpu{c.registry - d.registry, c.postgres - d.postgres, c.bench - d.bench}
}

func (c cpu) String() string {
	if c == (cpu{}) {
		return "not read"
	}
	return fmt.Sprintf("registry %.1fs, PostgreSQL %.1fs, benchmark %.1fs", c.registry.Seconds(), c.postgres.Seconds(), c.bench.Seconds())
}

// readCPU reads the CPU time of the registry (its pid), of the PostgreSQL
// server (the postmaster and its children, those gone included), and of
// this process. It gives up quietly, as on a system without /proc.
func readCPU(ctx context.Context, registryPID int, db *pgxpool.Pool) cpu {
	var c cpu
	var backend int
	if err := db.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&backend); err != nil {
		return cpu{}
	}
	f, err := procStat(backend)
	if err != nil {
		return cpu{}
	}
	postmaster, err := strconv.Atoi(f[1])
	if err != nil {
		return cpu{}
	}
	if c.postgres, err = processCPU(postmaster, true); err != nil {
		return cpu{}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		pid, err := strconv.Atoi(filepath.Base(p))
		if err != nil {
			continue
		}
		if f, err := procStat(pid); err == nil && f[1] == strconv.Itoa(postmaster) {
			if t, err := processCPU(pid, false); err == nil {
				c.postgres += t
			}
		}
	}
	if c.registry, err = processCPU(registryPID, false); err != nil {
		return cpu{}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		c.bench = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return c
}

// procStat returns the fields of /proc/PID/stat after the command's name:
// the state first, then the parent's pid.
func procStat(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 > len(b) {
		return nil, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+2:]))
	if len(f) < 15 {
		return nil, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	return f, nil
}

// processCPU is the user and system time of a process, with that of its
// children it has waited for when children is set.
func processCPU(pid int, children bool) (time.Duration, error) {
	f, err := procStat(pid)
	if err != nil {
		return 0, err
	}
	// utime, stime, cutime, cstime: fields 14 to 17 of stat(5), the
	// state being field 3.
	fields := f[11:13]
	if children {
		fields = f[11:15]
	}
	var ticks int64
	for _, s := range fields {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}
