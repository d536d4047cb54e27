package notices

import (
	"context"
	"strings"
	"testing"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/gsm7"
	"github.com/huduma-ke/huduma/internal/ledgertest"
	"github.com/huduma-ke/huduma/store/sqlitestore/sqlitetest"
)

// TestNoticeLimitInParts: an agency's notice is limited in SMS parts, the
// unit the provider bills, and the parts it reports are those of the text
// as sent (folded to GSM-7).
func TestNoticeLimitInParts(t *testing.T) {
	l, _ := ledgertest.OnClock(sqlitetest.Open(t))
	n := NewAgencyTexts(l)
	ctx := context.Background()
	const to = huduma.MSISDN("+254708374107")
	for _, c := range []struct {
		label, text string
		parts       int // 0: refused
	}{
		{"one part", strings.Repeat("a", 160), 1},
		{"161 characters", strings.Repeat("a", 161), 2},
		{"two parts full", strings.Repeat("a", 306), 2},
		{"four parts full", strings.Repeat("a", 612), 4},
		{"one character into a fifth part", strings.Repeat("a", 613), 0},
		{"640 characters are five parts", strings.Repeat("a", 640), 0},
		{"padding is trimmed before counting", "  " + strings.Repeat("a", 612) + " \n", 4},
		// Folding happens first: the euro sign goes as EUR, brackets as
		// parentheses, so each costs what it costs once sent.
		{"folded euro signs", strings.Repeat("\u20ac", 51), 1},
		{"folded euro signs, one more", strings.Repeat("\u20ac", 54), 2},
		{"brackets fold to one septet", strings.Repeat("[", 160), 1},
		{"an emoji is dropped, not UCS-2", strings.Repeat("a", 160) + "\U0001F600", 1},
		{"nothing left after folding", "\U0001F600", 0},
	} {
		got, err := n.SendMessage(ctx, to, c.text)
		switch {
		case c.parts == 0 && (err == nil || huduma.ErrorCode(err) != huduma.EInvalid):
			t.Errorf("%s: %d parts, %v; want refused as invalid", c.label, got, err)
		case c.parts != 0 && (err != nil || got != c.parts):
			t.Errorf("%s: %d parts, %v; want %d", c.label, got, err, c.parts)
		}
	}
	msgs, err := l.Messages(ctx, to, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Parts != gsm7.SMSParts(m.Body) || m.Parts > MaxParts {
			t.Errorf("outbox row of %d characters records %d parts", len(m.Body), m.Parts)
		}
	}
	if len(msgs) != 9 {
		t.Errorf("%d notices queued, want the 9 accepted", len(msgs))
	}
}
