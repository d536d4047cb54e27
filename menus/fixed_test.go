package menus

import (
	"context"
	"testing"

	"github.com/huduma-ke/huduma"
)

// TestFixedScreens: a screen laid out once per language (a fixed state)
// is the very text a fresh layout gives, whatever else the session holds,
// so declaring a state fixed can only be right when its page reads nothing
// but the language.
func TestFixedScreens(t *testing.T) {
	m := New(longCatalog(), newFakePayments(), Config{})
	ctx := context.Background()
	busy := Session{Query: "passport", Category: "cat01", Service: 42, Offset: 7, Prev: []int{0}, Items: []string{"1"}, More: true,
		Field: 1, Values: map[string]string{"id": "1"}, PayFor: "confirm", Invoice: "1234567890", Done: "bye",
		Resume: &Snapshot{Menu: Session{State: StateFind}}}
	fixed := 0
	for _, def := range states {
		if !def.fixed {
			continue
		}
		fixed++
		for _, lang := range []huduma.Language{huduma.English, huduma.Kiswahili} {
			for i, s := range []Session{{}, busy} {
				s.State, s.Lang = def.name, lang
				st := &step{m: m, ctx: ctx, s: &s, env: Env{Phone: "+254712345678"}}
				p, keys, err := def.page(st)
				if err != nil || keys != nil || p.end {
					t.Fatalf("%s: a fixed page with keys %v, end %v, error %v", def.name, keys, p.end, err)
				}
				want := layout(p, lang).text
				for range 2 { // laid out, then from the cache
					r, err := st.render("")
					if err != nil || r.Text != want || r.End || r.Screen != def.name || r.Lang != lang {
						t.Fatalf("%s in %s (session %d): %+v %v, want %q", def.name, lang, i, r, err, want)
					}
					if s.Items != nil || s.More {
						t.Fatalf("%s: the list of a fixed screen is left as %v %v", def.name, s.Items, s.More)
					}
				}
			}
		}
	}
	if fixed == 0 {
		t.Fatal("no fixed states")
	}
}
