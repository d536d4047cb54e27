package menus

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/texts"
)

// A phone on each network.
var (
	safaricomPhone = huduma.MSISDN("+254712345678")
	airtelPhone    = huduma.MSISDN("+254733123456")
	equitelPhone   = huduma.MSISDN("+254763123456")
	telkomPhone    = huduma.MSISDN("+254771123456")
)

// TestPayingFollowsTheNetwork: a Safaricom caller is offered the prompt;
// an Airtel, an Equitel and a Telkom caller, who no prompt can reach, is
// never offered "Pay from this phone" and ends on its own network's
// steps, in both languages, on every screen that pays: the confirmation,
// an invoice looked up, and another number that is not Safaricom's.
func TestPayingFollowsTheNetwork(t *testing.T) {
	how := texts.HowToPay{Paybill: "222222"}
	for _, phone := range []huduma.MSISDN{safaricomPhone, airtelPhone, equitelPhone, telkomPhone} {
		for _, lang := range []huduma.Language{huduma.English, huduma.Kiswahili} {
			where := fmt.Sprintf("%s %s", phone.Network(), lang)
			pay := newFakePayments()
			own := huduma.InvoiceNumber("100000008" + string(huduma.DammDigit("100000008")))
			pay.invoices[own] = huduma.Invoice{Number: own, ServiceName: "Birth certificate", Phone: phone, Total: 55, Status: huduma.InvoicePending}
			m := New(longCatalog(), pay, Config{Paybill: "222222"})
			check := func(what string, r huduma.Reply, has, lacks []string) {
				t.Helper()
				if len(r.Text) > screenSeptets {
					t.Errorf("%s %s: %d characters:\n%s", where, what, len(r.Text), r.Text)
				}
				for _, w := range has {
					if !strings.Contains(r.Text, w) {
						t.Errorf("%s %s: screen lacks %q:\n%s", where, what, w, r.Text)
					}
				}
				for _, w := range lacks {
					if strings.Contains(r.Text, w) {
						t.Errorf("%s %s: screen shows %q:\n%s", where, what, w, r.Text)
					}
				}
			}
			this, prompt := texts.PayThisPhone.T(lang), texts.DonePrompt.F(lang, "1234567890", "4,600")
			steps := how.For(phone, huduma.Invoice{Number: "1234567890", Total: 4600}, lang)
			ownSteps := how.For(phone, pay.invoices[own], lang)
			_, confirm, _ := driveAs(t, m, phone, lang, "1", "3", "42", "1")
			s, done, _ := driveAs(t, m, phone, lang, "1", "3", "42", "1", "1")
			_, invoice, _ := driveAs(t, m, phone, lang, "3", string(own))
			is, iDone, _ := driveAs(t, m, phone, lang, "3", string(own), "1")
			if phone.CanPrompt() {
				check("confirm", confirm, []string{"1. " + this, "2. " + texts.PayOtherNumber.T(lang)}, nil)
				check("order", done, []string{prompt}, []string{steps})
				check("invoice", invoice, []string{"1. " + texts.ResendPrompt.T(lang)}, []string{texts.PayByHand.T(lang)})
				check("resend", iDone, []string{texts.DonePush.F(lang, "55", own)}, []string{ownSteps})
				if pay.pushes != 1 {
					t.Errorf("%s: %d prompts, want the one resent", where, pay.pushes)
				}
				continue
			}
			check("confirm", confirm, []string{"1. " + texts.GetInvoice.T(lang), "2. " + texts.PayOtherNumber.T(lang)}, []string{this})
			check("order", done, []string{"1234567890", steps}, []string{texts.DonePrompt.F(lang, "1234567890", "4,600")})
			check("invoice", invoice, []string{"1. " + texts.PayByHand.T(lang), "2. " + texts.PayOtherNumber.T(lang)},
				[]string{this, texts.ResendPrompt.T(lang)})
			check("pay by hand", iDone, []string{texts.PayStepsDone.F(lang, own, ownSteps)}, nil)
			if s.State != StateDone || !done.End || is.State != StateDone || !iDone.End {
				t.Errorf("%s: the steps do not end the session: %s %s", where, s.State, is.State)
			}
			// Someone else's invoice, looked up from this phone, is paid
			// from it by its own network's steps too.
			pending := huduma.InvoiceNumber(pay.number(huduma.InvoicePending))
			_, theirs, _ := driveAs(t, m, phone, lang, "2", string(pending), "1")
			check("another's invoice", theirs, []string{how.For(phone, pay.invoices[pending], lang)}, nil)
			if pay.pushes != 0 {
				t.Errorf("%s: %d prompts to a phone no prompt reaches", where, pay.pushes)
			}
		}
	}
}

// TestAnotherNumberOnAnotherNetwork: "Pay from another number" prompts a
// Safaricom number, and shows any other number its own network's steps,
// whether the invoice is being made or already exists.
func TestAnotherNumberOnAnotherNetwork(t *testing.T) {
	how := texts.HowToPay{Paybill: "222222"}
	for _, lang := range []huduma.Language{huduma.English, huduma.Kiswahili} {
		pay := newFakePayments()
		m := New(longCatalog(), pay, Config{Paybill: "222222"})
		pending := huduma.InvoiceNumber(pay.number(huduma.InvoicePending))
		for _, from := range []huduma.MSISDN{safaricomPhone, airtelPhone} {
			_, r, _ := driveAs(t, m, from, lang, "1", "3", "42", "1", "2", "0763123456")
			if want := how.For(equitelPhone, huduma.Invoice{Number: "1234567890", Total: 4600}, lang); !r.End || !strings.Contains(r.Text, want) {
				t.Errorf("%s from %s, new invoice: %q lacks Equitel's steps %q", lang, from.Network(), r.Text, want)
			}
			_, r, _ = driveAs(t, m, from, lang, "2", string(pending), "2", "0771123456")
			if want := how.For(telkomPhone, pay.invoices[pending], lang); !r.End || !strings.Contains(r.Text, want) || len(r.Text) > screenSeptets {
				t.Errorf("%s from %s, invoice: %q lacks Telkom's steps %q", lang, from.Network(), r.Text, want)
			}
		}
		if pay.pushes != 0 {
			t.Fatalf("%s: %d prompts to numbers no prompt reaches", lang, pay.pushes)
		}
		_, r, _ := driveAs(t, m, airtelPhone, lang, "2", string(pending), "2", "0722000111")
		if !strings.Contains(r.Text, texts.DonePush.F(lang, "123,456", pending)) || pay.pushes != 1 {
			t.Errorf("%s: a Safaricom number was not prompted (%d): %q", lang, pay.pushes, r.Text)
		}
	}
}

// wholeSteps is a row of TestLongestStepsFit's table filled in, at the end
// of a screen: the network, its y's, the amount and the account.
var wholeSteps = regexp.MustCompile(`\n(airtel|equitel|telkom) (y+) [0-9,]+ [0-9]{10}$`)

// TestLongestStepsFit: a table whose every row takes MaxSteps characters
// still leaves every paying screen within 182 characters with the steps
// whole, in both languages, for each network.
func TestLongestStepsFit(t *testing.T) {
	var csv strings.Builder
	csv.WriteString("network,language,steps\n")
	for _, n := range texts.StepsNetworks {
		for _, lang := range []string{"en", "sw"} {
			// With a 12-character account and KES 250,050: MaxSteps.
			fmt.Fprintf(&csv, "%s,%s,%s %s {amount} {account}\n", n, lang, n, strings.Repeat("y", texts.MaxSteps-len(n)-22))
		}
	}
	table, err := texts.ParsePaySteps(strings.NewReader(csv.String()))
	if err != nil {
		t.Fatal(err)
	}
	how := texts.HowToPay{Paybill: "222222", Steps: table}
	pay := newFakePayments()
	m := New(longCatalog(), pay, Config{Paybill: "222222", Steps: table})
	pending := pay.number(huduma.InvoicePending)
	for _, phone := range []huduma.MSISDN{airtelPhone, equitelPhone, telkomPhone} {
		for _, lang := range []huduma.Language{huduma.English, huduma.Kiswahili} {
			for _, path := range [][]string{{"1", "3", "1023", "1", "12345678", "KCB123A", "1"}, {"1", "3", "42", "1", "2", "0733000111"},
				{"2", pending, "1"}, {"2", pending, "2", "0771000222"}, {"3", string(pay.partPaid), "1"}} {
				_, r, _ := driveAs(t, m, phone, lang, path...)
				checkScreen(t, fmt.Sprintf("%s %s %v", phone.Network(), lang, path), r)
				m := wholeSteps.FindStringSubmatch(r.Text)
				if !r.End || m == nil || len(m[2]) != texts.MaxSteps-len(m[1])-22 {
					t.Errorf("%s %s %v: the steps are not whole:\n%s", phone.Network(), lang, path, r.Text)
				}
			}
			// The screens before the steps, with names too long for them
			// and a refusal above them, fit too.
			for _, path := range [][]string{{"1", "3", "1023", "1", "12345678", "KCB123A"}, {"1", "3", "1023", "1", "12345678", "KCB123A", "x"},
				{"3", pending}, {"3", pending, "7"}, {"3", string(pay.partPaid)}, {"4", "1"}} {
				_, r, _ := driveAs(t, m, phone, lang, path...)
				checkScreen(t, fmt.Sprintf("%s %s %v", phone.Network(), lang, path), r)
			}
			_, r, _ := driveAs(t, m, phone, lang, "3", pending, "1")
			if want := how.For(phone, pay.invoices[huduma.InvoiceNumber(pending)], lang); !strings.Contains(r.Text, want) {
				t.Errorf("%s %s: %q lacks %q", phone.Network(), lang, r.Text, want)
			}
		}
	}
}

// TestServiceWithoutECitizenID: with NeedServiceID (the ecitizen billing
// backend), a service the catalog has no e-Citizen service ID for shows
// that it cannot be paid here yet and how to pay it instead, offers
// nothing to pay, and makes no invoice, even from a confirmation drawn
// before; a service with one, and every service with the flag off, pays
// as before.
func TestServiceWithoutECitizenID(t *testing.T) {
	cat := longCatalog()
	for i := range cat.services {
		if code := cat.services[i].Code; code != 42 && code != 2005 {
			cat.services[i].ECitizenServiceID = fmt.Sprintf("SVC%d", cat.services[i].Code)
		}
	}
	for _, lang := range []huduma.Language{huduma.English, huduma.Kiswahili} {
		pay := newFakePayments()
		on := New(cat, pay, Config{NeedServiceID: true})
		s, r, intents := driveAs(t, on, safaricomPhone, lang, "1", "3", "42")
		if !strings.Contains(r.Text, texts.NotPayableHere.T(lang)) || strings.Contains(r.Text, "1. ") || strings.Contains(r.Text, "2. ") || len(r.Text) > screenSeptets {
			t.Errorf("%s: the service screen:\n%s", lang, r.Text)
		}
		// A name and an agency far too long for the screen give way; the
		// note stays whole.
		_, r, _ = driveAs(t, on, safaricomPhone, lang, "1", "3", "2005")
		if !strings.Contains(r.Text, "\n"+texts.NotPayableHere.T(lang)+"\n0. ") || len(r.Text) > screenSeptets {
			t.Errorf("%s: a long service's screen:\n%s", lang, r.Text)
		}
		for _, in := range []string{"1", "2"} {
			s, r, intents = driveAs(t, on, safaricomPhone, lang, "1", "3", "42", in)
			if s.State != StateService || !strings.Contains(r.Text, texts.InvalidChoice.T(lang)) || len(intents) != 0 {
				t.Errorf("%s: %s on a service not payable here: %s %v\n%s", lang, in, s.State, intents, r.Text)
			}
		}
		// A confirmation shown before the catalog lost the ID.
		off := New(cat, pay, Config{})
		s, _, _ = driveAs(t, off, safaricomPhone, lang, "1", "3", "42", "1")
		if s.State != StateConfirm {
			t.Fatalf("%s: flag off: %s", lang, s.State)
		}
		r, _, err := on.Step(t.Context(), s, Env{Phone: safaricomPhone, Key: "k"}, "1")
		if err != nil || s.State != StateConfirm || !strings.Contains(r.Text, texts.NotPayableHere.T(lang)) {
			t.Errorf("%s: confirming a service not payable here: %v %s\n%s", lang, err, s.State, r.Text)
		}
		if pay.created != 0 {
			t.Fatalf("%s: %d invoices for a service not payable here", lang, pay.created)
		}
		// A service with an ID pays; with the flag off, any does.
		if s, _, _ := driveAs(t, on, safaricomPhone, lang, "1", "3", "1023", "1", "12345678", "KCB123A", "1"); s.State != StateDone || pay.created != 1 {
			t.Errorf("%s: a service with an ID: %s, %d invoices", lang, s.State, pay.created)
		}
		if s, r, _ := driveAs(t, off, safaricomPhone, lang, "1", "3", "42", "1", "1"); s.State != StateDone || pay.created != 2 || strings.Contains(r.Text, texts.NotPayableHere.T(lang)) {
			t.Errorf("%s: flag off: %s, %d invoices", lang, s.State, pay.created)
		}
	}
}

// TestPayByHandOnlyWhilePayable: an invoice paid since its screen was
// drawn is not given steps to pay it again from another network.
func TestPayByHandOnlyWhilePayable(t *testing.T) {
	pay := newFakePayments()
	m := New(longCatalog(), pay, Config{})
	pending := huduma.InvoiceNumber(pay.number(huduma.InvoicePending))
	s, _, _ := driveAs(t, m, safaricomPhone, huduma.English, "2", string(pending), "2")
	inv := pay.invoices[pending]
	inv.Status = huduma.InvoicePaid
	pay.invoices[pending] = inv
	r, _, err := m.Step(t.Context(), s, Env{Phone: safaricomPhone, Key: "k"}, "0733123456")
	if err != nil || s.State != StateOtherPhone || r.End || !strings.HasPrefix(r.Text, "PAID\n") {
		t.Fatalf("%v %s:\n%s", err, s.State, r.Text)
	}
}
