// Command localpg runs a PostgreSQL 15 server for the demo, the way the
// tests run theirs (internal/pgtest): initdb into a new temporary
// directory, as the postgres user when run as root, reachable on a Unix
// socket only. It creates the database "cases", writes its URL to
// --url-file and runs until SIGINT or SIGTERM, when it stops the server and
// removes its directory: the demo's cases live as long as the demo.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/xinfang/petition-operator/internal/pgtest"
)

func main() {
	urlFile := flag.String("url-file", "", "file to write the database's URL to (required)")
	flag.Parse()
	if err := run(*urlFile); err != nil {
		fmt.Fprintln(os.Stderr, "localpg:", err)
		os.Exit(1)
	}
}

func run(urlFile string) error {
	if urlFile == "" {
		return fmt.Errorf("--url-file is required")
	}
	srv, err := pgtest.Start(pgtest.Options{Durable: true})
	if err != nil {
		return err
	}
	defer func() { _ = srv.Stop() }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, srv.URL("postgres"))
	if err != nil {
		return err
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE cases")
	_ = conn.Close(ctx)
	if err != nil {
		return err
	}
	if err := os.WriteFile(urlFile, []byte(srv.URL("cases")+"\n"), 0o600); err != nil {
		return err
	}
	fmt.Printf("PostgreSQL serves the database cases (log: %s)\n", srv.LogPath())
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
	return nil
}
