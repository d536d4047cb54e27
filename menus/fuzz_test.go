package menus

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/gsm7"
)

// FuzzLayout: whatever a catalog or a caller puts on a page, the screen
// stays within 182 GSM-7 characters, shows at least one item when there
// are any (unless the header alone is too long), and never splits an item.
func FuzzLayout(f *testing.F) {
	f.Add("Results for 'pasport'", "Passport (34 pages)|Passport (50 pages)|Replacement of a lost passport", "", true, false, 5)
	f.Add("Birth certificate\nCivil Registration Services\nFee: KES 50", "", "Pay now|SMS me details", true, true, 0)
	f.Add(strings.Repeat("Ω€ñ", 100), strings.Repeat("x", 300), "", false, false, 1)
	f.Add("", "||||||||||", "", true, true, 0)
	f.Fuzz(func(t *testing.T, header, items, opts string, nav, more bool, sw int) {
		p := page{header: strings.Split(header, "\n"), nav: nav, moreBeyond: more}
		if items != "" {
			p.items = strings.Split(items, "|")
		}
		for i, o := range strings.Split(opts, "|") {
			if o != "" {
				p.options = append(p.options, option{string(rune('1' + i%9)), o})
			}
		}
		lang := huduma.English
		if sw%2 == 1 {
			lang = huduma.Kiswahili
		}
		out := layout(p, lang)
		if !utf8.ValidString(out.text) || !gsm7.Valid(out.text) {
			t.Fatalf("not GSM-7: %q", out.text)
		}
		if n, _ := gsm7.Septets(out.text); n > screenSeptets {
			t.Fatalf("%d characters: %q", n, out.text)
		}
		if out.shown < 0 || out.shown > len(p.items) {
			t.Fatalf("shown %d of %d", out.shown, len(p.items))
		}
		for i := 0; i < out.shown; i++ {
			want := truncate(gsm7.Fold(p.items[i]), maxItem)
			if !strings.Contains(out.text, want) {
				t.Fatalf("item %d %q is not whole on the page: %q", i, want, out.text)
			}
		}
	})
}
