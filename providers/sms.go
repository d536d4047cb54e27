package providers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/huduma-ke/huduma"
)

// The SMS provider contract. A provider package (providers/africastalking,
// providers/kannel, ...) implements SMSSender, maps its delivery reports to
// huduma.MessageStatus, and registers itself with RegisterSMS in init();
// cmd/huduma blank-imports it. Configuration selects at most one; only the
// selected one's routes are mounted. Adding a provider is one package and
// one import line.

// SMSSender delivers one SMS and returns the provider's message id. Its
// errors are *SendError (see Retryable, Throttled and Permanent); any
// other error counts as retryable. A nil SMSSender records messages without
// sending (the embedded default).
type SMSSender interface {
	Send(ctx context.Context, to huduma.MSISDN, text string) (providerID string, err error)
}

// The three things a failed send can mean; errors.Is(err, ErrRetryable)
// and so on hold for a *SendError of that kind.
var (
	ErrRetryable = errors.New("sms: temporary failure")
	ErrThrottled = errors.New("sms: throttled")
	ErrPermanent = errors.New("sms: refused for good")
)

// SendError is a failed send and what the outbox should do about it.
// Reason must already be safe to log and store (huduma.Redact).
type SendError struct {
	Kind error
	// After is how long to wait before the next try (throttling), 0 for
	// the outbox's own backoff.
	After  time.Duration
	Reason string
}

func (e *SendError) Error() string { return fmt.Sprintf("%v: %s", e.Kind, e.Reason) }

// Unwrap returns the kind, so errors.Is works.
func (e *SendError) Unwrap() error { return e.Kind }

// Retryable is a failure worth trying again later (timeouts, 5xx).
func Retryable(reason string) *SendError { return &SendError{Kind: ErrRetryable, Reason: reason} }

// Throttled is a refusal for now, to be tried after after (0: backoff).
func Throttled(after time.Duration, reason string) *SendError {
	return &SendError{Kind: ErrThrottled, After: after, Reason: reason}
}

// Permanent is a refusal no retry will change (a blacklisted number).
func Permanent(reason string) *SendError { return &SendError{Kind: ErrPermanent, Reason: reason} }

// SMSReports receives what providers' callbacks say: delivery reports and
// texts people send to the short code (the inbox).
type SMSReports interface {
	Receive(ctx context.Context, id string, from huduma.MSISDN, text string) error
	Delivered(ctx context.Context, providerID string, state huduma.MessageStatus, final bool, reason string) error
}

// ErrUnknownMessage is a delivery report for a provider id the outbox
// does not have: never ours, purged, or (when the provider reports
// before the send's record is written) not yet. Each provider's route
// decides which it can be.
var ErrUnknownMessage = errors.New("sms: delivery report for a message not known")

// SMSEnv is what opening a provider may use.
type SMSEnv struct {
	// Getenv reads the provider's own variables.
	Getenv func(string) string
	// CallbackURL is the public URL of one of the provider's callback
	// paths, with the callback token when one is set.
	CallbackURL func(path string) string
	// HTTP is the client for calls to the provider.
	HTTP *http.Client
	// Reports handles the provider's callbacks.
	Reports SMSReports
}

// Var is a configuration variable a provider reads, for validation
// messages and the configuration table (`huduma config`).
type Var struct {
	Name, Default, Help string
}

// SMSProvider is one way of sending SMS.
type SMSProvider struct {
	// Name names it in logs and metrics ("africastalking").
	Name string
	// Vars are the variables it reads, all named in its errors.
	Vars []Var
	// Selected reports whether the environment chooses it (any of its
	// variables is set).
	Selected func(getenv func(string) string) bool
	// Check validates its variables at start; errors name the variable
	// at fault.
	Check func(getenv func(string) string) error
	// Open returns the sender and the callback routes to mount, for
	// variables that passed Check.
	Open func(env SMSEnv) (SMSSender, []Route, error)
}

var smsProviders = map[string]SMSProvider{}

// RegisterSMS makes a provider available; a duplicate name panics (a
// programming error caught at start). Call it from init().
func RegisterSMS(p SMSProvider) { register(smsProviders, "SMS", p) }

// SMSProviders returns the registered providers sorted by name.
func SMSProviders() []SMSProvider { return sorted(smsProviders) }

// SelectSMS returns the provider the environment chooses, nil for none
// (the record-only outbox), or an error when it chooses more than one.
func SelectSMS(getenv func(string) string) (*SMSProvider, error) {
	return choose(SMSProviders(), "SMS", getenv)
}

func (p SMSProvider) choice() choice { return choice{p.Name, p.Vars, p.Selected, p.Check} }
