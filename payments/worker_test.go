package payments

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/ledgertest"
	"github.com/huduma-ke/huduma/store/sqlitestore/sqlitetest"
)

// TestQuerySchedule: after the first query (MPESA_QUERY_AFTER) an
// undecided prompt is asked about after 20 s, 40 s, then at the end of its
// life, and then no more.
func TestQuerySchedule(t *testing.T) {
	s := New(nil, nil, nil, Config{QueryAfter: time.Minute}, slog.New(slog.DiscardHandler))
	sent := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	now := sent.Add(time.Minute) // the first query
	var got []time.Duration
	for tries := 1; ; tries++ {
		next := s.nextQuery(now, sent, tries)
		if next.IsZero() {
			break
		}
		if !next.After(now) {
			t.Fatalf("query %d scheduled at %s, not after %s", tries+1, next, now)
		}
		got = append(got, next.Sub(now))
		now = next
	}
	want := []time.Duration{20 * time.Second, 40 * time.Second, 60 * time.Second} // the last one cut at 3 min after the push
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("gaps between queries %v, want %v", got, want)
	}
	if end := now.Sub(sent); end != huduma.PromptLife {
		t.Fatalf("last query %s after the push, want at the prompt's end of life %s", end, huduma.PromptLife)
	}
	// MaxQueries still bounds a long-lived schedule.
	s.cfg.MaxQueries = 2
	if next := s.nextQuery(sent.Add(time.Second), sent, 2); !next.IsZero() {
		t.Fatalf("query after MaxQueries: %s", next)
	}
}

// slowMpesa answers pushes at once and holds every query until release
// is closed, counting how many queries are held at the same time.
type slowMpesa struct {
	release chan struct{}

	mu                sync.Mutex
	pushes            map[string]time.Time
	inQuery, maxQuery int
}

func (m *slowMpesa) StkPush(ctx context.Context, p huduma.STKPush) (huduma.STKPushResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pushes[p.Reference] = time.Now()
	return huduma.STKPushResult{CheckoutRequestID: "ws_CO_push_" + p.Reference, MerchantRequestID: "m"}, nil
}

func (m *slowMpesa) StkQuery(ctx context.Context, id string) (huduma.STKResult, error) {
	m.mu.Lock()
	m.inQuery++
	m.maxQuery = max(m.maxQuery, m.inQuery)
	m.mu.Unlock()
	defer func() { m.mu.Lock(); m.inQuery--; m.mu.Unlock() }()
	select {
	case <-m.release:
		return huduma.STKResult{CheckoutRequestID: id, Pending: true}, nil
	case <-ctx.Done():
		return huduma.STKResult{}, ctx.Err()
	}
}

func (m *slowMpesa) pushedAt(ref huduma.InvoiceNumber) (time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	at, ok := m.pushes[string(ref)]
	return at, ok
}

// TestPushesNotStarvedBySlowQueries: with every query stuck at Daraja, a
// prompt that falls due is still sent at once, and queries never hold
// more than half the workers.
func TestPushesNotStarvedBySlowQueries(t *testing.T) {
	ctx := context.Background()
	l := ledgertest.New(sqlitetest.Open(t))
	now := time.Now()
	invoice := func(n int) huduma.Invoice {
		body := fmt.Sprintf("%09d", 100000000+n)
		return huduma.Invoice{Number: huduma.InvoiceNumber(body + string(huduma.DammDigit(body))), ServiceCode: 1001, ServiceName: "Passport",
			Phone: "+254712345678", Fee: 4550, ConvenienceFee: 50, Total: 4600, Language: huduma.English, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	}
	// Ten prompts already with Daraja whose queries are due now.
	for i := 0; i < 10; i++ {
		inv := invoice(i)
		if _, _, err := l.CreateInvoice(ctx, huduma.InvoiceOrder{Invoice: inv}); err != nil {
			t.Fatal(err)
		}
		a, err := l.QueuePush(ctx, inv.Number, inv.Phone, now.Add(time.Hour), "")
		if err != nil {
			t.Fatal(err)
		}
		if err := l.MarkPushSent(ctx, a.ID, huduma.STKPushResult{CheckoutRequestID: fmt.Sprintf("ws_CO_q%d", i)}, now.Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	mp := &slowMpesa{release: make(chan struct{}), pushes: map[string]time.Time{}}
	s := New(l, nil, mp, Config{Workers: 4, QueryAfter: time.Minute}, slog.New(slog.DiscardHandler))
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); s.Run(rctx, 20*time.Millisecond) }()
	defer func() { stop(); <-done }()
	defer close(mp.release)

	// Let the queries fill their share of the pool, then a prompt falls due.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mp.mu.Lock()
		held := mp.inQuery
		mp.mu.Unlock()
		if held == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d queries running, want 2 (half of 4 workers)", held)
		}
	}
	inv := invoice(99)
	due := time.Now()
	if _, _, err := l.CreateInvoice(ctx, huduma.InvoiceOrder{Invoice: inv, Push: &huduma.PushPlan{Payer: inv.Phone, RunAt: due}}); err != nil {
		t.Fatal(err)
	}
	for deadline := due.Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, ok := mp.pushedAt(inv.Number); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the prompt was not sent while queries were stuck")
		}
	}
	mp.mu.Lock()
	defer mp.mu.Unlock()
	if mp.maxQuery != 2 {
		t.Fatalf("at most %d queries ran at once, want 2", mp.maxQuery)
	}
}
