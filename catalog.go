package huduma

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Service is one government service in the catalog.
type Service struct {
	// Code is the numeric code printed on forms and typed on keypads.
	Code int `json:"code"`
	// NameEN and NameSW are the service's names in English and Kiswahili.
	NameEN string `json:"name_en"`
	NameSW string `json:"name_sw"`
	// AgencyCode and CategoryCode refer to an Agency and a Category.
	AgencyCode   string `json:"agency"`
	CategoryCode string `json:"category"`
	// AgencyName is filled in by lookups for display; it is not imported.
	AgencyName string `json:"-"`
	// Fee is the government fee in whole Kenyan shillings.
	Fee int64 `json:"fee"`
	// Inputs are what the USSD "Pay now" flow asks before the invoice.
	Inputs []Input `json:"inputs,omitempty"`
	// Active services are found by search and browse; inactive ones are not.
	Active bool `json:"active"`
	// ECitizenServiceID is the service's serviceID on e-Citizen's payment
	// platform, which every bill for it names. A service without one
	// cannot be billed through e-Citizen: on that billing backend it is
	// shown as not payable here yet.
	ECitizenServiceID string `json:"ecitizen_service_id,omitempty"`
}

// Name returns the service's name in lang, falling back to English.
func (s Service) Name(lang Language) string {
	if lang == Kiswahili && s.NameSW != "" {
		return s.NameSW
	}
	return s.NameEN
}

// Validate checks a service as it arrives from an import.
func (s Service) Validate() error {
	switch {
	case s.Code <= 0 || s.Code > 99999999:
		return Errorf(EInvalid, "service code %d must be 1 to 8 digits", s.Code)
	case strings.TrimSpace(s.NameEN) == "":
		return Errorf(EInvalid, "service %d has no English name", s.Code)
	case s.AgencyCode == "" || s.CategoryCode == "":
		return Errorf(EInvalid, "service %d needs an agency and a category", s.Code)
	case s.Fee < 0 || s.Fee > 250000:
		return Errorf(EInvalid, "service %d fee %d is outside 0..250000 KES", s.Code, s.Fee)
	case s.ECitizenServiceID != "" && !eCitizenIDRE.MatchString(s.ECitizenServiceID):
		return Errorf(EInvalid, "service %d: e-Citizen service ID %q is not 1 to 40 letters, digits or ._-", s.Code, s.ECitizenServiceID)
	}
	keys := map[string]bool{}
	for _, in := range s.Inputs {
		if err := in.validateDecl(); err != nil {
			return Errorf(EInvalid, "service %d: %s", s.Code, ErrorMessage(err))
		}
		if keys[in.Key] {
			return Errorf(EInvalid, "service %d: input %q declared twice", s.Code, in.Key)
		}
		keys[in.Key] = true
	}
	return nil
}

// eCitizenIDRE is what an e-Citizen serviceID may look like. Its real
// shape is not public (integrators' examples use short codes such as
// SERVICE1 and numbers); this keeps out only what cannot be one: spaces,
// punctuation that would need escaping in a form, and runaway lengths.
var eCitizenIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,40}$`)

// InputKind says what an input holds, which picks its default pattern.
type InputKind string

// Input kinds a service may declare.
const (
	KindText     InputKind = "text"
	KindNumber   InputKind = "number"
	KindIDNumber InputKind = "id_number"
	KindVehicle  InputKind = "vehicle_reg"
	KindPhone    InputKind = "phone"
	KindDate     InputKind = "date"
)

// kindPatterns are the shapes of the kinds checked by shape alone; the
// others are checked for what they mean (inputs.go).
var kindPatterns = map[InputKind]string{
	KindText:   `^[A-Za-z0-9 .,'/-]{1,40}$`,
	KindNumber: `^[0-9]{1,20}$`,
}

// inputKinds are the kinds a catalog may declare.
var inputKinds = map[InputKind]bool{KindText: true, KindNumber: true, KindIDNumber: true, KindVehicle: true, KindPhone: true, KindDate: true}

// Input is one value a service asks for (an ID number, a plate number).
type Input struct {
	Key     string    `json:"key"`
	LabelEN string    `json:"label_en"`
	LabelSW string    `json:"label_sw"`
	Kind    InputKind `json:"kind"`
	// Pattern, when set, must match as well as the kind's rules: it
	// narrows what the kind accepts, never widens it.
	Pattern string `json:"pattern,omitempty"`
}

// Label returns the prompt label in lang, falling back to English.
func (in Input) Label(lang Language) string {
	if lang == Kiswahili && in.LabelSW != "" {
		return in.LabelSW
	}
	return in.LabelEN
}

func (in Input) validateDecl() error {
	if in.Key == "" || in.LabelEN == "" {
		return Errorf(EInvalid, "an input needs a key and an English label")
	}
	if !inputKinds[in.Kind] {
		return Errorf(EInvalid, "input %q has unknown kind %q", in.Key, in.Kind)
	}
	if _, err := regexp.Compile(in.Pattern); err != nil {
		return Errorf(EInvalid, "input %q pattern does not compile", in.Key)
	}
	return nil
}

var (
	patternMu    sync.Mutex
	patternCache = map[string]*regexp.Regexp{}
)

func compiledPattern(p string) (*regexp.Regexp, error) {
	patternMu.Lock()
	defer patternMu.Unlock()
	if re, ok := patternCache[p]; ok {
		return re, nil
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, fmt.Errorf("compile input pattern: %w", err)
	}
	patternCache[p] = re
	return re, nil
}

// Category groups services for browsing.
type Category struct {
	Code   string `json:"code"`
	NameEN string `json:"name_en"`
	NameSW string `json:"name_sw"`
}

// Name returns the category's name in lang, falling back to English.
func (c Category) Name(lang Language) string {
	if lang == Kiswahili && c.NameSW != "" {
		return c.NameSW
	}
	return c.NameEN
}

// Agency is the government body that offers a service.
type Agency struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// FeeBand is one row of the convenience-fee table: amounts from Min (KES,
// inclusive) up to the next band's Min pay Fee.
type FeeBand struct {
	Min int64 `json:"min"`
	Fee int64 `json:"fee"`
}

// DefaultFeeBands is e-Citizen's published convenience-fee table: the fee
// added to an invoice by the band its amount falls in.
var DefaultFeeBands = []FeeBand{{Min: 0, Fee: 5}, {Min: 200, Fee: 10}, {Min: 300, Fee: 15}, {Min: 500, Fee: 20}, {Min: 700, Fee: 25}, {Min: 1000, Fee: 50}}

// ConvenienceFee returns the fee for amount under bands (sorted by Min).
// An empty table means DefaultFeeBands.
func ConvenienceFee(bands []FeeBand, amount int64) int64 {
	if len(bands) == 0 {
		bands = DefaultFeeBands
	}
	var fee int64
	for _, b := range bands {
		if amount >= b.Min {
			fee = b.Fee
		}
	}
	return fee
}

// Catalog is a whole catalog as imported and exported.
type Catalog struct {
	// Sample marks the shipped demonstration data, so nobody mistakes it
	// for the real e-Citizen catalog.
	Sample     bool       `json:"sample"`
	FeeBands   []FeeBand  `json:"convenience_fees,omitempty"`
	Agencies   []Agency   `json:"agencies"`
	Categories []Category `json:"categories"`
	Services   []Service  `json:"services"`
}

// Validate checks references and codes across the whole catalog.
func (c Catalog) Validate() error {
	ag, cat := map[string]bool{}, map[string]bool{}
	for _, a := range c.Agencies {
		if a.Code == "" || a.Name == "" {
			return Errorf(EInvalid, "an agency needs a code and a name")
		}
		ag[a.Code] = true
	}
	for _, k := range c.Categories {
		if k.Code == "" || k.NameEN == "" {
			return Errorf(EInvalid, "a category needs a code and an English name")
		}
		cat[k.Code] = true
	}
	seen := map[int]bool{}
	for _, s := range c.Services {
		if err := s.Validate(); err != nil {
			return err
		}
		if seen[s.Code] {
			return Errorf(EInvalid, "service code %d appears twice", s.Code)
		}
		seen[s.Code] = true
		if !ag[s.AgencyCode] {
			return Errorf(EInvalid, "service %d names unknown agency %q", s.Code, s.AgencyCode)
		}
		if !cat[s.CategoryCode] {
			return Errorf(EInvalid, "service %d names unknown category %q", s.Code, s.CategoryCode)
		}
	}
	for i := 1; i < len(c.FeeBands); i++ {
		if c.FeeBands[i].Min <= c.FeeBands[i-1].Min {
			return Errorf(EInvalid, "convenience fee bands must be sorted by min")
		}
	}
	return nil
}

// maxServiceCodeDigits is how long a service code may be (Service.Validate
// allows 1 to 99999999).
const maxServiceCodeDigits = 8

// ParseServiceCode reads a service code as a person typed it, on a USSD
// keypad or in an SMS: 1 to 8 digits, not zero. Every channel reads codes
// through it, so a code one accepts the others accept too.
func ParseServiceCode(raw string) (int, error) {
	s := strings.TrimSpace(raw)
	if s == "" || len(s) > maxServiceCodeDigits || strings.Trim(s, "0123456789") != "" {
		return 0, Errorf(EInvalid, "a service code is 1 to %d digits", maxServiceCodeDigits)
	}
	code, err := strconv.Atoi(s)
	if err != nil || code <= 0 {
		return 0, Errorf(EInvalid, "a service code is 1 to %d digits", maxServiceCodeDigits)
	}
	return code, nil
}

// Search query bounds: shorter queries match too much to be useful,
// longer ones do not fit a results screen's title.
const (
	MinQueryRunes = 2
	MaxQueryBytes = 40
)

// SearchQuery cleans what a person typed to search the catalog, on USSD or
// by SMS: inner runs of spaces become one, and it is cut to MaxQueryBytes
// (on a character boundary). Fewer than MinQueryRunes characters is an
// EInvalid error.
func SearchQuery(raw string) (string, error) {
	q := strings.Join(strings.Fields(raw), " ")
	if utf8.RuneCountInString(q) < MinQueryRunes {
		return "", Errorf(EInvalid, "a search needs at least %d characters", MinQueryRunes)
	}
	if len(q) > MaxQueryBytes {
		cut := MaxQueryBytes
		for cut > 0 && !utf8.RuneStart(q[cut]) {
			cut--
		}
		q = strings.TrimRight(q[:cut], " ")
	}
	return q, nil
}
