package menus

import (
	"context"
	"strings"
	"testing"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/texts"
)

// TestAnotherPhonesInvoiceShowsOnlyWhatIsPublic: looked up from another
// phone, an invoice shows its status and what is due, in both languages,
// but not the M-Pesa receipt, the payer's outcome or a receipt to send;
// its own phone still sees them all.
func TestAnotherPhonesInvoiceShowsOnlyWhatIsPublic(t *testing.T) {
	pay := newFakePayments()
	m := New(longCatalog(), pay, Config{})
	paid, failed, cancelled := pay.number(huduma.InvoicePaid), pay.number(huduma.InvoiceFailed), pay.number(huduma.InvoiceCancelled)
	const stranger = huduma.MSISDN("+254722000111")
	cases := []struct {
		lang          huduma.Language
		inputs        []string
		has, lacks    []string
		ownerHas      []string
		state, sstate string
	}{
		{huduma.English, []string{"3", paid}, []string{"PAID", "KES 123,456"}, []string{"NLJ7RT61SV", "22/11/2026", "SMS me the receipt"},
			[]string{"M-Pesa NLJ7RT61SV", "1. SMS me the receipt"}, StateInvoice, StateInvoice},
		{huduma.Kiswahili, []string{"3", paid}, []string{"IMELIPWA"}, []string{"NLJ7RT61SV", "Nitumie risiti"},
			[]string{"M-Pesa NLJ7RT61SV", "Nitumie risiti kwa SMS"}, StateInvoice, StateInvoice},
		{huduma.English, []string{"3", failed}, []string{"FAILED", "1. Pay from this phone"}, []string{"Wrong M-Pesa PIN"},
			[]string{"FAILED: Wrong M-Pesa PIN"}, StateInvoice, StateInvoice},
		{huduma.Kiswahili, []string{"3", cancelled}, []string{"IMEGHAIRIWA"}, []string{"PIN ya M-Pesa si sahihi"},
			[]string{"IMEGHAIRIWA: PIN ya M-Pesa si sahihi"}, StateInvoice, StateInvoice},
		// Asking for the receipt of another's invoice sends nothing.
		{huduma.English, []string{"3", paid, "1"}, []string{"Invalid choice"}, []string{"NLJ7RT61SV"},
			[]string{"receipt to you by SMS"}, StateInvoice, StateDone},
	}
	for _, tc := range cases {
		s, r, intents := driveAs(t, m, stranger, tc.lang, tc.inputs...)
		if s.State != tc.state {
			t.Fatalf("%v (%s): state %q, want %q", tc.inputs, tc.lang, s.State, tc.state)
		}
		for _, want := range tc.has {
			if !strings.Contains(r.Text, want) {
				t.Errorf("%v (%s): another phone's screen lacks %q:\n%s", tc.inputs, tc.lang, want, r.Text)
			}
		}
		for _, bad := range tc.lacks {
			if strings.Contains(r.Text, bad) {
				t.Errorf("%v (%s): another phone's screen shows %q:\n%s", tc.inputs, tc.lang, bad, r.Text)
			}
		}
		if len(intents) != 0 {
			t.Errorf("%v: another phone's steps asked for %+v", tc.inputs, intents)
		}
		s, r, _ = driveAs(t, m, "+254712345678", tc.lang, tc.inputs...)
		for _, want := range tc.ownerHas {
			if s.State != tc.sstate || !strings.Contains(r.Text, want) {
				t.Errorf("%v (%s): the owner's screen (%s) lacks %q:\n%s", tc.inputs, tc.lang, s.State, want, r.Text)
			}
		}
	}
}

// driveAs is drive from phone; it also returns every intent the steps
// asked for.
func driveAs(t *testing.T, m *Machine, phone huduma.MSISDN, lang huduma.Language, inputs ...string) (*Session, huduma.Reply, []Intent) {
	t.Helper()
	ctx := context.Background()
	s := &Session{Lang: lang}
	env := Env{Phone: phone, Key: "ussd:test:ATUid_public:" + string(phone) + ":1.0"}
	r, err := m.Start(ctx, s, env)
	if err != nil {
		t.Fatal(err)
	}
	var all []Intent
	for _, in := range inputs {
		var intents []Intent
		if r, intents, err = m.Step(ctx, s, env, in); err != nil {
			t.Fatalf("input %q: %v", in, err)
		}
		all = append(all, intents...)
	}
	return s, r, all
}

// TestPromptCapRefusal: "Pay from another number" to a number that has
// had its fill of strangers' prompts this hour re-shows the number screen
// with the reason, in both languages, and makes nothing; this phone's own
// request for a prompt is never refused.
func TestPromptCapRefusal(t *testing.T) {
	pay := newFakePayments()
	pay.capped = "+254722000999"
	m := New(longCatalog(), pay, Config{})
	pending := pay.number(huduma.InvoicePending)
	for _, lang := range []huduma.Language{huduma.English, huduma.Kiswahili} {
		for _, path := range [][]string{{"1", "3", "42", "1", "2", "0722000999"}, {"2", pending, "2", "0722 000 999"}} {
			s, r, _ := driveAs(t, m, "+254712345678", lang, path...)
			checkScreen(t, strings.Join(path, "*"), r)
			if s.State != StateOtherPhone || !strings.Contains(r.Text, texts.PromptCapped.T(lang)) {
				t.Errorf("%v (%s): state %s, screen:\n%s", path, lang, s.State, r.Text)
			}
		}
	}
	if pay.pushes != 0 {
		t.Fatalf("%d prompts queued to the capped number", pay.pushes)
	}
	s, r, _ := driveAs(t, m, pay.capped, huduma.English, "2", pending, "1")
	if s.State != StateDone || pay.byPayer != 1 || pay.pushes != 1 {
		t.Fatalf("the capped phone's own request: state %s, %d asked by the payer, %d pushes:\n%s", s.State, pay.byPayer, pay.pushes, r.Text)
	}
}
