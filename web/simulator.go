package web

import (
	"context"
	"embed"
	"io/fs"
	"net/http"
	"regexp"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
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
	// Provider is the USSD wire format the phone speaks ("africastalking").
	Provider string
	// ShowCodes shows one-time passwords in the inbox in clear. Only pure
	// demo mode (nothing configured) sets it; otherwise codes are masked.
	ShowCodes bool
}

// SimulatorUSSDPath is the web phone's own hop route. It runs the same
// provider decoding and engine as /ussd/<provider> but needs no callback
// token: the simulator is in process, so the token never has to reach a
// page.
const SimulatorUSSDPath = "/simulator/ussd"

// MountSimulator serves the web feature phone at /simulator, its hop route
// and the SMS inbox it shows. None of them reveals the callback token.
// Anyone who can open them can act as the aggregator for any phone and
// read any phone's texts, so cmd/huduma mounts them only in demo mode or
// when the operator asks, on loopback unless told otherwise.
func (s *Server) MountSimulator(cfg SimulatorConfig, inbox Inbox) {
	if cfg.Provider == "" {
		cfg.Provider = "africastalking"
	}
	p := providers.LookupUSSD(cfg.Provider)
	if p == nil {
		panic("web: simulator provider " + cfg.Provider + " is not registered") // wiring mistake, caught at start
	}
	static, err := fs.Sub(simulatorFiles, "simulator")
	if err != nil {
		panic(err) // the embedded folder is part of the binary
	}
	hop := s.hopHandler(p)
	s.app.Post(SimulatorUSSDPath, func(c *fiber.Ctx) error {
		resp := hop(c.UserContext(), request(c))
		c.Set(fiber.HeaderContentType, resp.ContentType)
		return c.Status(resp.Status).Send(resp.Body)
	})
	s.app.Get("/simulator/config.json", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.JSON(fiber.Map{"service_code": cfg.ServiceCode, "ussd_url": SimulatorUSSDPath, "inbox_url": "/simulator/inbox"})
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
			body := m.Body
			if m.Kind == huduma.MessageOTP && !cfg.ShowCodes {
				body = MaskCodes(body)
			}
			out = append(out, item{m.ID, string(m.Kind), string(m.Status), m.Parts, body, m.CreatedAt})
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.JSON(fiber.Map{"phone": phone, "messages": out})
	})
	s.app.Use("/simulator", filesystem.New(filesystem.Config{Root: http.FS(static), Index: "index.html"}))
}

var codeDigits = regexp.MustCompile(`[0-9]{4,}`)

// MaskCodes hides every run of four or more digits (a one-time password)
// behind asterisks of the same length.
func MaskCodes(text string) string {
	return codeDigits.ReplaceAllStringFunc(text, func(d string) string {
		b := make([]byte, len(d))
		for i := range b {
			b[i] = '*'
		}
		return string(b)
	})
}
