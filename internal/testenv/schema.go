package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"
)

// PostgresSchema creates an empty schema named prefix plus a random
// suffix in the test database, drops it when the test ends, and returns a
// URL whose search_path points at it and the schema's name: tests of
// several packages, and parallel runs, share the database without meeting.
func PostgresSchema(t testing.TB, prefix string) (dbURL, schema string) {
	t.Helper()
	base := PostgresURL(t)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema = prefix + hex.EncodeToString(b)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect postgres: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err == nil {
			_, _ = c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			c.Close(context.Background())
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", base, err)
	}
	q := u.Query()
	q.Set("search_path", schema+",public")
	u.RawQuery = q.Encode()
	return u.String(), schema
}
