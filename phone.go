package huduma

import (
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// MSISDN is a Kenyan mobile number in E.164 form, e.g. "+254712345678".
// Only ParseMSISDN makes one, so downstream code never sees raw input.
type MSISDN string

// Network is the mobile operator a number belongs to, by its prefix.
type Network string

// Networks Huduma distinguishes; only Safaricom numbers get M-Pesa
// prompts. Each has its own steps for paying by hand (Airtel Money,
// Equitel's *247#, T-Kash); OtherNetwork is any other allocation (MVNOs,
// numbers not yet in the tables below), told the steps any wallet or bank
// follows.
const (
	Safaricom Network = "safaricom"
	Airtel    Network = "airtel"
	Telkom    Network = "telkom"
	// Equitel is Finserve Africa's network (Equity Bank's SIMs).
	Equitel      Network = "equitel"
	OtherNetwork Network = "other"
)

// ParseMSISDN normalises a Kenyan mobile number written any usual way
// (0712345678, 712345678, 254712345678, +254712345678, 00254712345678,
// with spaces or dashes) to E.164. Landlines, foreign and impossible numbers
// are rejected with an EInvalid error that names no digits.
//
// Results for well-formed numbers are remembered (a session's every hop
// carries the same number, and libphonenumber's checks cost a tenth of a
// hop's CPU); errors are not, so garbage cannot fill the memo.
func ParseMSISDN(raw string) (MSISDN, error) {
	if m, ok := parsed.get(raw); ok {
		return m, nil
	}
	m, err := parseMSISDN(raw)
	if err == nil {
		parsed.put(raw, m)
	}
	return m, err
}

// parseMemo is a bounded memo of ParseMSISDN: when full it starts over,
// which keeps it simple and its size fixed.
type parseMemo struct {
	mu sync.RWMutex
	m  map[string]MSISDN
}

const parseMemoSize = 100_000

var parsed = &parseMemo{m: map[string]MSISDN{}}

func (p *parseMemo) get(raw string) (MSISDN, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	m, ok := p.m[raw]
	return m, ok
}

func (p *parseMemo) put(raw string, m MSISDN) {
	if len(raw) > 24 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.m) >= parseMemoSize {
		p.m = make(map[string]MSISDN, parseMemoSize)
	}
	p.m[strings.Clone(raw)] = m
}

func parseMSISDN(raw string) (MSISDN, error) {
	s := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '(' || r == ')' || r == '.' {
			return -1
		}
		return r
	}, strings.TrimSpace(raw))
	if s == "" || len(s) > 20 {
		return "", Errorf(EInvalid, "phone number is empty or too long")
	}
	switch {
	case strings.HasPrefix(s, "00"):
		s = "+" + s[2:]
	case strings.HasPrefix(s, "254"):
		s = "+" + s
	case len(s) == 9 && (s[0] == '7' || s[0] == '1'):
		s = "0" + s
	}
	if m, ok := fastMobile(s); ok {
		return m, nil
	}
	num, err := phonenumbers.Parse(s, "KE")
	if err != nil {
		return "", Errorf(EInvalid, "that is not a phone number")
	}
	if phonenumbers.GetRegionCodeForNumber(num) != "KE" || !phonenumbers.IsValidNumber(num) {
		return "", Errorf(EInvalid, "that is not a valid Kenyan phone number")
	}
	if t := phonenumbers.GetNumberType(num); t != phonenumbers.MOBILE && t != phonenumbers.FIXED_LINE_OR_MOBILE {
		return "", Errorf(EInvalid, "that is not a Kenyan mobile number")
	}
	return MSISDN(phonenumbers.Format(num, phonenumbers.E164)), nil
}

// fastMobile recognises the common forms of a 07XX number, +2547XXXXXXXX
// and 07XXXXXXXX, without libphonenumber: every number of that range is a
// valid Kenyan mobile in its metadata (TestFastMobileMatchesLibphonenumber),
// and a session's first hop is otherwise a tenth of its CPU in the parser.
func fastMobile(s string) (MSISDN, bool) {
	switch {
	case len(s) == 13 && strings.HasPrefix(s, "+2547"):
		s = s[4:]
	case len(s) == 10 && strings.HasPrefix(s, "07"):
		s = s[1:]
	default:
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", false
		}
	}
	return MSISDN("+254" + s), true
}

// Digits returns the number without "+", as Daraja wants it (2547XXXXXXXX).
func (m MSISDN) Digits() string { return strings.TrimPrefix(string(m), "+") }

// Masked returns the number with the middle digits hidden, for logs:
// "+254712***678". The Kenya Data Protection Act forbids full numbers there.
func (m MSISDN) Masked() string { return MaskPhone(string(m)) }

// MaskPhone hides all but the first 7 and last 3 characters of any phone-like
// string; short strings are hidden completely.
func MaskPhone(s string) string {
	if len(s) < 11 {
		return "***"
	}
	return s[:7] + "***" + s[len(s)-3:]
}

// Network returns the operator by number prefix. Kenyan numbers are
// portable, so this is the allocation, which is what Daraja checks too.
func (m MSISDN) Network() Network {
	d := m.Digits()
	if len(d) != 12 {
		return OtherNetwork
	}
	p3, p4 := d[3:6], d[3:7]
	switch {
	case inPrefixes(p3, safaricom3) || inPrefixes(p4, safaricom4):
		return Safaricom
	case inPrefixes(p3, airtel3) || inPrefixes(p4, airtel4):
		return Airtel
	case inPrefixes(p3, telkom3):
		return Telkom
	case inPrefixes(p3, equitel3):
		return Equitel
	}
	return OtherNetwork
}

// CanPrompt reports whether an M-Pesa prompt can reach m: only Safaricom
// numbers, on either billing backend (Daraja's STK push and e-Citizen's
// sendSTK both prompt M-Pesa, and nothing else). Every other number is
// told its own network's steps instead.
func (m MSISDN) CanPrompt() bool { return m.Network() == Safaricom }

// Prefix allocations (Communications Authority of Kenya numbering plan).
var (
	safaricom3 = []string{"110", "111", "112", "113", "114", "115", "701", "702", "703", "704", "705", "706", "707", "708", "709", "710", "711", "712", "713", "714", "715", "716", "717", "718", "719", "720", "721", "722", "723", "724", "725", "726", "727", "728", "729", "740", "741", "742", "743", "745", "746", "748", "757", "758", "759", "768", "769", "790", "791", "792", "793", "794", "795", "796", "797", "798", "799"}
	safaricom4 = []string{}
	airtel3    = []string{"100", "101", "102", "103", "104", "105", "106", "730", "731", "732", "733", "734", "735", "736", "737", "738", "739", "750", "751", "752", "753", "754", "755", "756", "762", "780", "781", "782", "783", "784", "785", "786", "787", "788", "789"}
	airtel4    = []string{}
	telkom3    = []string{"770", "771", "772", "773", "774", "775", "776", "777", "778", "779"}
	// equitel3 are Finserve Africa's (Equitel) blocks, 0763-0766, as
	// libphonenumber's carrier data has them too (TestEquitelPrefixes).
	equitel3 = []string{"763", "764", "765", "766"}
)

func inPrefixes(p string, list []string) bool {
	for _, x := range list {
		if x == p {
			return true
		}
	}
	return false
}
