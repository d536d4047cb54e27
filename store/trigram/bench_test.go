package trigram

import (
	"testing"

	"github.com/huduma-ke/huduma/catalog"
)

// BenchmarkIndexSearch14k and BenchmarkIndexSearch140k time the index
// alone, without a store, on the benchmark query mix.
func BenchmarkIndexSearch14k(b *testing.B)  { benchIndex(b, 14000) }
func BenchmarkIndexSearch140k(b *testing.B) { benchIndex(b, 140000) }

func benchIndex(b *testing.B, n int) {
	x := NewIndex(1, catalog.Generate(n, 1).Services)
	qs := catalog.SearchQueries()
	x.Search("warm up", 10)
	i := 0
	for b.Loop() {
		x.Search(qs[i%len(qs)], 30)
		i++
	}
}
