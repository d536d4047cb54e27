package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/huduma-ke/huduma/providers"
	"github.com/huduma-ke/huduma/providers/daraja"
	"github.com/huduma-ke/huduma/providers/daraja/darajafake"
)

// openRail opens the M-Pesa provider the configuration chose: a
// registered one (providers.RegisterMpesa) when its variables select it,
// else the built-in Daraja client, pointed at the real Daraja or at the
// simulator (returned too, for the web phone and to close).
func openRail(cfg Config, log *slog.Logger) (providers.MpesaRail, *darajafake.Fake, error) {
	if cfg.Mpesa != nil {
		rail, err := cfg.Mpesa.Open(providers.MpesaEnv{Getenv: cfg.getenv, CallbackURL: cfg.callbackURL,
			HTTP: &http.Client{Timeout: 30 * time.Second}})
		if err != nil {
			return providers.MpesaRail{}, nil, fmt.Errorf("open M-Pesa provider %s: %w", cfg.Mpesa.Name, err)
		}
		rail.Name = cfg.Mpesa.Name
		return rail, nil, nil
	}
	dc, sim, err := openMpesa(cfg, log)
	if err != nil {
		return providers.MpesaRail{}, nil, err
	}
	name := "daraja"
	if sim != nil {
		name = "simulator"
	}
	return providers.MpesaRail{Name: name, Mpesa: dc, Puller: dc, Reverser: dc, Routes: daraja.Routes}, sim, nil
}
