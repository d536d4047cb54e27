package huduma

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/url"
	"regexp"
	"strings"
	"syscall"
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

// A provider's answer to a failed request may be an echo of the request:
// Kannel quotes a refused dlr-url (with our callback token) or receiver, a
// proxy's error page repeats the URL, an API names the phone it refused,
// each in whatever encoding it likes. Guessing every encoding of every
// secret cannot be complete, so what is kept of an answer is chosen by its
// structure instead: the provider's fixed sentences (KnownSentence), a
// message that can only be words (ProviderWords), or the kind of a
// transport failure (NetFailure); never the free text around them.

// KnownSentence returns the sentence of known that the first line of text
// starts with (after an optional numeric code such as Kannel's "3: "), and
// "" when there is none. A known sentence may hold one %s or %d where the
// provider quotes a value of ours; that value is replaced by "…". Whatever
// follows the sentence is dropped.
func KnownSentence(text string, known ...string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
	line = strings.TrimSpace(line)
	if code, rest, ok := strings.Cut(line, ": "); ok && len(code) <= 3 && strings.Trim(code, "0123456789") == "" {
		line = rest
	}
	for _, k := range known {
		before, after, quoted := cutVerb(k)
		if !quoted {
			if strings.HasPrefix(line, k) {
				return k
			}
			continue
		}
		if strings.HasPrefix(line, before) && strings.Contains(line[len(before):], after) {
			return before + "…" + after
		}
	}
	return ""
}

// cutVerb splits a sentence template at its %s or %d.
func cutVerb(k string) (before, after string, ok bool) {
	for _, verb := range []string{"%s", "%d"} {
		if before, after, ok = strings.Cut(k, verb); ok {
			return before, after, true
		}
	}
	return k, "", false
}

// maxWords bounds a provider message kept by ProviderWords.
const maxWords = 160

// ProviderWords returns msg when it can be nothing but a provider's own
// words ("Bad Request - Invalid PhoneNumber", "Request cancelled by
// user"): at most 160 bytes of ASCII letters, spaces and sentence
// punctuation, and none of secrets. Anything with a digit, a URL, an
// encoded value or one of secrets could be an echo of our request (a
// phone, an amount, a callback URL with its token, a password), so it
// gives "" instead.
func ProviderWords(msg string, secrets ...string) string {
	msg = strings.TrimSpace(msg)
	if msg == "" || len(msg) > maxWords {
		return ""
	}
	for _, r := range msg {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == ' ':
		case strings.ContainsRune(".,;:!'()[]_-", r):
		default:
			return ""
		}
	}
	for _, s := range secrets {
		if len(s) >= 4 && strings.Contains(strings.ToLower(msg), strings.ToLower(s)) {
			return ""
		}
	}
	return msg
}

// NetFailure names a failed HTTP call by its kind only ("timed out",
// "connection refused", ...). Go's error text names the request's whole
// URL, which for a GET-style provider carries the password, the recipient,
// the text and our callback URL with its token; none of that is needed to
// know what went wrong.
func NetFailure(err error) string {
	var dns *net.DNSError
	var netErr net.Error
	var tlsErr *tls.CertificateVerificationError
	var header tls.RecordHeaderError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timed out"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection reset"
	case errors.As(err, &dns):
		return "host not found"
	case errors.As(err, &tlsErr), errors.As(err, &header):
		return "TLS handshake failed"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed before an answer"
	}
	return "connection failed"
}
