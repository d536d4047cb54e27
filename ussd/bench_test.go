package ussd

import (
	"context"
	"strconv"
	"testing"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/sessions/memstore"
)

// BenchmarkEngineJourney is the engine's own work for the load tool's
// seven-hop journey (main menu, find, search, results, service, input,
// confirm), one session and phone each, on the in-process store: what a
// hop costs beyond the network and Redis.
func BenchmarkEngineJourney(b *testing.B) {
	sess := memstore.New()
	defer sess.Close()
	e, _ := newEngineOn(b, sess, Config{})
	ctx := context.Background()
	paths := []string{"", "1", "1*1", "1*1*passport", "1*1*passport*1", "1*1*passport*1*1", "1*1*passport*1*1*12345678"}
	n := 0
	for b.Loop() {
		n++
		id := strconv.Itoa(n)
		for _, p := range paths {
			hop := atHop(id, p)
			hop.MSISDN = huduma.MSISDN("+2547" + strconv.Itoa(10000000+n%90000000))
			if _, err := e.HandleHop(ctx, hop); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(paths))/1000, "µs/hop")
}
