package ecitizenfake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// Payment channels as a notification's payment_channel names them. Only
// "MPESA" has been seen from the live platform; the others are assumed.
const (
	ChannelMpesa   = "MPESA"
	ChannelAirtel  = "AIRTEL"
	ChannelEquitel = "EQUITEL"
	ChannelTKash   = "TKASH"
	ChannelBank    = "BANK"
)

// refPrefix starts each channel's payment references.
var refPrefix = map[string]string{ChannelMpesa: "SIM", ChannelAirtel: "AM", ChannelEquitel: "EQ", ChannelTKash: "TK", ChannelBank: "BK"}

// Payment is one payment on a bill.
type Payment struct {
	Reference, Channel string
	Amount             int64
	At                 time.Time
}

// Delivery is one notification and what became of it.
type Delivery struct {
	URL, ContentType string
	Body             []byte
	// Statuses are our side's answers, one per attempt (0: no answer).
	Statuses []int
	// Delivered reports whether an attempt was answered 200.
	Delivered bool
}

// Deliveries returns the notifications posted so far, in the order they
// finished.
func (f *Fake) Deliveries() []Delivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Delivery(nil), f.deliveries...)
}

// ErrNoBill is PayBill's error for a number or reference it never issued.
var ErrNoBill = errors.New("ecitizenfake: no such bill")

// PayBill pays amount (whole shillings: less than owed, all of it, or
// more) on a bill, from channel, and posts the signed notification to
// the bill's notificationURL, retrying as Options say. It returns once
// the notification was delivered or given up; the payment stands either
// way, as on e-Citizen.
func (f *Fake) PayBill(numberOrRef string, amount int64, channel string) (Delivery, error) {
	if amount < 1 {
		return Delivery{}, fmt.Errorf("ecitizenfake: amount %d", amount)
	}
	f.mu.Lock()
	b := f.find(numberOrRef)
	if b == nil {
		f.mu.Unlock()
		return Delivery{}, ErrNoBill
	}
	p := Payment{Reference: f.newRef(channel), Channel: channel, Amount: amount, At: time.Now()}
	b.Paid += amount
	b.Payments = append(b.Payments, p)
	bill := b.clone()
	f.mu.Unlock()
	ctype, body := f.notification(bill, bill.Payments, f.opts.APIKey)
	return f.deliver(bill.NotificationURL, ctype, body), nil
}

// SendForged posts a notification for a payment that never happened,
// signed with the wrong key; the bill does not change.
func (f *Fake) SendForged(numberOrRef string, amount int64) (Delivery, error) {
	b, ok := f.Bill(numberOrRef)
	if !ok {
		return Delivery{}, ErrNoBill
	}
	f.mu.Lock()
	p := Payment{Reference: f.newRef(ChannelMpesa), Channel: ChannelMpesa, Amount: amount, At: time.Now()}
	f.mu.Unlock()
	ctype, body := f.notification(b, append(b.Payments, p), f.opts.APIKey+"-forged")
	return f.deliver(b.NotificationURL, ctype, body), nil
}

// NotifyUnissued posts a correctly signed notification for a bill the
// fake never issued, with billRefNumber ref, to notificationURL.
func (f *Fake) NotifyUnissued(notificationURL, ref string, amount int64) Delivery {
	f.mu.Lock()
	b := Bill{Number: f.newNumber(), Ref: ref, Amount: amount, Phone: "254700000000"}
	p := Payment{Reference: f.newRef(ChannelMpesa), Channel: ChannelMpesa, Amount: amount, At: time.Now()}
	f.mu.Unlock()
	ctype, body := f.notification(b, []Payment{p}, f.opts.APIKey)
	return f.deliver(notificationURL, ctype, body)
}

// Resend posts a notification again, byte for byte, as a repeat.
func (f *Fake) Resend(d Delivery) Delivery { return f.deliver(d.URL, d.ContentType, d.Body) }

// newRef is a fresh payment reference for channel; f.mu held. They count
// up from the start time, so a fake restarted on the same database does
// not reuse the last run's.
func (f *Fake) newRef(channel string) string {
	f.refs++
	p, ok := refPrefix[channel]
	if !ok {
		p = "PAY"
	}
	return fmt.Sprintf("%s%07d", p, f.refs%10_000_000)
}

// notification builds the body e-Citizen posts for the last of payments,
// shaped as one captured from the live platform: amount_paid (this
// payment) without decimals, invoice_amount with, payment_date with its
// zone spelled out, and in JSON every payment of the bill so far listed
// under payment_reference, this one last (a form carries only this
// payment's reference). It is signed with key.
func (f *Fake) notification(b Bill, payments []Payment, key string) (string, []byte) {
	p := payments[len(payments)-1]
	at := p.At.In(eat).Truncate(time.Second)
	date := at.Format("2006-01-02 15:04:05-07:00") + " EAT Africa/Nairobi"
	paid := strconv.FormatInt(p.Amount, 10)
	fields := map[string]any{"status": "settled", "client_invoice_ref": b.Ref, "invoice_number": b.Number, "amount_paid": paid,
		"payment_date": date, "payment_channel": p.Channel, "currency": "KES", "invoice_amount": fmt.Sprintf("%d.00", b.Amount),
		"last_payment_amount": paid, "phone_number": b.Phone}
	fields["secure_hash"] = f.sign(key, b.Ref, b.Number, paid, date, f.opts.Secret)
	if f.opts.NotifyForm {
		form := url.Values{}
		for k, v := range fields {
			form.Set(k, v.(string))
		}
		form.Set("payment_reference", p.Reference)
		return "application/x-www-form-urlencoded", []byte(form.Encode())
	}
	list := make([]map[string]string, len(payments))
	for i, q := range payments {
		list[i] = map[string]string{"payment_reference": q.Reference, "payment_date": q.At.UTC().Format(time.RFC3339),
			"inserted_at": q.At.UTC().Format("2006-01-02T15:04:05"), "currency": "KES", "amount": strconv.FormatInt(q.Amount, 10)}
	}
	fields["payment_reference"] = list
	raw, _ := json.Marshal(fields)
	return "application/json", raw
}

var eat = time.FixedZone("EAT", 3*3600)

// deliver posts a notification until our side answers 200, at most
// 1+Retries times, waiting n×RetryDelay before retry n; Close stops it.
func (f *Fake) deliver(to, ctype string, body []byte) Delivery {
	d := Delivery{URL: to, ContentType: ctype, Body: body}
	for attempt := 0; attempt <= max(f.opts.Retries, 0); attempt++ {
		if attempt > 0 {
			select {
			case <-time.After(time.Duration(attempt) * f.opts.RetryDelay):
			case <-f.done:
				return f.record(d)
			}
		}
		status := 0
		resp, err := f.client.Post(to, ctype, bytes.NewReader(body))
		if err == nil {
			resp.Body.Close()
			status = resp.StatusCode
		}
		d.Statuses = append(d.Statuses, status)
		if status == 200 {
			d.Delivered = true
			break
		}
		f.opts.Log.Info("ecitizenfake: notification not accepted; retrying", "status", status, "attempt", attempt+1)
	}
	return f.record(d)
}

func (f *Fake) record(d Delivery) Delivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deliveries = append(f.deliveries, d)
	return d
}
