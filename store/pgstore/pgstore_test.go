package pgstore

import (
	"context"
	"io/fs"
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

// TestUpgradeToSuspenseLedger: money recorded before the suspense ledger
// (migration 0011) is carried into it.
func TestUpgradeToSuspenseLedger(t *testing.T) {
	url, _ := testenv.PostgresSchema(t, "huduma_test_")
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
func BenchmarkPayment(b *testing.B) { storetest.BenchmarkPayment(b, openTest(b)) }

// BenchmarkInvoice times the confirming hop's write.
func BenchmarkInvoice(b *testing.B) { storetest.BenchmarkInvoice(b, openTest(b)) }
