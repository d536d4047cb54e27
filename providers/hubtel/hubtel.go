// Package hubtel speaks the Hubtel Programmable Services USSD format and
// the many aggregators that copied it: a JSON POST per hop with Type
// (Initiation, Response, Release, Timeout), SessionId, Mobile, Message and
// ServiceCode, answered with JSON {"Type": "Response"|"Release", "Message"}.
// Only the latest input arrives, so the engine rebuilds the path from the
// session. On Initiation, Message is the whole string dialled (*2222*3#),
// which carries any shortcut digits.
//
// Hubtel itself serves Ghana; the phone numbers are still checked as
// Kenyan mobiles, so this adapter is for Kenyan aggregators that use the
// same JSON shape.
package hubtel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
)

// Name is the route segment: /ussd/hubtel.
const Name = "hubtel"

const (
	maxBody      = 4096
	maxSessionID = 128
	maxMessage   = 200
)

func init() { providers.RegisterUSSD(USSD{}) }

// USSD implements providers.USSD for Hubtel-style JSON.
type USSD struct{}

// Name implements providers.USSD.
func (USSD) Name() string { return Name }

// request is Hubtel's hop. Sequence is a string in the docs' sample and a
// number in the SDK, so it is read raw and ignored.
type request struct {
	Type        string          `json:"Type"`
	Mobile      string          `json:"Mobile"`
	SessionID   string          `json:"SessionId"`
	ServiceCode string          `json:"ServiceCode"`
	Message     string          `json:"Message"`
	Operator    string          `json:"Operator"`
	Sequence    json.RawMessage `json:"Sequence"`
	ClientState string          `json:"ClientState"`
	Platform    string          `json:"Platform"`
}

// ErrClosed means the aggregator reported the session over (Release or
// Timeout): nothing to step, and the answer is a Release.
var ErrClosed = errors.New("the session was released or timed out")

// DecodeHop implements providers.USSD.
func (USSD) DecodeHop(r providers.Request) (huduma.Hop, error) {
	if len(r.Body) == 0 || len(r.Body) > maxBody {
		return huduma.Hop{}, huduma.Errorf(huduma.EInvalid, "body must be a JSON object under %d bytes", maxBody)
	}
	var req request
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	if err := dec.Decode(&req); err != nil {
		return huduma.Hop{}, huduma.Errorf(huduma.EInvalid, "body is not Hubtel JSON: %v", err)
	}
	switch {
	case req.SessionID == "" || len(req.SessionID) > maxSessionID || !utf8.ValidString(req.SessionID):
		return huduma.Hop{}, huduma.Errorf(huduma.EInvalid, "SessionId is missing or malformed")
	case len(req.Message) > maxMessage || !utf8.ValidString(req.Message):
		return huduma.Hop{}, huduma.Errorf(huduma.EInvalid, "Message is longer than %d bytes or not UTF-8", maxMessage)
	}
	phone, err := huduma.ParseMSISDN(req.Mobile)
	if err != nil {
		return huduma.Hop{}, huduma.Errorf(huduma.EInvalid, "Mobile: %s", huduma.ErrorMessage(err))
	}
	hop := huduma.Hop{Provider: Name, SessionID: strings.Clone(req.SessionID), MSISDN: phone, Network: strings.Clone(req.Operator)}
	switch strings.ToLower(req.Type) {
	case "initiation":
		hop.Start = true
		hop.ServiceCode = dialled(req.Message, req.ServiceCode)
	case "response":
		hop.Input = strings.TrimSpace(req.Message)
		hop.ServiceCode = dialled("", req.ServiceCode)
	case "release", "timeout":
		return huduma.Hop{}, fmt.Errorf("%s: %w", req.Type, ErrClosed)
	default:
		return huduma.Hop{}, huduma.Errorf(huduma.EInvalid, "Type %q is not Initiation, Response, Release or Timeout", req.Type)
	}
	return hop, nil
}

// dialled is the USSD string: the Initiation message when it is one
// (*2222*3#), else the ServiceCode field in USSD form (2222*3 → *2222*3#).
func dialled(message, code string) string {
	if m := strings.TrimSpace(message); strings.HasPrefix(m, "*") && strings.HasSuffix(m, "#") && len(m) <= 40 {
		return m
	}
	code = strings.Trim(strings.TrimSpace(code), "*#")
	if code == "" || len(code) > 40 {
		return ""
	}
	return "*" + code + "#"
}

type response struct {
	Type        string `json:"Type"`
	Message     string `json:"Message"`
	ClientState string `json:"ClientState,omitempty"`
}

func encode(status int, typ, msg string) providers.Response {
	b, _ := json.Marshal(response{Type: typ, Message: msg})
	return providers.Response{Status: status, ContentType: "application/json", Body: b}
}

// EncodeReply implements providers.USSD.
func (USSD) EncodeReply(reply huduma.Reply) providers.Response {
	if reply.End {
		return encode(http.StatusOK, "Release", reply.Text)
	}
	return encode(http.StatusOK, "Response", reply.Text)
}

// EncodeError implements providers.USSD: a released or timed-out session
// is acknowledged; anything unreadable gets a Release with our words,
// as 200 so the aggregator shows them rather than its own error.
func (USSD) EncodeError(err error) providers.Response {
	if errors.Is(err, ErrClosed) {
		return encode(http.StatusOK, "Release", "")
	}
	return encode(http.StatusOK, "Release", "Sorry, we could not read that request.")
}
