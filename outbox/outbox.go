// Package outbox is the worker that sends queued SMS through the chosen
// provider (providers.SMSSender): it claims messages under a lease, retries
// with backoff, keeps to a rate limit and records what the provider said.
// Messages are queued by whoever decided to send them, in the transaction
// that recorded the decision; this package only delivers them.
package outbox

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/breaker"
	"github.com/huduma-ke/huduma/providers"
)

// Store is the part of the ledger the outbox worker uses.
type Store interface {
	ClaimMessages(ctx context.Context, limit int, lease time.Duration) ([]huduma.OutMessage, error)
	MessagesSent(ctx context.Context, sent []huduma.Sent) error
	MessageFinal(ctx context.Context, id int64, status huduma.MessageStatus, reason string) error
	MessageRetry(ctx context.Context, id int64, at time.Time, reason string) error
	// MessagePostpone is MessageRetry without counting the claim as a
	// try: nothing reached the provider.
	MessagePostpone(ctx context.Context, id int64, at time.Time, reason string) error
	OptedOut(ctx context.Context, phone huduma.MSISDN) (bool, error)
	// RenewMessages extends the leases of claimed messages still being
	// sent.
	RenewMessages(ctx context.Context, ids []int64, lease time.Duration) (int, error)
}

// Config tunes the worker.
type Config struct {
	// Rate caps sends per second to the provider (0 = 20/s).
	Rate float64
	// MaxAttempts bounds retries before a message fails (0 = 8).
	MaxAttempts int
	// Backoff is the first retry delay, doubled each time up to MaxBackoff.
	Backoff, MaxBackoff time.Duration
	// Batch is how many messages one claim takes (0 = 50).
	Batch int
}

// Worker sends queued messages.
type Worker struct {
	st      Store
	send    providers.SMSSender
	cfg     Config
	limiter *rate.Limiter
	log     *slog.Logger
	now     func() time.Time
	obs     Observer
	// lease is how long a claimed message stays ours without a renewal
	// (sendLease; tests shorten it).
	lease time.Duration
}

// sendLease is how long a claimed message is ours without a renewal. The
// worker renews its batch's leases every quarter lease while it sends, so
// a batch may take as long as the provider needs, and the messages of a
// worker that died are claimed again within sendLease: seconds, not
// minutes.
const sendLease = 10 * time.Second

// New returns a worker.
func New(st Store, send providers.SMSSender, cfg Config, log *slog.Logger) *Worker {
	if cfg.Rate <= 0 {
		cfg.Rate = 20
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 5 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Minute
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 50
	}
	return &Worker{st: st, send: send, cfg: cfg, limiter: rate.NewLimiter(rate.Limit(cfg.Rate), max(1, int(cfg.Rate))),
		log: log.With("comp", "outbox"), now: time.Now, obs: nopObserver{}, lease: sendLease}
}

// essential messages go even to phones that sent STOP.
func essential(k huduma.MessageKind) bool { return k != huduma.MessageNotice }

// Run sends until ctx ends, polling every poll when idle.
func (o *Worker) Run(ctx context.Context, poll time.Duration) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		n, err := o.RunOnce(ctx)
		// A lost lease is already counted and logged by its renewals.
		if err != nil && ctx.Err() == nil && !errors.Is(err, errLeaseLost) {
			o.obs.StoreError("outbox")
			o.log.ErrorContext(ctx, "outbox", "error", err)
		}
		if n > 0 && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sentFlush is how many accepted messages are recorded per update. It is
// also the most a crash right after AT's answers can send twice: those
// messages are still "sending" and go again when their lease ends.
const sentFlush = 20

// RunOnce claims one batch and sends it, returning how many were handled.
// The batch's leases are renewed while it is sent; should the renewals
// fail until the lease may have run out (another worker may have claimed
// the rest), the batch stops before its next send.
func (o *Worker) RunOnce(ctx context.Context) (int, error) {
	claimedAt := o.now()
	msgs, err := o.st.ClaimMessages(ctx, o.cfg.Batch, o.lease)
	if err != nil {
		return 0, err
	}
	if len(msgs) == 0 {
		return 0, nil
	}
	ids := make([]int64, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	lease := o.keepLease(ids, claimedAt)
	defer lease.stop()
	var sent []huduma.Sent
	var kinds []huduma.MessageKind // of sent, for the observer
	flush := func() error {
		// Recorded even while shutting down: AT already has these.
		err := o.st.MessagesSent(context.WithoutCancel(ctx), sent)
		if err == nil {
			for _, k := range kinds {
				o.obs.SMS(k, SMSSent)
			}
		}
		sent, kinds = sent[:0], kinds[:0]
		return err
	}
	for i, m := range msgs {
		if !lease.held() {
			o.log.WarnContext(ctx, "outbox: could not renew the batch's leases in time; leaving the rest to be claimed again",
				"unsent", len(msgs)-i)
			if err := flush(); err != nil {
				return len(msgs), err
			}
			return len(msgs), errLeaseLost
		}
		s, err := o.deliver(ctx, m)
		if err != nil {
			if ferr := flush(); ferr != nil {
				return len(msgs), ferr
			}
			return len(msgs), err
		}
		if s != nil {
			sent, kinds = append(sent, *s), append(kinds, m.Kind)
			if len(sent) >= sentFlush {
				if err := flush(); err != nil {
					return len(msgs), err
				}
			}
		}
	}
	return len(msgs), flush()
}

// deliver sends one message. An accepted message is returned for the
// caller to record; every other outcome is recorded here.
func (o *Worker) deliver(ctx context.Context, m huduma.OutMessage) (*huduma.Sent, error) {
	if !essential(m.Kind) {
		out, err := o.st.OptedOut(ctx, m.To)
		if err != nil {
			return nil, err
		}
		if out {
			return nil, o.st.MessageFinal(ctx, m.ID, huduma.MsgOptedOut, "recipient sent STOP")
		}
	}
	if o.send == nil {
		return nil, o.st.MessageFinal(ctx, m.ID, huduma.MsgRecorded, "")
	}
	if err := o.limiter.Wait(ctx); err != nil {
		return nil, o.st.MessageRetry(context.WithoutCancel(ctx), m.ID, o.now(), "shutting down")
	}
	id, err := o.send.Send(ctx, m.To, m.Body)
	if err == nil {
		// The provider's id and the sent state land together in the next
		// flush; a crash before it re-sends at most sentFlush messages once.
		return &huduma.Sent{ID: m.ID, ProviderID: id}, nil
	}
	retry, wait, reason := verdict(err)
	reason = huduma.Redact(reason) // logged below and stored
	if errors.Is(err, breaker.ErrOpen) {
		// The breaker held the send back: nothing reached the provider, so
		// the message waits for it without spending one of its tries, and
		// an outage alone never fails a message for good.
		return nil, o.recorded(m.Kind, SMSRetried, o.st.MessagePostpone(ctx, m.ID, o.now().Add(max(wait, time.Second)), reason))
	}
	if !retry || m.Attempts >= o.cfg.MaxAttempts {
		o.log.WarnContext(ctx, "sms failed for good", "message", m.ID, "kind", m.Kind, "attempts", m.Attempts, "reason", reason)
		return nil, o.recorded(m.Kind, SMSFailed, o.st.MessageFinal(ctx, m.ID, huduma.MsgFailed, reason))
	}
	if wait <= 0 {
		wait = o.cfg.Backoff
		for i := 1; i < m.Attempts && wait < o.cfg.MaxBackoff; i++ {
			wait *= 2
		}
		wait = min(wait, o.cfg.MaxBackoff)
	}
	o.log.InfoContext(ctx, "sms send failed; will retry", "message", m.ID, "attempt", m.Attempts, "in", wait, "reason", reason)
	return nil, o.recorded(m.Kind, SMSRetried, o.st.MessageRetry(ctx, m.ID, o.now().Add(wait), reason))
}

// recorded tells the observer of event once the store has it (err nil),
// and passes err on.
func (o *Worker) recorded(kind huduma.MessageKind, event string, err error) error {
	if err == nil {
		o.obs.SMS(kind, event)
	}
	return err
}

// errLeaseLost: a batch stopped because its leases could not be renewed.
var errLeaseLost = errors.New("outbox: batch leases not renewed in time")

// batchLease renews a claimed batch's leases in the background and knows
// until when they are surely ours.
type batchLease struct {
	mu    sync.Mutex
	until time.Time
	now   func() time.Time
	quit  chan struct{}
	done  chan struct{}
}

// keepLease renews the leases of ids, claimed at claimedAt, every quarter
// lease until stop.
func (o *Worker) keepLease(ids []int64, claimedAt time.Time) *batchLease {
	b := &batchLease{until: claimedAt.Add(o.lease), now: o.now, quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		t := time.NewTicker(o.lease / 4)
		defer t.Stop()
		for {
			select {
			case <-b.quit:
				return
			case <-t.C:
			}
			at := o.now()
			ctx, cancel := context.WithTimeout(context.Background(), o.lease/4)
			_, err := o.st.RenewMessages(ctx, ids, o.lease)
			cancel()
			if err != nil {
				o.obs.StoreError("outbox")
				o.log.Error("outbox: could not renew the leases of the batch being sent", "messages", len(ids), "error", err)
				continue
			}
			b.mu.Lock()
			b.until = at.Add(o.lease)
			b.mu.Unlock()
		}
	}()
	return b
}

// held reports whether the batch's leases are surely still ours.
func (b *batchLease) held() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.now().Before(b.until)
}

// stop ends the renewals.
func (b *batchLease) stop() {
	close(b.quit)
	<-b.done
}
