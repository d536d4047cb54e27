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
	// Paybill is the paybill number the paybill form pays.
	Paybill string
	// Provider is the USSD wire format the phone speaks ("africastalking").
	Provider string
	// ShowCodes shows one-time passwords in the inbox in clear. Only pure
	// demo mode (nothing configured) sets it; otherwise codes are masked.
	ShowCodes bool
	// Open opens a one-time code's sealed text (nil: such texts show as
	// sealed). The outbox never holds a code readable.
	Open func(body string) (string, error)
}

// PaymentSimulator is the payer's side of the payment simulator, which
// the web phone plays: the M-Pesa prompts waiting on a phone (asking
// marks the phone as held by a person, so the prompts pushed to it wait
// for that person's answer), the answer, and a payment made by hand to
// the paybill, which reaches the gateway as Daraja's C2B callbacks.
type PaymentSimulator interface {
	Prompts(phone huduma.MSISDN) []SimPrompt
	// AnswerPrompt decides a prompt; ENotFound when the phone has no
	// such prompt, EConflict when it was decided already.
	AnswerPrompt(phone huduma.MSISDN, checkout string, a SimAnswer) (SimOutcome, error)
	PayBill(ctx context.Context, p SimPaybill) (SimPaybillResult, error)
	// PIN is the M-Pesa PIN that pays (no secret: the phone shows it).
	PIN() string
}

// SimPrompt is an M-Pesa prompt on the web phone's screen.
type SimPrompt struct {
	Checkout string
	Amount   int64
	// Account is the account reference, Business the paybill paid.
	Account, Business string
	Expires           time.Time
}

// SimAnswer is the person's answer to a prompt: Cancel, or a PIN.
type SimAnswer struct {
	Cancel bool
	PIN    string
}

// SimOutcome is what an answer decided: M-Pesa's result code and words.
type SimOutcome struct {
	Code, Desc string
}

// SimPaybill is a payment by hand to the paybill.
type SimPaybill struct {
	Phone   huduma.MSISDN
	Account string
	Amount  int64
	// Validate asks the gateway's validation route first; FullNumber
	// sends the payer's number unmasked.
	Validate, FullNumber bool
}

// SimPaybillResult is what came of it: the M-Pesa transaction id, the
// validation's refusal code if the gateway refused it (no money moved),
// and whether the gateway acknowledged the confirmation.
type SimPaybillResult struct {
	TransID, Rejected string
	Confirmed         bool
}

// SuspenseList is the finance officer's list of held money, which the
// web phone shows read-only beside its paybill form.
type SuspenseList interface {
	ListSuspense(ctx context.Context, f huduma.SuspenseFilter) ([]huduma.ReceivedPayment, error)
}

// SimulatorDeps are what the web phone's routes reach. Inbox is
// required; without Texts there is no texting the service, without
// Payments no prompts on the phone or paybill form (real M-Pesa), and
// without Suspense no suspense list.
type SimulatorDeps struct {
	Inbox    Inbox
	Texts    Texter
	Payments PaymentSimulator
	Suspense SuspenseList
}

// simNetwork is a mobile network the web phone can be on: its name, the
// MCC-MNC code Africa's Talking sends as networkCode, and a number in its
// range that the phone takes when the network is picked.
type simNetwork struct {
	Name   string `json:"name"`
	Code   string `json:"code"`
	Number string `json:"number"`
}

// simulatorNetworks are the networks the web phone offers, the first its
// default. The numbers are none that `huduma sim` or the README's replay
// use, so an open web phone (which holds its number's prompts) never
// answers for a script.
var simulatorNetworks = []simNetwork{
	{"Safaricom", "63902", "+254722000100"},
	{"Airtel", "63903", "+254733000100"},
	{"Telkom", "63907", "+254771000100"},
	{"Equitel", "63999", "+254763000100"},
}

// SimulatorPhone is the web phone's default number (Safaricom's).
var SimulatorPhone = simulatorNetworks[0].Number

// Simulator route paths beside the hop route.
const (
	SimulatorEventsPath   = "/simulator/ussd/events"
	SimulatorPromptsPath  = "/simulator/prompts"
	SimulatorAnswerPath   = "/simulator/prompts/answer"
	SimulatorPaybillPath  = "/simulator/paybill"
	SimulatorSuspensePath = "/simulator/suspense"
)

// maxPaybillAccount is the most a paybill account (BillRefNumber) holds.
const maxPaybillAccount = 20

// SimulatorUSSDPath is the web phone's own hop route. It runs the same
// provider decoding and engine as /ussd/<provider> but needs no callback
// token: the simulator is in process, so the token never has to reach a
// page.
const SimulatorUSSDPath = "/simulator/ussd"

// MountSimulator serves the web feature phone at /simulator, its hop and
// end-of-session routes, the SMS inbox it shows and, with the deps that
// allow them, texting the service, the M-Pesa prompts on its screen, the
// paybill form and the suspense list. None of them reveals the callback
// token. Anyone who can open them can act as the aggregator for any phone
// and read any phone's texts, so cmd/huduma mounts them only in demo mode
// or when the operator asks, on loopback unless told otherwise.
func (s *Server) MountSimulator(cfg SimulatorConfig, deps SimulatorDeps) {
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
	inbox, texts := deps.Inbox, deps.Texts
	hop, hdrs := s.hopHandler(p), hopHeaders(p)
	s.app.Post(SimulatorUSSDPath, func(c *fiber.Ctx) error {
		resp := hop(c.UserContext(), request(c, hdrs))
		c.Set(fiber.HeaderContentType, resp.ContentType)
		return c.Status(resp.Status).Send(resp.Body)
	})
	eventsURL := ""
	if ev, ok := p.(providers.SessionEvents); ok && s.deps.Events != nil {
		// The phone tells the gateway a session ended, as the aggregator's
		// end-of-session notification does.
		eventsURL = SimulatorEventsPath
		events := s.eventHandler(ev)
		s.app.Post(SimulatorEventsPath, func(c *fiber.Ctx) error { return write(c, events(c.UserContext(), request(c, allHeaders))) })
	}
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
	promptsURL, answerURL, paybillURL, pin := "", "", "", ""
	if deps.Payments != nil {
		promptsURL, answerURL, paybillURL, pin = SimulatorPromptsPath, SimulatorAnswerPath, SimulatorPaybillPath, deps.Payments.PIN()
		s.mountSimulatorPayments(deps.Payments)
	}
	suspenseURL := ""
	if deps.Suspense != nil {
		suspenseURL = SimulatorSuspensePath
		s.app.Get(SimulatorSuspensePath, func(c *fiber.Ctx) error {
			items, err := deps.Suspense.ListSuspense(c.UserContext(), huduma.SuspenseFilter{Limit: 20})
			if err != nil {
				return s.fail(c, err)
			}
			if items == nil {
				items = []huduma.ReceivedPayment{}
			}
			var held int64
			for _, p := range items {
				held += p.Suspense
			}
			c.Set(fiber.HeaderCacheControl, "no-store")
			return c.JSON(fiber.Map{"items": items, "held": held})
		})
	}
	s.app.Get("/simulator/config.json", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.JSON(fiber.Map{"service_code": cfg.ServiceCode, "ussd_url": SimulatorUSSDPath, "events_url": eventsURL, "inbox_url": "/simulator/inbox",
			"sms_url": smsURL, "prompts_url": promptsURL, "answer_url": answerURL, "paybill_url": paybillURL, "suspense_url": suspenseURL, "pin": pin, "paybill": cfg.Paybill,
			"networks": simulatorNetworks})
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
		return c.JSON(fiber.Map{"phone": phone, "network": phone.Network(), "messages": out})
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

// mountSimulatorPayments serves the prompts on the web phone's screen,
// their answers and the paybill form.
func (s *Server) mountSimulatorPayments(pay PaymentSimulator) {
	s.app.Get(SimulatorPromptsPath, func(c *fiber.Ctx) error {
		phone, err := huduma.ParseMSISDN(c.Query("phone"))
		if err != nil {
			return s.fail(c, huduma.Errorf(huduma.EInvalid, "phone: %s", huduma.ErrorMessage(err)))
		}
		type prompt struct {
			Checkout  string `json:"checkout"`
			Amount    int64  `json:"amount"`
			Account   string `json:"account"`
			Business  string `json:"business"`
			SecondsIn int    `json:"seconds_left"`
		}
		out := []prompt{}
		for _, p := range pay.Prompts(phone) {
			out = append(out, prompt{p.Checkout, p.Amount, p.Account, p.Business, max(0, int(time.Until(p.Expires).Seconds()))})
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.JSON(fiber.Map{"phone": phone, "prompts": out})
	})
	s.app.Post(SimulatorAnswerPath, func(c *fiber.Ctx) error {
		var req struct {
			Phone    string `json:"phone"`
			Checkout string `json:"checkout"`
			Answer   string `json:"answer"`
			PIN      string `json:"pin"`
		}
		if err := decode(c, &req); err != nil {
			return s.fail(c, err)
		}
		phone, err := huduma.ParseMSISDN(req.Phone)
		if err != nil {
			return s.fail(c, huduma.Errorf(huduma.EInvalid, "phone: %s", huduma.ErrorMessage(err)))
		}
		var a SimAnswer
		switch req.Answer {
		case "cancel":
			a.Cancel = true
		case "pin":
			if !pinRE.MatchString(req.PIN) {
				return s.fail(c, huduma.Errorf(huduma.EInvalid, "pin: an M-Pesa PIN is 4 digits"))
			}
			a.PIN = req.PIN
		default:
			return s.fail(c, huduma.Errorf(huduma.EInvalid, "answer: pin or cancel"))
		}
		if req.Checkout == "" || len(req.Checkout) > 64 {
			return s.fail(c, huduma.Errorf(huduma.EInvalid, "checkout: name the prompt"))
		}
		out, err := pay.AnswerPrompt(phone, req.Checkout, a)
		if err != nil {
			return s.fail(c, err)
		}
		return c.JSON(fiber.Map{"result_code": out.Code, "result_desc": out.Desc})
	})
	s.app.Post(SimulatorPaybillPath, func(c *fiber.Ctx) error {
		var req struct {
			Phone      string `json:"phone"`
			Account    string `json:"account"`
			Amount     int64  `json:"amount"`
			Validate   bool   `json:"validate"`
			FullNumber bool   `json:"full_number"`
		}
		if err := decode(c, &req); err != nil {
			return s.fail(c, err)
		}
		phone, err := huduma.ParseMSISDN(req.Phone)
		if err != nil {
			return s.fail(c, huduma.Errorf(huduma.EInvalid, "phone: %s", huduma.ErrorMessage(err)))
		}
		account := strings.TrimSpace(req.Account)
		switch {
		case account == "" || utf8.RuneCountInString(account) > maxPaybillAccount || account != huduma.CleanLine(account):
			return s.fail(c, huduma.Errorf(huduma.EInvalid, "account: 1 to %d characters, as the payer would type them", maxPaybillAccount))
		case req.Amount < 1 || req.Amount > huduma.MaxPayment:
			return s.fail(c, huduma.Errorf(huduma.EInvalid, "amount: whole shillings, 1 to %d (M-Pesa's most for one payment)", huduma.MaxPayment))
		}
		res, err := pay.PayBill(c.UserContext(), SimPaybill{Phone: phone, Account: account, Amount: req.Amount, Validate: req.Validate, FullNumber: req.FullNumber})
		if err != nil {
			return s.fail(c, err)
		}
		if res.Rejected == "" && !res.Confirmed {
			return s.fail(c, huduma.Errorf(huduma.EUnavailable, "M-Pesa took the money (%s) but the gateway did not acknowledge the confirmation; "+
				"the pull worker will find it", res.TransID))
		}
		return c.JSON(fiber.Map{"trans_id": res.TransID, "rejected": res.Rejected, "confirmed": res.Confirmed})
	})
}

var pinRE = regexp.MustCompile(`^[0-9]{4}$`)
