package main

import (
	"context"
	"time"

	"github.com/huduma-ke/huduma"
)

// drain waits until the gateway has nothing left to do that could send a
// prompt or a text: no prompt or status-query job left, no message queued
// or being sent. A test that proves something was not sent twice counts
// after drain, never after a fixed sleep, which proves nothing on a slow
// machine. (Only for prompts that end: an undecided one keeps its status
// queries for minutes.)
func (p *payEnv) drain() {
	p.t.Helper()
	const within = 30 * time.Second
	for deadline := time.Now().Add(within); ; time.Sleep(20 * time.Millisecond) {
		q, err := p.g.store.QueueStats(context.Background())
		if err == nil && q.OutboxDepth == 0 && q.Jobs[huduma.JobPush].Depth == 0 && q.Jobs[huduma.JobQuery].Depth == 0 &&
			q.Jobs[huduma.JobCheckout].Depth == 0 {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("the gateway did not drain within %s: %+v %v", within, q, err)
		}
	}
}
