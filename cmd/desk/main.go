// Command desk is the reference tenant service of an office: it serves the
// office's compiled configuration, which the operator renders into a
// ConfigMap mounted at --config, at GET /v1/office, and answers routes,
// windows and deadlines from it. A change of the configuration rolls the
// Deployment (the ConfigMap's name carries its hash); desk also reloads the
// file when it changes in place.
//
// The desk listens on three ports: the public API for the platform ingress
// (--addr), GET /v1/handler for other offices' desks (--peer-addr) and the
// kubelet's probes (--probe-addr). It is anonymous: on each port the
// connections of one client and of all, the timeouts, request sizes and the
// work of one request are bounded, and on the peer port each client's rate
// (see options).
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
	addr := flag.String("addr", fmt.Sprintf(":%d", publicPort), "address to serve the public API on")
	peerAddr := flag.String("peer-addr", fmt.Sprintf(":%d", peerPort), "address to serve other desks on (GET /v1/handler)")
	probeAddr := flag.String("probe-addr", fmt.Sprintf(":%d", probePort), "address to serve /healthz and /readyz on")
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
	if err := run(*addr, *peerAddr, *probeAddr, *configPath, *interval, opts, log); err != nil {
		log.Error("desk stopped", "err", err)
		os.Exit(1)
	}
}

func run(addr, peerAddr, probeAddr, configPath string, interval time.Duration, opts options, log *slog.Logger) error {
	d, err := newDesk(configPath, opts)
	if err != nil {
		return err
	}
	eps, err := d.endpoints(addr, peerAddr, probeAddr)
	if err != nil {
		return err
	}
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
	errc := make(chan error, len(eps))
	for _, ep := range eps {
		go func() { errc <- fmt.Errorf("the %s listener: %w", ep.name, ep.srv.Serve(ep.ln)) }()
	}
	log.Info("serving", "addr", eps[0].ln.Addr().String(), "peerAddr", eps[1].ln.Addr().String(), "probeAddr", eps[2].ln.Addr().String(),
		"config", configPath, "maxConnections", opts.MaxConnections, "maxConnectionsPerClient", opts.MaxConnectionsPerClient)
	var served error
	select {
	case served = <-errc:
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, ep := range eps {
		if err := ep.srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) && served == nil {
			served = fmt.Errorf("shutting down the %s listener: %w", ep.name, err)
		}
	}
	return served
}
