package menus

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/gsm7"
	"github.com/huduma-ke/huduma/texts"
)

// screenSeptets is the USSD page: 182 GSM-7 characters after CON/END
// (160 octets). The tests hold screens to the number itself, not to
// huduma.MaxScreen, the constant the renderer is limited by: were it
// raised, screens would grow with it and still pass a test against it.
const screenSeptets = 182

// checkScreen fails when a screen breaks the USSD page rules.
func checkScreen(t *testing.T, where string, r huduma.Reply) {
	t.Helper()
	if n, ok := gsm7.Septets(r.Text); n > screenSeptets || !ok {
		t.Errorf("%s: screen of %d septets (GSM-7 %v):\n%s", where, n, ok, r.Text)
	}
	if r.Text == "" {
		t.Errorf("%s: empty screen", where)
	}
}

// drive runs inputs from a new session and returns the last reply.
func drive(t *testing.T, m *Machine, lang huduma.Language, inputs ...string) (*Session, huduma.Reply) {
	t.Helper()
	ctx := context.Background()
	s := &Session{Lang: lang}
	env := Env{Phone: "+254712345678", Key: "ussd:test:ATUid_test:+254712345678:1.0"}
	r, err := m.Start(ctx, s, env)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range inputs {
		if r, _, err = m.Step(ctx, s, env, in); err != nil {
			t.Fatalf("input %q: %v", in, err)
		}
	}
	return s, r
}

// TestEveryScreenFits renders every state, every page of every list and
// every refusal reason, in both languages, from a catalog whose names are
// far too long, and fails if any screen exceeds 182 characters or leaves
// GSM-7.
func TestEveryScreenFits(t *testing.T) {
	pay := newFakePayments()
	m := New(longCatalog(), pay, Config{ServiceCode: "*2222*99#"})
	paths := [][]string{
		{"1", "3", "1023", "1"}, {"1", "3", "1023", "1", "12345678"}, {"1", "3", "1023", "1", "12345678", "KCB123A"},
		{"1", "3", "1023", "1", "12345678", "KCB123A", "1"}, {"1", "3", "1023", "1", "12345678", "KCB123A", "2"},
		{"1", "3", "1023", "1", "12345678", "KCB123A", "2", "0733123456"}, {"1", "3", "1023", "1", "12345678", "KCB123A", "2", "0712345600"},
		{"1", "3", "42", "1"}, {"1", "3", "42", "2"}, {"2"}, {"3"}, {"4"}, {"4", "98"},
		{"3", pay.number(huduma.InvoicePaid)}, {"3", pay.number(huduma.InvoicePending)}, {"3", pay.number(huduma.InvoiceFailed)},
		{"3", pay.number(huduma.InvoiceCancelled)}, {"3", pay.number(huduma.InvoiceExpired)},
		{"3", pay.number(huduma.InvoicePaid), "1"}, {"2", pay.number(huduma.InvoicePending), "1"}, {"2", pay.number(huduma.InvoicePending), "2"},
		{"2", pay.number(huduma.InvoicePending), "2", "0733123456"}, {"4", "1"}, {"4", "2", "0"},
		{"5"}, {"5", "5550001112"}, {"5", "999"},
		{}, {"1"}, {"6"}, {"1", "1"}, {"1", "2"}, {"1", "3"},
		{"1", "1", "passport"}, {"1", "1", "pasipoti"}, {"1", "1", "passport", "1"},
		{"1", "2", "1"}, {"1", "2", "1", "2"}, {"1", "2", "98"}, {"1", "3", "42"}, {"1", "3", "1023"},
		{"6", "1"}, {"6", "2"},
	}
	for p := 0; p < 5; p++ { // page through a category and a result list
		more := slices.Repeat([]string{"98"}, p)
		paths = append(paths, append([]string{"1", "2", "1"}, more...), append([]string{"1", "1", "passport"}, more...))
	}
	refusals := []string{"x", "99", "98", "777777777", "a"}
	for _, lang := range []huduma.Language{huduma.English, huduma.Kiswahili} {
		for _, path := range paths {
			_, r := drive(t, m, lang, path...)
			where := string(lang) + " " + strings.Join(path, "*")
			checkScreen(t, where, r)
			for _, bad := range refusals {
				_, r := drive(t, m, lang, append(slices.Clone(path), bad)...)
				checkScreen(t, where+"*"+bad, r)
			}
		}
		for _, txt := range []texts.Text{texts.Busy, texts.LangSet, texts.NoMatch, texts.NoCode, texts.InvalidChoice} {
			if !gsm7.Valid(txt.T(lang)) || len(txt.T(lang)) > 90 {
				t.Errorf("text %q is not a short GSM-7 line", txt.T(lang))
			}
		}
	}
}

func TestJourneyTransitions(t *testing.T) {
	m := New(longCatalog(), nil, Config{})
	cases := []struct {
		name   string
		inputs []string
		state  string
		has    []string
	}{
		{"main menu", nil, StateMain, []string{"eCitizen *2222#", "1. Find a service", "6. Language/Lugha"}},
		{"find", []string{"1"}, StateFind, []string{"1. Search by name", "2. Browse by category", "3. Enter service code", "0. Back", "00. Home"}},
		{"bad main choice", []string{"9"}, StateMain, []string{"Invalid choice. Try again.", "1. Find a service"}},
		{"search prompt", []string{"1", "1"}, StateSearch, []string{"Enter a service name"}},
		{"search too short", []string{"1", "1", "p"}, StateSearch, []string{"at least 2 letters"}},
		{"search no match", []string{"1", "1", "zzzz"}, StateSearch, []string{"No service matches"}},
		{"search results", []string{"1", "1", "birth"}, StateSearchResults, []string{"Results for 'birth'", "1. Birth certificate"}},
		{"open result", []string{"1", "1", "birth", "1"}, StateService, []string{"Birth certificate", "Civil Registration Services", "Fee: KES 50", "Total: KES 55 (incl. KES 5 conv. fee)"}},
		{"back to results", []string{"1", "1", "birth", "1", "0"}, StateSearchResults, []string{"1. Birth certificate"}},
		{"back to prompt", []string{"1", "1", "birth", "0"}, StateSearch, nil},
		{"home from deep", []string{"1", "1", "birth", "1", "00"}, StateMain, []string{"1. Find a service"}},
		{"code", []string{"1", "3", "42"}, StateService, []string{"Birth certificate"}},
		{"code not digits", []string{"1", "3", "4a"}, StateCode, []string{"digits only"}},
		{"code unknown", []string{"1", "3", "777"}, StateCode, []string{"No service has code 777."}},
		{"code back", []string{"1", "3", "42", "0"}, StateCode, nil},
		{"categories", []string{"1", "2"}, StateCategories, []string{"Choose a category", "1. Category", "98. More"}},
		{"category page 2", []string{"1", "2", "98"}, StateCategories, []string{"1. Category"}},
		{"category page back", []string{"1", "2", "98", "0"}, StateCategories, nil},
		{"open category", []string{"1", "2", "1"}, StateCategoryServices, []string{"98. More"}},
		{"category service back", []string{"1", "2", "1", "1", "0"}, StateCategoryServices, nil},
		{"category to categories keeps page", []string{"1", "2", "98", "1", "0"}, StateCategories, nil},
		{"no more", []string{"1", "1", "birth", "98"}, StateSearchResults, []string{"There are no more items."}},
		{"language", []string{"6"}, StateLanguage, []string{"1. English", "2. Kiswahili"}},
		{"to kiswahili", []string{"6", "2"}, StateMain, []string{"Lugha imewekwa Kiswahili.", "1. Tafuta huduma"}},
		{"main has no back", []string{"0"}, StateMain, []string{"Invalid choice"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, r := drive(t, m, huduma.English, tc.inputs...)
			if s.State != tc.state || r.Screen != tc.state {
				t.Fatalf("state %q (screen %q), want %q\n%s", s.State, r.Screen, tc.state, r.Text)
			}
			for _, want := range tc.has {
				if !strings.Contains(r.Text, want) {
					t.Errorf("screen lacks %q:\n%s", want, r.Text)
				}
			}
			checkScreen(t, tc.name, r)
		})
	}
}

func TestCategoryPagingVisitsEveryServiceOnce(t *testing.T) {
	m := New(longCatalog(), nil, Config{})
	ctx := context.Background()
	s, r := drive(t, m, huduma.English, "1", "2", "2")
	seen := map[string]bool{}
	for page := 0; page < 30; page++ {
		for _, k := range s.Items {
			if seen[k] {
				t.Fatalf("service %s shown twice", k)
			}
			seen[k] = true
		}
		if !s.More {
			break
		}
		var err error
		if r, _, err = m.Step(ctx, s, Env{}, "98"); err != nil {
			t.Fatal(err)
		}
		checkScreen(t, "page", r)
	}
	if len(seen) != 23 {
		t.Fatalf("paged through %d services, want 23", len(seen))
	}
}

func TestLayout(t *testing.T) {
	items := make([]string, 9)
	for i := range items {
		items[i] = strings.Repeat("x", 40)
	}
	out := layout(page{header: []string{"Title"}, items: items, nav: true}, huduma.English)
	if out.shown == 0 || out.shown == 9 || !out.more {
		t.Fatalf("want a partial page with More, got shown=%d more=%v", out.shown, out.more)
	}
	if len(out.text) > screenSeptets {
		t.Fatalf("layout overflow: %d", len(out.text))
	}
	lines := strings.Split(out.text, "\n")
	for i := 1; i <= out.shown; i++ {
		if !strings.HasPrefix(lines[i], string(rune('0'+i))+". ") || !strings.HasSuffix(lines[i], "x") {
			t.Fatalf("item %d split or misnumbered: %q", i, lines[i])
		}
	}
	if !strings.Contains(out.text, "98. More\n0. Back") {
		t.Fatalf("missing More/Back footer:\n%s", out.text)
	}
	// A header longer than a screen is shortened, never overflowing.
	out = layout(page{header: []string{strings.Repeat("y", 400)}, options: []option{{"1", "Pay now"}}, nav: true}, huduma.English)
	if len(out.text) > screenSeptets || !strings.Contains(out.text, "...\n1. Pay now") {
		t.Fatalf("long header not shortened:\n%s", out.text)
	}
	if got := money(1234567); got != "1,234,567" {
		t.Fatalf("money = %q", got)
	}
}

func TestDiagramCoversEveryState(t *testing.T) {
	d, err := Diagram("mermaid")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range states {
		if !strings.Contains(d, s.name) {
			t.Errorf("diagram lacks state %s", s.name)
		}
	}
	if !strings.Contains(d, StateResume+" --> "+StateService+": "+continueTo(StateService)) {
		t.Errorf("diagram lacks resume's continue edges:\n%s", d)
	}
	if _, err := Diagram("png"); err == nil {
		t.Fatal("unknown format accepted")
	}
}

func TestPaymentScreens(t *testing.T) {
	pay := newFakePayments()
	m := New(longCatalog(), pay, Config{})
	cases := []struct {
		name   string
		inputs []string
		state  string
		has    []string
	}{
		{"main has payment items", nil, StateMain, []string{"2. Pay an invoice", "3. Check payment status", "4. My invoices", "5. Track application"}},
		{"service offers pay", []string{"1", "3", "42"}, StateService, []string{"1. Pay now", "2. SMS me details"}},
		{"no inputs goes to confirm", []string{"1", "3", "42", "1"}, StateConfirm, []string{"Total: KES 55", "Paying phone: 0712 345678", "1. Pay from this phone"}},
		{"first input", []string{"1", "3", "1023", "1"}, StateInput, []string{"Enter National identity card number"}},
		{"bad input re-prompts", []string{"1", "3", "1023", "1", "12ab"}, StateInput, []string{"is not valid", "Enter National identity"}},
		{"second input", []string{"1", "3", "1023", "1", "12345678"}, StateInput, []string{"Enter Vehicle registration"}},
		{"back to first input", []string{"1", "3", "1023", "1", "12345678", "0"}, StateInput, []string{"Enter National identity"}},
		{"confirm", []string{"1", "3", "1023", "1", "12345678", "kcb 123a"}, StateConfirm, []string{"2. Pay from another number"}},
		{"pay here ends", []string{"1", "3", "42", "1", "1"}, StateDone, []string{"Invoice 1234567890", "Check your phone for the M-Pesa prompt"}},
		{"other number bad", []string{"1", "3", "42", "1", "2", "12"}, StateOtherPhone, []string{"not a valid Kenyan mobile"}},
		{"other airtel gets its steps", []string{"1", "3", "42", "1", "2", "0733123456"}, StateDone, []string{"Airtel Money: *334#", "ref 1234567890 > KES 4,600"}},
		{"bad invoice number", []string{"3", "1234567891"}, StateInvoiceNumber, []string{"That invoice number is not valid."}},
		{"unknown invoice", []string{"3", "123456789" + string(huduma.DammDigit("123456789"))}, StateInvoiceNumber, []string{"No invoice has that number."}},
		{"paid status", []string{"3", pay.number(huduma.InvoicePaid)}, StateInvoice, []string{"PAID 22/11/2026, M-Pesa NLJ7RT61SV", "1. SMS me the receipt"}},
		{"pending offers resend", []string{"3", pay.number(huduma.InvoicePending)}, StateInvoice, []string{"PENDING", "1. Resend the M-Pesa prompt"}},
		{"part paid shows the balance", []string{"3", string(pay.partPaid)}, StateInvoice, []string{"KES 4,600", "KES 300 of 4,600 received, KES 4,300 to pay", "1. Resend"}},
		{"prompt asks for the balance", []string{"2", string(pay.partPaid), "1"}, StateDone, []string{"to pay KES 4,300 for invoice"}},
		{"failed in words", []string{"3", pay.number(huduma.InvoiceFailed)}, StateInvoice, []string{"FAILED: Wrong M-Pesa PIN"}},
		{"expired", []string{"3", pay.number(huduma.InvoiceExpired)}, StateInvoice, []string{"EXPIRED"}},
		{"resend prompt", []string{"2", pay.number(huduma.InvoicePending), "1"}, StateDone, []string{"Check your phone for the M-Pesa prompt to pay KES 123,456"}},
		{"paid never pushed", []string{"3", pay.number(huduma.InvoicePaid), "2"}, StateInvoice, []string{"Invalid choice"}},
		{"receipt by sms", []string{"3", pay.number(huduma.InvoicePaid), "1"}, StateDone, []string{"receipt to you by SMS"}},
		{"my invoices newest first, each named", []string{"4"}, StateMyInvoices, []string{"1. Passport service with an..., " + pay.number(huduma.InvoiceExpired) + " EXPIRED"}},
		{"open from list and back", []string{"4", "1", "0"}, StateMyInvoices, []string{"My invoices"}},
		{"track application", []string{"5", "5550001112"}, StateApplication, []string{"Application 5550001112", "READY FOR COLLECTION since 21/11/2026", "Collect at"}},
		{"track by the invoice paid", []string{"5", pay.number(huduma.InvoicePaid)}, StateApplication, []string{"Application 5550001112", "READY FOR COLLECTION"}},
		{"paid status names the application", []string{"3", pay.number(huduma.InvoicePaid)}, StateInvoice, []string{"PAID 22/11/2026", "Application 5550001112", "1. SMS me the receipt"}},
		{"unknown application", []string{"5", "42"}, StateTrackNumber, []string{"No application has that number."}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, r := drive(t, m, huduma.English, tc.inputs...)
			if s.State != tc.state {
				t.Fatalf("state %q, want %q\n%s", s.State, tc.state, r.Text)
			}
			if (tc.state == StateDone) != r.End {
				t.Fatalf("End = %v in state %s", r.End, s.State)
			}
			for _, want := range tc.has {
				if !strings.Contains(r.Text, want) {
					t.Errorf("screen lacks %q:\n%s", want, r.Text)
				}
			}
		})
	}
}

// TestStepsAskForEffects: a step does not send or remember anything; it
// returns intents, each with a key derived from the hop.
func TestStepsAskForEffects(t *testing.T) {
	pay := newFakePayments()
	m := New(longCatalog(), pay, Config{})
	ctx := context.Background()
	env := Env{Phone: "+254712345678", Key: "ussd:test:S1:+254712345678:7.0"}
	cases := []struct {
		path []string
		want Intent
	}{
		{[]string{"1", "3", "42", "2"}, Intent{Kind: IntentServiceDetails, Service: 42, Lang: huduma.English, Key: env.Key + ":details"}},
		{[]string{"3", pay.number(huduma.InvoicePaid), "1"}, Intent{Kind: IntentReceipt, Invoice: huduma.InvoiceNumber(pay.number(huduma.InvoicePaid)), Key: env.Key + ":receipt"}},
		{[]string{"6", "2"}, Intent{Kind: IntentLanguage, Lang: huduma.Kiswahili, Key: env.Key + ":language"}},
	}
	for _, tc := range cases {
		s := &Session{Lang: huduma.English}
		if _, err := m.Start(ctx, s, env); err != nil {
			t.Fatal(err)
		}
		var intents []Intent
		for i, in := range tc.path {
			_, got, err := m.Step(ctx, s, env, in)
			if err != nil {
				t.Fatal(err)
			}
			if i < len(tc.path)-1 && len(got) > 0 {
				t.Fatalf("%v: input %d asked for %v", tc.path, i, got)
			}
			intents = got
		}
		if len(intents) != 1 || intents[0] != tc.want {
			t.Errorf("%v: intents %+v, want %+v", tc.path, intents, tc.want)
		}
	}
	if pay.pushes != 0 {
		t.Fatal("a step pushed a prompt it was not asked for")
	}
}

// TestResumeIsAState: the offer is a screen of the machine; continue
// restores the exact session and screen, start again the main menu.
func TestResumeIsAState(t *testing.T) {
	m := New(longCatalog(), newFakePayments(), Config{})
	ctx := context.Background()
	left, screen := drive(t, m, huduma.English, "1", "3", "1023", "1", "12345678")
	snap := Snapshot{Menu: *left, Reply: screen.Text, Screen: screen.Screen}
	offer := func() *Session {
		s := &Session{Lang: huduma.Kiswahili}
		r, err := m.Offer(ctx, s, Env{}, snap)
		if err != nil || r.Screen != StateResume || !strings.Contains(r.Text, "1. Endelea ulipoachia") {
			t.Fatalf("offer: %+v %v", r, err)
		}
		return s
	}
	s := offer()
	r, _, err := m.Step(ctx, s, Env{}, "3")
	if err != nil || s.State != StateResume || !strings.Contains(r.Text, "chagua 1 au 2") {
		t.Fatalf("bad answer: %q %v", r.Text, err)
	}
	r, _, err = m.Step(ctx, s, Env{}, "1")
	if err != nil || r.Text != screen.Text || s.State != StateInput || s.Values["id"] != "12345678" || s.Lang != huduma.Kiswahili {
		t.Fatalf("continue: state %s values %v lang %s, screen %q (%v)", s.State, s.Values, s.Lang, r.Text, err)
	}
	s = offer()
	if r, _, err = m.Step(ctx, s, Env{}, "2"); err != nil || s.State != StateMain || s.Resume != nil || !strings.Contains(r.Text, "Tafuta huduma") {
		t.Fatalf("start again: %s %q %v", s.State, r.Text, err)
	}
}
