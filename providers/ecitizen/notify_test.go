package ecitizen_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers/ecitizen"
	"github.com/huduma-ke/huduma/providers/ecitizen/ecitizenfake"
)

// route is a stand-in for our notification route: it decodes with the
// real decoder and answers 403 to a forgery, 400 to a malformed body and
// 200 to the rest, after failing the first fail posts with a 500.
type route struct {
	signer ecitizen.Signer
	mu     sync.Mutex
	fail   int
	got    []ecitizen.Notification
	forged int
}

func startRoute(t *testing.T, fail int) (*route, string) {
	t.Helper()
	r := &route{signer: ours, fail: fail}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.fail > 0 {
			r.fail--
			http.Error(w, "database down", 500)
			return
		}
		n, err := r.signer.DecodeNotification(req.Header.Get("Content-Type"), body)
		switch {
		case errors.Is(err, ecitizen.ErrSignature):
			r.forged++
			http.Error(w, "forbidden", 403)
		case err != nil:
			http.Error(w, "malformed", 400)
		default:
			r.got = append(r.got, n)
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"status":"ok"}`))
		}
	}))
	t.Cleanup(srv.Close)
	return r, srv.URL + "/payments/ecitizen/notify?token=tok-123456789"
}

func (r *route) forgeries() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.forged
}

func (r *route) notifications() []ecitizen.Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]ecitizen.Notification(nil), r.got...)
}

// A prompt's outcome follows the phone's last two digits (the Daraja
// fake's table); only a paid prompt is notified, signed, to the
// notificationURL the bill was created with.
func TestPromptOutcomes(t *testing.T) {
	cases := []struct {
		phone string
		code  string
		paid  bool
	}{
		{"+254708374100", "0", true},
		{"+254708374101", "1032", false},
		{"+254708374102", "1", false},
		{"+254708374103", "2001", false},
		{"+254708374104", "0", false}, // paid, but never called back
		{"+254708374107", "", false},  // the prompt could not be sent
	}
	for _, tc := range cases {
		t.Run(tc.phone[len(tc.phone)-2:], func(t *testing.T) {
			rt, notify := startRoute(t, 0)
			f := startFake(t, ecitizenfake.Options{PromptDelay: 20 * time.Millisecond})
			cfg := testConfig(f.URL())
			cfg.NotificationURL = notify
			b := billWith(func(b *ecitizen.Bill) { b.Phone = huduma.MSISDN(tc.phone); b.SendSTK = true })
			created, err := newClient(t, cfg).CreateBill(context.Background(), b)
			if err != nil {
				t.Fatal(err)
			}
			pushes := f.Pushes()
			if len(pushes) != 1 || !pushes[0].Sent || pushes[0].Outcome.Code != tc.code || pushes[0].BillNumber != created.BillNumber {
				t.Fatalf("pushes %+v", pushes)
			}
			if !tc.paid {
				// Only a paid prompt starts a notification, and it is
				// decided before the checkout answers.
				if d := f.Deliveries(); len(d) != 0 {
					t.Fatalf("deliveries %+v", d)
				}
				return
			}
			waitFor(t, func() bool { return len(rt.notifications()) == 1 }, "the prompt's notification")
			n := rt.notifications()[0]
			if !n.Paid || n.AmountPaid != 4600 || n.ClientInvoiceRef != b.Ref || n.InvoiceNumber != created.BillNumber || n.Channel != "MPESA" ||
				!strings.HasPrefix(n.PaymentReference, "SIM") || n.InvoiceAmount != 4600 || time.Since(n.PaidAt) > time.Minute {
				t.Fatalf("notification %+v", n)
			}
			if got, _ := f.Bill(created.BillNumber); got.Paid != 4600 {
				t.Fatalf("bill %+v", got)
			}
		})
	}
}

// PayBill pays from any channel, in parts and over; each notification
// says what that payment brought, and each has its own dedupe key.
func TestPayBillFromAnyChannel(t *testing.T) {
	for _, form := range []bool{false, true} {
		t.Run(map[bool]string{false: "JSON", true: "form"}[form], func(t *testing.T) {
			rt, notify := startRoute(t, 0)
			f := startFake(t, ecitizenfake.Options{NotifyForm: form})
			cfg := testConfig(f.URL())
			cfg.NotificationURL = notify
			created, err := newClient(t, cfg).CreateBill(context.Background(), billWith(func(b *ecitizen.Bill) {
				b.Amount = 1000
				b.Phone = "+254733123400"
			}))
			if err != nil {
				t.Fatal(err)
			}
			steps := []struct {
				by      string // number or ref
				channel string
				amount  int64
				prefix  string
				paid    int64 // the bill's total after
			}{
				{created.BillNumber, ecitizenfake.ChannelAirtel, 400, "AM", 400},
				{bill.Ref, ecitizenfake.ChannelEquitel, 600, "EQ", 1000},
				{created.BillNumber, ecitizenfake.ChannelBank, 250, "BK", 1250},
				{created.BillNumber, ecitizenfake.ChannelTKash, 1, "TK", 1251},
			}
			keys := map[string]bool{}
			for i, s := range steps {
				d, err := f.PayBill(s.by, s.amount, s.channel)
				if err != nil || !d.Delivered || len(d.Statuses) != 1 {
					t.Fatalf("step %d: %+v %v", i, d, err)
				}
				n := rt.notifications()[i]
				if !n.Paid || n.AmountPaid != s.amount || n.Channel != s.channel || !strings.HasPrefix(n.PaymentReference, s.prefix) ||
					n.InvoiceNumber != created.BillNumber || n.ClientInvoiceRef != bill.Ref || n.InvoiceAmount != 1000 {
					t.Fatalf("step %d: %+v", i, n)
				}
				if keys[n.DedupeKey()] {
					t.Fatalf("step %d: dedupe key %s repeated", i, n.DedupeKey())
				}
				keys[n.DedupeKey()] = true
				if b, _ := f.Bill(created.BillNumber); b.Paid != s.paid || len(b.Payments) != i+1 || b.Payments[i].Reference != n.PaymentReference {
					t.Fatalf("step %d: bill %+v", i, b)
				}
			}
			if _, err := f.PayBill("NOSUCHBILL", 10, ecitizenfake.ChannelMpesa); !errors.Is(err, ecitizenfake.ErrNoBill) {
				t.Fatalf("unknown bill: %v", err)
			}
		})
	}
}

func TestRepeatsForgeriesAndStrangers(t *testing.T) {
	rt, notify := startRoute(t, 0)
	f := startFake(t, ecitizenfake.Options{Retries: 2, RetryDelay: 5 * time.Millisecond})
	cfg := testConfig(f.URL())
	cfg.NotificationURL = notify
	created, err := newClient(t, cfg).CreateBill(context.Background(), bill)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := f.PayBill(created.BillNumber, 4600, ecitizenfake.ChannelMpesa)
	again := f.Resend(first)
	if !again.Delivered || string(again.Body) != string(first.Body) {
		t.Fatalf("resend %+v", again)
	}
	got := rt.notifications()
	if len(got) != 2 || got[0].DedupeKey() != got[1].DedupeKey() {
		t.Fatalf("a repeat must carry the same dedupe key: %+v", got)
	}

	forged, err := f.SendForged(created.BillNumber, 9000)
	if err != nil {
		t.Fatal(err)
	}
	if forged.Delivered || len(forged.Statuses) != 3 || forged.Statuses[0] != 403 || rt.forgeries() != 3 || len(rt.notifications()) != 2 {
		t.Fatalf("forgery %+v, route saw %d forgeries and %d notifications", forged.Statuses, rt.forgeries(), len(rt.notifications()))
	}
	if b, _ := f.Bill(created.BillNumber); b.Paid != 4600 {
		t.Fatalf("a forgery changed the bill: %+v", b)
	}

	stranger := f.NotifyUnissued(notify, "9999999999", 700)
	if !stranger.Delivered {
		t.Fatalf("unissued %+v", stranger)
	}
	n := rt.notifications()[2]
	if n.ClientInvoiceRef != "9999999999" || n.AmountPaid != 700 || n.InvoiceNumber == created.BillNumber || !n.Paid {
		t.Fatalf("unissued decoded as %+v", n)
	}
	if _, known := f.Bill(n.InvoiceNumber); known {
		t.Fatal("the unissued bill is known to the fake")
	}
}

// Our side failing is retried (the fake's assumed schedule), and given
// up after 1+Retries attempts.
func TestNotificationRetries(t *testing.T) {
	for _, tc := range []struct {
		fail      int
		statuses  []int
		delivered bool
	}{
		{2, []int{500, 500, 200}, true},
		{9, []int{500, 500, 500, 500}, false},
	} {
		rt, notify := startRoute(t, tc.fail)
		f := startFake(t, ecitizenfake.Options{Retries: 3, RetryDelay: 5 * time.Millisecond})
		cfg := testConfig(f.URL())
		cfg.NotificationURL = notify
		created, err := newClient(t, cfg).CreateBill(context.Background(), bill)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := f.PayBill(created.BillNumber, 100, ecitizenfake.ChannelAirtel)
		if d.Delivered != tc.delivered || len(d.Statuses) != len(tc.statuses) {
			t.Fatalf("fail %d: %+v", tc.fail, d)
		}
		for i := range d.Statuses {
			if d.Statuses[i] != tc.statuses[i] {
				t.Fatalf("fail %d: statuses %v, want %v", tc.fail, d.Statuses, tc.statuses)
			}
		}
		if want := map[bool]int{true: 1, false: 0}[tc.delivered]; len(rt.notifications()) != want {
			t.Fatalf("fail %d: route stored %d", tc.fail, len(rt.notifications()))
		}
	}
}

// A platform signing with the hex encoding is still verified by a route
// configured for the published one.
func TestHexSignedNotifications(t *testing.T) {
	rt, notify := startRoute(t, 0)
	f := startFake(t, ecitizenfake.Options{HexHash: true})
	cfg := testConfig(f.URL())
	cfg.NotificationURL = notify
	cfg.HashEncoding = ecitizen.HashHexDigest
	created, err := newClient(t, cfg).CreateBill(context.Background(), bill)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := f.PayBill(created.BillNumber, 4600, ecitizenfake.ChannelMpesa); !d.Delivered || len(rt.notifications()) != 1 {
		t.Fatalf("%+v", d)
	}
}
