package providers

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/huduma-ke/huduma"
)

// The M-Pesa provider contract. A provider package (providers/daraja, ...)
// implements Mpesa, and Puller and Reverser when its rail has them, turns
// its callbacks into calls on MpesaReports, and registers itself with
// RegisterMpesa in init(); cmd/huduma blank-imports it. Configuration
// selects at most one registered provider; with none selected the gateway
// uses Daraja (or its simulator), which cmd/huduma wires itself. Adding a
// provider is one package and one import line.

// Mpesa prompts phones and asks for results: the M-Pesa provider contract
// (providers/daraja implements it, against Daraja or the simulator). A
// prompt the customer has not answered yet is a Pending result with a nil
// error. Failures match ErrOutage or ErrBusy when a later try may work;
// any other error is a refusal, and the prompt is given up.
type Mpesa interface {
	StkPush(ctx context.Context, p huduma.STKPush) (huduma.STKPushResult, error)
	StkQuery(ctx context.Context, checkoutID string) (huduma.STKResult, error)
}

// The failures worth a later try.
var (
	// ErrOutage: the provider itself is failing (connection errors,
	// timeouts, 5xx, throttling). A circuit breaker counts these.
	ErrOutage = errors.New("m-pesa: provider unavailable")
	// ErrBusy: the customer's side is busy (a transaction in process for
	// the phone). Not the provider's health, so no breaker counts it.
	ErrBusy = errors.New("m-pesa: subscriber busy")
)

// Puller reads the paybill's transactions from M-Pesa itself (Daraja's
// Pull Transactions API): the way to find payments
// whose confirmation never reached us.
type Puller interface {
	// PullTransactions returns the page of transactions completed between
	// from and to that starts at row offset.
	PullTransactions(ctx context.Context, from, to time.Time, offset int) (PullPage, error)
}

// PullPage is one page of pulled transactions.
type PullPage struct {
	// Payments are the customer payments on the page.
	Payments []huduma.PaybillPayment
	// Rows is how many rows the page had, payments or not: the next page
	// starts that many rows further.
	Rows int
	// Other counts, by type, the rows that are not customer payments.
	Other map[string]int
	// Refused says, for each customer-payment row that cannot be an
	// M-Pesa payment (no id, a fraction, zero, more than MaxPayment), why
	// it was left out.
	Refused []string
}

// Reverser reverses a payment (Daraja's Transaction Reversal API): the answer only accepts the request; the outcome
// comes later on the result callback. It never retries on its own, since
// a second request could be a second reversal. A failure matches
// ErrNotSent when the request certainly did not reach M-Pesa (it may be
// sent later); ErrOutage alone means it may have (never sent again); any
// other error is a refusal (the refund fails).
type Reverser interface {
	Reverse(ctx context.Context, r huduma.ReversalRequest) (huduma.ReversalAccepted, error)
}

// ErrNotSent marks a request that certainly never reached the provider.
var ErrNotSent = errors.New("m-pesa: request not sent")

// MpesaReports receives what an M-Pesa provider's callbacks say: prompt
// results, paybill payments (validation and confirmation), reversal
// results, and anything kept only as evidence (the payments service).
type MpesaReports interface {
	HandleSTK(ctx context.Context, res huduma.STKResult, raw []byte) (huduma.Outcome, error)
	ValidateC2B(ctx context.Context, p huduma.PaybillPayment) (string, error)
	ConfirmC2B(ctx context.Context, p huduma.PaybillPayment, raw []byte) (huduma.Outcome, error)
	RecordRejected(ctx context.Context, kind string, raw []byte, why string) error
	RecordNotice(ctx context.Context, kind string, raw []byte) error
	HandleReversal(ctx context.Context, res huduma.ReversalResult, raw []byte) (huduma.Outcome, error)
}

// MpesaEnv is what opening an M-Pesa provider may use.
type MpesaEnv struct {
	// Getenv reads the provider's own variables.
	Getenv func(string) string
	// CallbackURL is the public URL of one of the provider's callback
	// paths, with the callback token when one is set.
	CallbackURL func(path string) string
	// HTTP is the client for calls to the provider.
	HTTP *http.Client
}

// MpesaRail is an opened M-Pesa provider.
type MpesaRail struct {
	// Name names it in logs ("daraja", "simulator").
	Name  string
	Mpesa Mpesa
	// Puller and Reverser are nil when the rail has no such API: the
	// pull worker and refunds then stay off.
	Puller   Puller
	Reverser Reverser
	// Routes are the callback routes to mount, driving reports.
	Routes func(reports MpesaReports) []Route
}

// MpesaProvider is one way of taking M-Pesa payments.
type MpesaProvider struct {
	// Name names it in logs and metrics.
	Name string
	// Vars are the variables it reads, all named in its errors.
	Vars []Var
	// Selected reports whether the environment chooses it.
	Selected func(getenv func(string) string) bool
	// Check validates its variables at start; errors name the variable
	// at fault.
	Check func(getenv func(string) string) error
	// Open returns the rail, for variables that passed Check.
	Open func(env MpesaEnv) (MpesaRail, error)
}

var mpesaProviders = map[string]MpesaProvider{}

// RegisterMpesa makes a provider available; a duplicate name panics (a
// programming error caught at start). Call it from init().
func RegisterMpesa(p MpesaProvider) { register(mpesaProviders, "M-Pesa", p) }

// MpesaProviders returns the registered providers sorted by name.
func MpesaProviders() []MpesaProvider { return sorted(mpesaProviders) }

// SelectMpesa returns the provider the environment chooses, nil for none
// (the built-in Daraja client), or an error when it chooses more than one.
func SelectMpesa(getenv func(string) string) (*MpesaProvider, error) {
	return choose(MpesaProviders(), "M-Pesa", getenv)
}

func (p MpesaProvider) choice() choice { return choice{p.Name, p.Vars, p.Selected, p.Check} }
