// Package messaging is Huduma's SMS side: the outbox worker that sends
// queued messages through a provider with retries, backoff and a rate
// limit; the inbox that answers keywords texted to the short code; and
// one-time passwords.
package messaging

import (
	"context"
	"log/slog"
	"time"

	"golang.org/x/time/rate"

	"github.com/huduma-ke/huduma"
)

// OutboxStore is the part of the ledger the outbox worker uses.
type OutboxStore interface {
	ClaimMessages(ctx context.Context, limit int, lease time.Duration) ([]huduma.OutMessage, error)
	MessagesSent(ctx context.Context, sent []huduma.Sent) error
	MessageFinal(ctx context.Context, id int64, status huduma.MessageStatus, reason string) error
	MessageRetry(ctx context.Context, id int64, at time.Time, reason string) error
	OptedOut(ctx context.Context, phone huduma.MSISDN) (bool, error)
}

// OutboxConfig tunes the worker.
type OutboxConfig struct {
	// Rate caps sends per second to the provider (0 = 20/s).
	Rate float64
	// MaxAttempts bounds retries before a message fails (0 = 8).
	MaxAttempts int
	// Backoff is the first retry delay, doubled each time up to MaxBackoff.
	Backoff, MaxBackoff time.Duration
	// Batch is how many messages one claim takes (0 = 50).
	Batch int
}

// Outbox sends queued messages.
type Outbox struct {
	st      OutboxStore
	send    Sender
	cfg     OutboxConfig
	limiter *rate.Limiter
	log     *slog.Logger
	now     func() time.Time
	obs     Observer
}

// sendLease is how long a claimed message is ours; longer than any send.
const sendLease = 2 * time.Minute

// NewOutbox returns a worker.
func NewOutbox(st OutboxStore, send Sender, cfg OutboxConfig, log *slog.Logger) *Outbox {
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
	return &Outbox{st: st, send: send, cfg: cfg, limiter: rate.NewLimiter(rate.Limit(cfg.Rate), max(1, int(cfg.Rate))),
		log: log.With("comp", "outbox"), now: time.Now, obs: nopObserver{}}
}

// essential messages go even to phones that sent STOP.
func essential(k huduma.MessageKind) bool { return k != huduma.MessageNotice }

// Run sends until ctx ends, polling every poll when idle.
func (o *Outbox) Run(ctx context.Context, poll time.Duration) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		n, err := o.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
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
func (o *Outbox) RunOnce(ctx context.Context) (int, error) {
	msgs, err := o.st.ClaimMessages(ctx, o.cfg.Batch, sendLease)
	if err != nil {
		return 0, err
	}
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
	for _, m := range msgs {
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
func (o *Outbox) deliver(ctx context.Context, m huduma.OutMessage) (*huduma.Sent, error) {
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
func (o *Outbox) recorded(kind huduma.MessageKind, event string, err error) error {
	if err == nil {
		o.obs.SMS(kind, event)
	}
	return err
}
