// Command desk is the reference tenant service of an office: it serves the
// office's compiled configuration, which the operator renders into a
// ConfigMap mounted at --config. Each change of the configuration rolls the
// Deployment (the ConfigMap's name carries its hash), so desk reads it once.
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
)

func main() {
	addr := flag.String("addr", ":8080", "address to serve HTTP on")
	configPath := flag.String("config", "/etc/desk/office.json", "path of the office's compiled configuration (JSON)")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(*addr, *configPath, log); err != nil {
		log.Error("desk stopped", "err", err)
		os.Exit(1)
	}
}

func run(addr, configPath string, log *slog.Logger) error {
	cfg, err := loadConfig(configPath)
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: addr, Handler: newHandler(cfg), ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("serving", "addr", addr, "config", configPath)
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
