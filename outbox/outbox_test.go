package outbox

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/ledgertest"
	"github.com/huduma-ke/huduma/providers"
	"github.com/huduma-ke/huduma/store/sqlitestore/sqlitetest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// scriptSender answers each send with the next scripted error (nil =
// accepted) and records what it was asked.
type scriptSender struct {
	errs []error
	sent []string
}

var errDown = errors.New("provider down")

func (s *scriptSender) Send(_ context.Context, to huduma.MSISDN, text string) (string, error) {
	s.sent = append(s.sent, text)
	if len(s.errs) > 0 {
		err := s.errs[0]
		s.errs = s.errs[1:]
		if err != nil {
			return "", err
		}
	}
	return "PID-" + text, nil
}

const phone = huduma.MSISDN("+254708374149")

func queue(t *testing.T, l ledgertest.Ledger, kind huduma.MessageKind, body string) int64 {
	t.Helper()
	if err := l.QueueMessage(context.Background(), huduma.Message{To: phone, Kind: kind, Body: body}, ""); err != nil {
		t.Fatal(err)
	}
	msgs, err := l.Messages(context.Background(), phone, 1)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("messages: %v %v", msgs, err)
	}
	return msgs[0].ID
}

func status(t *testing.T, l ledgertest.Ledger, id int64) (huduma.MessageStatus, string, int) {
	t.Helper()
	st, reason, attempts, err := l.MessageStatus(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return st, reason, attempts
}

// TestOutboxRetries walks a message through failures: each row says how
// the provider answers, how far the clock moves first, and what the
// message looks like afterwards.
func TestOutboxRetries(t *testing.T) {
	throttled := providers.Throttled(7*time.Second, "429")
	permanent := providers.Permanent("406 UserInBlacklist")
	type step struct {
		advance   time.Duration
		answer    error
		wantSends int // sends so far
		want      huduma.MessageStatus
		reason    string
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"exponential backoff", []step{
			{0, errDown, 1, huduma.MsgQueued, "provider down"},
			{4 * time.Second, nil, 1, huduma.MsgQueued, ""}, // not due yet: 5 s backoff
			{time.Second, errDown, 2, huduma.MsgQueued, ""},
			{9 * time.Second, nil, 2, huduma.MsgQueued, ""}, // now 10 s
			{time.Second, nil, 3, huduma.MsgSent, ""},
		}},
		{"retry-after honoured", []step{
			{0, throttled, 1, huduma.MsgQueued, "429"},
			{6 * time.Second, nil, 1, huduma.MsgQueued, ""},
			{time.Second, nil, 2, huduma.MsgSent, ""},
		}},
		{"permanent failure keeps the reason", []step{
			{0, permanent, 1, huduma.MsgFailed, "406 UserInBlacklist"},
			{time.Hour, nil, 1, huduma.MsgFailed, ""},
		}},
		{"gives up after max attempts", []step{
			{0, errDown, 1, huduma.MsgQueued, ""},
			{5 * time.Second, errDown, 2, huduma.MsgQueued, ""},
			{10 * time.Second, errDown, 3, huduma.MsgFailed, "provider down"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, c := ledgertest.OnClock(sqlitetest.Open(t))
			send := &scriptSender{}
			o := New(l, send, Config{Rate: 1000, MaxAttempts: 3, Backoff: 5 * time.Second, MaxBackoff: time.Minute}, quiet)
			o.now = c.Now
			id := queue(t, l, huduma.MessageReceipt, "receipt")
			for i, s := range tc.steps {
				c.Add(s.advance)
				send.errs = []error{s.answer}
				if _, err := o.RunOnce(context.Background()); err != nil {
					t.Fatal(err)
				}
				st, reason, _ := status(t, l, id)
				if len(send.sent) != s.wantSends || st != s.want || (s.reason != "" && !strings.Contains(reason, s.reason)) {
					t.Fatalf("step %d: %d sends, %q (%q); want %d sends, %q (%q)", i, len(send.sent), st, reason, s.wantSends, s.want, s.reason)
				}
			}
		})
	}
}

func TestBackoffIsCapped(t *testing.T) {
	l, c := ledgertest.OnClock(sqlitetest.Open(t))
	send := &scriptSender{}
	o := New(l, send, Config{Rate: 1000, MaxAttempts: 50, Backoff: time.Second, MaxBackoff: 8 * time.Second}, quiet)
	o.now = c.Now
	id := queue(t, l, huduma.MessageReceipt, "receipt")
	// The gaps between six failures are 1, 2, 4, 8 and 8 s (capped).
	var waited time.Duration
	for i := 0; i < 6; i++ {
		send.errs = []error{errDown}
		for {
			n, err := o.RunOnce(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if n == 1 {
				break
			}
			c.Add(time.Second)
			waited += time.Second
		}
	}
	if waited != (1+2+4+8+8)*time.Second {
		t.Fatalf("waited %s between six failures, want 23s (1+2+4+8+8)", waited)
	}
	if st, _, attempts := status(t, l, id); st != huduma.MsgQueued || attempts != 6 {
		t.Fatalf("%s after %d attempts", st, attempts)
	}
}

// TestOutboxPriorityAndOptOut: codes and receipts go before notices; a
// phone that sent STOP gets no notices but still gets receipts and codes.
func TestOutboxPriorityAndOptOut(t *testing.T) {
	l, c := ledgertest.OnClock(sqlitetest.Open(t))
	send := &scriptSender{}
	o := New(l, send, Config{Rate: 1000}, quiet)
	o.now = c.Now
	notice := queue(t, l, huduma.MessageNotice, "notice")
	queue(t, l, huduma.MessageReceipt, "receipt")
	queue(t, l, huduma.MessageOTP, "otp")
	if err := l.SetOptOut(context.Background(), phone, true); err != nil {
		t.Fatal(err)
	}
	if n, err := o.RunOnce(context.Background()); err != nil || n != 3 {
		t.Fatalf("run: %d %v", n, err)
	}
	if got := strings.Join(send.sent, ","); got != "otp,receipt" {
		t.Fatalf("sent %s, want otp,receipt (and no notice)", got)
	}
	if st, _, _ := status(t, l, notice); st != huduma.MsgOptedOut {
		t.Fatalf("notice is %s", st)
	}
	// START lets notices through again.
	l.SetOptOut(context.Background(), phone, false)
	queue(t, l, huduma.MessageNotice, "notice 2")
	o.RunOnce(context.Background())
	if got := strings.Join(send.sent, ","); got != "otp,receipt,notice 2" {
		t.Fatalf("sent %s", got)
	}
}

// TestOutboxRecordOnlyAndCrash: without a sender messages are recorded;
// a message whose worker died mid-send is claimed again once its lease
// ends (at least once), and not before.
func TestOutboxRecordOnlyAndCrash(t *testing.T) {
	l, c := ledgertest.OnClock(sqlitetest.Open(t))
	rec := New(l, nil, Config{}, quiet)
	id := queue(t, l, huduma.MessageInvoice, "invoice")
	rec.RunOnce(context.Background())
	if st, _, _ := status(t, l, id); st != huduma.MsgRecorded {
		t.Fatalf("record-only: %s", st)
	}

	id = queue(t, l, huduma.MessageReceipt, "receipt")
	claimed, err := l.ClaimMessages(context.Background(), 10, sendLease) // a worker that then dies
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	send := &scriptSender{}
	o := New(l, send, Config{Rate: 1000}, quiet)
	o.now = c.Now
	c.Add(sendLease - time.Second)
	o.RunOnce(context.Background())
	if len(send.sent) != 0 {
		t.Fatal("a leased message was sent by a second worker")
	}
	c.Add(2 * time.Second)
	o.RunOnce(context.Background())
	if st, _, attempts := status(t, l, id); len(send.sent) != 1 || st != huduma.MsgSent || attempts != 2 {
		t.Fatalf("after the lease: %d sends, %s, %d attempts", len(send.sent), st, attempts)
	}
}
