package payments

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/ledgertest"
	"github.com/huduma-ke/huduma/store/sqlitestore/sqlitetest"
)

// heldDaraja accepts pushes, each only once release is closed, counting
// the pushes that have started.
type heldDaraja struct {
	release chan struct{}

	mu      sync.Mutex
	started int
}

func (d *heldDaraja) StkPush(ctx context.Context, p huduma.STKPush) (huduma.STKPushResult, error) {
	d.mu.Lock()
	d.started++
	d.mu.Unlock()
	select {
	case <-d.release:
		return huduma.STKPushResult{CheckoutRequestID: "ws_CO_held_" + p.Reference, MerchantRequestID: "m"}, nil
	case <-ctx.Done():
		return huduma.STKPushResult{}, ctx.Err()
	}
}

func (d *heldDaraja) StkQuery(ctx context.Context, id string) (huduma.STKResult, error) {
	return huduma.STKResult{CheckoutRequestID: id, Pending: true}, nil
}

func (d *heldDaraja) pushes() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.started
}

// TestDeadWorkersPromptGoesWithinSeconds: a worker claims a due prompt
// and dies in the middle of it (its Daraja call never returns, and
// nothing renews its lease). Another worker takes the prompt over within
// seconds (promptLease), not after a minute.
func TestDeadWorkersPromptGoesWithinSeconds(t *testing.T) {
	ctx := context.Background()
	c := &simClock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	l := ledgertest.New(sqlitetest.Open(t)).WithClock(c.now)
	inv := simInvoice(7, c.now())
	if _, _, err := l.CreateInvoice(ctx, huduma.InvoiceOrder{Invoice: inv, Push: &huduma.PushPlan{Payer: inv.Phone, RunAt: c.now()}}); err != nil {
		t.Fatal(err)
	}
	hung := &heldDaraja{release: make(chan struct{})}
	dead := New(l, nil, hung, Config{}, slog.New(slog.DiscardHandler))
	dead.now = c.now
	p := newPool(2)
	defer p.wait()
	defer close(hung.release)
	if n, err := dead.dispatch(ctx, p); err != nil || n != 1 {
		t.Fatalf("the first worker claimed %d jobs: %v", n, err)
	}
	for deadline := time.Now().Add(10 * time.Second); hung.pushes() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first worker never called Daraja")
		}
	}
	if jobs, _ := l.Claim(ctx, 10, time.Minute, huduma.JobPush); len(jobs) != 0 {
		t.Fatal("a second worker took a prompt the first one holds")
	}
	c.add(15 * time.Second)
	jobs, err := l.Claim(ctx, 10, time.Minute, huduma.JobPush)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("15 s after the first worker died its prompt is still held (%d claimed, %v)", len(jobs), err)
	}
}

// TestRunningJobKeepsItsLease: a push that takes several leases at Daraja
// keeps its job (the worker renews the lease while it runs), so no other
// worker claims it meanwhile, and the job ends done with one push.
func TestRunningJobKeepsItsLease(t *testing.T) {
	ctx := context.Background()
	l := ledgertest.New(sqlitetest.Open(t))
	inv := simInvoice(8, time.Now())
	if _, _, err := l.CreateInvoice(ctx, huduma.InvoiceOrder{Invoice: inv, Push: &huduma.PushPlan{Payer: inv.Phone, RunAt: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	slow := &heldDaraja{release: make(chan struct{})}
	s := New(l, nil, slow, Config{}, slog.New(slog.DiscardHandler))
	// Renewed every quarter lease: 6 s leaves a busy CI machine (the
	// claims below share SQLite's one connection with the renewals) 4.5 s
	// to get a renewal in.
	s.lease = 6 * time.Second
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); s.Run(rctx, 20*time.Millisecond) }()
	defer func() { stop(); <-done }()

	for deadline := time.Now().Add(10 * time.Second); slow.pushes() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the worker never called Daraja")
		}
	}
	// Two leases long, another worker keeps finding the job taken.
	for end := time.Now().Add(2 * s.lease); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if jobs, err := l.Claim(ctx, 10, time.Minute, huduma.JobPush); err != nil || len(jobs) != 0 {
			t.Fatalf("another worker claimed a running job (%d, %v)", len(jobs), err)
		}
	}
	close(slow.release)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if n, _ := l.PendingJobs(ctx, huduma.JobPush); n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the push job never finished")
		}
	}
	if n := slow.pushes(); n != 1 {
		t.Fatalf("%d pushes, want 1", n)
	}
}
