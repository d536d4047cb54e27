package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
	"github.com/huduma-ke/huduma/providers/ecitizen"
	"github.com/huduma-ke/huduma/providers/ecitizen/ecitizenfake"
)

// The fake e-Citizen's own credentials: it runs in process on loopback
// only, when HUDUMA_PAYMENTS=simulator chose it on the ecitizen backend.
const (
	fakeECitizenID     = "huduma-simulator"
	fakeECitizenKey    = "huduma-simulator-key"
	fakeECitizenSecret = "huduma-simulator-secret"
)

// openECitizen returns the e-Citizen client and its configuration,
// pointed at e-Citizen or, when the operator chose the simulator, at a
// fake e-Citizen on loopback that posts its signed notifications to our
// own route, so the whole billing path runs as in production.
func openECitizen(cfg Config, log *slog.Logger) (*ecitizen.Client, ecitizen.Config, *ecitizenfake.Fake, error) {
	ec := cfg.ECitizen()
	var fake *ecitizenfake.Fake
	if cfg.ECitizenSimulated() {
		var err error
		fake, err = ecitizenfake.Start(ecitizenfake.Options{ClientID: fakeECitizenID, APIKey: fakeECitizenKey, Secret: fakeECitizenSecret,
			HexHash: cfg.ECitizenHash == ecitizen.HashHexDigest, PromptDelay: cfg.scaled(3 * time.Second), Log: log,
			Interactive: true, PromptTimeout: cfg.promptTimeout})
		if err != nil {
			return nil, ec, nil, fmt.Errorf("start e-Citizen simulator: %w", err)
		}
		ec.URL, ec.ClientID, ec.APIKey, ec.Secret = fake.URL(), fakeECitizenID, fakeECitizenKey, fakeECitizenSecret
	}
	c, err := ecitizen.New(ec, &http.Client{Timeout: 30 * time.Second}, log)
	if err != nil {
		if fake != nil {
			fake.Close()
		}
		return nil, ec, nil, fmt.Errorf("e-Citizen client: %w", err)
	}
	return c, ec, fake, nil
}

// noDaraja is the M-Pesa client of the ecitizen backend: e-Citizen sends
// the prompts, so nothing may reach Daraja, and a call that would is an
// error rather than a prompt from a shortcode nobody collects on.
type noDaraja struct{}

var _ providers.Mpesa = noDaraja{}

func (noDaraja) StkPush(context.Context, huduma.STKPush) (huduma.STKPushResult, error) {
	return huduma.STKPushResult{}, fmt.Errorf("no Daraja prompts with HUDUMA_BILLING=ecitizen: e-Citizen sends them")
}

func (noDaraja) StkQuery(context.Context, string) (huduma.STKResult, error) {
	return huduma.STKResult{}, fmt.Errorf("no Daraja queries with HUDUMA_BILLING=ecitizen")
}
