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
)

// SMS endpoints (protocols.md §2.1); the sandbox is chosen by username.
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

// Send errors: *SMSError matches one of these with errors.Is.
var (
	ErrSMSRetryable = errors.New("africastalking: temporary failure")
	ErrSMSThrottled = errors.New("africastalking: throttled")
	ErrSMSPermanent = errors.New("africastalking: permanent failure")
)

// SMSError is a failed send, with what to do about it. Reason is already
// redacted (no URL query, key, message text or full phone number).
type SMSError struct {
	Kind       error
	Code       int
	Reason     string
	RetryAfter time.Duration
}

func (e *SMSError) Error() string {
	return fmt.Sprintf("%v: %d %s", e.Kind, e.Code, e.Reason)
}

// Unwrap returns the sentinel.
func (e *SMSError) Unwrap() error { return e.Kind }

// SendResult is AT's answer for the one recipient.
type SendResult struct {
	MessageID  string
	Status     string
	StatusCode int
	Cost       string
}

// recipientCodes names AT's per-recipient status codes (protocols.md §2.1).
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
		return SendResult{}, &SMSError{Kind: ErrSMSRetryable, Reason: huduma.Redact(err.Error(), c.cfg.APIKey, text)}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return SendResult{}, &SMSError{Kind: ErrSMSThrottled, Code: 429, Reason: "rate limited", RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	case resp.StatusCode >= 500:
		return SendResult{}, &SMSError{Kind: ErrSMSRetryable, Code: resp.StatusCode, Reason: huduma.Redact(strings.TrimSpace(string(body)), c.cfg.APIKey, text)}
	case resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK:
		return SendResult{}, &SMSError{Kind: ErrSMSPermanent, Code: resp.StatusCode, Reason: huduma.Redact(clip(string(body), 200), c.cfg.APIKey, text)}
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
		return SendResult{}, &SMSError{Kind: ErrSMSRetryable, Code: resp.StatusCode, Reason: "unreadable answer: " + huduma.Redact(clip(string(body), 100), c.cfg.APIKey, text)}
	}
	r := out.Data.Recipients[0]
	res := SendResult{MessageID: r.MessageID, Status: r.Status, StatusCode: r.StatusCode, Cost: r.Cost}
	switch {
	case r.StatusCode >= 100 && r.StatusCode <= 102:
		return res, nil
	case r.StatusCode == 500 || r.StatusCode == 501:
		return res, &SMSError{Kind: ErrSMSRetryable, Code: r.StatusCode, Reason: recipientCodes[r.StatusCode]}
	}
	reason := recipientCodes[r.StatusCode]
	if reason == "" {
		reason = r.Status
	}
	return res, &SMSError{Kind: ErrSMSPermanent, Code: r.StatusCode, Reason: reason}
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

// DeliveryState is a delivery report mapped onto our message states.
type DeliveryState struct {
	State string
	Final bool
}

// deliveryStates maps AT's words; anything else is "unknown", not final.
var deliveryStates = map[string]DeliveryState{
	"Sent": {"sent", false}, "Submitted": {"submitted", false}, "Buffered": {"buffered", false},
	"Success": {"delivered", true}, "Rejected": {"failed", true}, "Failed": {"failed", true},
	"Expired": {"failed", true}, "AbsentSubscriber": {"failed", true},
}

// MapDeliveryStatus maps an AT delivery status.
func MapDeliveryStatus(status string) DeliveryState {
	if s, ok := deliveryStates[status]; ok {
		return s
	}
	return DeliveryState{"unknown", false}
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
