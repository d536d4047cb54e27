// Package ecitizen is Huduma's client for e-Citizen's own payment platform
// (the PaymentAPI, "Pesaflow"): it creates a bill for one of our invoices,
// optionally asking e-Citizen to send the payer a payment prompt, and it
// decodes and verifies the signed notification e-Citizen posts when the
// bill is paid through any rail. Nothing here decides what a payment does
// to an invoice; that is the settlement code's job.
//
// What is public about this API comes from integrators' code, not from an
// official document, so every wire detail is an assumption to check
// against the integration pack e-Citizen issues with the credentials;
// docs/ecitizen.md lists them.
package ecitizen

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/huduma-ke/huduma"
)

// MaxAmount is the largest amount, in whole shillings, a bill may ask for
// or a notification may report. A government fee is at most a few hundred
// thousand shillings; anything near this bound is a fault or a forgery,
// and bounding it keeps every sum far from int64 overflow.
const MaxAmount int64 = 100_000_000

// Sentinel errors. A checkout failure wraps exactly one of ErrUnavailable,
// ErrThrottled, ErrUnauthorized or ErrRefused (see Outage and Retryable);
// ErrInvalidBill marks a bill refused before anything was sent.
var (
	// ErrUnavailable: a network error, a timeout, a 5xx, or an answer
	// that could not be read. The bill may or may not exist: asking again
	// with the same billRefNumber is safe (assumed idempotent).
	ErrUnavailable = errors.New("ecitizen: unavailable")
	// ErrThrottled: e-Citizen answered 429.
	ErrThrottled = errors.New("ecitizen: throttled")
	// ErrUnauthorized: e-Citizen refused our credentials or our
	// secureHash (401 or 403). Every bill will fail the same way until the
	// configuration is fixed, so it deserves an operator's attention.
	ErrUnauthorized = errors.New("ecitizen: credentials or secureHash refused")
	// ErrRefused: any other 4xx; the same request will not succeed later.
	ErrRefused = errors.New("ecitizen: bill refused")
	// ErrInvalidBill: the bill we were asked to create is incomplete or
	// out of range; nothing was sent.
	ErrInvalidBill = errors.New("ecitizen: invalid bill")
	// ErrSignature: a notification's secure_hash is missing or wrong. The
	// notification route answers 403 and changes nothing.
	ErrSignature = errors.New("ecitizen: notification secure_hash missing or wrong")
	// ErrMalformed: a notification that is correctly signed (or could not
	// even be read) but unusable: a missing field, a fractional or absurd
	// amount, unreadable text.
	ErrMalformed = errors.New("ecitizen: malformed notification")
)

// Outage reports whether err means e-Citizen itself is failing (network
// errors, timeouts, 5xx, throttling, unreadable answers): what a circuit
// breaker should count. It fits breaker.Breaker.Do's failed argument.
func Outage(err error) bool {
	return errors.Is(err, ErrUnavailable) || errors.Is(err, ErrThrottled)
}

// Retryable reports whether the same checkout may succeed later. Today
// that is exactly Outage: e-Citizen has no "customer busy" answer we know.
func Retryable(err error) bool { return Outage(err) }

// APIError is an error answer from e-Citizen. Message is e-Citizen's own
// text with everything we sent taken out of it (see redactAnswer): it is
// safe to log and to store as a job's last error.
type APIError struct {
	Status  int
	Message string
	kind    error
}

func (e *APIError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("%v: HTTP %d", e.kind, e.Status)
	}
	return fmt.Sprintf("%v: HTTP %d: %s", e.kind, e.Status, e.Message)
}

// Unwrap returns the sentinel the error belongs to.
func (e *APIError) Unwrap() error { return e.kind }

// Config is what the client and the notification decoder need. The four
// credentials are issued per agency by e-Citizen; the serviceID of each
// bill comes from the catalog, not from here.
type Config struct {
	// URL is the checkout endpoint (ECITIZEN_URL), e.g.
	// https://payments.ecitizen.go.ke/PaymentAPI/iframev2.1.php; e-Citizen
	// issues a separate test host.
	URL string
	// ClientID is apiClientID (ECITIZEN_CLIENT_ID).
	ClientID string
	// APIKey is the HMAC key (ECITIZEN_API_KEY). A secret.
	APIKey string
	// Secret is appended to every signed message (ECITIZEN_SECRET). A
	// secret.
	Secret string
	// HashEncoding is how secureHash is written (default HashDigest, the
	// published vectors).
	HashEncoding HashEncoding
	// NotificationURL is our notification route, with our callback token;
	// sent as every bill's notificationURL.
	NotificationURL string
	// CallbackURLOnSuccess is where e-Citizen sends a web payer after
	// paying (callBackURLOnSuccess). USSD and SMS payers never see it;
	// empty sends an empty field.
	CallbackURLOnSuccess string
	// JSONRequest posts the checkout as a JSON body instead of a form.
	// Integrators do both; the answer is read as JSON either way.
	JSONRequest bool
	// Timeout bounds one checkout request (default 10 s).
	Timeout time.Duration
}

// Environment variable names Check reports.
const (
	EnvURL      = "ECITIZEN_URL"
	EnvClientID = "ECITIZEN_CLIENT_ID"
	EnvAPIKey   = "ECITIZEN_API_KEY"
	EnvSecret   = "ECITIZEN_SECRET"
)

// Check reports every missing or unusable setting at once, naming each
// variable and never its value.
func (c Config) Check() error {
	var missing []string
	for _, v := range []struct{ name, val string }{
		{EnvURL, c.URL}, {EnvClientID, c.ClientID}, {EnvAPIKey, c.APIKey}, {EnvSecret, c.Secret},
	} {
		if strings.TrimSpace(v.val) == "" {
			missing = append(missing, v.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("ecitizen: %s required for the e-Citizen billing backend", strings.Join(missing, ", "))
	}
	if !httpURL(c.URL) {
		return fmt.Errorf("ecitizen: %s must be an http(s) URL", EnvURL)
	}
	if !httpURL(c.NotificationURL) {
		return errors.New("ecitizen: the notification URL (our public URL and callback path) must be an http(s) URL")
	}
	if c.CallbackURLOnSuccess != "" && !httpURL(c.CallbackURLOnSuccess) {
		return errors.New("ecitizen: callBackURLOnSuccess must be an http(s) URL")
	}
	if c.HashEncoding != HashDigest && c.HashEncoding != HashHexDigest {
		return errors.New("ecitizen: unknown secureHash encoding")
	}
	return nil
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// String describes the configuration without its secrets, so a
// configuration printed by mistake reveals nothing.
func (c Config) String() string {
	set := func(s string) string {
		if s == "" {
			return "unset"
		}
		return "set"
	}
	return fmt.Sprintf("ecitizen.Config{URL: %s, ClientID: %s, APIKey: %s, Secret: %s, NotificationURL: %s, HashEncoding: %v, JSONRequest: %v}",
		huduma.Redact(c.URL), c.ClientID, set(c.APIKey), set(c.Secret), huduma.Redact(c.NotificationURL), c.HashEncoding, c.JSONRequest)
}

// LogValue is String for log/slog.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Signer returns the signer for this configuration.
func (c Config) Signer() Signer {
	return Signer{ClientID: c.ClientID, APIKey: c.APIKey, Secret: c.Secret, Encoding: c.HashEncoding}
}
