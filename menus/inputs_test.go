package menus

import (
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
)

// TestInputsAreCheckedForMeaning: the Pay now screens check each value
// with the catalog's validator against the machine's clock, and a refused
// one re-shows the same prompt with what to type, in the caller's language.
func TestInputsAreCheckedForMeaning(t *testing.T) {
	f := &fakeCatalog{services: []huduma.Service{{Code: 77, NameEN: "Passport", NameSW: "Pasipoti", AgencyCode: "DIS", CategoryCode: "c", Active: true, Fee: 4550,
		Inputs: []huduma.Input{
			{Key: "id", LabelEN: "ID number", LabelSW: "Nambari ya kitambulisho", Kind: huduma.KindIDNumber},
			{Key: "dob", LabelEN: "Date of birth DDMMYYYY", LabelSW: "Tarehe ya kuzaliwa DDMMYYYY", Kind: huduma.KindDate},
			{Key: "plate", LabelEN: "Vehicle registration", LabelSW: "Nambari ya gari", Kind: huduma.KindVehicle},
			{Key: "next", LabelEN: "Next of kin phone", LabelSW: "Simu ya jamaa", Kind: huduma.KindPhone},
		}}}}
	today := time.Date(2026, 6, 15, 9, 0, 0, 0, huduma.EAT)
	m := New(f, newFakePayments(), Config{Now: func() time.Time { return today }})
	open := []string{"1", "3", "77", "1"}
	cases := []struct {
		lang   huduma.Language
		inputs []string
		state  string
		has    string
	}{
		{huduma.English, []string{"123456"}, StateInput, "ID number is not valid. Use the 7 or 8 digits on your ID card."},
		{huduma.English, []string{"12345678", "31021990"}, StateInput, "Date of birth DDMMYYYY is not valid. Use a real date as DDMMYYYY, e.g. 01011990."},
		{huduma.English, []string{"12345678", "12345678"}, StateInput, "Use a real date as DDMMYYYY"},
		{huduma.English, []string{"12345678", "16062026"}, StateInput, "The date cannot be in the future."},
		{huduma.English, []string{"12345678", "15062026", "KDA 000B"}, StateInput, "Use a number plate like KDA 001B."},
		{huduma.English, []string{"12345678", "15062026", "kda 001b", "0202345678"}, StateInput, "Use a Kenyan mobile number, e.g. 0712345678."},
		{huduma.English, []string{"12345678", "15062026", "kda 001b", "0712 345 678"}, StateConfirm, "Total: KES 4,600"},
		{huduma.Kiswahili, []string{"12345678", "29021990"}, StateInput, "Tarehe ya kuzaliwa DDMMYYYY si sahihi. Tumia tarehe halisi kama DDMMYYYY"},
	}
	for _, c := range cases {
		s, r := drive(t, m, c.lang, append(open, c.inputs...)...)
		if s.State != c.state || !strings.Contains(r.Text, c.has) {
			t.Errorf("%s %v: state %s, screen\n%s\nwant %s with %q", c.lang, c.inputs, s.State, r.Text, c.state, c.has)
		}
		checkScreen(t, strings.Join(c.inputs, "*"), r)
		if c.state == StateConfirm && (s.Values["dob"] != "15062026" || s.Values["plate"] != "KDA001B" || s.Values["next"] != "+254712345678") {
			t.Errorf("values kept: %v", s.Values)
		}
	}
}

// TestTrackingInKiswahili: the Track screen and a paid invoice's screen
// name the service in the caller's language (the catalog's name, not the
// one the record kept) and the application to track; a service the
// catalog no longer has keeps the name its record kept.
func TestTrackingInKiswahili(t *testing.T) {
	pay := newFakePayments()
	paid := pay.invoices[huduma.InvoiceNumber(pay.number(huduma.InvoicePaid))]
	paid.ServiceCode = 1001
	pay.invoices[paid.Number] = paid
	m := New(longCatalog(), pay, Config{})
	for _, c := range []struct {
		inputs []string
		has    []string
	}{
		{[]string{"5", "5550001112"}, []string{"Ombi 5550001112", "Huduma ya pasipoti 1-1", "TAYARI KUCHUKULIWA tangu 21/11/2026"}},
		{[]string{"5", string(paid.Number)}, []string{"Ombi 5550001112", "Huduma ya pasipoti 1-1"}},
		{[]string{"3", string(paid.Number)}, []string{"Huduma ya pasipoti 1-1", "IMELIPWA 22/11/2026", "Ombi 5550001112"}},
		{[]string{"5"}, []string{"Weka nambari ya ombi, au ya ankara uliyolipa"}},
	} {
		_, r := drive(t, m, huduma.Kiswahili, c.inputs...)
		for _, want := range c.has {
			if !strings.Contains(r.Text, want) {
				t.Errorf("%v: screen lacks %q:\n%s", c.inputs, want, r.Text)
			}
		}
		checkScreen(t, strings.Join(c.inputs, "*"), r)
	}
	// Withdrawn from the catalog: the name the invoice kept.
	paid.ServiceCode = 99999
	pay.invoices[paid.Number] = paid
	if _, r := drive(t, m, huduma.Kiswahili, "3", string(paid.Number)); !strings.Contains(r.Text, "Passport service with an exceptionally") {
		t.Errorf("a withdrawn service lost its name:\n%s", r.Text)
	}
}
