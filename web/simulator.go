package web

import (
	"context"
	"embed"
	"io/fs"
	"net/http"
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"

	"github.com/huduma-ke/huduma"
)

//go:embed simulator
var simulatorFiles embed.FS

// Inbox lists the SMS queued for a phone, newest first (the outbox).
type Inbox interface {
	Messages(ctx context.Context, to huduma.MSISDN, limit int) ([]huduma.Message, error)
}

// SimulatorConfig is what the web phone needs to know about its gateway.
type SimulatorConfig struct {
	// ServiceCode prefills the dial box.
	ServiceCode string
	// Provider is the USSD route the phone drives ("africastalking").
	Provider string
}

// MountSimulator serves the web feature phone at /simulator and the SMS
// inbox it shows. The phone posts to the real provider route of this
// gateway, exactly as the aggregator would, so it carries the callback
// token: enable the simulator only where everyone who can open it may
// also call the callback routes (a laptop, a test or staging host).
func (s *Server) MountSimulator(cfg SimulatorConfig, inbox Inbox) {
	if cfg.Provider == "" {
		cfg.Provider = "africastalking"
	}
	static, err := fs.Sub(simulatorFiles, "simulator")
	if err != nil {
		panic(err) // the embedded folder is part of the binary
	}
	s.app.Get("/simulator/config.json", func(c *fiber.Ctx) error {
		ussd := "/ussd/" + cfg.Provider
		if s.cfg.CallbackToken != "" {
			ussd += "?token=" + url.QueryEscape(s.cfg.CallbackToken)
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.JSON(fiber.Map{"service_code": cfg.ServiceCode, "ussd_url": ussd, "inbox_url": "/simulator/inbox"})
	})
	s.app.Get("/simulator/inbox", func(c *fiber.Ctx) error {
		phone, err := huduma.ParseMSISDN(c.Query("phone"))
		if err != nil {
			return s.fail(c, huduma.Errorf(huduma.EInvalid, "phone: %s", huduma.ErrorMessage(err)))
		}
		msgs, err := inbox.Messages(c.UserContext(), phone, 20)
		if err != nil {
			return s.fail(c, err)
		}
		type item struct {
			ID     int64     `json:"id"`
			Kind   string    `json:"kind"`
			Status string    `json:"status"`
			Parts  int       `json:"parts"`
			Body   string    `json:"body"`
			At     time.Time `json:"at"`
		}
		out := make([]item, 0, len(msgs))
		for _, m := range msgs {
			out = append(out, item{m.ID, string(m.Kind), m.Status, m.Parts, m.Body, m.CreatedAt})
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.JSON(fiber.Map{"phone": phone, "messages": out})
	})
	s.app.Use("/simulator", filesystem.New(filesystem.Config{Root: http.FS(static), Index: "index.html"}))
}
