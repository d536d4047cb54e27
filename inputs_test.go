package huduma

import (
	"strings"
	"testing"
	"time"
)

// inputsToday is the clock of the input tests: 15 June 2026, 00:30 in
// Nairobi, which is still 14 June in UTC.
var inputsToday = time.Date(2026, 6, 14, 21, 30, 0, 0, time.UTC)

// TestInputKinds holds each kind to what it means, one table per kind:
// the values keypads and phones produce, cleaned, and the values that look
// right but mean nothing, refused for a stated reason.
func TestInputKinds(t *testing.T) {
	type tc struct {
		value, want string
		problem     InputProblem
	}
	kinds := []struct {
		in    Input
		cases []tc
	}{
		{Input{Key: "id", LabelEN: "ID number", Kind: KindIDNumber}, []tc{
			{"12345678", "12345678", ""},
			{" 1234 5678 ", "12345678", ""},
			{"1234567", "1234567", ""},
			{"123456", "", InputNotID},    // too short for a card number
			{"123456789", "", InputNotID}, // too long
			{"01234567", "", InputNotID},  // serials have no leading zero
			{"0000000", "", InputNotID},
			{"12a45678", "", InputNotID},
			{"", "", InputNotID},
		}},
		{Input{Key: "p", LabelEN: "Vehicle registration", Kind: KindVehicle}, []tc{
			{"kcb 123a", "KCB123A", ""},
			{"KDA 001B", "KDA001B", ""},
			{"KAA123", "KAA123", ""}, // the oldest plates, no letter
			{"kmda 123b", "KMDA123B", ""},
			{"GK 123A", "GK123A", ""},
			{"GKA 456B", "GKA456B", ""},
			{"ZD 1234", "ZD1234", ""},
			{"17 CD 22K", "17CD22K", ""},
			{"UN 123K", "UN123K", ""},
			{"KDA 000B", "", InputNotPlate}, // serial 000 is never issued
			{"KDA 1234", "", InputNotPlate},
			{"KD 123A", "", InputNotPlate},
			{"XYZ", "", InputNotPlate},
			{"123ABC", "", InputNotPlate},
			{"KMDA 123", "", InputNotPlate}, // motorcycles carry the letter
			{"ZD 0000", "", InputNotPlate},
			{"UN 0", "", InputNotPlate},
		}},
		{Input{Key: "dob", LabelEN: "Date of birth DDMMYYYY", Kind: KindDate}, []tc{
			{"01011990", "01011990", ""},
			{"01 01 1990", "01011990", ""},
			{"29022000", "29022000", ""}, // a leap day
			{"15062026", "15062026", ""}, // today in Nairobi (the clock is still 14 June in UTC)
			{"31021990", "", InputNotDate},
			{"29021990", "", InputNotDate}, // not a leap year
			{"12345678", "", InputNotDate}, // month 34
			{"00011990", "", InputNotDate},
			{"1/1/1990", "", InputNotDate},
			{"0101199", "", InputNotDate},
			{"16062026", "", InputFuture}, // tomorrow in Nairobi
			{"01012090", "", InputFuture},
			{"15061906", "", ""}, // exactly 120 years
			{"14061906", "", InputTooOld},
			{"01011800", "", InputTooOld},
		}},
		{Input{Key: "ph", LabelEN: "Phone", Kind: KindPhone}, []tc{
			{"0712 345 678", "+254712345678", ""},
			{"+254733123456", "+254733123456", ""},
			{"254112345678", "+254112345678", ""},
			{"0202345678", "", InputNotMobile}, // a Nairobi landline
			{"+255712345678", "", InputNotMobile},
			{"07123", "", InputNotMobile},
		}},
		{Input{Key: "n", LabelEN: "Birth entry number", Kind: KindNumber}, []tc{
			{"12 345", "12345", ""},
			{"12a", "", InputMalformed},
		}},
		{Input{Key: "k", LabelEN: "KRA PIN", Kind: KindText, Pattern: `^[AP][0-9]{9}[A-Z]$`}, []tc{
			{"A123456789B", "A123456789B", ""},
			{"B123456789B", "", InputMalformed},
		}},
		{Input{Key: "t", LabelEN: "Name", Kind: KindText}, []tc{
			{"Jane's shop", "Jane's shop", ""},
			{"\xff", "", InputMalformed},
		}},
		// A pattern narrows a kind: a plate of the national series only.
		{Input{Key: "p", LabelEN: "Plate", Kind: KindVehicle, Pattern: `^K`}, []tc{
			{"KDA 001B", "KDA001B", ""},
			{"GK 123A", "", InputMalformed},
			{"KDA 000B", "", InputNotPlate},
		}},
	}
	for _, k := range kinds {
		for _, c := range k.cases {
			got, err := k.in.Normalize(c.value, inputsToday)
			if c.want == "" && c.problem == "" {
				c.want = c.value // accepted as typed
			}
			if got != c.want || InputProblemOf(err) != c.problem {
				t.Errorf("%s: Normalize(%q) = %q, %v; want %q, problem %q", k.in.Kind, c.value, got, err, c.want, c.problem)
			}
			if err != nil && (ErrorCode(err) != EInvalid || !strings.HasPrefix(ErrorMessage(err), k.in.LabelEN+" ")) {
				t.Errorf("%s: %q refused with %v, want an invalid error naming the input", k.in.Kind, c.value, err)
			}
		}
	}
	if p := InputProblemOf(Errorf(ENotFound, "x")); p != "" {
		t.Errorf("a not-found error is a refusal: %q", p)
	}
}
