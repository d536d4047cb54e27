package daraja

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/huduma-ke/huduma"
)

// maxCallback caps callback bodies; real ones are under 2 KB.
const maxCallback = 16 << 10

// DecodeSTKCallback reads Daraja's STK result (Body.stkCallback). It is
// tolerant where Daraja varies (ResultCode as number or string, Balance
// without a Value) and strict about money: a fractional amount is an
// error, never rounded.
func DecodeSTKCallback(body []byte) (huduma.STKResult, error) {
	if len(body) > maxCallback {
		return huduma.STKResult{}, fmt.Errorf("stk callback larger than %d bytes", maxCallback)
	}
	var env struct {
		Body struct {
			STK *struct {
				MerchantRequestID string          `json:"MerchantRequestID"`
				CheckoutRequestID string          `json:"CheckoutRequestID"`
				ResultCode        json.RawMessage `json:"ResultCode"`
				ResultDesc        string          `json:"ResultDesc"`
				Metadata          struct {
					Items []struct {
						Name  string          `json:"Name"`
						Value json.RawMessage `json:"Value"`
					} `json:"Item"`
				} `json:"CallbackMetadata"`
			} `json:"stkCallback"`
		} `json:"Body"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return huduma.STKResult{}, fmt.Errorf("stk callback is not JSON: %w", err)
	}
	cb := env.Body.STK
	if cb == nil || cb.CheckoutRequestID == "" || len(cb.CheckoutRequestID) > 100 {
		return huduma.STKResult{}, fmt.Errorf("stk callback lacks Body.stkCallback.CheckoutRequestID")
	}
	code := strings.Trim(string(cb.ResultCode), `"`)
	if _, err := strconv.Atoi(code); err != nil {
		return huduma.STKResult{}, fmt.Errorf("stk callback ResultCode %q is not a number", code)
	}
	res := huduma.STKResult{CheckoutRequestID: cb.CheckoutRequestID, ResultCode: code, ResultDesc: cb.ResultDesc}
	for _, it := range cb.Metadata.Items {
		v, err := scalar(it.Value)
		if err != nil {
			return huduma.STKResult{}, fmt.Errorf("stk callback %s: %w", it.Name, err)
		}
		switch it.Name {
		case "Amount":
			amt, err := huduma.PaymentAmount(v)
			if err != nil {
				return huduma.STKResult{}, fmt.Errorf("stk callback Amount: %w", err)
			}
			res.Amount = amt
		case "MpesaReceiptNumber":
			receipt := huduma.NormalizeTransID(v)
			if !receiptRE.MatchString(receipt) {
				return huduma.STKResult{}, fmt.Errorf("stk callback MpesaReceiptNumber %q is not an M-Pesa receipt", huduma.CleanLine(v))
			}
			res.Receipt = receipt
		case "PhoneNumber":
			res.Phone = huduma.CleanLine(v)
		case "TransactionDate":
			if t, err := time.ParseInLocation("20060102150405", v, nairobi); err == nil {
				res.PaidAt = t.UTC()
			}
		}
	}
	if code == "0" && (res.Amount <= 0 || res.Receipt == "") {
		return huduma.STKResult{}, fmt.Errorf("successful stk callback lacks Amount or MpesaReceiptNumber")
	}
	return res, nil
}

// scalar is a metadata value as text: a JSON string decoded (escapes and
// all), a number as written, "" for a missing or null value.
func scalar(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", err
		}
		if !utf8.ValidString(s) || strings.ContainsRune(s, utf8.RuneError) {
			return "", fmt.Errorf("not valid text")
		}
		return strings.TrimSpace(s), nil
	}
	if raw[0] == '{' || raw[0] == '[' {
		return "", fmt.Errorf("an object or list where a value belongs")
	}
	return string(raw), nil
}

// receiptRE is an M-Pesa receipt number as the ledger keeps it: upper-case
// letters and digits ("NLJ7RT61SV"; huduma.NormalizeTransID). It is shown
// to payers and stored as the invoice's proof, so nothing else is taken.
var receiptRE = regexp.MustCompile(`^[A-Z0-9]{1,32}$`)

// C2B is a paybill payment as Daraja's validation and confirmation
// callbacks describe it. MSISDN arrives masked ("2547 ***** 126").
type C2B struct {
	TransID           string
	TransTime         time.Time
	Amount            int64
	BusinessShortCode string
	BillRefNumber     string
	MSISDN            string
	FirstName         string
}

// DecodeC2B reads a validation or confirmation payload.
func DecodeC2B(body []byte) (C2B, error) {
	if len(body) > maxCallback {
		return C2B{}, fmt.Errorf("c2b payload larger than %d bytes", maxCallback)
	}
	var p struct {
		TransID           string          `json:"TransID"`
		TransTime         string          `json:"TransTime"`
		TransAmount       json.RawMessage `json:"TransAmount"`
		BusinessShortCode json.RawMessage `json:"BusinessShortCode"`
		BillRefNumber     string          `json:"BillRefNumber"`
		MSISDN            json.RawMessage `json:"MSISDN"`
		FirstName         string          `json:"FirstName"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return C2B{}, fmt.Errorf("c2b payload is not JSON: %w", err)
	}
	// The id, like an STK receipt, is shown to payers and is the
	// payment's key in the ledger: M-Pesa's letters and digits, upper case.
	id, err := huduma.ParseTransID(p.TransID)
	if err != nil {
		return C2B{}, fmt.Errorf("c2b TransID: %w", err)
	}
	var vals [3]string
	for i, raw := range []json.RawMessage{p.TransAmount, p.BusinessShortCode, p.MSISDN} {
		var err error
		if vals[i], err = scalar(raw); err != nil {
			return C2B{}, fmt.Errorf("c2b %s: %w", [...]string{"TransAmount", "BusinessShortCode", "MSISDN"}[i], err)
		}
	}
	// Zero ("0", "00", "-0") or more than one M-Pesa payment carries is
	// refused here, answered 400 and kept in the callback log: accepted,
	// the ledger would refuse it and Daraja retry it without end.
	amt, err := huduma.PaymentAmount(vals[0])
	if err != nil {
		return C2B{}, fmt.Errorf("c2b TransAmount: %w", err)
	}
	// What the payer typed is kept and shown to officers: no NUL (which
	// Postgres refuses) and no terminal escapes.
	c := C2B{TransID: id, Amount: amt, BillRefNumber: huduma.CleanLine(strings.TrimSpace(p.BillRefNumber)),
		BusinessShortCode: huduma.CleanLine(vals[1]), MSISDN: huduma.CleanLine(vals[2]), FirstName: huduma.CleanLine(p.FirstName)}
	if t, err := time.ParseInLocation("20060102150405", p.TransTime, nairobi); err == nil {
		c.TransTime = t.UTC()
	}
	return c, nil
}

// C2B validation result codes: a validation reply rejects a payment with
// one of these.
const (
	C2BInvalidAccount = "C2B00012"
	C2BInvalidAmount  = "C2B00013"
	C2BOther          = "C2B00016"
)

// C2BAccept is the validation answer that lets a payment through.
func C2BAccept() []byte { return []byte(`{"ResultCode":"0","ResultDesc":"Accepted"}`) }

// C2BReject is the validation answer that stops a payment with code.
func C2BReject(code string) []byte {
	b, _ := json.Marshal(map[string]string{"ResultCode": code, "ResultDesc": "Rejected"})
	return b
}

// Ack is the answer to a confirmation or STK callback.
func Ack() []byte { return []byte(`{"ResultCode":0,"ResultDesc":"Accepted"}`) }
