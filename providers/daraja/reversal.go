package daraja

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
)

// Transaction reversal (/mpesa/reversal/v1/request): a refund of a C2B payment.
// Daraja answers at once that it accepted the request; the outcome comes
// to ResultURL (or QueueTimeOutURL when it waited too long in the queue).

// Reversal result callback paths (no word Safaricom refuses in URLs).
const (
	ReversalResultPath  = "/payments/reversal/result"
	ReversalTimeoutPath = "/payments/reversal/timeout"
)

// ErrNoInitiator: reversals need MPESA_INITIATOR and
// MPESA_SECURITY_CREDENTIAL, and they are not set.
var ErrNoInitiator = errors.New("daraja: refunds need MPESA_INITIATOR and MPESA_SECURITY_CREDENTIAL")

// notSent marks an error as one whose request never reached Daraja.
type notSent struct{ err error }

func (e notSent) Error() string   { return e.err.Error() }
func (e notSent) Unwrap() []error { return []error{e.err, providers.ErrNotSent} }

// Reverse asks Daraja to reverse r.Amount of transaction r.TransID. It
// sends the request once: no retry of an outage (a timeout may have been
// a reversal queued). Errors before the request left (the token, a
// refused connection) and Daraja's throttling answers match
// providers.ErrNotSent.
func (c *Client) Reverse(ctx context.Context, r huduma.ReversalRequest) (huduma.ReversalAccepted, error) {
	if c.cfg.Initiator == "" || c.cfg.SecurityCredential == "" {
		return huduma.ReversalAccepted{}, ErrNoInitiator
	}
	remarks := strings.TrimSpace(r.Remarks)
	if len(remarks) < 2 {
		remarks = "Refund of a payment held"
	}
	if len(remarks) > 100 {
		remarks = remarks[:100]
	}
	if r.Amount < 1 || r.TransID == "" {
		return huduma.ReversalAccepted{}, fmt.Errorf("daraja reversal: %w: a transaction and an amount of at least 1", ErrBadRequest)
	}
	body := map[string]any{"Initiator": c.cfg.Initiator, "SecurityCredential": c.cfg.SecurityCredential, "CommandID": "TransactionReversal",
		"TransactionID": r.TransID, "Amount": r.Amount, "ReceiverParty": c.cfg.ShortCode, "RecieverIdentifierType": "11",
		"ResultURL": c.cfg.ReversalResultURL, "QueueTimeOutURL": c.cfg.ReversalTimeoutURL, "Remarks": remarks, "Occasion": r.Occasion}
	raw, err := json.Marshal(body)
	if err != nil {
		return huduma.ReversalAccepted{}, fmt.Errorf("daraja encode: %w", err)
	}
	tok, err := c.accessToken(ctx, false, "")
	if err != nil {
		return huduma.ReversalAccepted{}, notSent{err}
	}
	var out struct {
		ConversationID           string          `json:"ConversationID"`
		OriginatorConversationID string          `json:"OriginatorConversationID"`
		ResponseCode             json.RawMessage `json:"ResponseCode"`
		ResponseDescription      string          `json:"ResponseDescription"`
	}
	const path = "/mpesa/reversal/v1/request"
	err = c.post(ctx, path, tok, raw, &out)
	if errors.Is(err, ErrInvalidToken) {
		// Refused before anything was done: a fresh token, once.
		if tok, err = c.accessToken(ctx, true, tok); err != nil {
			return huduma.ReversalAccepted{}, notSent{err}
		}
		err = c.post(ctx, path, tok, raw, &out)
	}
	var dial *net.OpError
	switch {
	case err == nil:
	case errors.Is(err, ErrThrottled), errors.Is(err, ErrInvalidToken), errors.As(err, &dial) && dial.Op == "dial":
		return huduma.ReversalAccepted{}, notSent{huduma.RedactedError(err, c.cfg.SecurityCredential)}
	default:
		return huduma.ReversalAccepted{}, huduma.RedactedError(err, c.cfg.SecurityCredential)
	}
	if rc := strings.Trim(string(out.ResponseCode), `"`); rc != "0" || out.ConversationID == "" && out.OriginatorConversationID == "" {
		return huduma.ReversalAccepted{}, &APIError{Status: 200, Code: code(rc), Message: c.words(out.ResponseDescription), kind: ErrBadRequest}
	}
	return huduma.ReversalAccepted{ConversationID: out.ConversationID, OriginatorConversationID: out.OriginatorConversationID}, nil
}

// DecodeReversalResult reads a reversal's result
// ({"Result":{"ResultCode","ResultDesc","OriginatorConversationID",
// "ConversationID","TransactionID","ResultParameters":…}}), tolerant of
// ResultCode as a number or a string.
func DecodeReversalResult(body []byte) (huduma.ReversalResult, error) {
	if len(body) > maxCallback {
		return huduma.ReversalResult{}, fmt.Errorf("reversal result larger than %d bytes", maxCallback)
	}
	var env struct {
		Result *struct {
			ResultCode               json.RawMessage `json:"ResultCode"`
			ResultDesc               string          `json:"ResultDesc"`
			OriginatorConversationID string          `json:"OriginatorConversationID"`
			ConversationID           string          `json:"ConversationID"`
			Params                   struct {
				Items json.RawMessage `json:"ResultParameter"`
			} `json:"ResultParameters"`
		} `json:"Result"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return huduma.ReversalResult{}, fmt.Errorf("reversal result is not JSON: %w", err)
	}
	r := env.Result
	if r == nil || r.OriginatorConversationID == "" && r.ConversationID == "" {
		return huduma.ReversalResult{}, fmt.Errorf("reversal result lacks Result.OriginatorConversationID and ConversationID")
	}
	if strings.ContainsRune(r.OriginatorConversationID+r.ConversationID, 0) {
		// The database refuses a NUL: better refused now than on every retry.
		return huduma.ReversalResult{}, fmt.Errorf("reversal result's conversation ids hold a NUL")
	}
	code, err := scalar(r.ResultCode)
	if err != nil || code == "" || len(code) > 20 || strings.ContainsRune(code, 0) {
		return huduma.ReversalResult{}, fmt.Errorf("reversal result lacks a ResultCode")
	}
	res := huduma.ReversalResult{ConversationID: r.ConversationID, OriginatorConversationID: r.OriginatorConversationID, ResultCode: code,
		ResultDesc: strings.ReplaceAll(r.ResultDesc, "\x00", "")}
	// ResultParameter is a list of {Key, Value}, or one object alone.
	type kv struct {
		Key   string          `json:"Key"`
		Value json.RawMessage `json:"Value"`
	}
	var items []kv
	if err := json.Unmarshal(r.Params.Items, &items); err != nil {
		var one kv
		if json.Unmarshal(r.Params.Items, &one) == nil {
			items = []kv{one}
		}
	}
	for _, it := range items {
		if it.Key == "OriginalTransactionID" {
			v, err := scalar(it.Value)
			if err == nil && strings.ContainsRune(v, 0) {
				err = errors.New("a NUL in it")
			}
			if err != nil {
				return res, fmt.Errorf("reversal result OriginalTransactionID: %w", err)
			}
			res.OriginalTransID = huduma.NormalizeTransID(huduma.CleanLine(v))
		}
	}
	return res, nil
}
