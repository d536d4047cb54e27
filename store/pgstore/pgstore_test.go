package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io/fs"
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
	s, err := Open(context.Background(), testSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// testSchema makes a schema of its own for one test, dropped after it,
// and returns the URL that uses it.
func testSchema(t testing.TB) string {
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
	return u.String()
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) *sqlstore.DB { return openTest(t) })
}

func BenchmarkSearch14k(b *testing.B)  { storetest.BenchmarkSearch14k(b, openTest(b)) }
func BenchmarkSearch140k(b *testing.B) { storetest.BenchmarkSearch140k(b, openTest(b)) }

// TestUpgradeToSuspenseLedger: money recorded before the suspense ledger
// (migration 0011) is carried into it.
func TestUpgradeToSuspenseLedger(t *testing.T) {
	url := testSchema(t)
	open := func(t *testing.T) *sqlstore.DB {
		s, err := Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	storetest.RunUpgrade(t, func(t *testing.T) *sqlstore.DB {
		files, _ := fs.Sub(migrations, "migrations")
		old := sqlstore.New(open(t).SQL(), sqlstore.Postgres, storetest.MigrationsBefore(t, files, 11), func() error { return nil })
		if err := old.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return old
	}, func(t *testing.T) *sqlstore.DB {
		s := open(t)
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return s
	})
}
