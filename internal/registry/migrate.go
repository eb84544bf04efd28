// Package registry is the case registry's store: petitions taken in,
// moved through the state machine of internal/cases, chased by reminders
// and overdue rungs that fire once each, counted per office and day, and
// published through an outbox feed, on PostgreSQL (DESIGN "Cases"). The
// HTTP API of cmd/registry is a thin layer over it; the routing and the
// deadlines come from internal/xinfang, as petitionctl computes them.
package registry

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLockID is the advisory lock under which one replica applies the
// migrations while the others wait (goose's session locker).
const migrationLockID = 0x70657469 // "peti"

// Migrate applies the embedded migrations to the database at url, once:
// replicas that start together wait on an advisory lock and find nothing
// left to do. It returns the schema version.
//
// The URL may carry the settings of the registry's pool (pool_max_conns
// and the other pool_ parameters of pgxpool), which are not the server's
// and are left out here.
func Migrate(ctx context.Context, url string) (int64, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return 0, err
	}
	db := stdlib.OpenDB(*cfg.ConnConfig)
	defer func() { _ = db.Close() }()
	return migrateDB(ctx, db)
}

// Prepare migrates the database at url, for a test template or a
// provisioning step that wants only the error.
func Prepare(ctx context.Context, url string) error {
	_, err := Migrate(ctx, url)
	return err
}

func migrateDB(ctx context.Context, db *sql.DB) (int64, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return 0, err
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockID))
	if err != nil {
		return 0, err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub, goose.WithSessionLocker(locker))
	if err != nil {
		return 0, err
	}
	if _, err := p.Up(ctx); err != nil {
		return 0, fmt.Errorf("migrating the case database: %w", err)
	}
	return p.GetDBVersion(ctx)
}

// SchemaVersion is the version of the newest embedded migration: a
// registry serves only a database migrated to it.
func SchemaVersion() (int64, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return 0, err
	}
	files, err := fs.Glob(sub, "*.sql")
	if err != nil {
		return 0, err
	}
	var newest int64
	for _, f := range files {
		var v int64
		if _, err := fmt.Sscanf(f, "%d_", &v); err == nil && v > newest {
			newest = v
		}
	}
	return newest, nil
}
