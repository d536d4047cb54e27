package outbox

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/breaker"
	"github.com/huduma-ke/huduma/internal/ledgertest"
	"github.com/huduma-ke/huduma/providers"
	"github.com/huduma-ke/huduma/store/sqlitestore/sqlitetest"
)

// TestDeadWorkersMessagesGoWithinSeconds: messages a worker claimed before
// it died (nothing renews their lease) are sent by another worker within
// seconds, not minutes.
func TestDeadWorkersMessagesGoWithinSeconds(t *testing.T) {
	l, c := ledgertest.OnClock(sqlitetest.Open(t))
	for i := 0; i < 3; i++ {
		queue(t, l, huduma.MessageReceipt, fmt.Sprintf("receipt %d", i))
	}
	if claimed, err := l.ClaimMessages(context.Background(), 10, sendLease); err != nil || len(claimed) != 3 { // the worker that dies
		t.Fatalf("claim: %v %v", claimed, err)
	}
	send := &scriptSender{}
	o := New(l, send, Config{Rate: 1000}, quiet)
	o.now = c.Now
	c.Add(15 * time.Second)
	if n, err := o.RunOnce(context.Background()); err != nil || n != 3 || len(send.sent) != 3 {
		t.Fatalf("15 s after its worker died: %d claimed, %d sent (%v); want all 3", n, len(send.sent), err)
	}
}

// gatedSender accepts every message, the first only once open is closed.
type gatedSender struct {
	open chan struct{}

	mu   sync.Mutex
	sent map[string]int
}

func (g *gatedSender) Send(ctx context.Context, to huduma.MSISDN, text string) (string, error) {
	g.mu.Lock()
	first := len(g.sent) == 0
	g.sent[text]++
	g.mu.Unlock()
	if first {
		<-g.open
	}
	return "PID-" + text, nil
}

func (g *gatedSender) count() (total, distinct int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, n := range g.sent {
		total += n
	}
	return total, len(g.sent)
}

// TestOutboxKeepsItsLeaseWhileSending: a batch whose first send takes
// several leases keeps its messages (the worker renews their leases), so
// a second worker sends none of them meanwhile, and each goes once.
func TestOutboxKeepsItsLeaseWhileSending(t *testing.T) {
	l := sqlitetest.Open(t)
	for i := 0; i < 5; i++ {
		if err := l.QueueMessage(context.Background(), huduma.Message{To: phone, Kind: huduma.MessageReceipt, Body: fmt.Sprintf("receipt %d", i)}, ""); err != nil {
			t.Fatal(err)
		}
	}
	slow := &gatedSender{open: make(chan struct{}), sent: map[string]int{}}
	o := New(l, slow, Config{Rate: 1000}, quiet)
	o.lease = 3 * time.Second
	ran := make(chan error, 1)
	go func() { _, err := o.RunOnce(context.Background()); ran <- err }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if total, _ := slow.count(); total > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first worker never sent")
		}
	}
	other := &scriptSender{}
	second := New(l, other, Config{Rate: 1000}, quiet)
	for end := time.Now().Add(2 * o.lease); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if _, err := second.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		if len(other.sent) != 0 {
			t.Fatalf("a second worker sent %v while the first still held them", other.sent)
		}
	}
	close(slow.open)
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	if total, distinct := slow.count(); total != 5 || distinct != 5 {
		t.Fatalf("%d sends of %d messages, want each of 5 once", total, distinct)
	}
}

// renewalsFail is the ledger unable to renew leases.
type renewalsFail struct{ Store }

func (renewalsFail) RenewMessages(context.Context, []int64, time.Duration) (int, error) {
	return 0, errors.New("database unreachable")
}

// clockSender accepts every message, the first taking longer than a lease
// (it moves the clock on).
type clockSender struct {
	c    *ledgertest.Clock
	d    time.Duration
	sent []string
}

func (s *clockSender) Send(_ context.Context, _ huduma.MSISDN, text string) (string, error) {
	if len(s.sent) == 0 {
		s.c.Add(s.d)
	}
	s.sent = append(s.sent, text)
	return "PID-" + text, nil
}

// TestOutboxStopsWhenItsLeaseLapses: when a batch's leases may have run
// out unrenewed (another worker may have claimed the rest), the worker
// records what it sent and sends nothing more; the rest go once, from the
// next claim.
func TestOutboxStopsWhenItsLeaseLapses(t *testing.T) {
	l, c := ledgertest.OnClock(sqlitetest.Open(t))
	for i := 0; i < 3; i++ {
		queue(t, l, huduma.MessageReceipt, fmt.Sprintf("receipt %d", i))
	}
	send := &clockSender{c: c, d: sendLease + time.Second}
	o := New(renewalsFail{l}, send, Config{Rate: 1000}, quiet)
	o.now = c.Now
	if _, err := o.RunOnce(context.Background()); !errors.Is(err, errLeaseLost) {
		t.Fatalf("a batch past its lease: %v, want errLeaseLost", err)
	}
	if len(send.sent) != 1 {
		t.Fatalf("sent %v past the lease, want only the first", send.sent)
	}
	msgs, _ := l.Messages(context.Background(), phone, 10)
	sent := 0
	for _, m := range msgs {
		if m.Status == huduma.MsgSent {
			sent++
		}
	}
	if sent != 1 {
		t.Fatalf("%d messages recorded sent, want the 1 the provider accepted", sent)
	}
	next := &scriptSender{}
	o2 := New(l, next, Config{Rate: 1000}, quiet)
	o2.now = c.Now
	if n, err := o2.RunOnce(context.Background()); err != nil || n != 2 || len(next.sent) != 2 {
		t.Fatalf("the rest: %d claimed, sent %v (%v)", n, next.sent, err)
	}
}

// downSender fails every send while down says so (a provider outage),
// and accepts it otherwise.
type downSender struct {
	down func() bool
	sent []string
}

func (s *downSender) Send(_ context.Context, _ huduma.MSISDN, text string) (string, error) {
	if s.down() {
		return "", providers.Retryable("HTTP 503")
	}
	s.sent = append(s.sent, text)
	return "PID-" + text, nil
}

// TestOutboxWaitsOutAnOutage: through a 10-minute provider outage, the
// sends the circuit breaker holds back spend no try, so no message fails
// for good (8 tries would last about 4 minutes); each goes once when the
// provider is back.
func TestOutboxWaitsOutAnOutage(t *testing.T) {
	l, c := ledgertest.OnClock(sqlitetest.Open(t))
	start := c.Now()
	for i := 0; i < 3; i++ {
		queue(t, l, huduma.MessageReceipt, fmt.Sprintf("receipt %d", i))
	}
	at := &downSender{down: func() bool { return c.Now().Before(start.Add(10 * time.Minute)) }}
	o := New(l, WithBreaker(at, breaker.New("at", 5, 30*time.Second).WithClock(c.Now)), Config{Rate: 1000}, quiet)
	o.now = c.Now
	for i := 0; i < 900 && len(at.sent) < 3; i++ { // 15 minutes
		if _, err := o.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		c.Add(time.Second)
	}
	msgs, _ := l.Messages(context.Background(), phone, 10)
	for _, m := range msgs {
		if st, reason, attempts := status(t, l, m.ID); st != huduma.MsgSent {
			t.Errorf("%q is %s after %d tries (%s), want sent", m.Body, st, attempts, reason)
		}
	}
	if len(at.sent) != 3 {
		t.Fatalf("sent %v after the outage, want each of the 3 once", at.sent)
	}
}
