package storetest

import (
	"context"
	"testing"

	"github.com/huduma-ke/huduma/catalog"
	"github.com/huduma-ke/huduma/store/sqlstore"
)

// BenchmarkSearch14k times SearchServices over a 14,000-service catalog
// (the size of e-Citizen) on the given store, with realistic searches
// (catalog.SearchQueries: typos, Kiswahili, several words).
func BenchmarkSearch14k(b *testing.B, s *sqlstore.DB) { benchmarkSearch(b, s, 14000) }

// BenchmarkSearch140k is BenchmarkSearch14k over ten times the catalog,
// to show how search grows with it.
func BenchmarkSearch140k(b *testing.B, s *sqlstore.DB) { benchmarkSearch(b, s, 140000) }

func benchmarkSearch(b *testing.B, s *sqlstore.DB, services int) {
	ctx := context.Background()
	if _, err := s.ImportCatalog(ctx, catalog.Generate(services, 1)); err != nil {
		b.Fatal(err)
	}
	if _, err := s.SearchServices(ctx, "warm up", 10); err != nil {
		b.Fatal(err)
	}
	queries := catalog.SearchQueries()
	i := 0
	for b.Loop() {
		if _, err := s.SearchServices(ctx, queries[i%len(queries)], 30); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
