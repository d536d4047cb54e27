// Command huduma is the Huduma USSD and SMS gateway.
//
//	huduma [serve]              run the gateway (default)
//	huduma migrate              apply database migrations and exit
//	huduma catalog import FILE  load a catalog (.csv or .json)
//	huduma catalog export [--format json|csv]
//	huduma menus [--format mermaid|dot]
//	huduma config [--table]     the settings in effect and where each came from (--table: docs/configuration.md's table)
//	huduma sim [--url URL] [--phone N] [--script FILE]
//	huduma health [--url URL]   is the running gateway ready? (the image's HEALTHCHECK)
//	huduma suspense [list|show|apply|refund] ...  the finance officer's suspense list
//	huduma report settlement [--date D] [--format csv|json]
//	huduma reconcile --statement FILE.csv [--apply]
//	huduma pull [--since 2h] | pull register --nominated PHONE
//	huduma version
//
// All configuration comes from the environment (see docs/configuration.md
// and huduma config, which lists every variable and where its value came from).
// With nothing set it runs embedded: SQLite under ./data, in-process
// sessions, the payment simulator and a record-only SMS outbox. Once
// anything is configured, the simulator and the record-only outbox must
// be chosen by name (HUDUMA_PAYMENTS, HUDUMA_SMS).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "huduma:", err)
		os.Exit(1)
	}
}

// errUsage marks a command-line mistake.
var errUsage = errors.New("usage: huduma [serve | migrate | catalog import FILE | catalog export [--format json|csv] | menus [--format mermaid|dot] | config [--table] | sim [--url URL] [--phone N] [--script FILE] | health [--url URL] | suspense [list|show TRANS|apply TRANS INVOICE|refund TRANS] | report settlement [--date D] | reconcile --statement FILE.csv [--apply] | pull [--since D] | pull register --nominated PHONE | version]")

// run is the whole program, callable from tests with their own arguments,
// environment and output.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "huduma", version)
		return nil
	case "menus":
		return printMenus(args, stdout)
	case "config":
		return configCommand(args, getenv, stdout, stderr)
	case "sim":
		return simCommand(ctx, args, getenv, os.Stdin, stdout, stderr)
	case "health":
		return healthCommand(ctx, args, getenv, stdout)
	case "help", "--help", "-h":
		fmt.Fprintln(stdout, errUsage.Error())
		return nil
	case "pull", "suspense", "report", "reconcile":
		// The finance officer's commands read only what they use: never
		// the gateway's callback token or OTP secret.
		return financeCommand(ctx, cmd, args, getenv, stdout, stderr)
	case "serve", "migrate", "catalog":
	default:
		return errUsage
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	switch cmd {
	case "serve":
		if len(args) != 0 {
			return errUsage
		}
		return serve(ctx, cfg, log)
	case "migrate":
		st, err := openStore(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer st.Close()
		log.Info("migrations applied", "backend", st.Backend())
		return nil
	default:
		return catalogCommand(ctx, cfg, log, args, stdout)
	}
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}
