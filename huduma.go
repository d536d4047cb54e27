// Package huduma holds the domain of the Huduma USSD and SMS gateway: the
// types every other package speaks (phone numbers, catalog services,
// invoices, USSD hops) and the error codes shown to callers. It imports
// nothing internal; adapters (store, sessions, providers, the HTTP edge)
// import it, never the other way round.
package huduma

import (
	"errors"
	"fmt"
)

// Language is a user-facing language. Only English and Kiswahili exist.
type Language string

// The languages every screen and text is written in.
const (
	English   Language = "en"
	Kiswahili Language = "sw"
)

// ParseLanguage accepts "en" or "sw" (any case is not accepted: config and
// stored values are always lower case).
func ParseLanguage(s string) (Language, error) {
	switch Language(s) {
	case English, Kiswahili:
		return Language(s), nil
	}
	return "", Errorf(EInvalid, "unknown language %q (want en or sw)", s)
}

// Error codes. Callers (API clients, the USSD screens) see the code and the
// message; anything else is an internal error whose detail stays in logs.
const (
	EInvalid      = "invalid"
	ENotFound     = "not_found"
	EConflict     = "conflict"
	EUnauthorized = "unauthorized"
	// EForbidden: a known caller asking for what its key does not cover
	// (an agency's key and another agency's service, or the finance tools).
	EForbidden   = "forbidden"
	ERateLimited = "rate_limited"
	EUnavailable = "unavailable"
	// EKeyReused: an idempotency key already used for a different request.
	EKeyReused = "idempotency_key_reused"
	EInternal  = "internal"
)

// Error is a domain error with a caller-facing code and message.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the caller-facing message of err; internal errors
// become a generic sentence so no detail leaks.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// ErrNotFound is returned by lookups that find nothing. Stores wrap it so
// errors.Is(err, ErrNotFound) holds.
var ErrNotFound = &Error{Code: ENotFound, Message: "not found"}

// Is makes errors.Is(err, ErrNotFound) true for any not_found *Error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t == ErrNotFound && e.Code == ENotFound
}
