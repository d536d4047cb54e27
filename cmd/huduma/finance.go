package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
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
// matches nothing"): suspense, report, reconcile and pull.
func financeCommand(ctx context.Context, cmd string, cfg Config, log *slog.Logger, args []string, out io.Writer) error {
	f, err := openFinance(ctx, cfg, log, out)
	if err != nil {
		return err
	}
	defer f.close()
	switch cmd {
	case "pull":
		return f.pullCommand(ctx, args)
	case "suspense":
		return f.suspenseCommand(ctx, args)
	case "report":
		return f.reportCommand(ctx, args)
	case "reconcile":
		return f.reconcileCommand(ctx, args)
	}
	return errUsage
}

// flags parses args into a flag set named name, with no output of its own.
func flags(name string, args []string, define func(fs *flag.FlagSet)) (*flag.FlagSet, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	define(fs)
	// Flags may follow the positional arguments (huduma suspense apply T I --by x).
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, fmt.Errorf("huduma %s: %w", name, err)
		}
		if fs.NArg() == 0 {
			break
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	_ = fs.Parse(append([]string{"--"}, pos...))
	return fs, nil
}

// suspenseCommand runs `huduma suspense [list] [--older-than D] [--reason
// R] [--agency A] [--json]`, `suspense show TRANS`, `suspense apply TRANS
// INVOICE [--by NAME]` and `suspense refund TRANS [--remarks TEXT] [--by
// NAME]`.
func (f *finance) suspenseCommand(ctx context.Context, args []string) error {
	sub := "list"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	var by, remarks, reason, agency string
	var older time.Duration
	var asJSON bool
	var limit int
	fs, err := flags("suspense "+sub, args, func(fs *flag.FlagSet) {
		fs.StringVar(&by, "by", f.cfg.getenv("USER"), "who does this (audit log)")
		fs.StringVar(&remarks, "remarks", "", "the refund's remarks (shown by M-Pesa)")
		fs.StringVar(&reason, "reason", "", "only items held for this reason")
		fs.StringVar(&agency, "agency", "", "only this agency's items")
		fs.DurationVar(&older, "older-than", 0, "only items held at least this long")
		fs.BoolVar(&asJSON, "json", false, "print JSON")
		fs.IntVar(&limit, "limit", 1000, "at most this many items")
	})
	if err != nil {
		return err
	}
	actor := "cli:" + by
	switch {
	case sub == "list" && fs.NArg() == 0:
		filter := huduma.SuspenseFilter{OlderThan: older, Agency: agency, Limit: limit}
		if reason != "" {
			if filter.Reason, err = huduma.ParseSuspenseReason(reason); err != nil {
				return err
			}
		}
		items, err := f.pay.ListSuspense(ctx, filter)
		if err != nil {
			return err
		}
		if asJSON {
			return f.json(items)
		}
		return printSuspense(f.out, items)
	case sub == "show" && fs.NArg() == 1:
		p, err := f.pay.Payment(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		return f.json(p)
	case sub == "apply" && fs.NArg() == 2:
		n, err := huduma.ParseInvoiceNumber(fs.Arg(1))
		if err != nil {
			return err
		}
		st, err := f.pay.ApplySuspense(ctx, fs.Arg(0), n, actor)
		if err != nil {
			return err
		}
		return f.json(st)
	case sub == "refund" && fs.NArg() == 1:
		// The key makes a repeated command (a retry after an unclear
		// answer) ask once; a new refund after a failed one is a new key.
		refunds, err := f.pay.Payment(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		key := fmt.Sprintf("cli:%s:refund:%d", refunds.TransID, len(refunds.Refunds))
		r, err := f.pay.RequestRefund(ctx, fs.Arg(0), key, actor, remarks)
		if err != nil {
			return err
		}
		return f.json(r)
	}
	return fmt.Errorf("usage: huduma suspense [list] [--older-than D] [--reason R] [--agency A] [--json] | suspense show TRANS | " +
		"suspense apply TRANS INVOICE [--by NAME] | suspense refund TRANS [--remarks TEXT] [--by NAME]")
}

// printSuspense writes held payments as a table, longest held first.
func printSuspense(w io.Writer, items []huduma.ReceivedPayment) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HELD SINCE (EAT)\tTRANS\tREASON\tHELD\tAMOUNT\tSTATE\tACCOUNT\tINVOICE\tAGENCY\tPAYER")
	var held int64
	for _, p := range items {
		since := ""
		if p.SuspenseSince != nil {
			since = p.SuspenseSince.In(huduma.EAT).Format("2006-01-02 15:04")
		}
		held += p.Suspense
		// Every text is one clean line: a payer's name or number as M-Pesa
		// or a statement sent it may carry terminal escapes or tabs.
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%q\t%s\t%s\t%s\n", since, cell(p.TransID), cell(string(p.Reason)), p.Suspense, p.Amount,
			cell(string(p.State)), huduma.Redact(p.Account), cell(string(p.Invoice)), cell(p.Agency), cell(p.Payer))
	}
	fmt.Fprintf(tw, "%d items\t\t\t%d\t\t\t\t\t\t\n", len(items), held)
	return tw.Flush()
}

// cell is text fit for one cell of a terminal table.
func cell(s string) string { return huduma.CleanLine(s) }

// reportCommand runs `huduma report settlement [--date YYYY-MM-DD]
// [--agency CODE] [--format csv|json]` (default: yesterday, EAT, CSV).
func (f *finance) reportCommand(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "settlement" {
		return fmt.Errorf("usage: huduma report settlement [--date YYYY-MM-DD] [--agency CODE] [--format csv|json]")
	}
	var date, agency, format string
	if _, err := flags("report settlement", args[1:], func(fs *flag.FlagSet) {
		fs.StringVar(&date, "date", time.Now().In(huduma.EAT).AddDate(0, 0, -1).Format("2006-01-02"), "the day (EAT)")
		fs.StringVar(&agency, "agency", "", "one agency's row only")
		fs.StringVar(&format, "format", "csv", "csv or json")
	}); err != nil {
		return err
	}
	day, err := huduma.ParseDay(date)
	if err != nil {
		return err
	}
	rows, err := f.pay.SettlementReport(ctx, day, agency)
	if err != nil {
		return err
	}
	switch format {
	case "csv":
		return huduma.WriteSettlementCSV(f.out, rows)
	case "json":
		return f.json(map[string]any{"date": date, "agencies": rows})
	}
	return fmt.Errorf("--format is csv or json")
}

// reconcileCommand runs `huduma reconcile --statement FILE.csv [--from
// TIME] [--to TIME] [--apply]`: the statement against the ledger, and
// with --apply the payments the ledger lacks settled.
func (f *finance) reconcileCommand(ctx context.Context, args []string) error {
	var file, from, to string
	var apply bool
	fs, err := flags("reconcile", args, func(fs *flag.FlagSet) {
		fs.StringVar(&file, "statement", "", "the organisation portal's statement export (CSV)")
		fs.StringVar(&from, "from", "", "the period's start, YYYY-MM-DD [HH:MM] EAT (default: the statement's first payment)")
		fs.StringVar(&to, "to", "", "the period's end (default: the statement's last payment)")
		fs.BoolVar(&apply, "apply", false, "settle the payments the ledger lacks")
	})
	if err != nil || file == "" || fs.NArg() != 0 {
		return fmt.Errorf("usage: huduma reconcile --statement FILE.csv [--from TIME] [--to TIME] [--apply]")
	}
	var start, end time.Time
	for _, p := range []struct {
		v string
		t *time.Time
	}{{from, &start}, {to, &end}} {
		if p.v == "" {
			continue
		}
		if *p.t, err = parseLocal(p.v); err != nil {
			return err
		}
	}
	fh, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("open statement: %w", err)
	}
	defer fh.Close()
	rows, err := payments.ParseStatement(fh)
	if err != nil {
		return err
	}
	rep, err := f.pay.Reconcile(ctx, rows, start, end, apply)
	if err != nil {
		return err
	}
	return f.json(rep)
}

// parseLocal reads YYYY-MM-DD or YYYY-MM-DD HH:MM in EAT.
func parseLocal(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, huduma.EAT); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("a time is YYYY-MM-DD or YYYY-MM-DD HH:MM (EAT), got %q", s)
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
	return f.json(map[string]any{"rows": rep.Rows, "payments": rep.Payments, "missed": rep.Missed(), "outcomes": rep.Outcomes, "other": rep.Other,
		"refused": rep.Refused})
}
