package huduma

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// What each input kind accepts, as typed on a keypad or in an SMS. The
// rules check what a value means, not only its characters; they are
// written from public descriptions of Kenyan documents, not from an
// official specification, so each states what it assumes:
//
//   - id_number: a national ID card number, 7 or 8 digits not starting
//     with 0 (the serial numbers printed on the cards; spaces are
//     dropped). Passports, Maisha Namba and other identifiers are
//     declared as text or number inputs with their own pattern.
//   - vehicle_reg: a Kenyan plate, spaces dropped and upper-cased, one of
//     KAA 123A (the national series: K, two letters, three digits not
//     000, and a letter, which the oldest plates lack), KMDA 123B
//     (motorcycles), GK 123A or GKA 123B (government, the letters
//     optional), ZD 1234 (trailers), 17 CD 22K (diplomatic: mission,
//     CD, number, optional K) and UN 123K (UN agencies).
//   - date: DDMMYYYY, a real calendar date (no 31 February), not after
//     today and at most MaxDateAge before it, in East Africa Time. The
//     catalog's dates are dates of birth and of past events.
//   - phone: a Kenyan mobile number written any usual way, kept in E.164
//     (+254…), the same rule as every phone number Huduma reads.
//   - number: digits, 1 to 20; text: up to 40 letters, digits, spaces and
//     . , ' / -.
//
// A pattern declared in the catalog must match as well: it narrows a kind,
// never widens it.

// MaxDateAge is how far back a date input may go: no one alive was born
// earlier.
const MaxDateAge = 120

// InputProblem says why a typed value was refused, so each channel can
// tell the person, in their language, what to type instead.
type InputProblem string

// The reasons a value is refused.
const (
	// InputMalformed: not what the input takes (the catch-all, and the
	// reason for text, number and pattern refusals).
	InputMalformed InputProblem = "malformed"
	InputNotID     InputProblem = "not_id_number"
	InputNotPlate  InputProblem = "not_vehicle_reg"
	InputNotDate   InputProblem = "not_date"
	InputFuture    InputProblem = "future_date"
	InputTooOld    InputProblem = "too_old"
	InputNotMobile InputProblem = "not_mobile"
)

// InputError is a typed value an input refused. It unwraps to an EInvalid
// *Error whose message (English) names the input and the rule, for the API.
type InputError struct {
	Problem InputProblem
	err     *Error
}

func (e *InputError) Error() string { return e.err.Error() }

// Unwrap makes ErrorCode and ErrorMessage see the EInvalid error.
func (e *InputError) Unwrap() error { return e.err }

// InputProblemOf returns why err refused a value (InputMalformed for an
// EInvalid error that does not say), or "" when err is not a refusal.
func InputProblemOf(err error) InputProblem {
	var ie *InputError
	if errors.As(err, &ie) {
		return ie.Problem
	}
	if ErrorCode(err) == EInvalid {
		return InputMalformed
	}
	return ""
}

// ruleText is the English rule each problem's message gives.
var ruleText = map[InputProblem]string{
	InputMalformed: "is not valid",
	InputNotID:     "must be a national ID number of 7 or 8 digits",
	InputNotPlate:  "must be a Kenyan registration like KDA 001B",
	InputNotDate:   "must be a real date written DDMMYYYY, e.g. 01011990",
	InputFuture:    "cannot be in the future",
	InputTooOld:    "cannot be more than " + strconv.Itoa(MaxDateAge) + " years ago",
	InputNotMobile: "must be a Kenyan mobile number, e.g. 0712345678",
}

func (in Input) refuse(p InputProblem) error {
	return &InputError{Problem: p, err: Errorf(EInvalid, "%s %s", in.LabelEN, ruleText[p])}
}

// Normalize cleans a typed value the way keypads and phones produce it
// (spaces dropped from numbers, plates upper-cased, phones in E.164) and
// checks that it means what its kind says (see above), and matches the
// input's pattern if it declares one. now is the caller's clock: a date
// must not be after its day. Every channel (the USSD screens, the SMS
// INVOICE keyword, the agency API) checks inputs here, so a value one
// accepts the others accept too. A refusal is an *InputError.
func (in Input) Normalize(v string, now time.Time) (string, error) {
	v = strings.TrimSpace(v)
	switch in.Kind {
	case KindVehicle:
		v = strings.ToUpper(strings.ReplaceAll(v, " ", ""))
	case KindIDNumber, KindNumber, KindDate:
		v = strings.ReplaceAll(v, " ", "")
	}
	if !utf8.ValidString(v) || len(v) > 64 {
		return "", Errorf(EInvalid, "%s is too long", in.LabelEN)
	}
	var p InputProblem
	switch in.Kind {
	case KindIDNumber:
		if !nationalID(v) {
			p = InputNotID
		}
	case KindVehicle:
		if !plate(v) {
			p = InputNotPlate
		}
	case KindDate:
		p = pastDate(v, now)
	case KindPhone:
		m, err := ParseMSISDN(v)
		if err != nil {
			p = InputNotMobile
		}
		v = string(m)
	default:
		if re, err := compiledPattern(kindPatterns[in.Kind]); err != nil || !re.MatchString(v) {
			p = InputMalformed
		}
	}
	if p != "" {
		return "", in.refuse(p)
	}
	if in.Pattern != "" {
		if re, err := compiledPattern(in.Pattern); err != nil || !re.MatchString(v) {
			return "", in.refuse(InputMalformed)
		}
	}
	return v, nil
}

// nationalID: 7 or 8 digits, the first not 0.
func nationalID(v string) bool {
	return (len(v) == 7 || len(v) == 8) && v[0] != '0' && digits(v)
}

// plateClasses are the registrations vehicle_reg accepts (see above); the
// first group is the serial, which is never all zeros.
var plateClasses = []*regexp.Regexp{
	regexp.MustCompile(`^K[A-Z]{2}([0-9]{3})[A-Z]?$`),  // national series: KAA 123A, KDA 001B; the oldest have no letter
	regexp.MustCompile(`^KM[A-Z]{2}([0-9]{3})[A-Z]$`),  // motorcycles: KMDA 123B
	regexp.MustCompile(`^GK[A-Z]?([0-9]{3})[A-Z]?$`),   // government: GK 123A, GKA 123B
	regexp.MustCompile(`^Z[A-Z]([0-9]{4})$`),           // trailers: ZD 1234
	regexp.MustCompile(`^[0-9]{1,3}CD([0-9]{1,3})K?$`), // diplomatic: 17 CD 22K
	regexp.MustCompile(`^UN([0-9]{1,4})K?$`),           // UN agencies: UN 123K
}

// plate reports whether v (upper case, no spaces) is a registration of one
// of plateClasses.
func plate(v string) bool {
	for _, re := range plateClasses {
		if m := re.FindStringSubmatch(v); m != nil && strings.Trim(m[1], "0") != "" {
			return true
		}
	}
	return false
}

// pastDate checks a DDMMYYYY date against today in EAT.
func pastDate(v string, now time.Time) InputProblem {
	if len(v) != 8 || !digits(v) {
		return InputNotDate
	}
	d, _ := strconv.Atoi(v[:2])
	m, _ := strconv.Atoi(v[2:4])
	y, _ := strconv.Atoi(v[4:])
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, EAT)
	if t.Day() != d || int(t.Month()) != m || t.Year() != y {
		return InputNotDate // 31021990 would be 3 March
	}
	ty, tm, td := now.In(EAT).Date()
	today := time.Date(ty, tm, td, 0, 0, 0, 0, EAT)
	switch {
	case t.After(today):
		return InputFuture
	case t.Before(today.AddDate(-MaxDateAge, 0, 0)):
		return InputTooOld
	}
	return ""
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
