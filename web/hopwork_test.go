package web

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
)

// TestHopWorkersNeverQueue: hops in flight at once each run at once, on
// a worker of their own, however many there are; a worker is reused for
// a later hop; every result arrives on its own channel.
func TestHopWorkersNeverQueue(t *testing.T) {
	const n = 50
	var running, most atomic.Int32
	release := make(chan struct{})
	w := newHopWorkers(func(ctx context.Context, hop huduma.Hop) (huduma.Reply, error) {
		now := running.Add(1)
		for {
			m := most.Load()
			if now <= m || most.CompareAndSwap(m, now) {
				break
			}
		}
		<-release
		running.Add(-1)
		return huduma.Reply{Text: hop.SessionID}, nil
	})
	var wg sync.WaitGroup
	dones := make([]chan hopResult, n)
	for i := range dones {
		dones[i] = make(chan hopResult, 1)
		w.start(hopJob{ctx: context.Background(), cancel: func() {}, hop: huduma.Hop{SessionID: string(rune('A' + i))}, done: dones[i]})
	}
	for deadline := time.Now().Add(5 * time.Second); running.Load() < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d hops running: the rest queued", running.Load(), n)
		}
	}
	close(release)
	for i, d := range dones {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := <-d; r.reply.Text != string(rune('A'+i)) {
				t.Errorf("hop %d got %q", i, r.reply.Text)
			}
		}()
	}
	wg.Wait()
	if most.Load() != n {
		t.Fatalf("at most %d at once, want %d", most.Load(), n)
	}
	// The workers are idle now: a later hop is taken by one of them.
	cancelled := make(chan struct{})
	done := make(chan hopResult, 1)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		select {
		case w.jobs <- hopJob{ctx: context.Background(), cancel: func() { close(cancelled) }, hop: huduma.Hop{SessionID: "Z"}, done: done}:
		default:
			if time.Now().After(deadline) {
				t.Fatal("no idle worker took a hop")
			}
			continue
		}
		break
	}
	if r := <-done; r.reply.Text != "Z" {
		t.Fatalf("reused worker answered %q", r.reply.Text)
	}
	<-cancelled // the work's context is released before the result is sent
}
