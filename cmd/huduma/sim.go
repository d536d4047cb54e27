package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/simphone"
)

// errMismatch makes `huduma sim --script` exit non-zero when the journey
// went differently from the script.
var errMismatch = errors.New("the journey did not match the script")

// simCommand is `huduma sim`: a terminal phone for a running gateway.
// Interactive, it shows each screen, reads the next input from stdin and
// prints SMS arriving for the number; with --script it replays a journey.
func simCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "http://localhost:8080", "the running gateway's base `URL`")
	number := fs.String("phone", "+254712345600", "the subscriber's `NUMBER`; a prompt no web phone answers takes the M-Pesa simulator's outcome from its last two digits (00 pays)")
	code := fs.String("code", "*2222#", "the USSD `CODE` to dial")
	// The token's default is read after parsing, so help never prints it.
	token := fs.String("token", "", "the gateway's callback `TOKEN` (default: $HUDUMA_CALLBACK_TOKEN)")
	script := fs.String("script", "", "replay the script in `FILE` instead of reading the keyboard, and exit non-zero at the first step that goes differently")
	smsWait := fs.Duration("sms-wait", 20*time.Second, "how long a script's sms step waits for its message (a `DURATION` such as 20s)")
	usage := func(w io.Writer) {
		fmt.Fprintln(w, "usage: huduma sim [--url URL] [--phone NUMBER] [--code CODE] [--token TOKEN] [--script FILE] [--sms-wait DURATION]")
		fmt.Fprintln(w, "\nA phone in the terminal for a running gateway: it shows each screen, reads the next input and prints the number's SMS as they arrive.")
		fmt.Fprintln(w, "\nflags:")
		printFlags(w, fs)
		fmt.Fprintln(w, "\nscript steps, one a line: dial [code] | send INPUT | expect REGEXP | end [REGEXP] | sms REGEXP")
		fmt.Fprintln(w, "  (# starts a comment; (?P<name>...) in a regexp captures a value, ${name} in a later step uses it)")
	}
	fs.Usage = func() {} // printed below, once, where it belongs
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			// Asked for: the help goes to stdout and the command succeeds.
			usage(stdout)
			return nil
		}
		usage(stderr)
		return errUsage
	}
	if fs.NArg() != 0 {
		usage(stderr)
		return errUsage
	}
	if *token == "" {
		*token = getenv("HUDUMA_CALLBACK_TOKEN")
	}
	msisdn, err := huduma.ParseMSISDN(*number)
	if err != nil {
		return fmt.Errorf("--phone: %s", huduma.ErrorMessage(err))
	}
	phone := &simphone.Phone{URL: *base, Token: *token, Number: string(msisdn)}
	if *script != "" {
		f, err := os.Open(*script)
		if err != nil {
			return fmt.Errorf("--script: %w", err)
		}
		defer f.Close()
		steps, err := simphone.ParseScript(f)
		if err != nil {
			return fmt.Errorf("%s: %w", *script, err)
		}
		pl := &simphone.Player{Phone: phone, Code: *code, SMSWait: *smsWait, Out: stdout}
		if err := pl.Play(ctx, steps); err != nil {
			var mm *simphone.Mismatch
			if errors.As(err, &mm) {
				fmt.Fprintf(stderr, "%s: %v\n", *script, err)
				return errMismatch
			}
			return err
		}
		fmt.Fprintf(stdout, "%s: journey matched (%d steps)\n", *script, len(steps))
		return nil
	}
	return interactive(ctx, phone, *code, stdin, stdout)
}

// interactive dials, then alternates screen and input until END; SMS for
// the number are printed as they arrive. An empty line after END dials
// again; "q" or end of input quits.
func interactive(ctx context.Context, phone *simphone.Phone, code string, stdin io.Reader, stdout io.Writer) error {
	var after int64
	if msgs, err := phone.Inbox(ctx); err == nil && len(msgs) > 0 {
		after = msgs[len(msgs)-1].ID
	} else if errors.Is(err, simphone.ErrNoInbox) {
		fmt.Fprintln(stdout, "(SMS will not be shown: "+err.Error()+")")
	}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go phone.Watch(wctx, after, time.Second, func(m simphone.SMS) {
		fmt.Fprintf(stdout, "\n[SMS %s] %s\n", m.Kind, m.Body)
	})
	in := bufio.NewScanner(stdin)
	for {
		fmt.Fprintf(stdout, "Dialling %s from %s\n", code, phone.Number)
		screen, err := phone.Dial(ctx, code)
		for err == nil && !screen.End {
			simphone.Draw(stdout, screen)
			fmt.Fprint(stdout, "> ")
			if !in.Scan() {
				return nil
			}
			screen, err = phone.Send(ctx, strings.TrimSpace(in.Text()))
		}
		if err != nil {
			return err
		}
		simphone.Draw(stdout, screen)
		fmt.Fprintln(stdout, "Enter to dial again, q to quit (SMS keep arriving meanwhile).")
		if !in.Scan() || strings.EqualFold(strings.TrimSpace(in.Text()), "q") {
			return nil
		}
	}
}

// printFlags lists a command's flags as they are typed (--name VALUE),
// each with its help and its default, if any.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		arg, help := flag.UnquoteUsage(f)
		if arg == "value" {
			arg = "" // a boolean
		}
		line := "  --" + f.Name
		if arg != "" {
			line += " " + arg
		}
		fmt.Fprintf(w, "%s\n      %s", line, help)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}
