// Package africastalking speaks Africa's Talking's wire formats: the USSD
// session callback (form fields in, "CON "/"END " text/plain out) and the
// end-of-session events callback. It registers itself with the providers
// registry; cmd/huduma imports it for that side effect.
package africastalking

import (
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
)

// Name is the route segment: /ussd/africastalking.
const Name = "africastalking"

// Limits on what a hop may carry. AT session ids are ~40 characters; a
// path longer than 1,000 bytes is no human typing on a keypad.
const (
	maxSessionID = 128
	maxText      = 1000
)

func init() { providers.RegisterUSSD(USSD{}) }

// USSD implements providers.USSD and providers.SessionEvents for AT.
type USSD struct{}

// Name implements providers.USSD.
func (USSD) Name() string { return Name }

// DecodeHop implements providers.USSD. AT sends the whole input path in
// text ("" first, then "1", "1*2", ...); the newest input is its last
// segment.
//
// An empty serviceCode is accepted and left empty, which the engine serves
// as the configured code (HUDUMA_SERVICE_CODE, no shortcut digits).
// Africa's Talking always sends the code, but test clients such as
// dialoguss do not, and refusing them with a 400 helps nobody: the code
// only ever selects shortcut digits, never whose data is shown.
func (USSD) DecodeHop(r providers.Request) (huduma.Hop, error) {
	f := r.Form
	sid := f.Get("sessionId")
	switch {
	case sid == "":
		return huduma.Hop{}, huduma.Errorf(huduma.EInvalid, "sessionId is missing")
	case len(sid) > maxSessionID || !utf8.ValidString(sid):
		return huduma.Hop{}, huduma.Errorf(huduma.EInvalid, "sessionId is malformed")
	}
	text := f.Get("text")
	if len(text) > maxText {
		return huduma.Hop{}, huduma.Errorf(huduma.EInvalid, "text is longer than %d bytes", maxText)
	}
	if !utf8.ValidString(text) {
		return huduma.Hop{}, huduma.Errorf(huduma.EInvalid, "text is not valid UTF-8")
	}
	phone, err := huduma.ParseMSISDN(f.Get("phoneNumber"))
	if err != nil {
		return huduma.Hop{}, huduma.Errorf(huduma.EInvalid, "phoneNumber: %s", huduma.ErrorMessage(err))
	}
	input := text
	if i := strings.LastIndexByte(text, '*'); i >= 0 {
		input = text[i+1:]
	}
	return huduma.Hop{
		Provider:    Name,
		SessionID:   strings.Clone(sid),
		MSISDN:      phone,
		ServiceCode: strings.Clone(f.Get("serviceCode")),
		Network:     strings.Clone(f.Get("networkCode")),
		Path:        strings.Clone(text),
		Cumulative:  true,
		Input:       strings.Clone(input),
		Start:       text == "",
	}, nil
}

// EncodeReply implements providers.USSD: 200 text/plain with the literal
// "CON " or "END " prefix.
func (USSD) EncodeReply(reply huduma.Reply) providers.Response {
	return providers.ConEnd(reply)
}

// EncodeError implements providers.USSD. AT ends a session on any 40x
// without showing our text, so a request we cannot read gets 200 with
// an END body the subscriber reads.
func (USSD) EncodeError(err error) providers.Response {
	return providers.ConEndRefusal()
}

// eventTimeLayout is AT's events date format.
const eventTimeLayout = "2006-01-02 15:04:05"

// DecodeEvent implements providers.SessionEvents for AT's end-of-session
// notification. It is lenient: only sessionId is required, because losing
// an operator record over a malformed cost field helps nobody.
func (USSD) DecodeEvent(r providers.Request) (huduma.SessionEvent, error) {
	f := r.Form
	sid := f.Get("sessionId")
	if sid == "" || len(sid) > maxSessionID || !utf8.ValidString(sid) {
		return huduma.SessionEvent{}, errors.New("sessionId is missing or malformed")
	}
	ev := huduma.SessionEvent{
		Provider:     Name,
		SessionID:    strings.Clone(sid),
		Status:       clip(f.Get("status"), 32),
		Input:        clip(f.Get("input"), maxText),
		LastResponse: clip(f.Get("lastAppResponse"), 400),
		ErrorMessage: clip(f.Get("errorMessage"), 400),
		At:           time.Now().UTC(),
	}
	if phone, err := huduma.ParseMSISDN(f.Get("phoneNumber")); err == nil {
		ev.MSISDN = phone
	}
	if n, err := strconv.Atoi(strings.TrimSpace(f.Get("hopsCount"))); err == nil {
		ev.Hops = n
	}
	if n, err := strconv.ParseFloat(strings.TrimSpace(f.Get("durationInMillis")), 64); err == nil {
		ev.DurationMS = int64(n)
	}
	if t, err := time.ParseInLocation(eventTimeLayout, f.Get("date"), nairobi); err == nil {
		ev.At = t.UTC()
	}
	return ev, nil
}

// nairobi is East Africa Time; AT stamps events in local time.
var nairobi = time.FixedZone("EAT", 3*60*60)

// clip copies s, cut to n bytes on a rune boundary, dropping invalid UTF-8.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	for len(s) > n {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return strings.Clone(s)
}
