package payments

import (
	"context"
	"fmt"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
)

// maxPullPages bounds one pull: a Daraja that ignored offsets would
// otherwise page forever.
const maxPullPages = 500

// PullReport says what one pull found.
type PullReport struct {
	// Rows is every row read; Payments the customer payments among them.
	Rows, Payments int
	// Outcomes counts what settling each payment did: duplicate for the
	// ones already known (the usual case), anything else for a
	// confirmation that never reached us.
	Outcomes map[huduma.Outcome]int
	// Other counts rows that were not payments, by type.
	Other map[string]int
	// Refused is how many payment rows could not be M-Pesa payments and
	// were left out (each is logged with its reason).
	Refused int
}

// Missed is how many payments the pull settled that no callback had.
func (r PullReport) Missed() int { return r.Payments - r.Outcomes[huduma.OutcomeDuplicate] }

// PullOnce reads every transaction M-Pesa completed between from and to
// and settles each exactly as its confirmation would have (idempotent on
// the transaction id, so those already known change nothing).
func (s *Service) PullOnce(ctx context.Context, p providers.Puller, from, to time.Time) (PullReport, error) {
	rep := PullReport{Outcomes: map[huduma.Outcome]int{}, Other: map[string]int{}}
	offset := 0
	for page := 0; page < maxPullPages; page++ {
		cctx, cancel := context.WithTimeout(ctx, darajaTimeout)
		pg, err := p.PullTransactions(cctx, from, to, offset)
		cancel()
		if err != nil {
			return rep, fmt.Errorf("pull transactions at offset %d: %w", offset, err)
		}
		if pg.Rows == 0 {
			return rep, nil
		}
		rep.Rows += pg.Rows
		for kind, n := range pg.Other {
			rep.Other[kind] += n
		}
		for _, why := range pg.Refused {
			rep.Refused++
			s.log.WarnContext(ctx, "pull left out a row that cannot be an M-Pesa payment; check it in the portal", "why", why)
		}
		for _, pay := range pg.Payments {
			st, err := s.receive(ctx, pay, huduma.SourcePull, nil)
			if err != nil {
				return rep, err
			}
			rep.Payments++
			rep.Outcomes[st.Outcome]++
			if st.Outcome != huduma.OutcomeDuplicate {
				s.log.WarnContext(ctx, "pull found a payment whose confirmation never arrived; settled", "trans", pay.TransID, "outcome", st.Outcome)
			}
		}
		offset += pg.Rows
	}
	return rep, fmt.Errorf("pull transactions: more than %d pages; stopped", maxPullPages)
}

// RunPull pulls the trailing window every interval (the first one
// interval after the start) until ctx ends, so a
// payment whose confirmation was lost is settled within an interval of
// the next pull (and at worst within the window). Several instances may
// run it: settling is idempotent.
func (s *Service) RunPull(ctx context.Context, p providers.Puller, every, window time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := s.now()
		rep, err := s.PullOnce(ctx, p, now.Add(-window), now)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.ErrorContext(ctx, "pull transactions failed; next try at the next interval", "error", err, "settled", rep.Payments)
		case rep.Missed() > 0:
			s.log.InfoContext(ctx, "pull settled missed confirmations", "missed", rep.Missed(), "rows", rep.Rows)
		}
	}
}
