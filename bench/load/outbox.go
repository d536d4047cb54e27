package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/outbox"
	"github.com/huduma-ke/huduma/providers/africastalking"
	"github.com/huduma-ke/huduma/providers/africastalking/atfake"
	"github.com/huduma-ke/huduma/store/pgstore"
)

type smsResult struct {
	total, lost, dupes int
	elapsed            time.Duration
}

// outboxRun queues o.smsMessages receipts in Postgres, then times
// o.smsWorkers outbox workers sending them through the real AT client to
// a fake AT over loopback HTTP, and counts what arrived.
func outboxRun(ctx context.Context, o options, dbURL string) (smsResult, error) {
	st, err := pgstore.Open(ctx, dbURL)
	if err != nil {
		return smsResult{}, err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return smsResult{}, err
	}
	l := st
	fake, err := atfake.Start("bench-key")
	if err != nil {
		return smsResult{}, err
	}
	defer fake.Close()

	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := 0; g < 16; g++ {
		wg.Go(func() {
			for i := g; i < o.smsMessages; i += 16 {
				m := huduma.Message{To: huduma.MSISDN(fmt.Sprintf("+2547%08d", 20000000+i%5000)), Kind: huduma.MessageReceipt,
					Body: fmt.Sprintf("PAID: bench receipt %d", i)}
				if err := l.QueueMessage(ctx, m, ""); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return smsResult{}, err
	}

	client := africastalking.NewSMSClient(africastalking.SMSConfig{Username: "sandbox", APIKey: "bench-key", URL: fake.SMSURL()},
		&http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}})
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	begin := time.Now()
	for w := 0; w < o.smsWorkers; w++ {
		ob := outbox.New(l, sender{client}, outbox.Config{Rate: 1e6, Batch: 100}, quiet)
		wg.Go(func() {
			for ctx.Err() == nil {
				n, err := ob.RunOnce(ctx)
				if err != nil {
					fmt.Fprintln(os.Stderr, "outbox:", err)
				}
				if n == 0 && fake.SentCount() >= o.smsMessages {
					return
				}
				if n == 0 {
					time.Sleep(5 * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	r := smsResult{elapsed: time.Since(begin)}
	seen := map[string]int{}
	for _, s := range fake.Sent() {
		seen[s.Message]++
	}
	for i := 0; i < o.smsMessages; i++ {
		switch n := seen[fmt.Sprintf("PAID: bench receipt %d", i)]; {
		case n == 0:
			r.lost++
		case n > 1:
			r.dupes += n - 1
		}
		if seen[fmt.Sprintf("PAID: bench receipt %d", i)] > 0 {
			r.total++
		}
	}
	return r, nil
}

type sender struct{ c *africastalking.SMSClient }

func (s sender) Send(ctx context.Context, to huduma.MSISDN, text string) (string, error) {
	return s.c.SendSMS(ctx, to, text)
}
