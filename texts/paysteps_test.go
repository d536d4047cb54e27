package texts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/gsm7"
)

// Phones of each network the steps are told to.
var (
	safaricomPhone = huduma.MSISDN("+254712345678")
	airtelPhone    = huduma.MSISDN("+254733123456")
	equitelPhone   = huduma.MSISDN("+254763123456")
	telkomPhone    = huduma.MSISDN("+254771123456")
	otherPhone     = huduma.MSISDN("+254747123456")
)

// TestDefaultPayStepsParse: the embedded table has every network in both
// languages, each row the steps of its own rail, within MaxSteps however
// long the values.
func TestDefaultPayStepsParse(t *testing.T) {
	tb := DefaultPaySteps()
	inv := huduma.Invoice{Number: "1234567890", Total: 4600}
	how := HowToPay{Paybill: "222222", Steps: tb}
	want := map[huduma.MSISDN][2]string{
		safaricomPhone: {"Pay by M-Pesa: Lipa na M-Pesa > Pay Bill > 222222 > account 1234567890 > KES 4,600 > PIN.",
			"Lipa kwa M-Pesa: Lipa na M-Pesa > Pay Bill > 222222 > akaunti 1234567890 > KES 4,600 > PIN."},
		airtelPhone: {"Airtel Money: *334# > Paybill & Till > Airtel Paybill > Government > e-Citizen > ref 1234567890 > KES 4,600 > PIN.",
			"Airtel Money: *334# > Paybill & Till > Airtel Paybill > Government > e-Citizen > ref 1234567890 > KES 4,600 > PIN."},
		equitelPhone: {"Equitel: My Money or *247# > Paybill > business no. 222222 > ", "Equitel: My Money au *247# > Paybill > "},
		telkomPhone:  {"T-Kash, or your bank: Pay Bill > e-Citizen, business no. 222222", "T-Kash, au benki yako: Pay Bill > e-Citizen"},
		otherPhone:   {"your wallet or bank: Pay Bill > e-Citizen, business no. 222222", "pochi au benki yako: Pay Bill > e-Citizen"},
	}
	seen := map[string]bool{}
	for phone, w := range want {
		for i, lang := range []huduma.Language{huduma.English, huduma.Kiswahili} {
			got := how.For(phone, inv, lang)
			if !strings.Contains(got, w[i]) || !strings.Contains(got, "1234567890") || !strings.Contains(got, "KES 4,600") {
				t.Errorf("%s %s: %q, want it to contain %q, the account and the amount", phone.Network(), lang, got, w[i])
			}
			if seen[string(lang)+got] {
				t.Errorf("%s %s: the same steps as another network's: %q", phone.Network(), lang, got)
			}
			seen[string(lang)+got] = true
		}
	}
	for _, n := range StepsNetworks {
		for _, lang := range stepsLanguages {
			row := tb.rows[stepsKey{n, lang}]
			if filled := stepsWorst.Replace(row); len(filled) > MaxSteps || !gsm7.Valid(filled) {
				t.Errorf("%s %s: %d characters filled in", n, lang, len(filled))
			}
		}
	}
	if (HowToPay{Paybill: "222222"}).For(airtelPhone, inv, huduma.English) != how.For(airtelPhone, inv, huduma.English) {
		t.Error("a HowToPay without a table does not use the default one")
	}
}

// TestHowToPayQuotesWhatIsDue: the steps quote the account (e-Citizen's
// bill number once the invoice has one) and what is still due.
func TestHowToPayQuotesWhatIsDue(t *testing.T) {
	how := HowToPay{Paybill: "222222"}
	inv := huduma.Invoice{Number: "1234567890", Total: 4600, Received: 300}
	if got := how.For(safaricomPhone, inv, huduma.English); !strings.Contains(got, "account 1234567890 > KES 4,300 > PIN") {
		t.Errorf("part paid: %q", got)
	}
	inv.Bill = "EC8XK2QW"
	if got := how.For(airtelPhone, inv, huduma.Kiswahili); !strings.Contains(got, "ref EC8XK2QW > KES 4,300 > PIN") || strings.Contains(got, "1234567890") {
		t.Errorf("billed: %q", got)
	}
}

const stepsHeader = "network,language,steps\n"

// goodRows is a whole table, to break one row of at a time.
func goodRows() []string {
	var rows []string
	for _, n := range StepsNetworks {
		for _, lang := range stepsLanguages {
			rows = append(rows, string(n)+","+string(lang)+",Pay {amount} to {paybill} as {account} ("+string(n)+" "+string(lang)+").")
		}
	}
	return rows
}

// TestParsePayStepsRejects: a table a deployment writes is refused, with
// the line and the row named, when a payer could not follow it.
func TestParsePayStepsRejects(t *testing.T) {
	with := func(line int, row string) string {
		rows := goodRows()
		rows[line-2] = row
		return stepsHeader + strings.Join(rows, "\n") + "\n"
	}
	cases := []struct{ label, body, want string }{
		{"bad header", "net,lang,text\n", `header is "net,lang,text"`},
		{"unknown network", with(3, "orange,en,Pay {amount} as {account}."), `line 3 (orange, en): unknown network "orange"`},
		{"unknown language", with(4, "airtel,fr,Payez {amount} {account}."), `line 4 (airtel, fr): unknown language`},
		{"no account", with(2, "safaricom,en,Pay KES {amount} to {paybill}."), "line 2 (safaricom, en): the steps do not name {account}"},
		{"no amount", with(5, "equitel,sw,Lipa {paybill} akaunti {account}."), "line 5 (equitel, sw): the steps do not name {amount}"},
		{"misspelt placeholder", with(6, "equitel,en,Pay {amount} as {acount}."), "line 6 (equitel, en): {acount} is not a placeholder"},
		{"open brace", with(2, "safaricom,en,Pay {amount as {account}."), "line 2 (safaricom, en): {amount as {account} is not a placeholder"},
		{"unclosed", with(2, "safaricom,en,Pay {amount} as {account"), "a { with no }"},
		{"stray close", with(2, "safaricom,en,Pay {amount} } {account}"), "a } with no {"},
		{"empty", with(7, "telkom,en,  "), "line 7 (telkom, en): the steps are empty"},
		{"not GSM-7", with(3, "safaricom,sw,Lipa {amount} – akaunti {account}."), "line 3 (safaricom, sw): '–' is not a character"},
		{"two lines", with(3, "safaricom,sw,\"Lipa {amount}\nakaunti {account}.\""), "line 3 (safaricom, sw): '\\n' is not a character"},
		{"too long", with(9, "telkom,sw,"+strings.Repeat("Lipa ", 23)+"{amount} {account}"), "line 9 (telkom, sw): the steps take 135 characters"},
		{"duplicate", stepsHeader + strings.Join(append(goodRows(), goodRows()[0]), "\n"), "line 12 (safaricom, en): a second row"},
		{"missing rows", stepsHeader + strings.Join(goodRows()[:8], "\n"), "no row for other en, other sw"},
		{"short row", stepsHeader + "safaricom,en\n", "line 2: want 3 columns"},
		{"unquoted comma", stepsHeader + "safaricom,en,Pay {amount}, account {account}\n", "line 2: want 3 columns (network,language,steps); put steps that hold a comma in double quotes"},
	}
	for _, tc := range cases {
		_, err := ParsePaySteps(strings.NewReader(tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want containing %q", tc.label, err, tc.want)
		}
	}
	// One word fewer than the too-long row is MaxSteps exactly.
	if _, err := ParsePaySteps(strings.NewReader(with(9, "telkom,sw,"+strings.Repeat("Lipa ", 22)+"{amount} {account}"))); err != nil {
		t.Errorf("a row of MaxSteps characters: %v", err)
	}
}

// TestLoadPaySteps: a deployment's file replaces the table, and a bad one
// is refused naming the file.
func TestLoadPaySteps(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "steps.csv")
	rows := goodRows()
	rows[2] = "airtel,en,Airtel Money: *334# > Lipa > Pay Bill > {paybill} > acc {account} > KES {amount}."
	if err := os.WriteFile(good, []byte("\ufeff"+stepsHeader+strings.Join(rows, "\r\n")+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tb, err := LoadPaySteps(good)
	if err != nil {
		t.Fatal(err)
	}
	got := HowToPay{Paybill: "222222", Steps: tb}.For(airtelPhone, huduma.Invoice{Number: "1234567890", Total: 55}, huduma.English)
	if got != "Airtel Money: *334# > Lipa > Pay Bill > 222222 > acc 1234567890 > KES 55." {
		t.Fatalf("steps from the file: %q", got)
	}
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte(stepsHeader+"airtel,en,Pay {amount}\n"), 0o600)
	if _, err := LoadPaySteps(bad); err == nil || !strings.Contains(err.Error(), bad+": pay steps line 2 (airtel, en)") {
		t.Fatalf("bad file: %v", err)
	}
	if _, err := LoadPaySteps(filepath.Join(dir, "none.csv")); err == nil {
		t.Fatal("a missing file was accepted")
	}
}

// TestPayTextsFollowTheNetwork: every text that tells how to pay gives
// the steps of the network of the phone it goes to, in both languages,
// within two SMS parts, and a Safaricom payer's invoice, balance and
// status texts in one.
func TestPayTextsFollowTheNetwork(t *testing.T) {
	how := HowToPay{Paybill: "222222"}
	for _, phone := range []huduma.MSISDN{safaricomPhone, airtelPhone, equitelPhone, telkomPhone, otherPhone} {
		for _, lang := range []huduma.Language{huduma.English, huduma.Kiswahili} {
			inv := huduma.Invoice{Number: "1234567890", ServiceName: "Ordinary passport 34 pages", Phone: phone, Total: 4600,
				Status: huduma.InvoicePending, Language: lang}
			part := inv
			part.Received = 300
			failed := inv
			failed.Status, failed.Reason = huduma.InvoiceFailed, "1"
			one := phone.CanPrompt()
			cases := []struct {
				name  string
				text  string
				steps string
				one   bool
			}{
				{"invoice", InvoiceSMS(inv, how), how.For(phone, inv, lang), one},
				{"partial", PartialSMS(part, phone, how), how.For(phone, part, lang), one},
				{"status pending", InvoiceStatusSMS(inv, lang, phone, how), how.For(phone, inv, lang), one},
				{"status part paid", InvoiceStatusSMS(part, lang, phone, how), how.For(phone, part, lang), one},
				{"status failed", InvoiceStatusSMS(failed, lang, phone, how), how.For(phone, failed, lang), false},
				{"public pending", PublicStatusSMS(inv, lang, phone, how), how.For(phone, inv, lang), one},
				{"public failed", PublicStatusSMS(failed, lang, phone, how), how.For(phone, failed, lang), one},
				{"public part paid", PublicStatusSMS(part, lang, phone, how), how.For(phone, part, lang), one},
				{"prompt unsent", PromptUnsentSMS(part, phone, how, "*2222#"), how.For(phone, part, lang), false},
			}
			for _, tc := range cases {
				where := string(phone.Network()) + " " + string(lang) + " " + tc.name
				if !strings.Contains(tc.text, tc.steps) || !strings.Contains(tc.text, "1234567890") {
					t.Errorf("%s: %q lacks the invoice or the steps %q", where, tc.text, tc.steps)
				}
				if parts := gsm7.SMSParts(tc.text); !gsm7.Valid(tc.text) || parts > 2 || tc.one && parts != 1 {
					t.Errorf("%s: %d parts: %q", where, parts, tc.text)
				}
			}
			// The service's name gives way only to make one part of two.
			if s := InvoiceSMS(inv, how); !strings.Contains(s, "Ordinary passport 34 pages") && gsm7.SMSParts(s) != 1 {
				t.Errorf("%s %s: the invoice SMS cut the service's name and still takes two parts: %q", phone.Network(), lang, s)
			}
		}
	}
}

// TestDoneStepsFits: the END of an order without a prompt keeps the
// invoice, the total and the longest steps a table may hold whole on one
// USSD page, and says the invoice went by SMS when there is room.
func TestDoneStepsFits(t *testing.T) {
	longest := strings.Repeat("x", MaxSteps)
	for _, lang := range []huduma.Language{huduma.English, huduma.Kiswahili} {
		inv := huduma.Invoice{Number: "1234567890", Total: 250050}
		if got := DoneSteps(inv, longest, lang); len(got) > 182 || !strings.HasSuffix(got, "\n"+longest) {
			t.Errorf("%s: %d characters: %q", lang, len(got), got)
		}
		short := DoneSteps(inv, "Pay by M-Pesa.", lang)
		if !strings.HasSuffix(short, doneStepsSMS.T(lang)) || !strings.HasPrefix(short, doneSteps.F(lang, "1234567890", "250,050", "Pay by M-Pesa.")) {
			t.Errorf("%s: %q", lang, short)
		}
		if got := PayStepsDone.F(lang, inv.Number, longest); len(got) > 182 {
			t.Errorf("%s: the steps END takes %d characters", lang, len(got))
		}
	}
}
