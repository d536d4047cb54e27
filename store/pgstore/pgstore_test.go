package pgstore

import (
	"context"
	"testing"

	"github.com/huduma-ke/huduma/internal/testenv"
	"github.com/huduma-ke/huduma/store/sqlstore"
	"github.com/huduma-ke/huduma/store/storetest"
)

// openTest opens a store in a schema of its own, dropped after the test,
// so tests of several packages can share the database at once.
func openTest(t testing.TB) *sqlstore.DB {
	t.Helper()
	dbURL, _ := testenv.PostgresSchema(t, "huduma_test_")
	ctx := context.Background()
	s, err := Open(ctx, dbURL)
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
