package kannel

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
)

// Texts to the short code reach us through an sms-service of smsbox whose
// get-url names this route and Kannel's escapes for the message:
//
//	get-url = "https://<host>/sms/kannel/inbound?token=<token>&id=%I&from=%p&text=%b&coding=%c&charset=%C"
//
// %I is the message's id (a UUID Kannel gives every message it takes in),
// %p the sender, %b the text as it came (%a would squeeze its spaces), %c
// its coding (0 GSM-7, 1 8-bit data, 2 UCS-2) and %C the charset %b is
// in. Debian's Kannel 1.4.5 hands GSM-7 texts over as UTF-8 and UCS-2
// ones as UTF-16BE bytes: that is what its smsbox sent when fakesmsc
// injected both (TestInbound's cases are those requests), not a
// documented promise; ISO-8859-1, should a Kannel hand that over, is read
// too.
//
// The answer is sent through our outbox, never as the HTTP body: the
// sms-service must say max-messages = 0 so that smsbox sends nothing of
// its own (no empty reply, no "Could not fetch content" after a failure),
// and smsbox's http-request-retry makes it ask again after any answer but
// 200 or 202, or none. smsbox retries the same URL, so the id, and with it
// the inbox's dedupe key, is the same on every retry.

// InboundPath is the route Kannel's get-url calls.
const InboundPath = "/sms/kannel/inbound"

// Incoming is one text as Kannel hands it over.
type Incoming struct {
	// ID is Kannel's message id, scoped to Kannel ("kannel:<%I>").
	ID   string
	From huduma.MSISDN
	Text string
}

// maxText bounds an incoming text: ten concatenated parts.
const maxText = 1600

// DecodeIncoming reads the query of Kannel's get-url. A missing or
// unreadable field is an error naming it; nothing is guessed.
func DecodeIncoming(q url.Values) (Incoming, error) {
	id := q.Get("id")
	if id == "" || len(id) > 64 || !utf8.ValidString(id) || strings.ContainsAny(id, "%\x00") {
		// A literal "%I" means Kannel did not substitute it.
		return Incoming{}, errors.New("id (Kannel's %I) is missing or malformed")
	}
	from, err := huduma.ParseMSISDN(q.Get("from"))
	if err != nil {
		return Incoming{}, fmt.Errorf("from (Kannel's %%p): %s", huduma.ErrorMessage(err))
	}
	raw, ok := q["text"]
	if !ok {
		return Incoming{}, errors.New("text (Kannel's %b) is missing")
	}
	text, err := decodeText(raw[0], q.Get("coding"), q.Get("charset"))
	if err != nil {
		return Incoming{}, err
	}
	// A NUL means nothing in a text, and the database refuses it.
	text = strings.ReplaceAll(text, "\x00", "")
	if len(text) > maxText {
		return Incoming{}, fmt.Errorf("text is longer than %d bytes", maxText)
	}
	return Incoming{ID: "kannel:" + id, From: from, Text: text}, nil
}

// decodeText turns %b's bytes into a string by the message's coding and
// charset.
func decodeText(b, coding, charset string) (string, error) {
	switch coding {
	case "", "0", "2":
	case "1":
		return "", errors.New("text: an 8-bit data message (coding 1) is not a text")
	default:
		return "", fmt.Errorf("coding %q is not 0, 1 or 2", clip(coding))
	}
	switch cs := strings.ToUpper(strings.TrimSpace(charset)); {
	case cs == "UTF-16BE" || cs == "UCS-2" || cs == "UCS-2BE" || (cs == "" && coding == "2"):
		if len(b)%2 != 0 {
			return "", errors.New("text: UTF-16BE of an odd length")
		}
		units := make([]uint16, len(b)/2)
		for i := range units {
			units[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		}
		s := string(utf16.Decode(units))
		if strings.ContainsRune(s, utf8.RuneError) {
			return "", errors.New("text: not UTF-16BE")
		}
		return s, nil
	case cs == "" || cs == "UTF-8" || cs == "UTF8":
		if !utf8.ValidString(b) {
			return "", errors.New("text is not UTF-8")
		}
		return strings.Clone(b), nil
	case cs == "ISO-8859-1" || cs == "LATIN1" || cs == "ISO8859-1":
		r := make([]rune, len(b))
		for i := 0; i < len(b); i++ {
			r[i] = rune(b[i])
		}
		return string(r), nil
	}
	return "", fmt.Errorf("charset %q is not UTF-8, UTF-16BE or ISO-8859-1", clip(charset))
}

// clip bounds a value quoted in an error.
func clip(s string) string {
	if len(s) > 20 {
		s = s[:20]
	}
	return strings.ToValidUTF8(s, "?")
}

// InboundRoutes returns the route Kannel's get-url calls. A text that
// cannot be read gets 400 and changes nothing; a failure to handle it
// 500, so smsbox asks again (http-request-retry); a text handled gets
// 200 with an empty body (max-messages = 0 makes Kannel send nothing of
// its own either way).
func InboundRoutes(h providers.SMSReports) []providers.Route {
	handle := func(ctx context.Context, r providers.Request) providers.Response {
		reply := func(status int, body string) providers.Response {
			return providers.Response{Status: status, ContentType: "text/plain", Body: []byte(body)}
		}
		in, err := DecodeIncoming(r.Query)
		if err != nil {
			return reply(http.StatusBadRequest, err.Error())
		}
		if err := h.Receive(ctx, in.ID, in.From, in.Text); err != nil {
			return reply(http.StatusInternalServerError, "try again")
		}
		return reply(http.StatusOK, "")
	}
	return []providers.Route{{Name: "sms_inbound", Method: http.MethodGet, Path: InboundPath, Handle: handle}}
}
