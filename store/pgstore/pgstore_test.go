package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/huduma-ke/huduma/internal/testenv"
	"github.com/huduma-ke/huduma/store/sqlstore"
	"github.com/huduma-ke/huduma/store/storetest"
)

// openTest opens a store in a schema of its own, dropped after the test,
// so tests of several packages can share the database at once.
func openTest(t testing.TB) *sqlstore.DB {
	t.Helper()
	base := testenv.PostgresURL(t)
	ctx := context.Background()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "huduma_test_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err == nil {
			c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			c.Close(context.Background())
		}
	})
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema+",public")
	u.RawQuery = q.Encode()
	s, err := Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) *sqlstore.DB { return openTest(t) })
}

func BenchmarkSearch14k(b *testing.B)  { storetest.BenchmarkSearch14k(b, openTest(b)) }
func BenchmarkSearch140k(b *testing.B) { storetest.BenchmarkSearch140k(b, openTest(b)) }
