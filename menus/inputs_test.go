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
