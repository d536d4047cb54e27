package menus

import (
	"slices"
	"strconv"
	"strings"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/gsm7"
	"github.com/huduma-ke/huduma/texts"
)

// maxItem caps one list item's label, so a single long catalog name cannot
// crowd the rest of the page out.
const maxItem = 48

// option is a fixed numbered choice ("1. Pay now").
type option struct{ key, label string }

// page is a screen before layout. Every screen goes through layout, which
// folds it to GSM-7 and fits it into one USSD page.
type page struct {
	reason  string   // one-line reason the last input was refused
	header  []string // title and information lines
	items   []string // list entries, numbered 1..n on this page
	options []option // fixed choices after the list
	// notes follow the header and are never shortened: what the screen
	// is for when it cannot be cut (why a service cannot be paid here).
	notes []string
	// nav adds "0. Back" and, where it fits, "00. Home".
	nav bool
	// moreBeyond says the list continues past the given items.
	moreBeyond bool
	// keep is how many list items the page must show however little room
	// the reason leaves: a refusal re-shows the same screen, so the items
	// on it (and whether 98 is offered) stay as they were.
	keep int
	end  bool
}

// laidOut is a page fitted to the screen.
type laidOut struct {
	text string
	// shown is how many list items made it onto the page; more is whether
	// "98. More" was offered.
	shown int
	more  bool
}

// layout fits p into huduma.MaxScreen characters. It keeps whole list items
// (never splitting one across pages), offers 98. More when items remain,
// drops 00. Home before dropping items, and shortens the longest header
// line, then the reason, as a last resort. With p.keep it shows exactly
// that many items, those of the screen a refusal shows again.
func layout(p page, lang huduma.Language) laidOut {
	reason := gsm7.Fold(p.reason)
	header := make([]string, len(p.header))
	for i, h := range p.header {
		header[i] = gsm7.Fold(h)
	}
	full := slices.Clone(header)
	notes := make([]string, len(p.notes))
	for i, n := range p.notes {
		notes[i] = gsm7.Fold(n)
	}
	items := make([]string, len(p.items))
	for i, it := range p.items {
		items[i] = truncate(gsm7.Fold(it), maxItem)
	}
	opts := make([]option, len(p.options))
	for i, o := range p.options {
		opts[i] = option{o.key, gsm7.Fold(o.label)}
	}
	build := func(k int, more, home bool) string {
		var b strings.Builder
		add := func(s string) {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(s)
		}
		if reason != "" {
			add(reason)
		}
		for _, h := range header {
			add(h)
		}
		for _, n := range notes {
			add(n)
		}
		for i := 0; i < k; i++ {
			add(strconv.Itoa(i+1) + ". " + items[i])
		}
		for _, o := range opts {
			add(o.key + ". " + o.label)
		}
		if more {
			add("98. " + gsm7.Fold(texts.More.T(lang)))
		}
		if p.nav {
			add("0. " + gsm7.Fold(texts.Back.T(lang)))
			if home {
				add("00. " + gsm7.Fold(texts.Home.T(lang)))
			}
		}
		return b.String()
	}
	// A refused input shows exactly the items shown before (same), any
	// other screen as many as fit, at least one.
	minItems, maxItems := min(1, len(items)), len(items)
	same := p.keep > 0 && len(items) > 0
	if same {
		minItems = min(p.keep, len(items))
		maxItems = minItems
	}
	for {
		for k := maxItems; k >= minItems; k-- {
			more := k < len(items) || p.moreBeyond
			for _, home := range []bool{true, false} {
				if !p.nav && !home {
					continue
				}
				if s := build(k, more, home && p.nav); len(s) <= huduma.MaxScreen {
					return laidOut{text: s, shown: k, more: more}
				}
			}
		}
		// Nothing fits: shorten the longest header line (or the reason)
		// and try again. Lines never drop below 12 characters, and the
		// fixed parts are short, so this terminates. Items kept for a
		// refusal come first, then its reason: a list's title gives way
		// to the reason, and a reason that still does not fit whole is
		// left out rather than show another screen.
		longest, at := 0, -1
		for i, h := range header {
			if len(h) > longest {
				longest, at = len(h), i
			}
		}
		switch {
		case at >= 0 && longest > 12:
			header[at] = truncate(header[at], longest-max(3, longest/4))
		case reason != "" && same && len(header) > 0:
			header = header[:len(header)-1]
		case reason != "" && same:
			// The same screen unexplained, rather than a reason cut short;
			// its title is back as it was.
			reason = ""
			header = slices.Clone(full)
		case len(reason) > 12:
			reason = truncate(reason, len(reason)-max(3, len(reason)/4))
		default:
			// Only pathological option labels remain; cut the whole text.
			more := minItems < len(items) || p.moreBeyond
			s := build(minItems, more, false)
			return laidOut{text: truncate(s, huduma.MaxScreen), shown: minItems, more: more}
		}
	}
}

// truncate shortens s to at most n characters, marking the cut with "...".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n <= 3 {
		return s[:n]
	}
	return strings.TrimRight(s[:n-3], " ") + "..."
}

// money formats whole shillings with thousands separators: 4550 → "4,550".
func money(v int64) string {
	s := strconv.FormatInt(v, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
