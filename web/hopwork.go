package web

import (
	"context"
	"sync"
	"time"

	"github.com/huduma-ke/huduma"
)

// A hop's work runs on a goroutine of its own, so the handler can answer
// "late" at HopTimeout while the work carries on (fasthttp writes the
// answer only when the handler returns, so the work cannot be the one
// left behind in the handler's goroutine). Starting a goroutine, a
// result channel and a timer for every hop cost a measurable share of
// the edge's CPU per hop (issue 23), so all three are reused: hopWorkers
// keeps idle goroutines (whose stacks have already grown to what a hop
// needs), and the channels and timers are pooled.

// hopIdle is how long a hop worker waits for the next hop before it
// exits, so a quiet gateway (or a test's server) keeps no goroutines.
const hopIdle = 10 * time.Second

// hopJob is one hop handed to a worker.
type hopJob struct {
	ctx    context.Context
	cancel context.CancelFunc
	hop    huduma.Hop
	// done gets the result, once.
	done chan hopResult
}

// hopWorkers runs hops on reused goroutines. It never queues: a hop no
// idle worker takes at once gets a new worker, so no hop waits behind
// another, and the number of workers follows the hops in flight.
type hopWorkers struct {
	// jobs is unbuffered: a send succeeds only into an idle worker.
	jobs chan hopJob
	run  func(ctx context.Context, hop huduma.Hop) (huduma.Reply, error)
}

// newHopWorkers runs each hop with run (the Server's safeHop).
func newHopWorkers(run func(ctx context.Context, hop huduma.Hop) (huduma.Reply, error)) *hopWorkers {
	return &hopWorkers{jobs: make(chan hopJob), run: run}
}

// start runs j on an idle worker, or on a new one if none is idle.
func (w *hopWorkers) start(j hopJob) {
	select {
	case w.jobs <- j:
	default:
		go w.work(j)
	}
}

// work runs j, then the hops sent to it, until it has been idle for
// hopIdle.
func (w *hopWorkers) work(j hopJob) {
	w.do(j)
	idle := time.NewTimer(hopIdle)
	defer idle.Stop()
	for {
		select {
		case j := <-w.jobs:
			w.do(j)
			// Since Go 1.23 Reset leaves no stale tick in the channel.
			idle.Reset(hopIdle)
		case <-idle.C:
			return
		}
	}
}

func (w *hopWorkers) do(j hopJob) {
	r, err := w.run(j.ctx, j.hop)
	j.cancel()
	j.done <- hopResult{r, err}
}

// hopDone are result channels (buffered, 1). A channel goes back once its
// one result has been received, when nobody holds it any more.
var hopDone = sync.Pool{New: func() any { return make(chan hopResult, 1) }}

// hopTimers are stopped timers, for the HopTimeout of one hop at a time.
// Since Go 1.23 (go.mod says 1.26) a stopped or reset timer's channel
// holds no stale tick, so a reused timer fires only for its new hop
// (stopTimer also drains one, for the old timers).
var hopTimers sync.Pool

func startTimer(d time.Duration) *time.Timer {
	if t, ok := hopTimers.Get().(*time.Timer); ok {
		t.Reset(d)
		return t
	}
	return time.NewTimer(d)
}

func stopTimer(t *time.Timer) {
	if !t.Stop() {
		// Only with GODEBUG=asynctimerchan=1 (the old timers) can a
		// tick that was not received still be waiting: drop it, so the
		// timer's next hop is not late at once.
		select {
		case <-t.C:
		default:
		}
	}
	hopTimers.Put(t)
}
