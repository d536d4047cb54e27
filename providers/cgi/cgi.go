// Package cgi speaks the Kenyan "GET-style" USSD aggregators (Jaza Africa,
// Advanta, TechSavanna, Crossgate, Bonga and the like): a GET (or form
// POST) per hop whose field names differ per aggregator, answered with
// "CON …"/"END …" text/plain like Africa's Talking. Each aggregator is a
// Route configured by name, field names and whether the input field holds
// the whole path (1*2*3) or only the latest input; HUDUMA_CGI_ROUTES lists
// them, so adding one needs no code.
package cgi

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
)

// Route is one aggregator's field names and input style.
type Route struct {
	// Name is the route segment: hops arrive at /ussd/<Name>.
	Name string
	// Session, Phone, Code, Input and Network name the request fields.
	Session, Phone, Code, Input, Network string
	// Cumulative is true when Input holds every input so far joined by
	// "*" (as AT's text), false when it holds only the latest.
	Cumulative bool
}

const (
	maxSessionID = 128
	maxInput     = 1000
)

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{1,30}$`)

// ParseRoutes reads HUDUMA_CGI_ROUTES: routes separated by ";", each
// "name:session=F,phone=F,code=F,input=F[,network=F][,mode=cumulative|latest]".
// Example (Jaza Africa):
//
//	jaza:session=SESSIONID,phone=MSISDN,code=USSDCODE,input=INPUT,mode=cumulative
func ParseRoutes(spec string) ([]Route, error) {
	var out []Route
	for _, part := range strings.Split(spec, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, fields, ok := strings.Cut(part, ":")
		if !ok || !nameRE.MatchString(name) {
			return nil, fmt.Errorf("route %q: want name:field=...,... with a lower-case name", part)
		}
		r := Route{Name: name, Cumulative: true}
		for _, kv := range strings.Split(fields, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
			if !ok || v == "" {
				return nil, fmt.Errorf("route %s: %q is not key=value", name, kv)
			}
			switch k {
			case "session":
				r.Session = v
			case "phone":
				r.Phone = v
			case "code":
				r.Code = v
			case "input":
				r.Input = v
			case "network":
				r.Network = v
			case "mode":
				switch v {
				case "cumulative":
					r.Cumulative = true
				case "latest":
					r.Cumulative = false
				default:
					return nil, fmt.Errorf("route %s: mode is cumulative or latest, not %q", name, v)
				}
			default:
				return nil, fmt.Errorf("route %s: unknown key %q (session, phone, code, input, network, mode)", name, k)
			}
		}
		if r.Session == "" || r.Phone == "" || r.Input == "" {
			return nil, fmt.Errorf("route %s: session, phone and input fields are required", name)
		}
		out = append(out, r)
	}
	return out, nil
}

// USSD is a configured GET-style provider.
type USSD struct{ r Route }

// New returns the provider for route r.
func New(r Route) USSD { return USSD{r: r} }

// Name implements providers.USSD.
func (u USSD) Name() string { return u.r.Name }

// Methods makes the edge accept GET as well as POST on the route.
func (USSD) Methods() []string { return []string{http.MethodGet, http.MethodPost} }

// field reads a field from the query string or the form body.
func field(r providers.Request, name string) string {
	if v := r.Query.Get(name); v != "" {
		return v
	}
	return r.Form.Get(name)
}

// DecodeHop implements providers.USSD.
func (u USSD) DecodeHop(r providers.Request) (huduma.Hop, error) {
	sid := field(r, u.r.Session)
	if sid == "" || len(sid) > maxSessionID || !utf8.ValidString(sid) {
		return huduma.Hop{}, huduma.Errorf(huduma.EInvalid, "%s is missing or malformed", u.r.Session)
	}
	input := field(r, u.r.Input)
	if len(input) > maxInput || !utf8.ValidString(input) {
		return huduma.Hop{}, huduma.Errorf(huduma.EInvalid, "%s is longer than %d bytes or not UTF-8", u.r.Input, maxInput)
	}
	phone, err := huduma.ParseMSISDN(field(r, u.r.Phone))
	if err != nil {
		return huduma.Hop{}, huduma.Errorf(huduma.EInvalid, "%s: %s", u.r.Phone, huduma.ErrorMessage(err))
	}
	hop := huduma.Hop{Provider: u.r.Name, SessionID: strings.Clone(sid), MSISDN: phone, Cumulative: u.r.Cumulative}
	if u.r.Code != "" {
		hop.ServiceCode = ussdCode(field(r, u.r.Code))
	}
	if u.r.Network != "" {
		hop.Network = strings.Clone(field(r, u.r.Network))
	}
	if u.r.Cumulative {
		hop.Path = strings.Clone(input)
		hop.Input = hop.Path
		if i := strings.LastIndexByte(input, '*'); i >= 0 {
			hop.Input = strings.Clone(input[i+1:])
		}
		hop.Start = input == ""
	} else {
		hop.Input = strings.TrimSpace(input)
		hop.Start = hop.Input == ""
	}
	return hop, nil
}

// ussdCode puts a code in USSD form: aggregators send "*415#", "415" or
// "%2A415%23" already decoded.
func ussdCode(c string) string {
	c = strings.Trim(strings.TrimSpace(c), "*#")
	if c == "" || len(c) > 40 || !utf8.ValidString(c) {
		return ""
	}
	return "*" + c + "#"
}

// EncodeReply implements providers.USSD: CON/END text/plain.
func (USSD) EncodeReply(reply huduma.Reply) providers.Response {
	return providers.ConEnd(reply)
}

// EncodeError implements providers.USSD.
func (USSD) EncodeError(error) providers.Response {
	return providers.ConEndRefusal()
}

var _ providers.USSD = USSD{}
