package africastalking

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
)

// SMS endpoints (Africa's Talking bulk SMS, version1/messaging); the sandbox
// is chosen by username.
const (
	LiveSMSURL    = "https://api.africastalking.com/version1/messaging"
	SandboxSMSURL = "https://api.sandbox.africastalking.com/version1/messaging"
)

// SMSConfig configures the SMS client.
type SMSConfig struct {
	Username string
	APIKey   string
	SenderID string
	// URL overrides the endpoint (AT_SMS_URL).
	URL     string
	Timeout time.Duration
}

// SMSClient sends SMS through Africa's Talking.
type SMSClient struct {
	cfg  SMSConfig
	http *http.Client
}

// NewSMSClient returns a client.
func NewSMSClient(cfg SMSConfig, hc *http.Client) *SMSClient {
	if cfg.URL == "" {
		cfg.URL = LiveSMSURL
		if strings.EqualFold(cfg.Username, "sandbox") {
			cfg.URL = SandboxSMSURL
		}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if hc == nil {
		hc = &http.Client{}
	}
	return &SMSClient{cfg: cfg, http: hc}
}

// SendResult is AT's answer for the one recipient.
type SendResult struct {
	MessageID  string
	Status     string
	StatusCode int
	Cost       string
}

// recipientCodes names AT's per-recipient status codes, as its send answer
// reports them in SMSMessageData.Recipients.
var recipientCodes = map[int]string{
	100: "Processed", 101: "Sent", 102: "Queued", 401: "RiskHold", 402: "InvalidSenderId", 403: "InvalidPhoneNumber",
	404: "UnsupportedNumberType", 405: "InsufficientBalance", 406: "UserInBlacklist", 407: "CouldNotRoute",
	409: "DoNotDisturbRejection", 500: "InternalServerError", 501: "GatewayError", 502: "RejectedByGateway",
}

// Send sends one SMS. Success is HTTP 201 with a recipient status 100-102.
func (c *SMSClient) Send(ctx context.Context, to huduma.MSISDN, text string) (SendResult, error) {
	form := url.Values{"username": {c.cfg.Username}, "to": {string(to)}, "message": {text}, "bulkSMSMode": {"1"}, "enqueue": {"1"}}
	if c.cfg.SenderID != "" {
		form.Set("from", c.cfg.SenderID)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.URL, strings.NewReader(form.Encode()))
	if err != nil {
		return SendResult{}, fmt.Errorf("africastalking request: %w", err)
	}
	req.Header.Set("apiKey", c.cfg.APIKey)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=utf-8") // as the official SDKs send it
	resp, err := c.http.Do(req)
	if err != nil {
		return SendResult{}, providers.Retryable("africastalking: " + huduma.NetFailure(err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return SendResult{}, providers.Throttled(retryAfter(resp.Header.Get("Retry-After")), "africastalking: 429 rate limited")
	case resp.StatusCode >= 500:
		return SendResult{}, providers.Retryable(fmt.Sprintf("africastalking: %d %s", resp.StatusCode, errorAnswer(body, "server error")))
	case resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK:
		return SendResult{}, providers.Permanent(fmt.Sprintf("africastalking: %d %s", resp.StatusCode, errorAnswer(body, "request refused")))
	}
	var out struct {
		Data struct {
			Message    string `json:"Message"`
			Recipients []struct {
				StatusCode int    `json:"statusCode"`
				Number     string `json:"number"`
				Status     string `json:"status"`
				Cost       string `json:"cost"`
				MessageID  string `json:"messageId"`
			} `json:"Recipients"`
		} `json:"SMSMessageData"`
	}
	if err := json.Unmarshal(body, &out); err != nil || len(out.Data.Recipients) == 0 {
		// Not AT's answer (a proxy's page, an echo of the form): not kept.
		return SendResult{}, providers.Retryable(fmt.Sprintf("africastalking: %d unreadable answer", resp.StatusCode))
	}
	r := out.Data.Recipients[0]
	res := SendResult{MessageID: r.MessageID, Status: r.Status, StatusCode: r.StatusCode, Cost: r.Cost}
	switch {
	case r.StatusCode >= 100 && r.StatusCode <= 102:
		return res, nil
	case r.StatusCode == 500 || r.StatusCode == 501:
		return res, providers.Retryable(fmt.Sprintf("africastalking: %d %s", r.StatusCode, recipientCodes[r.StatusCode]))
	}
	// The code's name, never AT's free status text (or the number field).
	reason := recipientCodes[r.StatusCode]
	if reason == "" {
		reason = "unknown recipient status"
	}
	return res, providers.Permanent(fmt.Sprintf("africastalking: %d %s", r.StatusCode, reason))
}

// errorSentences are the plain-text error answers AT's messaging API gives
// that are worth an operator's reading; whatever follows one (the field or
// number it names) is not kept.
var errorSentences = []string{"The supplied authentication is invalid", "Request is missing required form field", "Invalid Sender Id",
	"Insufficient balance", "Too Many Requests", "Internal Server Error", "Service Unavailable"}

// errorAnswer is what of an error answer may be kept: one of AT's known
// sentences, or else the fixed phrase.
func errorAnswer(body []byte, phrase string) string {
	if s := huduma.KnownSentence(string(body), errorSentences...); s != "" {
		return s
	}
	return phrase
}

// retryAfter reads Retry-After as seconds or an HTTP date (default 30 s).
func retryAfter(v string) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 30 * time.Second
}

// DeliveryReport is AT's delivery report for one message.
type DeliveryReport struct {
	ID            string
	Status        string
	PhoneNumber   string
	NetworkCode   string
	FailureReason string
	RetryCount    int
}

// DecodeDeliveryReport reads the delivery-report form. Unknown statuses are
// kept as sent; only a missing id is an error.
func DecodeDeliveryReport(form url.Values) (DeliveryReport, error) {
	id := form.Get("id")
	if id == "" || len(id) > 100 || !utf8.ValidString(id) {
		return DeliveryReport{}, errors.New("delivery report lacks a valid id")
	}
	n, _ := strconv.Atoi(form.Get("retryCount"))
	return DeliveryReport{ID: strings.Clone(id), Status: clip(form.Get("status"), 32), PhoneNumber: clip(form.Get("phoneNumber"), 20),
		NetworkCode: clip(form.Get("networkCode"), 10), FailureReason: clip(form.Get("failureReason"), 64), RetryCount: n}, nil
}

// deliveryStates maps AT's delivery words onto message states, with
// whether the state is final; anything else keeps the message sent.
var deliveryStates = map[string]struct {
	state huduma.MessageStatus
	final bool
}{
	"Sent": {huduma.MsgSent, false}, "Submitted": {huduma.MsgSent, false}, "Buffered": {huduma.MsgSent, false},
	"Success": {huduma.MsgDelivered, true}, "Rejected": {huduma.MsgFailed, true}, "Failed": {huduma.MsgFailed, true},
	"Expired": {huduma.MsgFailed, true}, "AbsentSubscriber": {huduma.MsgFailed, true},
}

// MapDeliveryStatus maps an AT delivery status; known reports whether AT
// uses the word.
func MapDeliveryStatus(status string) (state huduma.MessageStatus, final, known bool) {
	d, ok := deliveryStates[status]
	if !ok {
		return huduma.MsgSent, false, false
	}
	return d.state, d.final, true
}

// IncomingSMS is a message a subscriber sent to our short code.
type IncomingSMS struct {
	ID          string
	From        huduma.MSISDN
	To          string
	Text        string
	LinkID      string
	NetworkCode string
	Date        time.Time
}

// DecodeIncomingSMS reads AT's incoming-message form.
func DecodeIncomingSMS(form url.Values) (IncomingSMS, error) {
	id := form.Get("id")
	if id == "" || len(id) > 100 || !utf8.ValidString(id) {
		return IncomingSMS{}, errors.New("incoming SMS lacks a valid id")
	}
	from, err := huduma.ParseMSISDN(form.Get("from"))
	if err != nil {
		return IncomingSMS{}, fmt.Errorf("incoming SMS from: %s", huduma.ErrorMessage(err))
	}
	text := form.Get("text")
	if len(text) > 1600 || !utf8.ValidString(text) {
		return IncomingSMS{}, errors.New("incoming SMS text is too long or not UTF-8")
	}
	in := IncomingSMS{ID: strings.Clone(id), From: from, To: clip(form.Get("to"), 20), Text: strings.Clone(text),
		LinkID: clip(form.Get("linkId"), 100), NetworkCode: clip(form.Get("networkCode"), 10), Date: time.Now().UTC()}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, form.Get("date")); err == nil {
			in.Date = t.UTC()
			break
		}
	}
	return in, nil
}
