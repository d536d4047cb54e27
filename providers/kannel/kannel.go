// Package kannel sends SMS through Kannel's sendsms HTTP interface, for
// operators who reach their SMSCs over their own SMPP links through
// Kannel, and maps Kannel's delivery reports back onto the outbox.
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
	"strconv"
	"strings"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
)

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

// Errors a send can end in; the outbox retries ErrRetryable.
var (
	ErrRetryable = errors.New("kannel: temporary failure")
	ErrPermanent = errors.New("kannel: refused")
)

// Error is a failed send with Kannel's status and text, already redacted
// (no URL query, password, number or message text), so it may be logged
// and stored as it is.
type Error struct {
	Status int
	Text   string
	kind   error
}

func (e *Error) Error() string { return fmt.Sprintf("kannel %d: %s", e.Status, e.Text) }

// Unwrap lets errors.Is see ErrRetryable or ErrPermanent.
func (e *Error) Unwrap() error { return e.kind }

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
		// Go's error names the whole URL: password, number and text.
		return "", &Error{Text: huduma.Redact(err.Error(), c.cfg.Password, text), kind: ErrRetryable}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	body := huduma.Redact(strings.TrimSpace(string(b)), c.cfg.Password, text)
	switch {
	case resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusOK:
		// "0: Accepted for delivery" or "3: Queued for later delivery".
		return id, nil
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return "", &Error{Status: resp.StatusCode, Text: body, kind: ErrRetryable}
	}
	// 400 missing/invalid parameters, 403 authorisation failed: fixing
	// them takes an operator, not a retry.
	return "", &Error{Status: resp.StatusCode, Text: body, kind: ErrPermanent}
}

func newID() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("kannel message id: %w", err)
	}
	return "K" + hex.EncodeToString(b), nil
}

// DeliveryState is a report code mapped onto the outbox.
type DeliveryState struct {
	State string
	Final bool
	Words string
}

// MapDLR maps Kannel's report codes (the dlr-mask bits).
func MapDLR(code int) DeliveryState {
	switch code {
	case 1:
		return DeliveryState{"delivered", true, "delivered to phone"}
	case 2:
		return DeliveryState{"failed", true, "not delivered to phone"}
	case 4:
		return DeliveryState{"sent", false, "queued on SMSC"}
	case 8:
		return DeliveryState{"sent", false, "accepted by SMSC"}
	case 16:
		return DeliveryState{"failed", true, "rejected by SMSC"}
	}
	return DeliveryState{"sent", false, "unknown report code " + strconv.Itoa(code)}
}

// DeliveryPath is our report route.
const DeliveryPath = "/sms/kannel/delivery"

// Reports is what Kannel's reports drive (the messaging inbox).
type Reports interface {
	Delivered(ctx context.Context, providerID, state string, final bool, reason string) error
}

// Routes returns the delivery-report route (GET, as Kannel calls it, and
// POST). A report that cannot be read gets 400; a failure to store it
// 500, so Kannel retries.
func Routes(h Reports) []providers.Route {
	handle := func(ctx context.Context, r providers.Request) providers.Response {
		reply := func(status int, body string) providers.Response {
			return providers.Response{Status: status, ContentType: "text/plain", Body: []byte(body)}
		}
		id := r.Query.Get("id")
		code, err := strconv.Atoi(r.Query.Get("status"))
		if id == "" || len(id) > 64 || err != nil {
			return reply(http.StatusBadRequest, "id and a numeric status are required")
		}
		st := MapDLR(code)
		reason := fmt.Sprintf("kannel %d: %s", code, st.Words)
		if a := r.Query.Get("answer"); a != "" && len(a) <= 200 {
			reason += " (" + a + ")"
		}
		if err := h.Delivered(ctx, id, st.State, st.Final, reason); err != nil {
			return reply(http.StatusInternalServerError, "try again")
		}
		return reply(http.StatusOK, "OK")
	}
	return []providers.Route{{Method: http.MethodGet, Path: DeliveryPath, Handle: handle}, {Method: http.MethodPost, Path: DeliveryPath, Handle: handle}}
}
