package menus

import (
	"testing"

	"github.com/huduma-ke/huduma"
)

// BenchmarkLayout renders a full results page (folding, fitting, paging).
func BenchmarkLayout(b *testing.B) {
	p := page{header: []string{"Results for 'passport'"}, nav: true, moreBeyond: true,
		items: []string{"Ordinary passport 34 pages", "Ordinary passport 50 pages", "Diplomatic passport", "Replacement of a lost passport", "East African passport"}}
	for b.Loop() {
		if out := layout(p, huduma.English); out.shown == 0 {
			b.Fatal("nothing shown")
		}
	}
}

// BenchmarkTransition is one FSM step.
func BenchmarkTransition(b *testing.B) {
	for b.Loop() {
		if _, err := transition(StateMain, EventTrack); err != nil {
			b.Fatal(err)
		}
	}
}
