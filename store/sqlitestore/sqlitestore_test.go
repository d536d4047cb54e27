package sqlitestore

import (
	"context"
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
