package main

import (
	"flag"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/huduma-ke/huduma/providers"
)

// Where a setting's value came from, as `huduma config` says it.
const (
	fromEnv     = "environment"
	fromDefault = "default"
	fromDerived = "derived: "
)

// setting is one variable as `huduma config` shows it: the value in
// effect, with any secret in it masked, and where that value came from.
type setting struct {
	name, value, from string
}

// configCommand is `huduma config`: the settings in effect and where each
// came from, or with --table every variable's documentation (docs/configuration.md's
// table, which `make config` regenerates).
func configCommand(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	table := fs.Bool("table", false, "print every variable's documentation as docs/configuration.md's Markdown table instead")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: huduma config [--table]")
		fmt.Fprintln(stderr, "  the settings in effect (secrets masked) and where each came from: the environment, its default, or derived from others")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return nil
		}
		return errUsage
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return errUsage
	}
	if *table {
		printConfigTable(stdout)
		return nil
	}
	c, rows, err := settings(getenv)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Huduma's settings in effect (%s); `huduma config --table` documents every variable.\n\n", c.mode())
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIABLE\tVALUE\tFROM")
	for _, r := range rows {
		v := r.value
		if v == "" {
			v = "(empty)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.name, v, r.from)
	}
	return tw.Flush()
}

// settings loads the configuration as the gateway would and lists every
// variable (Huduma's, then each SMS provider's) with its value in effect,
// secrets masked, and where it came from.
func settings(getenv func(string) string) (Config, []setting, error) {
	c, err := loadConfig(getenv)
	if err != nil {
		return Config{}, nil, err
	}
	var rows []setting
	for _, v := range variables {
		raw := strings.TrimSpace(getenv(v.name))
		s := setting{name: v.name, value: raw, from: fromEnv}
		if raw == "" {
			s.value, s.from = v.def, fromDefault
		}
		if val, why, ok := c.derived(v.name, raw, s.value); ok {
			// A derived value describes what the gateway does; it is never
			// a secret itself.
			s.value, s.from = val, fromDerived+why
		} else {
			s.value = shown(v.name, s.value)
		}
		rows = append(rows, s)
	}
	for _, p := range providers.SMSProviders() {
		for _, v := range p.Vars {
			s := setting{name: v.Name, value: shown(v.Name, strings.TrimSpace(getenv(v.Name))), from: fromEnv}
			if s.value == "" {
				s.from = fromDefault
				if v.Default != "" {
					s.from += " (" + strings.ReplaceAll(v.Default, "`", "") + ")"
				}
			}
			rows = append(rows, s)
		}
	}
	return c, rows, nil
}

// derived is the value in effect of a variable the gateway works out from
// others when it is left empty (or, for HUDUMA_ADDR, narrows), and why;
// ok is false for the others. set is the value as given or its default.
func (c Config) derived(name, raw, set string) (value, why string, ok bool) {
	switch name {
	case "HUDUMA_ADDR":
		if c.Addr != set {
			return c.Addr, "the web phone is on and HUDUMA_ADDR names no host, so it binds loopback only", true
		}
	case "HUDUMA_PUBLIC_URL":
		if raw == "" {
			return c.PublicURL, "HUDUMA_ADDR's port on localhost", true
		}
	case "HUDUMA_SIMULATOR":
		if raw == "" {
			if c.SimulatorOn() {
				return "on", "pure demo mode (nothing configured)", true
			}
			return "off", "not pure demo mode (" + strings.Join(c.shapedBy(), ", ") + " set)", true
		}
	case "HUDUMA_PAYMENTS":
		if raw == "" && c.ECitizenBilling() {
			return "ecitizen", "HUDUMA_BILLING is ecitizen and the ECITIZEN_* credentials are set", true
		}
		if raw == "" {
			if c.MpesaSimulated() {
				return "simulator", "pure demo mode (no Daraja credentials)", true
			}
			return "daraja", "MPESA_CONSUMER_KEY, MPESA_CONSUMER_SECRET and MPESA_PASSKEY are set", true
		}
	case "HUDUMA_SMS":
		if raw == "" {
			if c.SMS == nil {
				return "record-only", "pure demo mode (no SMS provider)", true
			}
			return c.SMS.Name, "the " + c.SMS.Name + " SMS provider's variables are set", true
		}
	case "HUDUMA_OTP_SECRET":
		if raw == "" && c.Embedded() {
			return "generated in " + filepath.Join(c.DataDir, "otp_secret"), "the embedded database keeps its own", true
		}
	case "MPESA_BASE_URL":
		if c.ECitizenBilling() {
			return "not used", "HUDUMA_BILLING is ecitizen: e-Citizen receives the money and sends the prompts", true
		}
		if c.MpesaSimulated() {
			return "the payment simulator (loopback, started with the gateway)", "no Daraja credentials", true
		}
	}
	return "", "", false
}

// mode sums the configuration up in a few words.
func (c Config) mode() string {
	var parts []string
	if c.Demo() {
		parts = append(parts, "pure demo mode")
	}
	db := "Postgres"
	if c.Embedded() {
		db = "embedded database in " + c.DataDir
	}
	sess := "Redis sessions"
	if c.RedisURL == "" {
		sess = "in-process sessions"
	}
	pay := "M-Pesa by Daraja"
	switch {
	case c.ECitizenBilling() && c.PaymentsSimulated():
		pay = "bills on a simulated e-Citizen"
	case c.ECitizenBilling():
		pay = "bills on e-Citizen"
	case c.MpesaSimulated():
		pay = "simulated payments"
	}
	sms := "record-only SMS"
	if c.SMS != nil {
		sms = "SMS by " + c.SMS.Name
	}
	parts = append(parts, db, sess, pay, sms)
	if c.SimulatorOn() {
		parts = append(parts, "web phone on")
	}
	return strings.Join(parts, ", ")
}

// secretWords mark a variable whose value is a secret by its name: tokens,
// keys, passwords, passkeys and credentials, Huduma's and the providers'.
var secretWords = []string{"TOKEN", "SECRET", "PASSWORD", "PASSKEY", "KEY", "CREDENTIAL"}

// shown is a value fit to print: a secret masked whole, and in a URL
// its password and any query parameter that names a secret.
func shown(name, value string) string {
	if value == "" {
		return ""
	}
	for _, w := range secretWords {
		if strings.Contains(name, w) {
			return "****** (set)"
		}
	}
	if !strings.Contains(value, "://") {
		return value
	}
	u, err := url.Parse(value)
	if err != nil {
		return "****** (set; not a readable URL, so shown masked)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxxx")
	}
	if q := u.Query(); len(q) > 0 {
		for k := range q {
			for _, w := range append([]string{"PASS", "AUTH"}, secretWords...) {
				if strings.Contains(strings.ToUpper(k), w) {
					q.Set(k, "xxxxxx")
				}
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}
