// Package kannel sends SMS through Kannel's sendsms HTTP interface, for
// operators who reach their SMSCs over their own SMPP links through
// Kannel, maps Kannel's delivery reports back onto the outbox, and hands
// the texts people send to the short code, which Kannel's sms-service
// passes on through its get-url, to the inbox (inbound.go).
//
// Kannel's sendsms answers 202 "0: Accepted for delivery" (or "3: Queued
// for later delivery") with no message id, so the client makes its own id
// and puts it in the dlr-url; the report then names the message by it.
package kannel

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
)

// The variables Kannel's sendsms reads; KANNEL_SENDSMS_URL selects it.
var vars = []providers.Var{
	{Name: "KANNEL_SENDSMS_URL", Help: "smsbox's sendsms endpoint, e.g. `http://127.0.0.1:13013/cgi-bin/sendsms`; set to send SMS through Kannel"},
	{Name: "KANNEL_USERNAME", Help: "sendsms user"},
	{Name: "KANNEL_PASSWORD", Help: "sendsms password"},
	{Name: "KANNEL_FROM", Help: "sender id or short code"},
}

func init() {
	providers.RegisterSMS(providers.SMSProvider{Name: "kannel", Vars: vars,
		Selected: func(getenv func(string) string) bool {
			for _, v := range vars {
				if strings.TrimSpace(getenv(v.Name)) != "" {
					return true
				}
			}
			return false
		},
		Check: check,
		Open:  open,
	})
}

// check validates Kannel's variables.
func check(getenv func(string) string) error {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	u := get("KANNEL_SENDSMS_URL")
	if parsed, err := url.Parse(u); err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
		return fmt.Errorf("config: KANNEL_SENDSMS_URL: want an http(s) URL, got %q", u)
	}
	if get("KANNEL_USERNAME") == "" || get("KANNEL_PASSWORD") == "" {
		return fmt.Errorf("config: KANNEL_USERNAME: set KANNEL_USERNAME and KANNEL_PASSWORD with KANNEL_SENDSMS_URL")
	}
	return nil
}

// open returns the client, its delivery route and the inbound route.
func open(env providers.SMSEnv) (providers.SMSSender, []providers.Route, error) {
	get := func(k string) string { return strings.TrimSpace(env.Getenv(k)) }
	u := get("KANNEL_SENDSMS_URL")
	c := NewClient(Config{SendSMSURL: u, Username: get("KANNEL_USERNAME"), Password: get("KANNEL_PASSWORD"), From: get("KANNEL_FROM"),
		DLRURL: env.CallbackURL(DeliveryPath)}, env.HTTP)
	return c, append(Routes(env.Reports), InboundRoutes(env.Reports)...), nil
}

// Config is a Kannel sendsms user and where reports should go.
type Config struct {
	// SendSMSURL is smsbox's endpoint, e.g. http://127.0.0.1:13013/cgi-bin/sendsms.
	SendSMSURL, Username, Password string
	// From is the sender id or short code (optional).
	From string
	// DLRURL is our delivery route with its token, e.g.
	// https://host/sms/kannel/delivery?token=…; Kannel calls it with the
	// message id and the report's code and text appended.
	DLRURL  string
	Timeout time.Duration
}

// DLRMask asks for every report: delivered (1), failed (2), buffered (4),
// accepted by the SMSC (8) and rejected by the SMSC (16).
const DLRMask = 31

// Client sends through one Kannel.
type Client struct {
	cfg  Config
	http *http.Client
}

// NewClient returns a client; hc nil means a default client.
func NewClient(cfg Config, hc *http.Client) *Client {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{cfg: cfg, http: hc}
}

// Send submits one SMS and returns the id its delivery reports will carry.
func (c *Client) Send(ctx context.Context, to huduma.MSISDN, text string) (string, error) {
	id, err := newID()
	if err != nil {
		return "", err
	}
	dlr, err := url.Parse(c.cfg.DLRURL)
	if err != nil {
		return "", fmt.Errorf("kannel dlr url: %w", err)
	}
	q := dlr.Query()
	q.Set("id", id)
	// Kannel substitutes %d (report code) and %A (SMSC answer) itself, so
	// they are added unescaped after encoding the rest.
	dlrURL := dlr.Scheme + "://" + dlr.Host + dlr.Path + "?" + q.Encode() + "&status=%d&answer=%A"
	v := url.Values{"username": {c.cfg.Username}, "password": {c.cfg.Password}, "to": {string(to)}, "text": {text},
		"charset": {"UTF-8"}, "coding": {"0"}, "dlr-mask": {strconv.Itoa(DLRMask)}, "dlr-url": {dlrURL}}
	if c.cfg.From != "" {
		v.Set("from", c.cfg.From)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.cfg.SendSMSURL+"?"+v.Encode(), nil)
	if err != nil {
		return "", fmt.Errorf("kannel request: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// Go's error names the whole URL: password, number, text and the
		// dlr-url with our token. Only the kind of failure is kept.
		return "", providers.Retryable("kannel: " + huduma.NetFailure(err))
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	reason := fmt.Sprintf("kannel %d: %s", resp.StatusCode, answer(string(b)))
	switch {
	case resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusOK:
		// "0: Accepted for delivery" or "3: Queued for later delivery".
		return id, nil
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return "", providers.Retryable(reason)
	}
	// 400 missing/invalid parameters, 403 authorisation failed: fixing
	// them takes an operator, not a retry.
	return "", providers.Permanent(reason)
}

// sendsmsAnswers are the sentences smsbox's sendsms answers with (Kannel
// 1.4). Several quote a value of our request back (a refused dlr-url
// holds our callback token, a refused receiver the phone number); the
// value is never kept (huduma.KnownSentence).
var sendsmsAnswers = []string{
	"Accepted for delivery", "Queued for later delivery", "Sent.", "Sending failed.", "Authorization failed for sendsms",
	"Missing receiver number, rejected", "Missing receiver(s) number(s), rejected", "Empty receiver number not allowed, rejected",
	"Sender missing and no global set, rejected", "Not routable. Do not try again.",
	"Number(s) has/have been denied by white- and/or black-lists.", "Unsupported content-type, rejected",
	"Charset or body misformed, rejected", "UDH field is too long, rejected", "UDH field misformed, rejected",
	"Account field misformed or too long, rejected", "DLR-URL field misformed, rejected", "DLR-Mask field misformed, rejected",
	"MClass field misformed, rejected", "Alt-DCS field misformed, rejected", "Coding field misformed, rejected",
	"Compress field misformed, rejected", "Validity field misformed, rejected", "Deferred field misformed, rejected",
	"Priority field misformed, rejected", "PID field misformed, rejected", "RPI field misformed, rejected", "MWI field misformed, rejected",
	"Tried to change dlr_url to '%s', denied.", "Tried to change receiver to '%s', denied.", "Tried to change sender to '%s', denied.",
	"Tried to change SMSC to '%s', denied.", "Tried to change account to '%s', denied.", "Tried to change billing info to '%s', denied.",
	"Tried to change validity to '%d', denied.", "Tried to change deferred to '%d', denied.", "Tried to change dlr_mask to '%d', denied.",
	"Tried to change priority to '%d', denied.", "Tried to set UDH field, denied.", "Tried to set MClass field, denied.",
	"Tried to set PID field, denied.", "Tried to set RPI field, denied.", "Tried to set Alt-DCS field, denied.",
	"Tried to set MWI field, denied.", "Tried to set Coding field, denied.", "Tried to set Compress field, denied.",
	"Tried to set Meta-Data field, denied.", "No reply sent, denied.", "Unknown request.", "Incomplete request.",
}

// answer is what of a sendsms answer may be kept: Kannel's own sentence,
// or a fixed phrase for anything else (a proxy's page, an echo).
func answer(body string) string {
	if s := huduma.KnownSentence(body, sendsmsAnswers...); s != "" {
		return s
	}
	return "answer not shown (not one of Kannel's sendsms answers)"
}

func newID() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("kannel message id: %w", err)
	}
	return "K" + hex.EncodeToString(b), nil
}

// MapDLR maps Kannel's report codes (the dlr-mask bits) onto message
// states: the state, whether it is final, and words for the reason.
func MapDLR(code int) (huduma.MessageStatus, bool, string) {
	switch code {
	case 1:
		return huduma.MsgDelivered, true, "delivered to phone"
	case 2:
		return huduma.MsgFailed, true, "not delivered to phone"
	case 4:
		return huduma.MsgSent, false, "queued on SMSC"
	case 8:
		return huduma.MsgSent, false, "accepted by SMSC"
	case 16:
		return huduma.MsgFailed, true, "rejected by SMSC"
	}
	return huduma.MsgSent, false, "unknown report code " + strconv.Itoa(code)
}

var (
	ackRE     = regexp.MustCompile(`^(N?ACK)(/(0x[0-9A-Fa-f]{1,8}))?(/|$)`)
	receiptRE = regexp.MustCompile(`\bstat:([A-Z]{5,8})\b(?:.*\berr:([0-9A-Za-z]{1,3})\b)?`)
)

// smscAnswer keeps what of the SMSC's answer (Kannel's %A) is a code: the
// ACK or NACK and its error number, or an SMPP delivery receipt's stat and
// err fields. The rest is dropped: a receipt carries the first characters
// of the message text ("text:Your eCitizen code…") and a NACK may carry
// free words.
func smscAnswer(a string) string {
	if m := ackRE.FindStringSubmatch(a); m != nil {
		if m[3] == "" {
			return m[1]
		}
		return m[1] + "/" + m[3]
	}
	if m := receiptRE.FindStringSubmatch(a); m != nil {
		if m[2] != "" {
			return "stat:" + m[1] + " err:" + m[2]
		}
		return "stat:" + m[1]
	}
	return ""
}

// DeliveryPath is our report route.
const DeliveryPath = "/sms/kannel/delivery"

// Report is one delivery report as Kannel's dlr-url hands it over: our
// message id, Kannel's code (%d) mapped onto the message, and a reason
// with the SMSC's answer (%A) in it.
type Report struct {
	ID     string
	Code   int
	State  huduma.MessageStatus
	Final  bool
	Reason string
}

// DecodeReport reads the query of a dlr-url call. The id must be one we
// could have made and the status a number; the SMSC's answer is kept
// (redacted, valid UTF-8, bounded) in the reason.
func DecodeReport(q url.Values) (Report, error) {
	id := q.Get("id")
	code, err := strconv.Atoi(q.Get("status"))
	if id == "" || len(id) > 64 || !utf8.ValidString(id) || strings.ContainsRune(id, 0) || err != nil {
		return Report{}, errors.New("id and a numeric status are required")
	}
	state, final, words := MapDLR(code)
	reason := fmt.Sprintf("kannel %d: %s", code, words)
	// Only the answer's structure is kept (an ACK/NACK code, a receipt's
	// stat and err): an SMPP receipt quotes the message's first words.
	if a := smscAnswer(q.Get("answer")); a != "" {
		reason += " (" + a + ")"
	}
	return Report{ID: strings.Clone(id), Code: code, State: state, Final: final, Reason: reason}, nil
}

// Routes returns the delivery-report route (GET, as Kannel calls it, and
// POST). A report that cannot be read gets 400; a failure to store it
// 500, so Kannel retries. So does a report for an id we do not have: the
// ids are ours, made before the send, and Kannel's SMSC may report
// before the outbox has written down the send it reports on (the fake
// SMSC does so at once); smsbox's retry (http-request-retry) then finds
// it. The callback metrics count it as unknown, not as a failure.
func Routes(h providers.SMSReports) []providers.Route {
	handle := func(ctx context.Context, r providers.Request) providers.Response {
		reply := func(status int, body string) providers.Response {
			return providers.Response{Status: status, ContentType: "text/plain", Body: []byte(body)}
		}
		d, err := DecodeReport(r.Query)
		if err != nil {
			return reply(http.StatusBadRequest, err.Error())
		}
		if err := h.Delivered(ctx, d.ID, d.State, d.Final, d.Reason); errors.Is(err, providers.ErrUnknownMessage) {
			resp := reply(http.StatusServiceUnavailable, "not known yet; try again")
			resp.Reason = providers.ReasonUnknown
			return resp
		} else if err != nil {
			return reply(http.StatusInternalServerError, "try again")
		}
		return reply(http.StatusOK, "OK")
	}
	return []providers.Route{{Name: "sms_delivery", Method: http.MethodGet, Path: DeliveryPath, Handle: handle}, {Name: "sms_delivery", Method: http.MethodPost, Path: DeliveryPath, Handle: handle}}
}
