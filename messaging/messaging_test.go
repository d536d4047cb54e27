package messaging

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/gsm7"
	"github.com/huduma-ke/huduma/internal/ledgertest"
	"github.com/huduma-ke/huduma/payments"
	"github.com/huduma-ke/huduma/store/sqlitestore/sqlitetest"
)

// clock is a settable time shared by the ledger and the worker.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// openLedger is a migrated embedded ledger on the test clock: the real
// SQL, not a mock.
func openLedger(t *testing.T) (ledgertest.Ledger, *clock) {
	t.Helper()
	st := ledgertest.New(sqlitetest.Open(t))
	c := &clock{t: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}
	return st.WithClock(c.now), c
}

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
	throttled := Throttled(7*time.Second, "429")
	permanent := Permanent("406 UserInBlacklist")
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
			l, c := openLedger(t)
			send := &scriptSender{}
			o := NewOutbox(l, send, OutboxConfig{Rate: 1000, MaxAttempts: 3, Backoff: 5 * time.Second, MaxBackoff: time.Minute}, quiet)
			o.now = c.now
			id := queue(t, l, huduma.MessageReceipt, "receipt")
			for i, s := range tc.steps {
				c.add(s.advance)
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
	l, c := openLedger(t)
	send := &scriptSender{}
	o := NewOutbox(l, send, OutboxConfig{Rate: 1000, MaxAttempts: 50, Backoff: time.Second, MaxBackoff: 8 * time.Second}, quiet)
	o.now = c.now
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
			c.add(time.Second)
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
	l, c := openLedger(t)
	send := &scriptSender{}
	o := NewOutbox(l, send, OutboxConfig{Rate: 1000}, quiet)
	o.now = c.now
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
	l, c := openLedger(t)
	rec := NewOutbox(l, nil, OutboxConfig{}, quiet)
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
	o := NewOutbox(l, send, OutboxConfig{Rate: 1000}, quiet)
	o.now = c.now
	c.add(sendLease - time.Second)
	o.RunOnce(context.Background())
	if len(send.sent) != 0 {
		t.Fatal("a leased message was sent by a second worker")
	}
	c.add(2 * time.Second)
	o.RunOnce(context.Background())
	if st, _, attempts := status(t, l, id); len(send.sent) != 1 || st != huduma.MsgSent || attempts != 2 {
		t.Fatalf("after the lease: %d sends, %s, %d attempts", len(send.sent), st, attempts)
	}
}

// TestInboxKeywords: each text in, the reply queued; case, spaces and
// Kiswahili keywords; one reply per provider id. (The SMS channel's
// finding, invoicing and paying are chat_test.go's.)
func TestInboxKeywords(t *testing.T) {
	l, _ := openLedger(t)
	// Replies name the configured paybill and USSD code, not e-Citizen's.
	in := NewInbox(InboxDeps{Store: l, Catalog: l, Payments: payments.New(l, l, nil, payments.Config{}, quiet), Conversations: newConversations(t)},
		InboxConfig{Paybill: "174379", ServiceCode: "*384*22#"}, quiet)
	app, err := l.CreateApplication(context.Background(), huduma.Application{ServiceCode: 1001, ServiceName: "Passport (34 pages)", Phone: phone})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	pending, _, err := l.CreateInvoice(context.Background(), huduma.InvoiceOrder{Invoice: huduma.Invoice{Number: huduma.NewInvoiceNumber(), ServiceCode: 1001,
		ServiceName: "Passport", Phone: phone, Fee: 4550, ConvenienceFee: 50, Total: 4600, Language: huduma.English, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ text, reply string }{
		{"HELP", `^eCitizen by SMS: FIND <name>, .*Or dial \*384\*22#\.$`},
		{"status " + string(pending.Number), `PENDING\. Pay by M-Pesa: Lipa na M-Pesa > Pay Bill > 174379 > account ` + string(pending.Number) + ` > KES 4,600 > PIN\.$`},
		{"  msaada ", `^eCitizen kwa SMS: TAFUTA`},
		{"", `^eCitizen by SMS: FIND`},
		{"what is this", `^eCitizen by SMS: FIND`},
		{"STATUS", `PENDING`}, // the invoice the phone last asked about
		{"STATUS 12", `not valid`},
		{"hali 12345", `^Nambari hiyo ya ankara si sahihi`},
		{"Status " + string(huduma.NewInvoiceNumber()), `^No invoice has that number`},
		{"app " + app.Number, `^Application ` + app.Number + ` \(Passport \(34 pages\)\): SUBMITTED since 22/11/2026`},
		{"OMBI   " + app.Number, `^Ombi ` + app.Number + ` .*IMEWASILISHWA`},
		{"APP", `^No application has that number`},
		{"Sitisha", `^Hutapokea tena`},
		{"START", `notices are on again`},
	}
	for i, tc := range cases {
		id := "in-" + string(rune('a'+i))
		for j := 0; j < 2; j++ { // AT retries: the second arrival is ignored
			if err := in.Receive(context.Background(), id, phone, tc.text); err != nil {
				t.Fatal(err)
			}
		}
		msgs, _ := l.Messages(context.Background(), phone, 100)
		if len(msgs) != i+1 {
			t.Fatalf("%q: %d replies in the outbox, want %d", tc.text, len(msgs), i+1)
		}
		if !regexp.MustCompile(tc.reply).MatchString(msgs[0].Body) || msgs[0].Kind != huduma.MessageReply {
			t.Errorf("%q: reply %q, want %s", tc.text, msgs[0].Body, tc.reply)
		}
		if len(msgs[0].Body) > 160 {
			t.Errorf("%q: reply is %d characters", tc.text, len(msgs[0].Body))
		}
	}
	if out, _ := l.OptedOut(context.Background(), phone); out {
		t.Fatal("STOP then START left the phone opted out")
	}
}

var codeInSMS = regexp.MustCompile(`code is (\d{6})\.`)

// TestOTPLifecycle covers what the HTTP tests cannot wait for: expiry,
// and that only a keyed hash is stored.
func TestOTPLifecycle(t *testing.T) {
	l, c := openLedger(t)
	secret := []byte("unit-test-otp-secret-0123456789")
	otp := NewOTP(l, secret)
	ctx := context.Background()
	login := huduma.OTPScope{Phone: phone, Purpose: "login"}
	lastCode := func() string {
		msgs, _ := l.Messages(ctx, phone, 1)
		if codeInSMS.MatchString(msgs[0].Body) || !Sealed(msgs[0].Body) {
			t.Fatalf("the code is readable in the outbox: %q", msgs[0].Body)
		}
		text, err := NewSealer(secret).Open(msgs[0].Body)
		m := codeInSMS.FindStringSubmatch(text)
		if err != nil || m == nil || msgs[0].Kind != huduma.MessageOTP {
			t.Fatalf("no code in %+v (%q, %v)", msgs[0], text, err)
		}
		return m[1]
	}
	if err := otp.SendOTP(ctx, "", phone, "Login"); huduma.ErrorCode(err) != huduma.EInvalid {
		t.Fatalf("bad purpose: %v", err)
	}
	if err := otp.SendOTP(ctx, "", phone, "login"); err != nil {
		t.Fatal(err)
	}
	code := lastCode()
	if h := otp.hash(login, code); strings.Contains(h, code) || len(h) != 64 {
		t.Fatalf("hash %q", h)
	}
	if otp.hash(login, code) == NewOTP(l, []byte("another-secret-entirely-000000")).hash(login, code) {
		t.Fatal("the hash does not depend on the secret")
	}
	// A new code retires the old one.
	c.add(time.Minute)
	if err := otp.SendOTP(ctx, "", phone, "login"); err != nil {
		t.Fatal(err)
	}
	fresh := lastCode()
	if ok, _ := otp.VerifyOTP(ctx, "", phone, "login", code); ok && code != fresh {
		t.Fatal("a retired code passed")
	}
	// Expiry: five minutes.
	c.add(5*time.Minute + time.Second)
	if ok, _ := otp.VerifyOTP(ctx, "", phone, "login", fresh); ok {
		t.Fatal("an expired code passed")
	}
	// Malformed guesses use attempts like any other.
	c.add(10 * time.Minute) // out of the send window
	if err := otp.SendOTP(ctx, "", phone, "login"); err != nil {
		t.Fatal(err)
	}
	code = lastCode()
	for _, g := range []string{"", "12", "abcdef", "1234567", "12345"} {
		if ok, err := otp.VerifyOTP(ctx, "", phone, "login", g); ok || err != nil {
			t.Fatalf("%q: %v %v", g, ok, err)
		}
	}
	if ok, _ := otp.VerifyOTP(ctx, "", phone, "login", code); ok {
		t.Fatal("the right code passed after five malformed guesses")
	}
}

// TestNoticeLimitInParts: an agency's notice is limited in SMS parts, the
// unit the provider bills, and the parts it reports are those of the text
// as sent (folded to GSM-7).
func TestNoticeLimitInParts(t *testing.T) {
	l, _ := openLedger(t)
	n := NewNotices(l)
	ctx := context.Background()
	const to = huduma.MSISDN("+254708374107")
	for _, c := range []struct {
		label, text string
		parts       int // 0: refused
	}{
		{"one part", strings.Repeat("a", 160), 1},
		{"161 characters", strings.Repeat("a", 161), 2},
		{"two parts full", strings.Repeat("a", 306), 2},
		{"four parts full", strings.Repeat("a", 612), 4},
		{"one character into a fifth part", strings.Repeat("a", 613), 0},
		{"640 characters are five parts", strings.Repeat("a", 640), 0},
		{"padding is trimmed before counting", "  " + strings.Repeat("a", 612) + " \n", 4},
		// Folding happens first: the euro sign goes as EUR, brackets as
		// parentheses, so each costs what it costs once sent.
		{"folded euro signs", strings.Repeat("\u20ac", 51), 1},
		{"folded euro signs, one more", strings.Repeat("\u20ac", 54), 2},
		{"brackets fold to one septet", strings.Repeat("[", 160), 1},
		{"an emoji is dropped, not UCS-2", strings.Repeat("a", 160) + "\U0001F600", 1},
		{"nothing left after folding", "\U0001F600", 0},
	} {
		got, err := n.SendMessage(ctx, to, c.text)
		switch {
		case c.parts == 0 && (err == nil || huduma.ErrorCode(err) != huduma.EInvalid):
			t.Errorf("%s: %d parts, %v; want refused as invalid", c.label, got, err)
		case c.parts != 0 && (err != nil || got != c.parts):
			t.Errorf("%s: %d parts, %v; want %d", c.label, got, err, c.parts)
		}
	}
	msgs, err := l.Messages(ctx, to, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Parts != gsm7.SMSParts(m.Body) || m.Parts > MaxNoticeParts {
			t.Errorf("outbox row of %d characters records %d parts", len(m.Body), m.Parts)
		}
	}
	if len(msgs) != 9 {
		t.Errorf("%d notices queued, want the 9 accepted", len(msgs))
	}
}
