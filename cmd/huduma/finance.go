package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/payments"
	"github.com/huduma-ke/huduma/providers/daraja"
	"github.com/huduma-ke/huduma/providers/daraja/darajafake"
	"github.com/huduma-ke/huduma/store/sqlstore"
)

// finance is what the finance officer's commands run on: the store, the
// payments service and the Daraja client, with no worker running.
type finance struct {
	cfg   Config
	store *sqlstore.DB
	pay   *payments.Service
	mpesa *daraja.Client
	sim   *darajafake.Fake
	out   io.Writer
}

func openFinance(ctx context.Context, cfg Config, log *slog.Logger, out io.Writer) (*finance, error) {
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	mp, sim, err := openMpesa(cfg, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	pay := payments.New(st, st, mp, payments.Config{Paybill: cfg.MpesaShort, ServiceCode: cfg.ServiceCode, InvoiceTTL: cfg.InvoiceTTL}, log)
	if cfg.RefundsOn() {
		pay.EnableRefunds(mp) // requests are queued here; the gateway's worker sends them
	}
	return &finance{cfg: cfg, store: st, pay: pay, mpesa: mp, sim: sim, out: out}, nil
}

func (f *finance) close() {
	if f.sim != nil {
		f.sim.Close()
	}
	f.store.Close()
}

// json prints v indented.
func (f *finance) json(v any) error {
	enc := json.NewEncoder(f.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// financeCommand runs the finance officer's commands (README "Money that
// matches nothing"): pull.
func financeCommand(ctx context.Context, cmd string, cfg Config, log *slog.Logger, args []string, out io.Writer) error {
	f, err := openFinance(ctx, cfg, log, out)
	if err != nil {
		return err
	}
	defer f.close()
	switch cmd {
	case "pull":
		return f.pullCommand(ctx, args)
	}
	return errUsage
}

// pullCommand runs `huduma pull [--since 2h]`, one pull now (after an
// outage, say), and `huduma pull register --nominated PHONE`, the
// one-time registration of the shortcode with the Pull Transactions API.
func (f *finance) pullCommand(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "register" {
		fs := flag.NewFlagSet("pull register", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		nominated := fs.String("nominated", "", "the phone Safaricom notifies about the registration")
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 0 {
			return fmt.Errorf("usage: huduma pull register --nominated PHONE")
		}
		phone, err := huduma.ParseMSISDN(*nominated)
		if err != nil {
			return fmt.Errorf("--nominated: %s", huduma.ErrorMessage(err))
		}
		status, err := f.mpesa.PullRegister(ctx, phone, f.cfg.callbackURL(daraja.PullNoticePath))
		if err != nil {
			return fmt.Errorf("pull register: %w", err)
		}
		fmt.Fprintf(f.out, "shortcode %s registered for pulls (Daraja status %s)\n", f.cfg.MpesaShort, status)
		return nil
	}
	fs := flag.NewFlagSet("pull", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	since := fs.Duration("since", f.cfg.PullWindow, "how far back to read (at most 45h)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 || *since <= 0 || *since > 45*time.Hour {
		return fmt.Errorf("usage: huduma pull [--since DURATION, at most 45h] | huduma pull register --nominated PHONE")
	}
	now := time.Now()
	rep, err := f.pay.PullOnce(ctx, f.mpesa, now.Add(-*since), now)
	if err != nil {
		return err
	}
	return f.json(map[string]any{"rows": rep.Rows, "payments": rep.Payments, "missed": rep.Missed(), "outcomes": rep.Outcomes, "other": rep.Other})
}
