// Package sqlitetest opens the embedded store for other packages' tests:
// real SQL on a migrated database in the test's temporary directory,
// closed when the test ends.
package sqlitetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/huduma-ke/huduma/catalog"
	"github.com/huduma-ke/huduma/store/sqlitestore"
	"github.com/huduma-ke/huduma/store/sqlstore"
)

// Open is an empty, migrated embedded store.
func Open(t testing.TB) *sqlstore.DB {
	t.Helper()
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

// OpenWithSample is Open with the sample catalog imported.
func OpenWithSample(t testing.TB) *sqlstore.DB {
	t.Helper()
	st := Open(t)
	sample, err := catalog.Sample()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportCatalog(context.Background(), sample); err != nil {
		t.Fatal(err)
	}
	return st
}
