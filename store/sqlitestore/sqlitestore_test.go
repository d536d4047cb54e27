package sqlitestore

import (
	"context"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/huduma-ke/huduma/store/sqlstore"
	"github.com/huduma-ke/huduma/store/storetest"
)

func openTest(t testing.TB) *sqlstore.DB {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) *sqlstore.DB { return openTest(t) })
}

func BenchmarkSearch14k(b *testing.B)  { storetest.BenchmarkSearch14k(b, openTest(b)) }
func BenchmarkSearch140k(b *testing.B) { storetest.BenchmarkSearch140k(b, openTest(b)) }

// TestUpgradeToSuspenseLedger: money recorded before the suspense ledger
// (migration 0009) is carried into it.
func TestUpgradeToSuspenseLedger(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	storetest.RunUpgrade(t, func(t *testing.T) *sqlstore.DB {
		s, err := Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		files, _ := fs.Sub(migrations, "migrations")
		old := sqlstore.New(s.SQL(), sqlstore.SQLite, storetest.MigrationsBefore(t, files, 9), nil)
		if err := old.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { old.Close() })
		return old
	}, func(t *testing.T) *sqlstore.DB { return openAt(t, path) })
}

func openAt(t *testing.T, path string) *sqlstore.DB {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
func BenchmarkPayment(b *testing.B) { storetest.BenchmarkPayment(b, openTest(b)) }

// BenchmarkInvoice times the confirming hop's write.
func BenchmarkInvoice(b *testing.B) { storetest.BenchmarkInvoice(b, openTest(b)) }
