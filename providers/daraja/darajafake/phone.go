package darajafake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The payer's side of the simulator. With Options.Interactive, a prompt
// pushed to a phone a person holds (Hold, as the web phone does while it
// shows that number) waits for that person: the right PIN pays, a wrong
// one fails (2001), Cancel cancels (1032), and a prompt left alone times
// out (1037) after Options.PromptTimeout. A prompt to a phone nobody
// holds takes its outcome from the phone's last two digits, as always,
// so scripts and tests stay deterministic. PayBill is a payment made by
// hand from the M-Pesa menu: Daraja's validation and confirmation, posted
// to the gateway's own C2B routes.

// DefaultPIN is the M-Pesa PIN the simulator accepts unless
// Options.PIN names another. It is no secret: the web phone shows it.
const DefaultPIN = "1234"

// DefaultPromptTimeout is how long an interactive prompt waits for its
// answer, about as long as a phone shows an M-Pesa prompt.
const DefaultPromptTimeout = 60 * time.Second

// holdFor is how long a phone counts as held after its last Hold: the
// web phone asks every second, so a few missed asks (a busy machine)
// do not hand its prompts to the suffix table.
const holdFor = 10 * time.Second

// The outcomes a person's answer gives.
var (
	answerPaid      = Outcomes["00"]
	answerCancelled = Outcomes["01"]
	answerWrongPIN  = Outcomes["03"]
	answerTimeout   = Outcome{Code: "1037", Desc: "DS timeout user cannot be reached"}
)

// Errors Answer returns.
var (
	// ErrNoPrompt: the phone has no prompt by that id (never had, or it
	// belongs to another phone).
	ErrNoPrompt = errors.New("no such prompt on this phone")
	// ErrAnswered: the prompt was decided already (answered, or timed out).
	ErrAnswered = errors.New("the prompt was answered already")
)

// Prompt is an M-Pesa prompt waiting on a phone for its holder's answer.
type Prompt struct {
	Checkout string
	// Amount is in whole shillings; Account is the AccountReference the
	// payer sees, Business the paybill the money goes to.
	Amount   int64
	Account  string
	Business string
	Expires  time.Time
}

// Answer is what the person does with a prompt: Cancel, or a PIN.
type Answer struct {
	Cancel bool
	PIN    string
}

// waiting is an interactive prompt not yet decided.
type waiting struct {
	Prompt
	phone, merchant, callbackURL, amount string
	timer                                *time.Timer
}

// Hold marks phone (2547… digits) as held by a person until a few
// seconds from now, so prompts pushed to it wait for that person, and
// returns the prompts waiting on it, oldest first.
func (f *Fake) Hold(phone string) []Prompt {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.held[phone] = time.Now().Add(holdFor)
	var out []Prompt
	for _, w := range f.waiting {
		if w.phone == phone {
			out = append(out, w.Prompt)
		}
	}
	sortPrompts(out)
	return out
}

func sortPrompts(ps []Prompt) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].Expires.Before(ps[j-1].Expires); j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

// holdsPrompt reports whether a prompt to phone waits for a person.
// Called with f.mu held.
func (f *Fake) holdsPrompt(phone string) bool {
	return f.opts.Interactive && time.Now().Before(f.held[phone])
}

// waitFor records an interactive prompt, undecided (queries say "being
// processed") until Answer or the timeout decides it. Called with f.mu
// held.
func (f *Fake) waitFor(checkout, merchant, phone, amount, account, business, callbackURL string) {
	amt, _ := strconv.ParseInt(amount, 10, 64)
	timeout := f.opts.PromptTimeout
	if timeout <= 0 {
		timeout = DefaultPromptTimeout
	}
	w := &waiting{Prompt: Prompt{Checkout: checkout, Amount: amt, Account: account, Business: business, Expires: time.Now().Add(timeout)},
		phone: phone, merchant: merchant, callbackURL: callbackURL, amount: amount}
	f.waiting[checkout] = w
	f.results[checkout] = decided{outcome: Outcome{Undecided: true}, amount: amount, phone: phone, account: account, at: time.Now()}
	w.timer = time.AfterFunc(timeout, func() { f.decide(checkout, "", answerTimeout) })
}

// Answer gives the person's answer to the prompt checkout on phone and
// returns the outcome it decided. Whichever comes first of answers and
// the timeout decides; the others get ErrAnswered, and the callback goes
// once.
func (f *Fake) Answer(phone, checkout string, a Answer) (Outcome, error) {
	out := answerPaid
	switch {
	case a.Cancel:
		out = answerCancelled
	case a.PIN != f.pin():
		out = answerWrongPIN
	}
	return out, f.decide(checkout, phone, out)
}

func (f *Fake) pin() string {
	if f.opts.PIN != "" {
		return f.opts.PIN
	}
	return DefaultPIN
}

// decide settles an interactive prompt with out and calls the gateway
// back; phone, when given, must be the prompt's.
func (f *Fake) decide(checkout, phone string, out Outcome) error {
	f.mu.Lock()
	w, ok := f.waiting[checkout]
	switch {
	case !ok && f.results[checkout].phone != "" && (phone == "" || f.results[checkout].phone == phone):
		f.mu.Unlock()
		return ErrAnswered
	case !ok || (phone != "" && w.phone != phone):
		f.mu.Unlock()
		return ErrNoPrompt
	}
	delete(f.waiting, checkout)
	w.timer.Stop()
	now := time.Now()
	d := decided{outcome: out, amount: w.amount, phone: w.phone, account: w.Account, receipt: f.newReceipt(), at: now, ready: now}
	f.results[checkout] = d
	if out.Code == "0" {
		f.txns = append(f.txns, Transaction{ID: d.receipt, At: now, MSISDN: w.phone, Account: w.Account, Amount: w.Amount, Type: "c2b-pay-bill-debit"})
	}
	closed := f.closed
	f.mu.Unlock()
	if !closed {
		go f.sendCallback(w.callbackURL, w.merchant, checkout)
	}
	return nil
}

// PaybillPayment is a payment made by hand to the paybill, from the
// M-Pesa menu (Lipa na M-Pesa, Pay Bill): the payer types the account and
// the amount.
type PaybillPayment struct {
	// Phone is the payer, 2547… digits.
	Phone   string
	Account string
	Amount  int64
	// Validate has Daraja ask the gateway's validation URL first, as it
	// does for a paybill Safaricom turned external validation on for.
	Validate bool
	// FullNumber sends the payer's number whole; otherwise it is masked
	// as Daraja's C2B v2 masks it ("2547 ***** 126").
	FullNumber bool
}

// PaybillResult is what came of a paybill payment.
type PaybillResult struct {
	// TransID is the M-Pesa transaction id (a receipt like the prompts').
	TransID string
	// Rejected is the validation's ResultCode when the gateway refused
	// the payment (C2B00012 unknown account, C2B00013 amount): no money
	// moved and no confirmation was sent.
	Rejected string
	// Confirmed reports the confirmation was acknowledged (2xx).
	Confirmed bool
}

// maxC2BAmount is the most one M-Pesa payment carries, in shillings.
const maxC2BAmount = 250_000

// PayBill makes a paybill payment: the validation (when asked for, and
// only when Options.ValidationURL is set), then the transaction and its
// confirmation to Options.ConfirmationURL, retried a few times as Daraja
// does. A validation URL that does not answer lets the payment through,
// as Daraja's default action Completed does.
func (f *Fake) PayBill(ctx context.Context, p PaybillPayment) (PaybillResult, error) {
	switch {
	case len(p.Phone) != 12 || !strings.HasPrefix(p.Phone, "254"):
		return PaybillResult{}, fmt.Errorf("darajafake: paybill from %q: want 2547… digits", p.Phone)
	case p.Amount < 1 || p.Amount > maxC2BAmount:
		return PaybillResult{}, fmt.Errorf("darajafake: paybill amount %d: M-Pesa takes 1 to %d", p.Amount, maxC2BAmount)
	case p.Account == "" || len(p.Account) > 20:
		return PaybillResult{}, fmt.Errorf("darajafake: paybill account %q: 1 to 20 characters", p.Account)
	case f.opts.ConfirmationURL == "":
		return PaybillResult{}, errors.New("darajafake: no confirmation URL registered")
	}
	f.mu.Lock()
	res := PaybillResult{TransID: f.newReceipt()}
	f.mu.Unlock()
	msisdn := p.Phone[:4] + " ***** " + p.Phone[9:]
	if p.FullNumber {
		msisdn = p.Phone
	}
	body := map[string]string{"TransactionType": "Pay Bill", "TransID": res.TransID,
		"TransTime": time.Now().In(nairobi).Format("20060102150405"), "TransAmount": strconv.FormatInt(p.Amount, 10) + ".00",
		"BusinessShortCode": f.shortCode(), "BillRefNumber": p.Account, "InvoiceNumber": "", "OrgAccountBalance": "", "ThirdPartyTransID": "",
		"MSISDN": msisdn, "FirstName": "SIMULATED", "MiddleName": "", "LastName": "PAYER"}
	if p.Validate && f.opts.ValidationURL != "" {
		var answer struct {
			ResultCode json.RawMessage `json:"ResultCode"`
		}
		status, raw, err := f.postJSON(ctx, f.opts.ValidationURL, body)
		if err == nil && status < 300 && json.Unmarshal(raw, &answer) == nil {
			if code := strings.Trim(string(answer.ResultCode), `"`); code != "0" && code != "" {
				res.Rejected = code
				return res, nil
			}
		}
	}
	f.mu.Lock()
	f.txns = append(f.txns, Transaction{ID: res.TransID, At: time.Now(), MSISDN: msisdn, Account: p.Account, Amount: p.Amount, Type: "c2b-pay-bill-debit"})
	f.mu.Unlock()
	body["OrgAccountBalance"] = "0.00"
	for try := 0; try < 3 && ctx.Err() == nil; try++ {
		if status, _, err := f.postJSON(ctx, f.opts.ConfirmationURL, body); err == nil && status < 300 {
			res.Confirmed = true
			return res, nil
		}
		time.Sleep(time.Duration(try+1) * 200 * time.Millisecond)
	}
	return res, nil
}

var nairobi = time.FixedZone("EAT", 3*3600)

func (f *Fake) shortCode() string {
	if f.opts.ShortCode != "" {
		return f.opts.ShortCode
	}
	return "174379"
}

// postJSON posts v to url and returns the status and body.
func (f *Fake) postJSON(ctx context.Context, url string, v any) (int, []byte, error) {
	b, _ := json.Marshal(v)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, raw, err
}
