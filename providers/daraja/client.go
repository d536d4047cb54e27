// Package daraja is Huduma's client for Safaricom's Daraja M-Pesa API:
// OAuth, STK push (M-Pesa Express), STK query, and the decoders for the
// STK and C2B callbacks Daraja sends us.
package daraja

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // Africa/Nairobi on machines without zoneinfo

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
)

// Sentinel errors; *APIError wraps one of them. The retryable ones wrap
// the payments contract's ErrOutage or ErrBusy, which is all the payments
// worker and its circuit breaker look at.
var (
	// ErrInvalidToken: the access token was refused (the client refreshes
	// and retries once by itself).
	ErrInvalidToken = errors.New("daraja: invalid access token")
	// ErrInProgress: a transaction is already in process for the subscriber
	// ("unable to lock subscriber"); worth a later try, but not an outage.
	ErrInProgress error = &kindError{"daraja: a transaction is already in process for this phone", providers.ErrBusy}
	// ErrPending: the STK query's "the transaction is being processed"
	// (HTTP 500, errorCode 500.001.1001), i.e. the customer has not
	// answered yet. It is an answer, not a failure: call never retries it,
	// nothing logs it as one, and StkQuery turns it into a Pending result
	// with a nil error, so no circuit breaker ever counts it.
	ErrPending = errors.New("daraja: the transaction is being processed")
	// ErrThrottled: spike arrest or quota; retried with backoff.
	ErrThrottled error = &kindError{"daraja: throttled", providers.ErrOutage}
	// ErrUnavailable: 5xx, network error or timeout; retried with backoff.
	ErrUnavailable error = &kindError{"daraja: unavailable", providers.ErrOutage}
	// ErrBadRequest: Daraja refused the request itself; not retried.
	ErrBadRequest = errors.New("daraja: bad request")
)

// kindError is a sentinel that also belongs to a payments contract kind.
type kindError struct {
	text string
	kind error
}

func (e *kindError) Error() string { return e.text }
func (e *kindError) Unwrap() error { return e.kind }

// APIError is an error answer from Daraja.
type APIError struct {
	Status  int
	Code    string
	Message string
	kind    error
}

func (e *APIError) Error() string {
	return fmt.Sprintf("daraja: HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// Unwrap returns the sentinel the error belongs to.
func (e *APIError) Unwrap() error { return e.kind }

// Retryable reports whether trying the same call later may succeed.
func Retryable(err error) bool { return Outage(err) || errors.Is(err, ErrInProgress) }

// Outage reports whether err means Daraja itself is failing (connection
// errors, timeouts, 5xx other than the answers above, throttling): the
// errors the client retries at once and a circuit breaker should count.
// A subscriber with a transaction in process, or a prompt not answered
// yet, is the customer's state, not Daraja's health.
func Outage(err error) bool { return errors.Is(err, ErrThrottled) || errors.Is(err, ErrUnavailable) }

// Config is what the client needs.
type Config struct {
	BaseURL        string
	ConsumerKey    string
	ConsumerSecret string
	Passkey        string
	ShortCode      string
	// CallbackURL is where Daraja posts STK results (with our token).
	CallbackURL string
	// Initiator and SecurityCredential (the initiator's password encrypted
	// with Safaricom's certificate, as the Daraja portal makes it) sign
	// reversals; without them refunds are refused.
	Initiator, SecurityCredential string
	// ReversalResultURL and ReversalTimeoutURL are where reversals'
	// outcomes come (with our token).
	ReversalResultURL, ReversalTimeoutURL string
	// Timeout bounds each HTTP call (default 10 s).
	Timeout time.Duration
	// MaxRetries bounds retries of throttled or unavailable calls (default 3).
	MaxRetries int
	// Backoff is the first retry delay, doubled each time (default 500 ms).
	Backoff time.Duration
	// Now replaces time.Now (tests).
	Now func() time.Time
}

// Client talks to Daraja. One Client per process: Daraja invalidates the
// previous token whenever a new one is issued, so the token is cached here
// and refreshed by one caller at a time.
type Client struct {
	cfg  Config
	http *http.Client
	log  *slog.Logger
	// secrets are values of ours no kept answer may hold (ourSecrets).
	secrets []string

	mu      sync.Mutex
	token   string
	expires time.Time
}

// nairobi is the zone Daraja timestamps are read in.
var nairobi = func() *time.Location {
	if loc, err := time.LoadLocation("Africa/Nairobi"); err == nil {
		return loc
	}
	return time.FixedZone("EAT", 3*3600)
}()

// New returns a client.
func New(cfg Config, hc *http.Client, log *slog.Logger) *Client {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxRetries <= 0 {
		cfg.MaxRetries = 3
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 500 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if hc == nil {
		hc = &http.Client{}
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	return &Client{cfg: cfg, http: hc, log: log.With("comp", "daraja"), secrets: ourSecrets(cfg)}
}

// refreshEarly renews the token this long before Daraja says it expires.
const refreshEarly = 60 * time.Second

// accessToken returns the cached token, fetching a new one when it is
// missing, near expiry, or force is set. The mutex makes concurrent
// callers wait for one refresh instead of each invalidating the other's.
func (c *Client) accessToken(ctx context.Context, force bool, stale string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && c.cfg.Now().Before(c.expires) && !(force && c.token == stale) {
		return c.token, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.cfg.BaseURL+"/oauth/v1/generate?grant_type=client_credentials", nil)
	if err != nil {
		return "", fmt.Errorf("daraja token request: %w", err)
	}
	req.SetBasicAuth(c.cfg.ConsumerKey, c.cfg.ConsumerSecret)
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("daraja token: %w: %w", ErrUnavailable, huduma.RedactedError(err, c.cfg.ConsumerSecret))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return "", c.apiError(resp.StatusCode, body)
	}
	var tok struct {
		AccessToken string          `json:"access_token"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("daraja token: %w: unreadable answer", ErrUnavailable)
	}
	secs, err := strconv.Atoi(strings.Trim(string(tok.ExpiresIn), `"`))
	if err != nil || secs <= 0 {
		secs = 3599
	}
	c.token = tok.AccessToken
	c.expires = c.cfg.Now().Add(time.Duration(secs)*time.Second - refreshEarly)
	return c.token, nil
}

// apiError maps an error answer to its sentinel.
func (c *Client) apiError(status int, body []byte) error {
	var e struct {
		ErrorCode    string `json:"errorCode"`
		ErrorMessage string `json:"errorMessage"`
	}
	_ = json.Unmarshal(body, &e)
	ae := &APIError{Status: status, Code: code(e.ErrorCode), Message: c.words(e.ErrorMessage)}
	msg := strings.ToLower(e.ErrorMessage)
	switch {
	case e.ErrorCode == "404.001.03" || e.ErrorCode == "400.003.01" || status == http.StatusUnauthorized:
		ae.kind = ErrInvalidToken
	case e.ErrorCode == "500.003.02" || e.ErrorCode == "500.003.03" || status == http.StatusTooManyRequests || strings.Contains(msg, "spike arrest"):
		ae.kind = ErrThrottled
	case undecided(msg):
		// Kept apart from "unable to lock subscriber" (the same errorCode
		// on a push) by the message.
		ae.kind = ErrPending
	case strings.Contains(msg, "unable to lock subscriber") || strings.Contains(msg, "already in process"):
		ae.kind = ErrInProgress
	case status >= 500:
		ae.kind = ErrUnavailable
	default:
		ae.kind = ErrBadRequest
	}
	return ae
}

// undecided reports whether a Daraja message (lower case) says the prompt
// has no result yet: "The transaction is being processed" on the STK
// query's error body (errorCode 500.001.1001), or "still under processing",
// which third-party integrations report on the query's 200 answer.
func undecided(msg string) bool {
	return strings.Contains(msg, "being processed") || strings.Contains(msg, "under processing")
}

// call POSTs body to path with the bearer token, refreshing the token once
// when Daraja refuses it and retrying outages (Outage: throttled or
// unavailable) with exponential backoff and jitter, all within ctx. Every
// other answer, "being processed" included, returns after one request.
func (c *Client) call(ctx context.Context, path string, body any, out any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("daraja encode: %w", err)
	}
	refreshed := false
	delay := c.cfg.Backoff
	for attempt := 0; ; attempt++ {
		tok, err := c.accessToken(ctx, false, "")
		if err == nil {
			err = c.post(ctx, path, tok, raw, out)
			if errors.Is(err, ErrInvalidToken) && !refreshed {
				refreshed = true
				if _, terr := c.accessToken(ctx, true, tok); terr != nil {
					return terr
				}
				attempt--
				continue
			}
		}
		if err == nil || !Outage(err) || attempt >= c.cfg.MaxRetries {
			return err
		}
		wait := delay + rand.N(delay/2+1)
		c.log.WarnContext(ctx, "daraja call failed; retrying", "path", path, "attempt", attempt+1, "wait", wait, "error", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("daraja %s: %w: %w", path, ErrUnavailable, ctx.Err())
		case <-time.After(wait):
		}
		delay *= 2
	}
}

func (c *Client) post(ctx context.Context, path, token string, raw []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.BaseURL+path, bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("daraja request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("daraja %s: %w: %w", path, ErrUnavailable, huduma.RedactedError(err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return c.apiError(resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("daraja %s: %w: unreadable answer", path, ErrUnavailable)
	}
	return nil
}

// password returns Daraja's Password and Timestamp for now.
func (c *Client) password() (pw, ts string) {
	ts = c.cfg.Now().In(nairobi).Format("20060102150405")
	return base64.StdEncoding.EncodeToString([]byte(c.cfg.ShortCode + c.cfg.Passkey + ts)), ts
}

// Daraja's field limits.
const (
	maxReference   = 12
	maxDescription = 13
)

// StkPush prompts a phone to pay. ResponseCode "0" only means Daraja
// accepted the request; the result comes by callback or query.
func (c *Client) StkPush(ctx context.Context, p huduma.STKPush) (huduma.STKPushResult, error) {
	if p.Amount < 1 {
		return huduma.STKPushResult{}, fmt.Errorf("daraja push: %w: amount must be at least 1", ErrBadRequest)
	}
	if len(p.Reference) == 0 || len(p.Reference) > maxReference {
		return huduma.STKPushResult{}, fmt.Errorf("daraja push: %w: account reference must be 1-%d characters", ErrBadRequest, maxReference)
	}
	desc := p.Description
	if len(desc) > maxDescription {
		desc = desc[:maxDescription]
	}
	pw, ts := c.password()
	body := map[string]any{
		"BusinessShortCode": c.cfg.ShortCode, "Password": pw, "Timestamp": ts,
		"TransactionType": "CustomerPayBillOnline", "Amount": p.Amount,
		"PartyA": p.Phone.Digits(), "PartyB": c.cfg.ShortCode, "PhoneNumber": p.Phone.Digits(),
		"CallBackURL": c.cfg.CallbackURL, "AccountReference": p.Reference, "TransactionDesc": desc,
	}
	var out struct {
		MerchantRequestID   string `json:"MerchantRequestID"`
		CheckoutRequestID   string `json:"CheckoutRequestID"`
		ResponseCode        string `json:"ResponseCode"`
		ResponseDescription string `json:"ResponseDescription"`
	}
	if err := c.call(ctx, "/mpesa/stkpush/v1/processrequest", body, &out); err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae.kind == ErrPending {
			// On a push, "being processed" can only mean the phone's
			// previous transaction is still open: try again later.
			ae.kind = ErrInProgress
		}
		return huduma.STKPushResult{}, err
	}
	if out.ResponseCode != "0" || out.CheckoutRequestID == "" {
		return huduma.STKPushResult{}, &APIError{Status: 200, Code: code(out.ResponseCode), Message: c.words(out.ResponseDescription), kind: ErrBadRequest}
	}
	return huduma.STKPushResult{CheckoutRequestID: out.CheckoutRequestID, MerchantRequestID: out.MerchantRequestID}, nil
}

// stillProcessingCode is the query ResultCode third-party integrations
// report with "The transaction is still under processing" [unconfirmed by
// Safaricom's docs]; read as pending, since a final code would settle the
// invoice as failed.
const stillProcessingCode = "4999"

// StkQuery asks for a prompt's result. A prompt the customer has not yet
// answered comes back Pending with a nil error after one request, whether
// Daraja says so with its error body (ErrPending) or a 200 answer.
func (c *Client) StkQuery(ctx context.Context, checkoutID string) (huduma.STKResult, error) {
	pw, ts := c.password()
	body := map[string]any{"BusinessShortCode": c.cfg.ShortCode, "Password": pw, "Timestamp": ts, "CheckoutRequestID": checkoutID}
	var out struct {
		ResultCode json.RawMessage `json:"ResultCode"`
		ResultDesc string          `json:"ResultDesc"`
	}
	pending := huduma.STKResult{CheckoutRequestID: checkoutID, Pending: true}
	err := c.call(ctx, "/mpesa/stkpushquery/v1/query", body, &out)
	if errors.Is(err, ErrPending) {
		return pending, nil
	}
	if err != nil {
		return huduma.STKResult{}, err
	}
	code := strings.Trim(string(out.ResultCode), `"`)
	if code == stillProcessingCode || undecided(strings.ToLower(out.ResultDesc)) {
		return pending, nil
	}
	return huduma.STKResult{CheckoutRequestID: checkoutID, ResultCode: code, ResultDesc: c.words(out.ResultDesc)}, nil
}

// Daraja's answers are stored (an attempt's result, a job's last error)
// and logged, and an error answer may echo what we sent: the phone, the
// amount, the account, our callback URL with its token, the password. So
// only what Daraja's format defines as its own is kept, by its shape: an
// error code of Daraja's form, and a message that is only words.

var codeRE = regexp.MustCompile(`^([0-9]{1,4}|[0-9]{3}\.[0-9]{3}(\.[0-9]{1,4})?)$`)

// code is a Daraja error or response code ("400.002.02", "1032"), or "?"
// for anything else.
func code(s string) string {
	if codeRE.MatchString(s) {
		return s
	}
	return "?"
}

// words is a Daraja message when it is only words (huduma.ProviderWords),
// else a fixed phrase.
func (c *Client) words(msg string) string {
	if w := huduma.ProviderWords(msg, c.secrets...); w != "" {
		return w
	}
	if strings.TrimSpace(msg) == "" {
		return ""
	}
	return "(message not shown: it may quote the request)"
}

// ourSecrets are the values of ours an answer must never be kept with:
// the credentials and the callback URLs' query values (the token).
func ourSecrets(cfg Config) []string {
	out := []string{cfg.ConsumerKey, cfg.ConsumerSecret, cfg.Passkey, cfg.SecurityCredential}
	for _, raw := range []string{cfg.CallbackURL, cfg.ReversalResultURL, cfg.ReversalTimeoutURL} {
		if u, err := url.Parse(raw); err == nil {
			for _, vs := range u.Query() {
				out = append(out, vs...)
			}
		}
	}
	return out
}
