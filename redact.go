package huduma

import (
	"net/url"
	"regexp"
	"strings"
)

// Provider errors end up in log lines and in tables (an outbox message's
// last error, a job's, a rejected prompt's reason). Go's HTTP client puts
// the whole request URL into its errors, and for a GET-style provider such
// as Kannel that URL carries the password, the recipient and the message
// text; an error body may echo a phone number. Redact is the one place
// that makes such text safe to keep.

var (
	urlInText   = regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'<>]+`)
	phoneInText = regexp.MustCompile(`(\+?254|\b0|\b)([17])[0-9]{5}([0-9]{3})\b`)
)

// maxRedacted bounds a redacted text: a reason is for an operator, not a
// copy of a provider's page.
const maxRedacted = 300

// Redact returns text fit for a log line or an error column: every URL
// loses its query, fragment and user info (scheme, host and path stay, so
// an operator still sees where the call went), every Kenyan phone number
// keeps only its prefix and last three digits (+2547*****678), each non-empty secret given is replaced by "[redacted]", and
// the result is at most 300 bytes.
func Redact(text string, secrets ...string) string {
	for _, s := range secrets {
		if s != "" {
			text = strings.ReplaceAll(text, s, "[redacted]")
			if q := url.QueryEscape(s); q != s {
				text = strings.ReplaceAll(text, q, "[redacted]")
			}
		}
	}
	text = urlInText.ReplaceAllStringFunc(text, func(raw string) string {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			if i := strings.IndexAny(raw, "?#"); i >= 0 {
				return raw[:i]
			}
			return raw
		}
		safe := u.Scheme + "://" + u.Host + u.EscapedPath()
		if u.RawQuery != "" || u.Fragment != "" {
			safe += "?[redacted]"
		}
		return safe
	})
	text = phoneInText.ReplaceAllString(text, "$1$2*****$3")
	if len(text) > maxRedacted {
		text = strings.ToValidUTF8(text[:maxRedacted-3], "") + "..."
	}
	return text
}

// RedactError is Redact of err's text ("" for nil).
func RedactError(err error, secrets ...string) string {
	if err == nil {
		return ""
	}
	return Redact(err.Error(), secrets...)
}

// RedactedError wraps err so that its text is Redact(err.Error(),
// secrets...) while errors.Is and errors.As still see err and what it
// wraps (context.DeadlineExceeded, a provider's sentinel, ...). Provider
// clients return transport failures through it.
func RedactedError(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	return &redactedError{err: err, text: Redact(err.Error(), secrets...)}
}

type redactedError struct {
	err  error
	text string
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }
