// Command desk is the reference tenant service of an office: it serves the
// office's compiled configuration, which the operator renders into a
// ConfigMap mounted at --config, at GET /v1/office, and answers routes,
// windows and deadlines from it. A change of the configuration rolls the
// Deployment (the ConfigMap's name carries its hash); desk also reloads the
// file when it changes in place.
//
// The desk is anonymous and public: its connections, timeouts, request sizes
// and the work of one request are bounded (see options).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	// Time zones work the same in minimal images without zoneinfo.
	_ "time/tzdata"
)

func main() {
	addr := flag.String("addr", ":8080", "address to serve HTTP on")
	configPath := flag.String("config", "/etc/desk/office.json", "path of the office's compiled configuration (JSON)")
	interval := flag.Duration("reload-interval", 2*time.Second, "how often to look for a changed configuration file")
	opts := defaultOptions()
	opts.register(flag.CommandLine)
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := opts.check(); err != nil {
		log.Error("desk stopped", "err", err)
		os.Exit(2)
	}
	if err := run(*addr, *configPath, *interval, opts, log); err != nil {
		log.Error("desk stopped", "err", err)
		os.Exit(1)
	}
}

func run(addr, configPath string, interval time.Duration, opts options, log *slog.Logger) error {
	d, err := newDesk(configPath, opts)
	if err != nil {
		return err
	}
	ln, err := opts.listen(addr)
	if err != nil {
		return err
	}
	srv := opts.server(d.handler())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if changed, err := d.reload(); err != nil {
					log.Error("keeping the last good configuration", "err", err)
				} else if changed {
					log.Info("configuration reloaded", "config", configPath)
				}
			}
		}
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String(), "config", configPath, "maxConnections", opts.MaxConnections)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}
