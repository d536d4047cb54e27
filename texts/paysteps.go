package texts

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/gsm7"
)

// paystepsCSV is the default table of how to pay by hand from each
// network. It follows what integrators publish about paying an e-Citizen
// bill (paybill 222222) from each rail; the menu names are shortened to fit
// a USSD screen. A deployment changes it without code by naming its own
// file in HUDUMA_PAY_STEPS (a gateway on its own shortcode, which Airtel's
// and Equity's e-Citizen menus do not reach, should).
//
//go:embed paysteps.csv
var paystepsCSV []byte

// MaxSteps is the most GSM-7 characters one row of the table may take
// once filled in with the longest values it can meet (stepsWorst): what
// the USSD screens that show the steps leave room for beside the invoice
// number and the total.
const MaxSteps = 130

// stepsWorst are the longest values a row is checked with: a 12-character
// account (an e-Citizen bill number quoted as M-Pesa's account reference
// has at most 12), the largest total a catalog allows (KES 250,000 and
// the convenience fee) and a 7-digit paybill.
var stepsWorst = strings.NewReplacer("{account}", "ABCDEFGH1234", "{amount}", "250,050", "{paybill}", "1234567")

// StepsNetworks are the networks the table has a row for, each in both
// languages: every huduma.Network a number can belong to.
var StepsNetworks = []huduma.Network{huduma.Safaricom, huduma.Airtel, huduma.Equitel, huduma.Telkom, huduma.OtherNetwork}

var stepsLanguages = []huduma.Language{huduma.English, huduma.Kiswahili}

// placeholders are what a row may name, each filled in per text: the
// amount still due, the paybill and the account the payer quotes.
var placeholders = map[string]bool{"amount": true, "paybill": true, "account": true}

// PaySteps is the table of how to pay an invoice by hand from each
// network, in each language: one template per network and language, with
// {amount}, {paybill} and {account} filled in per invoice. Build one with
// ParsePaySteps, LoadPaySteps or DefaultPaySteps; it is read-only after.
type PaySteps struct {
	rows map[stepsKey]string
}

type stepsKey struct {
	network huduma.Network
	lang    huduma.Language
}

var defaultSteps = sync.OnceValues(func() (*PaySteps, error) {
	return ParsePaySteps(bytes.NewReader(paystepsCSV))
})

// DefaultPaySteps is the embedded table (TestDefaultPayStepsParse keeps it
// valid).
func DefaultPaySteps() *PaySteps {
	t, err := defaultSteps()
	if err != nil {
		panic("texts: the embedded pay steps are invalid: " + err.Error())
	}
	return t
}

// LoadPaySteps reads a table from the CSV file at path, as
// HUDUMA_PAY_STEPS names it; the error names the file and the row.
func LoadPaySteps(path string) (*PaySteps, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read pay steps: %w", err)
	}
	defer f.Close()
	t, err := ParsePaySteps(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// ParsePaySteps reads a table in CSV: a header "network,language,steps",
// then one row for each network of StepsNetworks in each language (en,
// sw). Each row must name {account} and {amount} (a payer cannot pay
// without them), may name {paybill}, must be plain GSM-7 on one line, and
// must fit MaxSteps filled in with the longest values. The error names the
// line and the row.
func ParsePaySteps(r io.Reader) (*PaySteps, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 3
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("pay steps header: %w", err)
	}
	if h := strings.Join(header, ","); strings.TrimPrefix(h, "\ufeff") != "network,language,steps" {
		return nil, fmt.Errorf("pay steps header is %q, want network,language,steps", h)
	}
	t := &PaySteps{rows: map[stepsKey]string{}}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) && errors.Is(err, csv.ErrFieldCount) {
			return nil, fmt.Errorf("pay steps line %d: want 3 columns (network,language,steps); put steps that hold a comma in double quotes", pe.StartLine)
		}
		if err != nil {
			return nil, fmt.Errorf("pay steps: %w", err)
		}
		line, _ := cr.FieldPos(0)
		network, lang, steps := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1]), strings.TrimSpace(rec[2])
		key, err := stepsRow(network, lang, steps)
		if err != nil {
			return nil, fmt.Errorf("pay steps line %d (%s, %s): %w", line, network, lang, err)
		}
		if _, dup := t.rows[key]; dup {
			return nil, fmt.Errorf("pay steps line %d (%s, %s): a second row for the same network and language", line, network, lang)
		}
		t.rows[key] = steps
	}
	var missing []string
	for _, n := range StepsNetworks {
		for _, l := range stepsLanguages {
			if _, ok := t.rows[stepsKey{n, l}]; !ok {
				missing = append(missing, string(n)+" "+string(l))
			}
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("pay steps have no row for %s: every network needs one in each language", strings.Join(missing, ", "))
	}
	return t, nil
}

// stepsRow checks one row and returns its key.
func stepsRow(network, lang, steps string) (stepsKey, error) {
	key := stepsKey{network: huduma.Network(network)}
	known := false
	for _, n := range StepsNetworks {
		known = known || n == key.network
	}
	if !known {
		return key, fmt.Errorf("unknown network %q (want one of %s)", network, networkNames())
	}
	l, err := huduma.ParseLanguage(lang)
	if err != nil {
		return key, fmt.Errorf("unknown language %q (want en or sw)", lang)
	}
	key.lang = l
	if steps == "" {
		return key, fmt.Errorf("the steps are empty")
	}
	named := map[string]bool{}
	for rest := steps; ; {
		open := strings.IndexAny(rest, "{}")
		if open < 0 {
			break
		}
		if rest[open] == '}' {
			return key, fmt.Errorf("a } with no { before it")
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return key, fmt.Errorf("a { with no } after it")
		}
		name := rest[open+1 : open+end]
		if !placeholders[name] {
			return key, fmt.Errorf("{%s} is not a placeholder (use {amount}, {paybill}, {account})", name)
		}
		named[name] = true
		rest = rest[open+end+1:]
	}
	for _, need := range []string{"account", "amount"} {
		if !named[need] {
			return key, fmt.Errorf("the steps do not name {%s}, so a payer could not pay", need)
		}
	}
	filled := stepsWorst.Replace(steps)
	for _, r := range filled {
		if r < ' ' || r > '~' || gsm7.Fold(string(r)) != string(r) {
			return key, fmt.Errorf("%q is not a character every phone shows: use plain letters, digits and punctuation on one line", r)
		}
	}
	if n, _ := gsm7.Septets(filled); n > MaxSteps {
		return key, fmt.Errorf("the steps take %d characters with a 12-character account and KES 250,050; at most %d fit a USSD screen", n, MaxSteps)
	}
	return key, nil
}

func networkNames() string {
	names := make([]string, len(StepsNetworks))
	for i, n := range StepsNetworks {
		names[i] = string(n)
	}
	return strings.Join(names, ", ")
}

// Steps is how to pay amount to account from network, in lang: the row
// filled in.
func (t *PaySteps) Steps(network huduma.Network, lang huduma.Language, amount int64, paybill, account string) string {
	row, ok := t.rows[stepsKey{network, lang}]
	if !ok {
		// Every network has a row in each language (ParsePaySteps); a
		// network added to huduma before the table learns it pays as
		// any other wallet does.
		row = t.rows[stepsKey{huduma.OtherNetwork, lang}]
	}
	return gsm7.Fold(strings.NewReplacer("{amount}", Money(amount), "{paybill}", paybill, "{account}", account).Replace(row))
}

// HowToPay is what a text needs to tell a payer how to pay by hand: the
// table of each network's steps and the paybill they name.
type HowToPay struct {
	// Paybill is the paybill paid to (MPESA_SHORTCODE on the ledger
	// backend, e-Citizen's 222222 on the ecitizen one).
	Paybill string
	// Steps is the table (HUDUMA_PAY_STEPS); nil is DefaultPaySteps.
	Steps *PaySteps
	// Billed: invoices are paid by their e-Citizen bill number (the
	// ecitizen backend), so an invoice not billed yet has no steps, only
	// word that its bill number comes by SMS.
	Billed bool
}

// For is how the owner of phone pays what inv still owes, in lang: the
// steps of phone's network, quoting inv's account (its e-Citizen bill
// number when it has one).
func (h HowToPay) For(phone huduma.MSISDN, inv huduma.Invoice, lang huduma.Language) string {
	if h.Billed && inv.Bill == "" {
		return BillComing.T(lang)
	}
	t := h.Steps
	if t == nil {
		t = DefaultPaySteps()
	}
	return t.Steps(phone.Network(), lang, inv.Due(), h.Paybill, inv.Account())
}
