package menus

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/texts"
)

// TestPagingTellsTheTruth pages through every list the menus show (search
// results, categories, a category's services, My invoices) for lists of 1
// to 19 entries whose labels run from short to long, so that some last
// pages hold exactly nine entries and others fill the screen to the
// character. On every page: 98 is offered exactly when entries remain,
// each entry is shown once, and a refused input (98 on the last page, a
// wrong number) shows the same entries again, with "There are no more
// items." only where 98 is not offered.
func TestPagingTellsTheTruth(t *testing.T) {
	type list struct {
		name string
		open []string
		m    func(n, width int) *Machine
	}
	name := func(i, width int) string { return fmt.Sprintf("Svc %s %d", strings.Repeat("x", width), i) }
	lists := []list{
		{"search results", []string{"1", "1", "svc"}, func(n, width int) *Machine {
			f := &fakeCatalog{}
			for i := range n {
				f.services = append(f.services, huduma.Service{Code: 100 + i, CategoryCode: "c", Active: true, NameEN: name(i, width)})
			}
			return New(f, nil, Config{})
		}},
		{"categories", []string{"1", "2"}, func(n, width int) *Machine {
			f := &fakeCatalog{}
			for i := range n {
				f.cats = append(f.cats, huduma.Category{Code: fmt.Sprint("c", i), NameEN: name(i, width), NameSW: name(i, width+1)})
			}
			return New(f, nil, Config{})
		}},
		{"category services", []string{"1", "2", "1"}, func(n, width int) *Machine {
			f := &fakeCatalog{cats: []huduma.Category{{Code: "c", NameEN: "Cat"}}}
			for i := range n {
				f.services = append(f.services, huduma.Service{Code: 100 + i, CategoryCode: "c", Active: true, NameEN: name(i, width)})
			}
			return New(f, nil, Config{})
		}},
		{"my invoices", []string{"4"}, func(n, width int) *Machine {
			pay := &fakePayments{invoices: map[huduma.InvoiceNumber]huduma.Invoice{}}
			at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
			for i := range n {
				body := fmt.Sprintf("2%08d", i)
				num := huduma.InvoiceNumber(body + string(huduma.DammDigit(body)))
				// Amounts of 1 to 6 digits make the entries 23 to 30 long.
				total := int64(1)
				for range width % 6 {
					total = total*10 + 1
				}
				pay.invoices[num] = huduma.Invoice{Number: num, Total: total, Status: huduma.InvoicePaid, CreatedAt: at.Add(-time.Duration(i) * time.Minute)}
			}
			return New(&fakeCatalog{}, pay, Config{})
		}},
	}
	ctx := context.Background()
	for _, l := range lists {
		t.Run(strings.ReplaceAll(l.name, " ", "_"), func(t *testing.T) {
			// Lists of one to three entries, and around one and two full
			// pages of nine.
			for _, n := range []int{1, 2, 3, 8, 9, 10, 17, 18, 19} {
				for width := 4; width <= 42; width++ {
					m := l.m(n, width)
					for _, lang := range []huduma.Language{huduma.English, huduma.Kiswahili} {
						where := fmt.Sprintf("%s, %d entries %d wide", lang, n, width)
						s, r := drive(t, m, lang, l.open...)
						var seen []string
						for page := 0; ; page++ {
							if page > n {
								t.Fatalf("%s: more pages than entries", where)
							}
							checkScreen(t, where, r)
							offers := strings.Contains(r.Text, "\n98. ")
							if offers != s.More {
								t.Fatalf("%s: the screen offers 98 %v, the session says %v:\n%s", where, offers, s.More, r.Text)
							}
							shown := slices.Clone(s.Items)
							seen = append(seen, shown...)
							for _, bad := range []string{"98", "77"} {
								if bad == "98" && s.More {
									continue
								}
								again := *s
								r2, _, err := m.Step(ctx, &again, Env{Phone: "+254712345678"}, bad)
								if err != nil {
									t.Fatal(err)
								}
								checkScreen(t, where, r2)
								// The reason is shown whole, or (on a screen
								// already full to the last character) not at all.
								reason := texts.InvalidChoice.T(lang)
								if bad == "98" {
									reason = texts.NoMore.T(lang)
								}
								first, _, _ := strings.Cut(r2.Text, "\n")
								roomy := n <= 3 && width <= 20
								cut := strings.HasPrefix(reason, strings.TrimSuffix(first, "..."))
								if first != reason && (roomy || cut) {
									t.Fatalf("%s: %s gave the reason %q, want %q:\n%s", where, bad, first, reason, r2.Text)
								}
								if first != reason && r2.Text != r.Text {
									t.Fatalf("%s: %s left the reason out but changed the screen:\n%s\n---\n%s", where, bad, r.Text, r2.Text)
								}
								offersAgain := strings.Contains(r2.Text, "\n98. ")
								if offersAgain != s.More || again.More != s.More || !slices.Equal(again.Items, shown) {
									t.Fatalf("%s: %s gave another screen (items %v, were %v):\n%s\n---\n%s", where, bad, again.Items, shown, r.Text, r2.Text)
								}
							}
							if !s.More {
								break
							}
							var err error
							if r, _, err = m.Step(ctx, s, Env{Phone: "+254712345678"}, "98"); err != nil {
								t.Fatal(err)
							}
							if strings.Contains(r.Text, texts.NoMore.T(lang)) {
								t.Fatalf("%s: 98. More led to %q:\n%s", where, texts.NoMore.T(lang), r.Text)
							}
						}
						slices.Sort(seen)
						if len(seen) != n || len(slices.Compact(seen)) != n {
							t.Fatalf("%s: paged through %d entries (%v), want %d once each", where, len(seen), seen, n)
						}
					}
				}
			}
		})
	}
}
