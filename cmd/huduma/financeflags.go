package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/huduma-ke/huduma"
)

// financeOpts are the finance commands' flags; each command defines the
// ones it reads.
type financeOpts struct {
	by, remarks, reason, agency string
	older                       time.Duration
	asJSON                      bool
	limit                       int
	date, format                string
	statement, from, to         string
	apply, bills                bool
	nominated                   string
	since                       time.Duration
}

// financeSub is one finance command as its help shows it.
type financeSub struct {
	cmd, sub string // sub is empty for a command without subcommands
	args     string // the positional arguments, as typed
	about    string
	define   func(fs *flag.FlagSet, o *financeOpts)
}

// name is the command as typed after huduma.
func (s financeSub) name() string { return strings.TrimSpace(s.cmd + " " + s.sub) }

func defineBy(fs *flag.FlagSet, o *financeOpts) {
	fs.StringVar(&o.by, "by", "", "who does this, by `NAME`, for the audit log (default: the OS user, $USER)")
}

// financeSubs are the finance commands; a command's first entry is what
// it runs when no subcommand is named.
var financeSubs = []financeSub{
	{"suspense", "list", "", "The money held in suspense, longest held first.", func(fs *flag.FlagSet, o *financeOpts) {
		fs.DurationVar(&o.older, "older-than", 0, "only items held at least this long (a `DURATION` such as 24h)")
		fs.StringVar(&o.reason, "reason", "", "only items held for this `REASON` (unknown_account, invoice_paid, invoice_expired, overpaid, refund_failed or unmatched_before_upgrade)")
		fs.StringVar(&o.agency, "agency", "", "only this agency's items (its `CODE`)")
		fs.BoolVar(&o.asJSON, "json", false, "print JSON")
		fs.IntVar(&o.limit, "limit", 1000, "at most this many items (a `NUMBER`)")
	}},
	{"suspense", "show", "TRANS", "One M-Pesa transaction: where its money went, and its refunds.", func(fs *flag.FlagSet, o *financeOpts) {
		fs.BoolVar(&o.asJSON, "json", false, "print JSON")
	}},
	{"suspense", "apply", "TRANS INVOICE", "Applies a held transaction's money to an invoice.", defineBy},
	{"suspense", "refund", "TRANS", "Sends a held transaction's money back to the payer (the gateway's refund worker sends it).",
		func(fs *flag.FlagSet, o *financeOpts) {
			fs.StringVar(&o.remarks, "remarks", "", "the refund's remarks, a `TEXT` M-Pesa shows")
			defineBy(fs, o)
		}},
	{"report", "settlement", "", "A day's money per agency (CSV or JSON).", func(fs *flag.FlagSet, o *financeOpts) {
		fs.StringVar(&o.date, "date", time.Now().In(huduma.EAT).AddDate(0, 0, -1).Format("2006-01-02"), "the `DAY` (YYYY-MM-DD, EAT)")
		fs.StringVar(&o.agency, "agency", "", "one agency's row only (its `CODE`)")
		fs.StringVar(&o.format, "format", "csv", "the `FORMAT`: csv or json")
	}},
	{"reconcile", "", "", "The organisation portal's statement against the ledger, or (--bills) the unpaid e-Citizen bills.",
		func(fs *flag.FlagSet, o *financeOpts) {
			fs.StringVar(&o.statement, "statement", "", "the organisation portal's statement export (a CSV `FILE`)")
			fs.StringVar(&o.from, "from", "", "the period's start, a `TIME` YYYY-MM-DD [HH:MM] EAT (default: the statement's first payment)")
			fs.StringVar(&o.to, "to", "", "the period's end, a `TIME` like --from's (default: the statement's last payment)")
			fs.BoolVar(&o.apply, "apply", false, "settle the payments the ledger lacks")
			fs.BoolVar(&o.bills, "bills", false, "list the unpaid e-Citizen bills: open, not billed, and unpaid past their expiry")
		}},
	{"pull", "", "", "Reads the paybill's recent transactions from Daraja now and settles any whose confirmation never arrived.",
		func(fs *flag.FlagSet, o *financeOpts) {
			fs.DurationVar(&o.since, "since", 0, "how far back to read, at most 45h (a `DURATION`; default: MPESA_PULL_WINDOW)")
		}},
	{"pull", "register", "", "Registers the shortcode with Daraja's Pull Transactions API (once).", func(fs *flag.FlagSet, o *financeOpts) {
		fs.StringVar(&o.nominated, "nominated", "", "the `PHONE` Safaricom notifies about the registration")
	}},
}

// errHelpShown says a finance command's help was asked for and printed.
var errHelpShown = errors.New("help shown")

// financeFlags finds the finance command args name and parses its flags.
// Asked for help (--help or -h), it prints the command's usage to stdout
// and returns errHelpShown.
func financeFlags(cmd string, args []string, stdout io.Writer) (financeSub, financeOpts, []string, error) {
	var spec financeSub
	named := false
	for _, s := range financeSubs {
		if s.cmd != cmd {
			continue
		}
		if spec.cmd == "" {
			spec = s
		}
		if s.sub != "" && len(args) > 0 && args[0] == s.sub {
			spec, named = s, true
			break
		}
	}
	if named {
		args = args[1:]
	}
	var o financeOpts
	fs, err := flags(spec.name(), args, func(fs *flag.FlagSet) { spec.define(fs, &o) })
	if errors.Is(err, flag.ErrHelp) {
		for _, s := range financeSubs {
			if s.cmd == cmd && (!named || s.sub == spec.sub) {
				printFinanceUsage(stdout, s)
			}
		}
		return spec, o, nil, errHelpShown
	}
	if err != nil {
		return spec, o, nil, fmt.Errorf("%w (huduma %s --help lists the flags)", err, spec.name())
	}
	if cmd == "report" && !named {
		return spec, o, nil, fmt.Errorf("usage: huduma report settlement [--date YYYY-MM-DD] [--agency CODE] [--format csv|json]")
	}
	return spec, o, fs.Args(), nil
}

// printFinanceUsage writes one finance command's usage and every flag.
func printFinanceUsage(w io.Writer, s financeSub) {
	line := "usage: huduma " + s.name()
	if s.args != "" {
		line += " " + s.args
	}
	fmt.Fprintf(w, "%s [flags]\n\n%s\n\nflags:\n", line, s.about)
	fs := flag.NewFlagSet(s.name(), flag.ContinueOnError)
	s.define(fs, &financeOpts{})
	printFlags(w, fs)
	fmt.Fprintln(w)
}
