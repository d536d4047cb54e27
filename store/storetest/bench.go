package storetest

import (
	"context"
	"testing"

	"github.com/huduma-ke/huduma/catalog"
	"github.com/huduma-ke/huduma/store/sqlstore"
)

// benchQueries are realistic searches, typos included.
var benchQueries = []string{"passport", "pasport renewal", "liquor licence nairobi", "cheti cha ndoa", "firearm", "land serch", "leseni ya biashara"}

// BenchmarkSearch14k times SearchServices over a 14,000-service catalog
// (the size of e-Citizen) on the given store.
func BenchmarkSearch14k(b *testing.B, s *sqlstore.DB) {
	ctx := context.Background()
	if _, err := s.ImportCatalog(ctx, catalog.Generate(14000, 1)); err != nil {
		b.Fatal(err)
	}
	if _, err := s.SearchServices(ctx, "warm up", 10); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		if _, err := s.SearchServices(ctx, benchQueries[i%len(benchQueries)], 30); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
