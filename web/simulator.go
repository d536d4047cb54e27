package web

import (
	"context"
	"embed"
	"io/fs"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

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

// Texter takes an SMS a person sent to the service (the SMS channel's
// inbox): the web phone's "send an SMS" runs through it, as a provider's
// inbound route does.
type Texter interface {
	Receive(ctx context.Context, id string, from huduma.MSISDN, text string) error
}

// SimulatorSMSPath is the web phone's route for texting the service.
const SimulatorSMSPath = "/simulator/sms"

// maxSimulatorSMS bounds a simulated text: six concatenated parts, more
// than any keyword needs.
const maxSimulatorSMS = 918

var simulatorSMSID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// SimulatorConfig is what the web phone needs to know about its gateway.
type SimulatorConfig struct {
	// ServiceCode prefills the dial box.
	ServiceCode string
	// Provider is the USSD wire format the phone speaks ("africastalking").
	Provider string
	// ShowCodes shows one-time passwords in the inbox in clear. Only pure
	// demo mode (nothing configured) sets it; otherwise codes are masked.
	ShowCodes bool
	// Open opens a one-time code's sealed text (nil: such texts show as
	// sealed). The outbox never holds a code readable.
	Open func(body string) (string, error)
}

// SimulatorUSSDPath is the web phone's own hop route. It runs the same
// provider decoding and engine as /ussd/<provider> but needs no callback
// token: the simulator is in process, so the token never has to reach a
// page.
const SimulatorUSSDPath = "/simulator/ussd"

// MountSimulator serves the web feature phone at /simulator, its hop route,
// the SMS inbox it shows and, with texts, its route for texting the
// service. None of them reveals the callback token. Anyone who can open
// them can act as the aggregator for any phone and read any phone's texts,
// so cmd/huduma mounts them only in demo mode or when the operator asks,
// on loopback unless told otherwise.
func (s *Server) MountSimulator(cfg SimulatorConfig, inbox Inbox, texts Texter) {
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
	smsURL := ""
	if texts != nil {
		smsURL = SimulatorSMSPath
		// The id comes from the page, one per text, so a resent request is
		// the same text and the inbox answers it once.
		s.app.Post(SimulatorSMSPath, func(c *fiber.Ctx) error {
			var req struct {
				ID    string `json:"id"`
				Phone string `json:"phone"`
				Text  string `json:"text"`
			}
			if err := decode(c, &req); err != nil {
				return s.fail(c, err)
			}
			from, err := huduma.ParseMSISDN(req.Phone)
			if err != nil {
				return s.fail(c, huduma.Errorf(huduma.EInvalid, "phone: %s", huduma.ErrorMessage(err)))
			}
			switch text := strings.TrimSpace(req.Text); {
			case !simulatorSMSID.MatchString(req.ID):
				return s.fail(c, huduma.Errorf(huduma.EInvalid, "id: 1 to 64 letters, digits, - or _, one per text"))
			case text == "":
				return s.fail(c, huduma.Errorf(huduma.EInvalid, "text: write something to send"))
			case utf8.RuneCountInString(text) > maxSimulatorSMS:
				return s.fail(c, huduma.Errorf(huduma.EInvalid, "text: at most %d characters", maxSimulatorSMS))
			default:
				if err := texts.Receive(c.UserContext(), "sim-"+req.ID, from, text); err != nil {
					return s.fail(c, err)
				}
			}
			return c.Status(http.StatusAccepted).JSON(fiber.Map{"status": "received"})
		})
	}
	s.app.Get("/simulator/config.json", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.JSON(fiber.Map{"service_code": cfg.ServiceCode, "ussd_url": SimulatorUSSDPath, "inbox_url": "/simulator/inbox", "sms_url": smsURL})
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
			if m.Kind == huduma.MessageOTP {
				body = otpText(cfg, body)
			}
			out = append(out, item{m.ID, string(m.Kind), string(m.Status), m.Parts, body, m.CreatedAt})
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.JSON(fiber.Map{"phone": phone, "messages": out})
	})
	s.app.Use("/simulator", filesystem.New(filesystem.Config{Root: http.FS(static), Index: "index.html"}))
}

// otpText is what the inbox shows of a one-time code's stored text: the
// text opened, with its code masked outside pure demo mode; a text that
// is gone (huduma.OTPRemoved) or cannot be opened as it is stored.
func otpText(cfg SimulatorConfig, body string) string {
	if cfg.Open != nil {
		if text, err := cfg.Open(body); err == nil {
			body = text
		}
	}
	if !cfg.ShowCodes {
		body = MaskCodes(body)
	}
	return body
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
