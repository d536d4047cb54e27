// Package schematest checks that the two backends' migrations describe
// the same schema: the same tables, the same columns, of the same kinds,
// nullable alike. The SQL in store/sqlstore is written once for both, so
// a drift here is a bug there.
package schematest

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/huduma-ke/huduma/internal/testenv"
	"github.com/huduma-ke/huduma/store/pgstore"
	"github.com/huduma-ke/huduma/store/sqlitestore"
)

// kind folds a column type to what both backends mean by it. SQLite has
// no boolean: it keeps 0 and 1 in an integer column, and JSON as text.
func kind(typ string) string {
	switch strings.ToLower(typ) {
	case "integer", "bigint", "smallint", "boolean":
		return "integer"
	case "text", "character varying", "jsonb":
		return "text"
	}
	return strings.ToLower(typ)
}

func TestSchemasMatch(t *testing.T) {
	ctx := context.Background()
	lite, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "schema.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	if err := lite.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	tables, err := lite.SQL().QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var n string
		tables.Scan(&n)
		names = append(names, n)
	}
	tables.Close()
	for _, table := range names {
		rows, err := lite.SQL().QueryContext(ctx, `SELECT name, type, "notnull", pk FROM pragma_table_info('`+table+`')`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var col, typ string
			var notNull, pk int
			rows.Scan(&col, &typ, &notNull, &pk)
			want[table+"."+col] = fmt.Sprintf("%s null=%v", kind(typ), notNull == 0 && pk == 0)
		}
		rows.Close()
	}

	dbURL, schema := testenv.PostgresSchema(t, "huduma_schema_")
	conn, err := pgx.Connect(ctx, testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	pg, err := pgstore.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if err := pg.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	rows, err := conn.Query(ctx, `SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = $1`, schema)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var table, col, typ, nullable string
		rows.Scan(&table, &col, &typ, &nullable)
		got[table+"."+col] = fmt.Sprintf("%s null=%v", kind(typ), nullable == "YES")
	}
	rows.Close()

	var diffs []string
	for k, w := range want {
		if g, ok := got[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: only in SQLite (%s)", k, w))
		} else if g != w {
			diffs = append(diffs, fmt.Sprintf("%s: SQLite %s, Postgres %s", k, w, g))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: only in Postgres (%s)", k, g))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Fatalf("the backends' schemas differ:\n%s", strings.Join(diffs, "\n"))
	}
	if len(want) < 60 {
		t.Fatalf("only %d columns read; the comparison is broken", len(want))
	}
}
