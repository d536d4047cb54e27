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
	base := fs.String("url", "http://localhost:8080", "the gateway's base URL")
	number := fs.String("phone", "+254712345600", "the subscriber's number (its last two digits pick the M-Pesa simulator's outcome)")
	code := fs.String("code", "*2222#", "the USSD code to dial")
	token := fs.String("token", getenv("HUDUMA_CALLBACK_TOKEN"), "the gateway's callback token (default $HUDUMA_CALLBACK_TOKEN)")
	script := fs.String("script", "", "replay this script instead of reading the keyboard (see `huduma sim --help`)")
	smsWait := fs.Duration("sms-wait", 20*time.Second, "how long an `sms` step waits for its message")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: huduma sim [--url URL] [--phone NUMBER] [--code *2222#] [--token T] [--script FILE]")
		fs.PrintDefaults()
		fmt.Fprintln(stderr, "\nscript steps: dial [code] | send INPUT | expect REGEXP | end [REGEXP] | sms REGEXP  (# comments; (?P<name>..) captures, ${name} uses)")
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return errUsage
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
