package ecitizen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/huduma-ke/huduma"
)

// Bill is a bill to create on e-Citizen for one of our invoices.
type Bill struct {
	// Ref is billRefNumber: our invoice number. e-Citizen is assumed to
	// answer a second checkout with the same Ref with the same bill; the
	// caller also stores the bill number and never asks twice once it
	// has one.
	Ref string
	// Amount is amountExpected in whole shillings (sent as "500.00").
	Amount int64
	// ServiceID is the e-Citizen serviceID of the catalog service.
	ServiceID string
	// Description is billDesc (at most 100 characters are sent).
	Description string
	// Phone is clientMSISDN, sent as 2547XXXXXXXX or 2541XXXXXXXX.
	Phone huduma.MSISDN
	// ClientName and ClientIDNumber are the payer's, as e-Citizen
	// requires them (both are signed).
	ClientName, ClientIDNumber string
	// ClientEmail is optional.
	ClientEmail string
	// SendSTK asks e-Citizen to send the payment prompt to Phone. Only
	// ask where a prompt can reach that phone, and only once per bill:
	// whether a repeated checkout prompts again is not known.
	SendSTK bool
}

// CreatedBill is e-Citizen's answer to a checkout.
type CreatedBill struct {
	// BillNumber is e-Citizen's invoice number: the account number a
	// payer quotes on any network.
	BillNumber string
	// Link is e-Citizen's page for the bill (empty when none came back or
	// it was not an http(s) URL).
	Link string
}

// Client creates bills on e-Citizen. It never retries by itself: a
// checkout may send a payment prompt, so each try is the caller's,
// recorded in its durable job.
type Client struct {
	cfg    Config
	signer Signer
	http   *http.Client
	log    *slog.Logger
}

// New returns a client, or Check's error.
func New(cfg Config, hc *http.Client, log *slog.Logger) (*Client, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if hc == nil {
		hc = &http.Client{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{cfg: cfg, signer: cfg.Signer(), http: hc, log: log.With("comp", "ecitizen")}, nil
}

// currency is the only one Huduma bills in.
const currency = "KES"

// maxDescription is how much of billDesc is sent (an integrator's limit;
// e-Citizen's own is not published).
const maxDescription = 100

var (
	refRE     = regexp.MustCompile(`^[A-Za-z0-9._/-]{1,40}$`)
	billNumRE = regexp.MustCompile(`^[A-Za-z0-9-]{1,40}$`)
	msisdnRE  = regexp.MustCompile(`^254[17][0-9]{8}$`)
)

// fields validates b and returns the checkout's fields in the order
// integrators send them, secureHash last.
func (c *Client) fields(b Bill) ([][2]string, error) {
	bad := func(format string, args ...any) ([][2]string, error) {
		return nil, fmt.Errorf("%w: %s", ErrInvalidBill, fmt.Sprintf(format, args...))
	}
	desc := truncate(strings.TrimSpace(b.Description), maxDescription)
	name, id := strings.TrimSpace(b.ClientName), strings.TrimSpace(b.ClientIDNumber)
	phone := b.Phone.Digits()
	switch {
	case !refRE.MatchString(b.Ref):
		return bad("billRefNumber must be 1-40 letters, digits or ._/-")
	case b.Amount < 1 || b.Amount > MaxAmount:
		return bad("amount must be 1 to %d shillings", MaxAmount)
	case !plain(b.ServiceID, 40) || b.ServiceID == "":
		return bad("the service has no usable e-Citizen serviceID")
	case desc == "" || !plain(desc, maxDescription):
		return bad("billDesc is empty or not plain text")
	case !msisdnRE.MatchString(phone):
		return bad("clientMSISDN must be a Kenyan mobile number")
	case name == "" || !plain(name, 100):
		return bad("clientName is empty or not plain text")
	case id == "" || !plain(id, 30):
		return bad("clientIDNumber is empty or not plain text")
	case !plain(b.ClientEmail, 100):
		return bad("clientEmail is not plain text")
	}
	amount := strconv.FormatInt(b.Amount, 10) + ".00"
	hash := c.signer.Checkout(CheckoutFields{AmountExpected: amount, ServiceID: b.ServiceID, ClientIDNumber: id,
		Currency: currency, BillRefNumber: b.Ref, BillDesc: desc, ClientName: name})
	f := [][2]string{
		{"apiClientID", c.cfg.ClientID}, {"serviceID", b.ServiceID}, {"billDesc", desc}, {"currency", currency},
		{"billRefNumber", b.Ref}, {"clientMSISDN", phone}, {"clientName", name}, {"clientIDNumber", id},
		{"clientEmail", strings.TrimSpace(b.ClientEmail)}, {"callBackURLOnSuccess", c.cfg.CallbackURLOnSuccess},
		{"amountExpected", amount}, {"notificationURL", c.cfg.NotificationURL}, {"pictureURL", ""}, {"format", "json"},
	}
	if b.SendSTK {
		f = append(f, [2]string{"sendSTK", "true"})
	}
	return append(f, [2]string{"secureHash", hash}), nil
}

// plain reports whether s is valid UTF-8 of at most n characters with no
// control characters: every field ends up on a USSD screen, an SMS or a
// signed message.
func plain(s string, n int) bool {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > n {
		return false
	}
	return strings.IndexFunc(s, unicode.IsControl) < 0
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return strings.TrimSpace(string([]rune(s)[:n]))
}

// CreateBill creates the bill on e-Citizen and returns its number and
// link. It sends one request; see the sentinel errors for what a failure
// means and Outage for what a circuit breaker should count.
func (c *Client) CreateBill(ctx context.Context, b Bill) (CreatedBill, error) {
	fields, err := c.fields(b)
	if err != nil {
		return CreatedBill{}, err
	}
	body, ctype := c.encode(fields)
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return CreatedBill{}, fmt.Errorf("ecitizen checkout request: %w", huduma.RedactedError(err, c.cfg.APIKey, c.cfg.Secret))
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return CreatedBill{}, fmt.Errorf("ecitizen checkout: %w: %w", ErrUnavailable, huduma.RedactedError(err, c.cfg.APIKey, c.cfg.Secret))
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return CreatedBill{}, fmt.Errorf("ecitizen checkout: %w: reading the answer: %w", ErrUnavailable, huduma.RedactedError(err))
	}
	bill, err := c.readAnswer(resp.StatusCode, answer, fields)
	if err != nil && !Outage(err) {
		c.log.WarnContext(ctx, "ecitizen refused a bill", "ref", b.Ref, "error", err)
	}
	return bill, err
}

// encode writes the fields as a form or, with JSONRequest, a JSON object
// (sendSTK then a JSON boolean, as integrators posting JSON send it).
func (c *Client) encode(fields [][2]string) ([]byte, string) {
	if !c.cfg.JSONRequest {
		form := url.Values{}
		for _, f := range fields {
			form.Set(f[0], f[1])
		}
		return []byte(form.Encode()), "application/x-www-form-urlencoded"
	}
	obj := map[string]any{}
	for _, f := range fields {
		obj[f[0]] = f[1]
	}
	if _, ok := obj["sendSTK"]; ok {
		obj["sendSTK"] = true
	}
	raw, _ := json.Marshal(obj)
	return raw, "application/json"
}

// readAnswer turns e-Citizen's answer into a bill or a classified error.
// The JSON answer's invoice_number and invoice_link are what integrators
// read back; the number may come as a JSON number.
func (c *Client) readAnswer(status int, body []byte, sent [][2]string) (CreatedBill, error) {
	if status < 200 || status > 299 {
		return CreatedBill{}, c.apiError(status, body, sent)
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal(body, &out); err != nil {
		// An HTML page (the iframe) or a proxy's error page.
		return CreatedBill{}, fmt.Errorf("ecitizen checkout: %w: the answer is not JSON", ErrUnavailable)
	}
	num := jsonText(out["invoice_number"])
	if num == "" {
		if msg := c.answerMessage(body, sent); msg != "" {
			return CreatedBill{}, &APIError{Status: status, Message: msg, kind: ErrRefused}
		}
		return CreatedBill{}, fmt.Errorf("ecitizen checkout: %w: the answer has no invoice_number", ErrUnavailable)
	}
	if !billNumRE.MatchString(num) {
		return CreatedBill{}, fmt.Errorf("ecitizen checkout: %w: invoice_number is not letters and digits", ErrUnavailable)
	}
	bill := CreatedBill{BillNumber: num}
	if link := jsonText(out["invoice_link"]); len(link) <= 500 && httpURL(link) {
		bill.Link = link
	}
	return bill, nil
}

// jsonText is a JSON string's text or a number as written; "" otherwise.
func jsonText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

func (c *Client) apiError(status int, body []byte, sent [][2]string) error {
	e := &APIError{Status: status, Message: c.answerMessage(body, sent)}
	switch {
	case status == http.StatusTooManyRequests:
		e.kind = ErrThrottled
	case status >= 500:
		e.kind = ErrUnavailable
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.kind = ErrUnauthorized
	default:
		e.kind = ErrRefused
	}
	return e
}

// answerMessage is the reason in an error answer, made safe by structure
// rather than by pattern: e-Citizen has been seen to answer a refused
// checkout with "invalid params on parsing %{...}", an echo of the whole
// request (the payer's phone, ID number and name, and our secureHash).
// So only a top-level text field is read, anything from the first
// brace or bracket on is dropped, every value we sent except the
// harmless ones is blanked, and the rest goes through huduma.Redact.
// A body that is not a JSON object (an HTML page) gives no message.
func (c *Client) answerMessage(body []byte, sent [][2]string) string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil {
		return ""
	}
	var msg string
	for _, k := range []string{"error", "message", "description", "detail"} {
		var s string
		if json.Unmarshal(obj[k], &s) == nil && strings.TrimSpace(s) != "" {
			msg = s
			break
		}
	}
	if i := strings.IndexAny(msg, "{[<"); i >= 0 {
		msg = strings.TrimSpace(strings.TrimRight(msg[:i], "%:=( ")) + " [request echo removed]"
	}
	secrets := []string{c.cfg.APIKey, c.cfg.Secret}
	for _, f := range sent {
		switch f[0] {
		case "apiClientID", "serviceID", "currency", "billRefNumber", "amountExpected", "format", "sendSTK", "pictureURL":
		default:
			if len(f[1]) >= 3 {
				secrets = append(secrets, f[1])
			}
		}
	}
	msg = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, msg)
	return truncate(huduma.Redact(strings.TrimSpace(msg), secrets...), 200)
}
