package main

import (
	"context"
	"encoding/json"
	"errors"
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
	"github.com/huduma-ke/huduma/providers"
	"github.com/huduma-ke/huduma/providers/daraja"
	"github.com/huduma-ke/huduma/providers/daraja/darajafake"
	"github.com/huduma-ke/huduma/store/sqlstore"
	"github.com/huduma-ke/huduma/texts"
)

// finance is what the finance officer's commands run on: the store, the
// payments service and, for pull, the Daraja client, with no worker
// running.
type finance struct {
	cfg   Config
	store *sqlstore.DB
	pay   *payments.Service
	mpesa *daraja.Client
	sim   *darajafake.Fake
	out   io.Writer
}

// Variables the finance commands read. Every one reads the database and
// what the texts a settlement queues name (the service code, the paybill,
// an invoice's lifetime); pull adds Daraja, pull register the URL it
// registers, and a refund what says the gateway can send it. None reads
// the callback token (but pull register, whose URL carries it) or the OTP
// secret.
var (
	financeVars = []string{"HUDUMA_DATA_DIR", "DATABASE_URL", "HUDUMA_SERVICE_CODE", "HUDUMA_LOG_LEVEL", "MPESA_SHORTCODE", "HUDUMA_INVOICE_TTL",
		"HUDUMA_BILLING"}
	refundVars = []string{"HUDUMA_PAYMENTS", "MPESA_CONSUMER_KEY", "MPESA_INITIATOR"}
	pullVars   = []string{"HUDUMA_PAYMENTS", "MPESA_BASE_URL", "MPESA_CONSUMER_KEY", "MPESA_CONSUMER_SECRET", "MPESA_PASSKEY", "MPESA_WORKERS", "MPESA_PULL_WINDOW"}
	// registerVars make the URL Daraja is told to post to: the gateway's.
	registerVars = []string{"HUDUMA_ADDR", "HUDUMA_PUBLIC_URL", "HUDUMA_CALLBACK_TOKEN", "HUDUMA_INSECURE_CALLBACKS"}
)

// financeConfig reads the variables the finance command cmd args needs,
// and checks the rules among them that command depends on.
func financeConfig(getenv func(string) string, cmd string, args []string) (Config, error) {
	names := append([]string(nil), financeVars...)
	sub := ""
	if len(args) > 0 {
		sub = args[0]
	}
	switch {
	case cmd == "suspense" && sub == "refund":
		names = append(names, refundVars...)
	case cmd == "pull" && sub == "register":
		names = append(append(names, pullVars...), registerVars...)
	case cmd == "pull":
		names = append(names, pullVars...)
	}
	keep := map[string]bool{}
	for _, n := range names {
		keep[n] = true
	}
	c, err := loadVariables(getenv, func(name string) bool { return keep[name] })
	if err != nil {
		return Config{}, err
	}
	if cmd != "pull" {
		return c, nil
	}
	if c.ECitizenBilling() {
		return Config{}, fmt.Errorf("config: HUDUMA_BILLING: pull reads Daraja's transactions for a shortcode of our own; with ecitizen, " +
			"e-Citizen receives the money and notifies every payment (huduma reconcile --bills lists the unpaid bills)")
	}
	if set := countSet(c.MpesaKey, c.MpesaSecret, c.MpesaPasskey); set != 0 && set != 3 {
		return Config{}, fmt.Errorf("config: MPESA_CONSUMER_KEY: set MPESA_CONSUMER_KEY, MPESA_CONSUMER_SECRET and MPESA_PASSKEY together")
	}
	if c.MpesaSimulated() && !c.Embedded() && c.Payments != "simulator" {
		return Config{}, fmt.Errorf("config: MPESA_CONSUMER_KEY: pull reads the paybill's transactions from Daraja: set MPESA_CONSUMER_KEY, " +
			"MPESA_CONSUMER_SECRET and MPESA_PASSKEY as the gateway has them (or HUDUMA_PAYMENTS=simulator for a simulated gateway)")
	}
	if sub == "register" && !c.Embedded() {
		if getenv("HUDUMA_PUBLIC_URL") == "" {
			return Config{}, fmt.Errorf("config: HUDUMA_PUBLIC_URL: pull register tells Daraja the gateway's public URL: set it as the gateway has it")
		}
		if c.CallbackTok == "" && !c.InsecureCallbacks {
			return Config{}, fmt.Errorf("config: HUDUMA_CALLBACK_TOKEN: the URL pull register gives Daraja must carry the gateway's callback token: " +
				"set it as the gateway has it (or HUDUMA_INSECURE_CALLBACKS=private-network if the gateway runs without one)")
		}
	}
	return c, nil
}

// refundsQueued reports whether a refund asked for here will be sent: by
// the gateway's refund worker, which has the initiator's credential, or
// by the payment simulator.
func (c Config) refundsQueued() bool {
	if c.ECitizenBilling() {
		return false // e-Citizen holds the money: refunds are its
	}
	return c.MpesaInitiator != "" || (c.MpesaSimulated() && (c.Embedded() || c.Payments == "simulator"))
}

// sentByGateway is the refunds' sender as the finance commands see it: a
// refund asked for here is queued in the database, and the gateway's
// refund worker sends it. Nothing here runs that worker, so Reverse is
// never called.
type sentByGateway struct{}

func (sentByGateway) Reverse(context.Context, huduma.ReversalRequest) (huduma.ReversalAccepted, error) {
	return huduma.ReversalAccepted{}, fmt.Errorf("%w: the gateway's refund worker sends refunds, not the huduma command", providers.ErrNotSent)
}

func openFinance(ctx context.Context, cfg Config, withDaraja bool, log *slog.Logger, out io.Writer) (*finance, error) {
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	f := &finance{cfg: cfg, store: st, out: out}
	var mp providers.Mpesa
	if withDaraja {
		if f.mpesa, f.sim, err = openMpesa(cfg, log); err != nil {
			st.Close()
			return nil, err
		}
		mp = f.mpesa
	}
	f.pay = payments.New(st, st, mp, payments.Config{Paybill: cfg.Paybill(), ServiceCode: cfg.ServiceCode, InvoiceTTL: cfg.InvoiceTTL}, log)
	if cfg.refundsQueued() {
		f.pay.EnableRefunds(sentByGateway{})
	}
	return f, nil
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

// financeCommand runs the finance officer's commands (docs/finance.md,
// "Money that matches nothing"): suspense, report, reconcile and pull, each on the
// narrow configuration financeConfig reads.
func financeCommand(ctx context.Context, cmd string, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	// Flags first: help needs no configuration, and a mistyped flag is
	// reported before anything is opened.
	spec, o, pos, err := financeFlags(cmd, args, stdout)
	if errors.Is(err, errHelpShown) {
		return nil
	}
	if err != nil {
		return err
	}
	cfg, err := financeConfig(getenv, cmd, args)
	if err != nil {
		return err
	}
	f, err := openFinance(ctx, cfg, cmd == "pull", newLogger(stderr, cfg.LogLevel), stdout)
	if err != nil {
		return err
	}
	defer f.close()
	switch cmd {
	case "pull":
		return f.pullCommand(ctx, spec.sub, o, pos)
	case "suspense":
		return f.suspenseCommand(ctx, spec.sub, o, pos)
	case "report":
		return f.reportCommand(ctx, o, pos)
	case "reconcile":
		return f.reconcileCommand(ctx, o, pos)
	}
	return errUsage
}

// officer is who runs a command that changes money, for the journal and
// audit log: --by, else the OS user ($USER, or $LOGNAME). Nobody named is
// an error: an audit entry by "cli:" tells an auditor nothing.
func officer(by string, getenv func(string) string) (string, error) {
	for _, name := range []string{by, getenv("USER"), getenv("LOGNAME")} {
		if name = strings.TrimSpace(name); name != "" {
			return "cli:" + huduma.CleanLine(name), nil
		}
	}
	return "", fmt.Errorf("--by NAME: say who you are; the audit log records it, and the OS user is unknown ($USER and $LOGNAME are empty)")
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
func (f *finance) suspenseCommand(ctx context.Context, sub string, o financeOpts, pos []string) error {
	var err error
	switch {
	case sub == "list" && len(pos) == 0:
		filter := huduma.SuspenseFilter{OlderThan: o.older, Agency: o.agency, Limit: o.limit}
		if o.reason != "" {
			if filter.Reason, err = huduma.ParseSuspenseReason(o.reason); err != nil {
				return err
			}
		}
		items, err := f.pay.ListSuspense(ctx, filter)
		if err != nil {
			return err
		}
		if o.asJSON {
			if items == nil {
				items = []huduma.ReceivedPayment{} // nothing held is an empty list, never null
			}
			return f.json(items)
		}
		return printSuspense(f.out, items)
	case sub == "show" && len(pos) == 1:
		p, err := f.pay.Payment(ctx, pos[0])
		if err != nil {
			return err
		}
		if o.asJSON {
			return f.json(p)
		}
		return printPayment(f.out, p)
	case sub == "apply" && len(pos) == 2:
		n, err := huduma.ParseInvoiceNumber(pos[1])
		if err != nil {
			return err
		}
		actor, err := officer(o.by, f.cfg.getenv)
		if err != nil {
			return err
		}
		st, err := f.pay.ApplySuspense(ctx, pos[0], n, actor)
		if err != nil {
			return err
		}
		return f.json(st)
	case sub == "refund" && len(pos) == 1:
		if !f.cfg.refundsQueued() {
			return fmt.Errorf("config: MPESA_INITIATOR: the gateway's refund worker sends refunds, so say it can: set MPESA_INITIATOR " +
				"as the gateway has it (the name only; the credential stays with the gateway), or HUDUMA_PAYMENTS=simulator for a simulated gateway")
		}
		actor, err := officer(o.by, f.cfg.getenv)
		if err != nil {
			return err
		}
		// The key makes a repeated command (a retry after an unclear
		// answer) ask once; a new refund after a failed one is a new key.
		refunds, err := f.pay.Payment(ctx, pos[0])
		if err != nil {
			return err
		}
		key := fmt.Sprintf("cli:%s:refund:%d", refunds.TransID, len(refunds.Refunds))
		r, err := f.pay.RequestRefund(ctx, pos[0], key, actor, o.remarks)
		if err != nil {
			return err
		}
		return f.json(r)
	}
	return fmt.Errorf("usage: huduma suspense [list] [--older-than D] [--reason R] [--agency A] [--json] | suspense show TRANS [--json] | " +
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
func (f *finance) reportCommand(ctx context.Context, o financeOpts, pos []string) error {
	if len(pos) != 0 {
		return fmt.Errorf("usage: huduma report settlement [--date YYYY-MM-DD] [--agency CODE] [--format csv|json]")
	}
	day, err := huduma.ParseDay(o.date)
	if err != nil {
		return err
	}
	rows, err := f.pay.SettlementReport(ctx, day, o.agency)
	if err != nil {
		return err
	}
	switch o.format {
	case "csv":
		return huduma.WriteSettlementCSV(f.out, rows)
	case "json":
		return f.json(map[string]any{"date": o.date, "agencies": rows})
	}
	return fmt.Errorf("--format is csv or json")
}

// reconcileCommand runs `huduma reconcile --statement FILE.csv [--from
// TIME] [--to TIME] [--apply]`: the statement against the ledger, and
// with --apply the payments the ledger lacks settled.
func (f *finance) reconcileCommand(ctx context.Context, o financeOpts, pos []string) error {
	file := o.statement
	if o.bills && file == "" && len(pos) == 0 {
		rep, err := payments.ReportBills(ctx, f.store, time.Now(), billsReportLimit)
		if err != nil {
			return err
		}
		return f.json(rep)
	}
	if file == "" || len(pos) != 0 {
		return fmt.Errorf("usage: huduma reconcile --statement FILE.csv [--from TIME] [--to TIME] [--apply], or huduma reconcile --bills")
	}
	var start, end time.Time
	for _, p := range []struct {
		v string
		t *time.Time
	}{{o.from, &start}, {o.to, &end}} {
		if p.v == "" {
			continue
		}
		var err error
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
	rep, err := f.pay.Reconcile(ctx, rows, start, end, o.apply)
	if err != nil {
		return err
	}
	return f.json(rep)
}

// billsReportLimit bounds the unpaid invoices `reconcile --bills` reads.
const billsReportLimit = 10000

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
func (f *finance) pullCommand(ctx context.Context, sub string, o financeOpts, pos []string) error {
	if sub == "register" {
		if len(pos) != 0 {
			return fmt.Errorf("usage: huduma pull register --nominated PHONE")
		}
		phone, err := huduma.ParseMSISDN(o.nominated)
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
	since := o.since
	if since == 0 {
		since = f.cfg.PullWindow
	}
	if len(pos) != 0 || since <= 0 || since > 45*time.Hour {
		return fmt.Errorf("usage: huduma pull [--since DURATION, at most 45h] | huduma pull register --nominated PHONE")
	}
	now := time.Now()
	rep, err := f.pay.PullOnce(ctx, f.mpesa, now.Add(-since), now)
	if err != nil {
		return err
	}
	return f.json(map[string]any{"rows": rep.Rows, "payments": rep.Payments, "missed": rep.Missed(), "outcomes": rep.Outcomes, "other": rep.Other,
		"refused": rep.Refused})
}

// sources says in words how the ledger learned of a payment.
var sources = map[huduma.PaymentSource]string{
	huduma.SourceSTK: "an M-Pesa prompt", huduma.SourceC2B: "a paybill confirmation", huduma.SourcePull: "Daraja's pull of missed confirmations",
	huduma.SourceStatement: "the portal's statement", huduma.SourceLegacy: "a paybill confirmation recorded before the suspense ledger",
	huduma.SourceECitizen: "an e-Citizen payment notification",
}

// printPayment writes one payment and its refunds as a card for a
// person: amounts in shillings, times in Nairobi time (EAT), every text
// on one clean line.
func printPayment(w io.Writer, p huduma.PaymentRecord) error {
	when := func(t time.Time) string { return t.In(huduma.EAT).Format("2006-01-02 15:04 EAT") }
	kes := func(v int64) string { return "KES " + texts.Money(v) }
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(label, format string, args ...any) {
		fmt.Fprintf(tw, "%s\t%s\n", label, fmt.Sprintf(format, args...))
	}
	from := sources[p.Source]
	if from == "" {
		from = cell(string(p.Source))
	}
	row("Payment", "%s, from %s", cell(p.TransID), from)
	row("State", "%s", cell(string(p.State)))
	row("Amount", "%s, paid %s, received %s", kes(p.Amount), when(p.PaidAt), when(p.ReceivedAt))
	applied := kes(p.Applied)
	if p.Invoice != "" && p.Applied > 0 {
		applied += " to invoice " + cell(string(p.Invoice))
	}
	if p.Agency != "" {
		applied += " (agency " + cell(p.Agency) + ")"
	}
	row("Applied", "%s", applied)
	held := kes(p.Suspense)
	if p.Suspense > 0 && p.Reason != "" {
		held += ", " + cell(string(p.Reason))
	}
	if p.Suspense > 0 && p.SuspenseSince != nil {
		held += ", since " + when(*p.SuspenseSince)
	}
	row("Held", "%s", held)
	row("Refunded", "%s", kes(p.Refunded))
	row("Account", "%q (as the payer typed it)", huduma.Redact(p.Account))
	if p.Invoice != "" && p.Applied == 0 {
		row("Invoice", "%s", cell(string(p.Invoice)))
	}
	if p.Payer != "" {
		row("Payer", "%s", cell(p.Payer))
	}
	if p.Note != "" {
		row("Note", "%s", cell(p.Note))
	}
	if len(p.Refunds) == 0 {
		row("Refunds", "none")
	}
	for _, r := range p.Refunds {
		line := fmt.Sprintf("#%d %s, %s, asked %s", r.ID, kes(r.Amount), cell(string(r.Status)), when(r.CreatedAt))
		if r.RequestedBy != "" {
			line += " by " + cell(r.RequestedBy)
		}
		if r.Remarks != "" {
			line += fmt.Sprintf(" (%q)", cell(r.Remarks))
		}
		if r.ResultCode != "" || r.ResultDesc != "" {
			line += fmt.Sprintf("; M-Pesa answered %s %s at %s", cell(r.ResultCode), cell(r.ResultDesc), when(r.UpdatedAt))
		}
		row("Refund", "%s", line)
	}
	return tw.Flush()
}
