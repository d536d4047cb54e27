package payments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
)

// Refunds is what refunding held money reads from the ledger.
type Refunds interface {
	Refund(ctx context.Context, id int64) (huduma.Refund, error)
}

// refundTries bounds how often a reversal that never left is tried.
const refundTries = 6

// RequestRefund refunds all the money payment transID holds, through
// M-Pesa's reversal: recorded now with its job (the worker sends it);
// once per key, and never while another refund of the payment is on its
// way. actor names who asked (audit).
func (s *Service) RequestRefund(ctx context.Context, transID, key, actor, remarks string) (huduma.Refund, error) {
	if s.reverser == nil {
		return huduma.Refund{}, huduma.Errorf(huduma.EUnavailable, "refunds are not configured: set MPESA_INITIATOR and MPESA_SECURITY_CREDENTIAL")
	}
	transID, remarks = huduma.NormalizeTransID(transID), strings.TrimSpace(remarks)
	if transID == "" {
		return huduma.Refund{}, huduma.Errorf(huduma.EInvalid, "name the payment (its M-Pesa transaction id)")
	}
	if len(remarks) > 100 {
		return huduma.Refund{}, huduma.Errorf(huduma.EInvalid, "remarks are at most 100 characters")
	}
	if remarks == "" {
		remarks = "Refund of a payment held"
	}
	plan, err := s.apply(ctx, huduma.RefundRequestEvent{Request: huduma.RefundRequest{TransID: transID, Key: key, Actor: actor, Remarks: remarks}}, nil)
	if err != nil {
		return huduma.Refund{}, err
	}
	if plan.KeyRefund != nil {
		return *plan.KeyRefund, nil
	}
	f := *plan.NewRefund
	s.log.InfoContext(ctx, "refund requested", "trans", transID, "refund", f.ID, "amount", f.Amount, "actor", actor)
	return f, nil
}

// HandleReversal applies a reversal's result (or queue timeout), keeps the
// raw body in the callback log, and says what it did: a repeat is
// huduma.OutcomeDuplicate and a result for no refund of ours
// huduma.OutcomeUnknown, which the callback metrics count apart.
func (s *Service) HandleReversal(ctx context.Context, res huduma.ReversalResult, raw []byte) (huduma.Outcome, error) {
	plan, err := s.apply(ctx, huduma.ReversalEvent{Result: res}, &huduma.CallbackRecord{Kind: "reversal", Reference: res.OriginatorConversationID, Body: raw})
	if err != nil {
		return "", fmt.Errorf("settle reversal: %w", err)
	}
	out := plan.Outcome
	switch out {
	case huduma.OutcomeRefundFailed:
		s.log.WarnContext(ctx, "refund failed; the money is held again", "conversation", res.ConversationID, "code", res.ResultCode)
	case huduma.OutcomeRefundTimedOut:
		s.log.WarnContext(ctx, "refund timed out in Daraja's queue; it stays refunding until its result (check the portal)",
			"conversation", res.ConversationID, "code", res.ResultCode)
	case huduma.OutcomeUnknown:
		s.log.WarnContext(ctx, "reversal result for no refund of ours; recorded", "conversation", res.ConversationID)
	case huduma.OutcomeRefunded:
		s.log.InfoContext(ctx, "refund done", "conversation", res.ConversationID)
	}
	return out, nil
}

// RunRefunds sends queued refunds to Daraja until ctx ends, polling the
// job queue every poll. Several instances may run it: a refund is claimed
// (queued → sending) by one of them before anyone talks to Daraja.
func (s *Service) RunRefunds(ctx context.Context, poll time.Duration) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		jobs, err := s.jobs.Claim(ctx, 4, jobLease, huduma.JobReversal)
		if err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "refund queue", "error", err)
		}
		for _, j := range jobs {
			jctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), jobTimeout)
			s.runRefund(jctx, j)
			cancel()
		}
		if len(jobs) > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// runRefund sends one refund: claimed first, so it goes at most once.
func (s *Service) runRefund(ctx context.Context, j huduma.Job) {
	var p huduma.RefundJob
	done := func() {
		if err := s.jobs.Done(ctx, j.ID); err != nil {
			s.log.ErrorContext(ctx, "refund queue", "job", j.ID, "error", err)
		}
	}
	if err := json.Unmarshal(j.Payload, &p); err != nil || p.RefundID == 0 {
		s.log.ErrorContext(ctx, "bad refund job payload; dropping", "job", j.ID)
		done()
		return
	}
	claim, err := s.apply(ctx, huduma.RefundStepEvent{Refund: p.RefundID, Step: huduma.RefundClaim}, nil)
	if err != nil {
		s.log.ErrorContext(ctx, "claim refund; the job runs again after its lease", "refund", p.RefundID, "error", err)
		return
	}
	if claim.Refund == nil {
		done() // sent already, or ended
		return
	}
	f, err := s.ledger.Refund(ctx, p.RefundID)
	if err != nil {
		// Claimed (sending): never sent again on its own, as for an
		// outcome we cannot know; the officer's list shows it refunding.
		s.log.ErrorContext(ctx, "read claimed refund; not sent", "refund", p.RefundID, "error", err)
		done()
		return
	}
	cctx, cancel := context.WithTimeout(ctx, darajaTimeout)
	acc, err := s.reverser.Reverse(cctx, huduma.ReversalRequest{TransID: f.TransID, Amount: f.Amount, Remarks: f.Remarks, Occasion: "refund " + strconv.FormatInt(f.ID, 10)})
	cancel()
	switch {
	case err == nil:
		if _, err := s.apply(ctx, huduma.RefundStepEvent{Refund: f.ID, Step: huduma.RefundAccepted, Accepted: acc}, nil); err != nil {
			// Sent: its result still finds it (by the payment), so this
			// only loses the conversation ids.
			s.log.ErrorContext(ctx, "record refund sent", "refund", f.ID, "error", err)
		}
		s.log.InfoContext(ctx, "refund sent", "refund", f.ID, "conversation", acc.ConversationID)
		done()
	case errors.Is(err, providers.ErrNotSent) && p.Tries+1 < refundTries:
		if _, err := s.apply(ctx, huduma.RefundStepEvent{Refund: f.ID, Step: huduma.RefundUnclaim, Why: err.Error()}, nil); err != nil {
			s.log.ErrorContext(ctx, "unclaim refund", "refund", f.ID, "error", err)
			done()
			return
		}
		p.Tries++
		s.log.WarnContext(ctx, "refund not sent; will try again", "refund", f.ID, "tries", p.Tries, "error", err)
		if err := s.jobs.Retry(ctx, j.ID, s.now().Add(backoff(5*time.Second, p.Tries)), err.Error(), p); err != nil {
			s.log.ErrorContext(ctx, "refund queue", "job", j.ID, "error", err)
		}
	case errors.Is(err, providers.ErrOutage) && !errors.Is(err, providers.ErrNotSent):
		// It may have reached Daraja: never sent again; its result, if
		// any, settles it; the officer's list shows it refunding.
		s.log.ErrorContext(ctx, "refund request may or may not have reached Daraja; not sent again", "refund", f.ID, "error", err)
		if _, err := s.apply(ctx, huduma.RefundStepEvent{Refund: f.ID, Step: huduma.RefundUnknown, Why: err.Error()}, nil); err != nil {
			s.log.ErrorContext(ctx, "record refund unknown", "refund", f.ID, "error", err)
		}
		done()
	default:
		s.log.WarnContext(ctx, "refund refused by Daraja; the money is held again", "refund", f.ID, "error", err)
		if _, err := s.apply(ctx, huduma.RefundRefusedEvent{Refund: f, Code: "refused", Desc: huduma.RedactError(err)}, nil); err != nil {
			s.log.ErrorContext(ctx, "record refund refused", "refund", f.ID, "error", err)
			return
		}
		done()
	}
}
