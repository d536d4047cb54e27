package daraja

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
)

// Pull Transactions API (/pulltransactions/v1/query): Daraja keeps a shortcode's
// C2B transactions for 48 hours, those whose confirmation never reached
// us included, and hands them out by time window and row offset.

// pullDateLayout is how the API writes its window's ends.
const pullDateLayout = "2006-01-02 15:04:05"

// MaxPullWindow is the longest window the API serves.
const MaxPullWindow = 48 * time.Hour

// pullZoneSlack widens every window's start: the dates are sent in
// Nairobi time, which Daraja's other timestamps use, but the API's own
// reading of them is not documented. Starting three hours early means the
// window asked for is covered whether Daraja reads the dates as EAT or as
// UTC; settling a transaction twice is harmless (the ledger knows it).
const pullZoneSlack = 3 * time.Hour

// PullRegister registers the shortcode for pulls, once per shortcode:
// nominated is the phone Safaricom notifies, callbackURL where Daraja may
// post. It returns Daraja's status: "1000" registered now, "1001" already
// registered (both fine).
func (c *Client) PullRegister(ctx context.Context, nominated huduma.MSISDN, callbackURL string) (string, error) {
	body := map[string]any{"ShortCode": c.cfg.ShortCode, "RequestType": "Pull", "NominatedNumber": nominated.Digits(), "CallBackURL": callbackURL}
	var out map[string]json.RawMessage
	if err := c.call(ctx, "/pulltransactions/v1/register", body, &out); err != nil {
		return "", err
	}
	for _, k := range []string{"Response Status", "ResponseStatus", "ResponseCode"} {
		if v, ok := out[k]; ok {
			code := strings.Trim(string(v), `"`)
			if code == "1000" || code == "1001" {
				return code, nil
			}
			return "", fmt.Errorf("daraja pull register: %w: status %q", ErrBadRequest, huduma.Redact(code))
		}
	}
	return "", fmt.Errorf("daraja pull register: %w: no status in the answer", ErrUnavailable)
}

// PullTransactions returns the page of the shortcode's transactions
// between from and to (widened by pullZoneSlack, at most MaxPullWindow)
// that starts at row offset. Customer payments (types starting "c2b")
// come back as payments; any other row (a reversal, a charge) is only
// counted, so it is never mistaken for money in.
func (c *Client) PullTransactions(ctx context.Context, from, to time.Time, offset int) (providers.PullPage, error) {
	// The dates carry whole seconds: the end is rounded up, so a
	// transaction in the last second is not left out.
	from, to = from.Add(-pullZoneSlack), to.Truncate(time.Second).Add(time.Second)
	if to.Sub(from) > MaxPullWindow {
		from = to.Add(-MaxPullWindow)
	}
	if offset < 0 || !from.Before(to) {
		return providers.PullPage{}, fmt.Errorf("daraja pull: %w: empty window or negative offset", ErrBadRequest)
	}
	body := map[string]any{"ShortCode": c.cfg.ShortCode, "StartDate": from.In(nairobi).Format(pullDateLayout),
		"EndDate": to.In(nairobi).Format(pullDateLayout), "OffSetValue": strconv.Itoa(offset)}
	var raw json.RawMessage
	if err := c.call(ctx, "/pulltransactions/v1/query", body, &raw); err != nil {
		return providers.PullPage{}, err
	}
	return DecodePullReply(raw)
}

// DecodePullReply reads a page of the Pull Transactions API's answer:
// ResponseCode 1000 with the rows, 1001 for none; anything else is an
// outage. Customer payments (types starting "c2b") come back as payments
// in whole shillings; any other row is only counted. A payment row that
// cannot be one (no id, a fraction, zero, more than M-Pesa carries) is
// left out and reported in Refused, never rounded into the ledger.
func DecodePullReply(body []byte) (providers.PullPage, error) {
	var out struct {
		ResponseCode    json.RawMessage `json:"ResponseCode"`
		ResponseMessage string          `json:"ResponseMessage"`
		Response        json.RawMessage `json:"Response"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return providers.PullPage{}, fmt.Errorf("daraja pull: %w: unreadable answer", ErrUnavailable)
	}
	code := strings.Trim(string(out.ResponseCode), `"`)
	switch code {
	case "1000":
	case "1001":
		return providers.PullPage{}, nil // nothing in the window
	default:
		return providers.PullPage{}, fmt.Errorf("daraja pull: %w: ResponseCode %q: %s", ErrUnavailable, huduma.Redact(code), huduma.Redact(out.ResponseMessage))
	}
	rows, err := pullRows(out.Response)
	if err != nil {
		return providers.PullPage{}, err
	}
	page := providers.PullPage{Rows: len(rows)}
	for _, r := range rows {
		kind := huduma.CleanLine(strings.ToLower(strings.TrimSpace(r.TransactionType)))
		if !strings.HasPrefix(kind, "c2b") {
			if page.Other == nil {
				page.Other = map[string]int{}
			}
			page.Other[kind]++
			continue
		}
		p, err := r.payment()
		if err != nil {
			// One row that cannot be a payment (no id, a fraction, zero,
			// more than M-Pesa carries) is left out and reported, never
			// rounded into the ledger; failing the page instead would
			// stop every pull at this row until it left the window.
			page.Refused = append(page.Refused, err.Error())
			continue
		}
		page.Payments = append(page.Payments, p)
	}
	return page, nil
}

// pullRow is one transaction as the API lists it.
type pullRow struct {
	TransactionID   string          `json:"transactionId"`
	TrxDate         string          `json:"trxDate"`
	MSISDN          json.RawMessage `json:"msisdn"`
	TransactionType string          `json:"transactiontype"`
	BillReference   string          `json:"billreference"`
	Amount          json.RawMessage `json:"amount"`
}

// pullRows reads the list nested in a list ([[{...}, ...]]), tolerating
// the flat form and an empty answer.
func pullRows(raw json.RawMessage) ([]pullRow, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var nested [][]pullRow
	if err := json.Unmarshal(raw, &nested); err == nil {
		var out []pullRow
		for _, l := range nested {
			out = append(out, l...)
		}
		return out, nil
	}
	var flat []pullRow
	if err := json.Unmarshal(raw, &flat); err != nil {
		return nil, fmt.Errorf("daraja pull: %w: unreadable Response", ErrUnavailable)
	}
	return flat, nil
}

func (r pullRow) payment() (huduma.PaybillPayment, error) {
	id, err := huduma.ParseTransID(r.TransactionID)
	if err != nil {
		return huduma.PaybillPayment{}, fmt.Errorf("a row's transactionId: %w", err)
	}
	amt, err := huduma.PaymentAmount(strings.ReplaceAll(strings.Trim(string(r.Amount), `"`), ",", ""))
	if err != nil {
		return huduma.PaybillPayment{}, fmt.Errorf("transaction %s amount: %w", id, err)
	}
	// The number is a string or a bare number; anything else (or text
	// that is not UTF-8) is left unknown rather than failing the page.
	msisdn, err := scalar(r.MSISDN)
	if err != nil {
		msisdn = ""
	}
	p := huduma.PaybillPayment{TransID: id, Account: huduma.CleanLine(strings.TrimSpace(r.BillReference)), Amount: amt,
		MSISDN: huduma.CleanLine(msisdn)}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z0700", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, r.TrxDate); err == nil {
			p.At = t.UTC()
			break
		}
	}
	return p, nil
}
