package ecitizen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/url"
	"strings"
	"time"

	"github.com/huduma-ke/huduma"
)

// Notification is a payment notification e-Citizen posted to our
// notificationURL, decoded and verified by Signer.DecodeNotification.
// Each notification is assumed to report one payment: AmountPaid is what
// that payment brought, whatever the rail. Deciding what it does to the
// invoice (part, full, over, unknown bill) is the settlement's job.
type Notification struct {
	// Status is the status word as sent; Paid reports whether it is one
	// of the words that mean paid (paidWords), in any case.
	Status string
	Paid   bool
	// ClientInvoiceRef is our billRefNumber (client_invoice_ref).
	ClientInvoiceRef string
	// InvoiceNumber is e-Citizen's bill number (invoice_number); it may be
	// empty.
	InvoiceNumber string
	// AmountPaid is amount_paid in whole shillings.
	AmountPaid int64
	// PaymentDate is payment_date exactly as sent (it is signed, and part
	// of DedupeKey); PaidAt is it read as a time, UTC, or zero when its
	// form is not one we know.
	PaymentDate string
	PaidAt      time.Time
	// PaymentReference is the payment's own reference (payment_reference:
	// a string, or the last entry of a list of payments), "" when none
	// was sent.
	PaymentReference string
	// Channel is payment_channel as sent ("MPESA", ...): informative only,
	// since the rail is not reliably named.
	Channel string
	// InvoiceAmount (invoice_amount) and LastPaymentAmount
	// (last_payment_amount) are whole shillings, 0 when not sent.
	InvoiceAmount, LastPaymentAmount int64
	// Fields holds every top-level field as sent, nested values as their
	// JSON text: the raw record to keep with the payment. It holds the
	// payer's phone number when e-Citizen sends one; log SafeFields.
	Fields map[string]string
}

// paidWords are the status words that mean paid, lower case.
var paidWords = map[string]bool{"paid": true, "settled": true, "success": true, "successful": true, "completed": true, "complete": true}

// maxNotification caps a notification body; real ones are under 2 KB.
const maxNotification = 16 << 10

// DecodeNotification reads a notification posted as a form or as JSON
// (by content type, or by its first byte when the type says neither),
// checks secure_hash over the fields as sent, and only then validates
// and converts them. A missing or wrong hash is ErrSignature, whatever
// else is wrong with the body; any other refusal is ErrMalformed.
func (s Signer) DecodeNotification(contentType string, body []byte) (Notification, error) {
	fields, err := readFields(contentType, body)
	if err != nil {
		return Notification{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if !s.VerifyNotification(fields["client_invoice_ref"], fields["invoice_number"], fields["amount_paid"], fields["payment_date"], fields["secure_hash"]) {
		return Notification{}, ErrSignature
	}
	n, err := newNotification(fields)
	if err != nil {
		return Notification{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return n, nil
}

// readFields returns the body's top-level fields as text.
func readFields(contentType string, body []byte) (map[string]string, error) {
	if len(body) > maxNotification {
		return nil, fmt.Errorf("body larger than %d bytes", maxNotification)
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	trimmed := bytes.TrimSpace(body)
	switch {
	case mt == "application/json" || (mt != "application/x-www-form-urlencoded" && len(trimmed) > 0 && trimmed[0] == '{'):
		return jsonFields(trimmed)
	case mt == "application/x-www-form-urlencoded" || mt == "" || mt == "text/plain":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("unreadable form: %w", err)
		}
		fields := make(map[string]string, len(form))
		for k, v := range form {
			if len(v) != 1 {
				return nil, fmt.Errorf("field %q sent %d times", k, len(v))
			}
			fields[k] = v[0]
		}
		return fields, nil
	}
	return nil, fmt.Errorf("content type %q is neither a form nor JSON", mt)
}

func jsonFields(body []byte) (map[string]string, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	fields := make(map[string]string, len(obj))
	for k, raw := range obj {
		switch raw = bytes.TrimSpace(raw); {
		case string(raw) == "null":
			fields[k] = ""
		case raw[0] == '"':
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, fmt.Errorf("field %q: %w", k, err)
			}
			fields[k] = s
		case raw[0] == '{' || raw[0] == '[':
			var b bytes.Buffer
			if err := json.Compact(&b, raw); err != nil {
				return nil, fmt.Errorf("field %q: %w", k, err)
			}
			fields[k] = b.String()
		default:
			// A number or a boolean, as written: the hash covers the
			// text e-Citizen sent.
			fields[k] = string(raw)
		}
	}
	return fields, nil
}

// newNotification validates verified fields and converts them.
func newNotification(f map[string]string) (Notification, error) {
	for _, k := range []string{"status", "client_invoice_ref", "invoice_number", "amount_paid", "payment_date", "payment_channel"} {
		if !plain(f[k], 64) {
			return Notification{}, fmt.Errorf("%s is longer than 64 characters or not plain text", k)
		}
	}
	n := Notification{Status: strings.TrimSpace(f["status"]), ClientInvoiceRef: strings.TrimSpace(f["client_invoice_ref"]),
		InvoiceNumber: strings.TrimSpace(f["invoice_number"]), PaymentDate: strings.TrimSpace(f["payment_date"]),
		Channel: strings.TrimSpace(f["payment_channel"]), Fields: f}
	n.Paid = paidWords[strings.ToLower(n.Status)]
	var err error
	switch {
	case n.Status == "":
		return Notification{}, fmt.Errorf("no status")
	case n.ClientInvoiceRef == "":
		return Notification{}, fmt.Errorf("no client_invoice_ref")
	case n.InvoiceNumber != "" && !billNumRE.MatchString(n.InvoiceNumber):
		return Notification{}, fmt.Errorf("invoice_number is not letters and digits")
	}
	if n.AmountPaid, err = amount(f, "amount_paid", true); err != nil {
		return Notification{}, err
	}
	if n.InvoiceAmount, err = amount(f, "invoice_amount", false); err != nil {
		return Notification{}, err
	}
	if n.LastPaymentAmount, err = amount(f, "last_payment_amount", false); err != nil {
		return Notification{}, err
	}
	if n.PaymentReference, err = paymentReference(f["payment_reference"]); err != nil {
		return Notification{}, err
	}
	if n.Paid && (n.AmountPaid == 0 || n.PaymentDate == "") {
		return Notification{}, fmt.Errorf("a paid notification without amount_paid or payment_date")
	}
	n.PaidAt = paymentTime(n.PaymentDate)
	return n, nil
}

// amount reads a field as whole shillings; absent is 0 unless required.
func amount(f map[string]string, key string, required bool) (int64, error) {
	v, ok := f[key]
	if !ok || strings.TrimSpace(v) == "" {
		if required {
			return 0, fmt.Errorf("no %s", key)
		}
		return 0, nil
	}
	n, err := huduma.WholeShillings(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", key, err)
	}
	if n > MaxAmount {
		return 0, fmt.Errorf("%s %d is more than %d", key, n, MaxAmount)
	}
	return n, nil
}

// paymentReference reads payment_reference: plain text, or the JSON list
// the live platform has been seen to send
// ([{"payment_reference":"TET6QMYYAK","amount":"5",...}]), whose last
// entry is taken as this notification's payment.
func paymentReference(v string) (string, error) {
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "[") {
		var list []json.RawMessage
		if err := json.Unmarshal([]byte(v), &list); err != nil {
			return "", fmt.Errorf("payment_reference: %w", err)
		}
		if len(list) == 0 {
			return "", nil
		}
		last := list[len(list)-1]
		var entry struct {
			Ref string `json:"payment_reference"`
		}
		if err := json.Unmarshal(last, &entry); err != nil {
			if err := json.Unmarshal(last, &entry.Ref); err != nil {
				return "", fmt.Errorf("payment_reference list entry is neither an object nor text")
			}
		}
		v = strings.TrimSpace(entry.Ref)
	}
	if !plain(v, 64) || strings.ContainsAny(v, " /") {
		return "", fmt.Errorf("payment_reference is longer than 64 characters or not a reference")
	}
	return v, nil
}

var eat = time.FixedZone("EAT", 3*3600)

// paymentTime reads payment_date in the forms seen from integrators: a
// date, a date and time in Nairobi, RFC 3339, or the live platform's
// "2025-05-30 02:16:03+03:00 EAT Africa/Nairobi".
func paymentTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	if len(s) > 25 && s[25] == ' ' {
		if t, err := time.Parse("2006-01-02 15:04:05Z07:00", s[:25]); err == nil {
			return t.UTC()
		}
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, eat); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// DedupeKey identifies the payment a notification reports, so a repeat
// (or a race of two copies) is recognised: the payment reference when
// one is sent (scoped to our bill reference, in case a rail's references
// are not unique across billers), else e-Citizen's bill number (or our
// reference when that is empty), the payment date as sent and the
// amount. Parts are escaped, so different payments never share a key.
func (n Notification) DedupeKey() string {
	if n.PaymentReference != "" {
		return "ecitizen/payment/" + url.PathEscape(n.ClientInvoiceRef) + "/" + url.PathEscape(n.PaymentReference)
	}
	bill := "bill/" + url.PathEscape(n.InvoiceNumber)
	if n.InvoiceNumber == "" {
		bill = "ref/" + url.PathEscape(n.ClientInvoiceRef)
	}
	return fmt.Sprintf("ecitizen/%s/%s/%d", bill, url.PathEscape(n.PaymentDate), n.AmountPaid)
}

// SafeFields returns Fields fit for a log line: no secure_hash, and
// phone numbers and URL queries masked by huduma.Redact.
func (n Notification) SafeFields() map[string]string {
	out := make(map[string]string, len(n.Fields))
	for k, v := range n.Fields {
		if k != "secure_hash" {
			out[k] = huduma.Redact(v)
		}
	}
	return out
}
