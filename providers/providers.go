// Package providers holds the contract of every kind of outside provider
// and its registry: USSD aggregators (this file), SMS gateways (sms.go)
// and M-Pesa rails (mpesa.go). A USSD provider turns its wire format into
// a huduma.Hop and a huduma.Reply into its wire format; an SMS provider
// sends texts and turns its callbacks into SMSReports calls; an M-Pesa
// provider sends prompts and turns its callbacks into MpesaReports calls.
// None sees the web framework, the store, sessions or menus. Provider
// packages (providers/africastalking, providers/daraja, ...) register
// themselves in init(); cmd/huduma imports the ones it ships, so adding a
// provider of any kind is one package plus one import line.
package providers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"sync"

	"github.com/huduma-ke/huduma"
)

// Request is an incoming HTTP request reduced to plain values, copied out of
// the framework so nothing outlives the handler. Its maps are for reading:
// any of them may be nil when there is nothing in it (reading a nil map
// is fine), and a handler must not write to them.
type Request struct {
	Method string
	// Query holds URL query parameters (the callback token is removed).
	Query url.Values
	// Form holds form-urlencoded body fields (empty for other bodies).
	Form url.Values
	// Header holds the request headers: all of them on a callback, but
	// on a USSD hop (DecodeHop) only those the provider names through
	// HopHeaders, none if it does not, because copying every header of
	// every hop was a measurable part of the edge's CPU per hop (issue 23).
	Header http.Header
	Body   []byte
}

// Response is what the edge writes back.
type Response struct {
	Status      int
	ContentType string
	Body        []byte
	// Reason says, for the callback metrics, what the callback was: one
	// of the Reason constants. Empty means the status decides: 2xx ok,
	// 4xx malformed, 5xx error.
	Reason string
}

// Callback reasons (Response.Reason). ReasonOK, ReasonUnknown and
// ReasonDuplicate are accepted callbacks; the others rejected ones.
const (
	ReasonOK        = "ok"
	ReasonMalformed = "malformed"
	// ReasonUnknown: the callback refers to nothing we have.
	ReasonUnknown = "unknown"
	// ReasonDuplicate: a repeat that changed nothing.
	ReasonDuplicate = "duplicate"
	// ReasonError: our side failed; the provider will retry.
	ReasonError = "error"
)

// USSD is an aggregator's USSD wire format.
type USSD interface {
	// Name is the route segment: hops arrive at /ussd/<Name>.
	Name() string
	// DecodeHop validates and converts a request. Errors are the caller's
	// fault (missing fields, bad phone) and become EncodeError replies.
	DecodeHop(r Request) (huduma.Hop, error)
	// EncodeReply renders a screen in the aggregator's format.
	EncodeReply(reply huduma.Reply) Response
	// EncodeError answers a request that could not be decoded, so that
	// the subscriber sees a last screen that says so (for the text
	// aggregators, 200 and an END).
	EncodeError(err error) Response
}

// HopHeaders is implemented by a USSD provider whose DecodeHop reads
// request headers: the edge copies only the headers named here into a
// hop's Request.Header (see Request).
type HopHeaders interface {
	HopHeaders() []string
}

// SessionEvents is implemented by USSD providers that send end-of-session
// notifications to /ussd/<Name>/events.
type SessionEvents interface {
	DecodeEvent(r Request) (huduma.SessionEvent, error)
}

var (
	mu   sync.RWMutex
	ussd = map[string]USSD{}
)

// RegisterUSSD makes a provider available; it panics on a duplicate name,
// which is a programming error caught at start.
func RegisterUSSD(p USSD) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := ussd[p.Name()]; dup {
		panic(fmt.Sprintf("providers: USSD provider %q registered twice", p.Name()))
	}
	ussd[p.Name()] = p
}

// ConEnd is the reply of the text/plain aggregators (Africa's Talking and
// the Kenyan GET-style ones): 200 with a literal "CON " (continue) or
// "END " (last screen) before the screen.
func ConEnd(reply huduma.Reply) Response {
	prefix := "CON "
	if reply.End {
		prefix = "END "
	}
	return Response{Status: http.StatusOK, ContentType: "text/plain", Body: []byte(prefix + reply.Text)}
}

// ConEndRefusal answers a request those aggregators sent that could not
// be read: 200 with an END, so the subscriber reads our words. Africa's
// Talking ends the session on any 4xx or a body without CON/END, and
// what the phone shows then is not documented (assumed: the network's
// generic failure, or nothing), so a 4xx would leave the caller
// guessing. The reason goes to the log, not to the caller.
func ConEndRefusal() Response {
	return Response{Status: http.StatusOK, ContentType: "text/plain", Body: []byte("END Sorry, we could not read that request.")}
}

// LookupUSSD returns the provider registered under name, or nil.
func LookupUSSD(name string) USSD {
	mu.RLock()
	defer mu.RUnlock()
	return ussd[name]
}

// Methods is implemented by providers whose aggregator calls with other
// HTTP methods than POST (GET-style aggregators).
type Methods interface {
	Methods() []string
}

// USSDProviders returns the registered providers sorted by name.
func USSDProviders() []USSD {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]USSD, 0, len(ussd))
	for _, p := range ussd {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// Route is a callback route a provider package offers (e.g. Daraja's
// payment callbacks); the edge mounts it behind the callback token.
type Route struct {
	// Name is the route's short fixed name in the callback metrics
	// (stk, c2b_confirmation, sms_delivery, sms_inbound, ...).
	Name   string
	Method string
	Path   string
	Handle func(ctx context.Context, r Request) Response
}
