package web

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/huduma-ke/huduma"
)

// Agency is what the agency API drives.
type Agency interface {
	SearchServices(ctx context.Context, q string, limit int) ([]huduma.Service, error)
	ServiceByCode(ctx context.Context, code int) (huduma.Service, error)
	CreateInvoice(ctx context.Context, req huduma.InvoiceRequest) (huduma.Invoice, bool, error)
	Invoice(ctx context.Context, number huduma.InvoiceNumber) (huduma.Invoice, error)
	RequestPush(ctx context.Context, number huduma.InvoiceNumber, payer huduma.MSISDN, key string) error
	// SendMessage queues a notice and says how many SMS parts it takes.
	SendMessage(ctx context.Context, to huduma.MSISDN, text string) (int, error)
	// SendOTP and VerifyOTP work in the caller's agency's name ("" for an
	// operator's key): a code is only ever verified, spent or locked by
	// requests in the name it was sent in.
	SendOTP(ctx context.Context, agency string, phone huduma.MSISDN, purpose string) error
	VerifyOTP(ctx context.Context, agency string, phone huduma.MSISDN, purpose, code string) (bool, error)
	CreateApplication(ctx context.Context, a huduma.Application) (huduma.Application, error)
	Application(ctx context.Context, number string) (huduma.Application, error)
	UpdateApplication(ctx context.Context, number string, status huduma.ApplicationStatus, note string) (huduma.Application, error)
}

//go:embed openapi.json
var openAPI []byte

// statusOf maps domain error codes to HTTP statuses, in one place.
var statusOf = map[string]int{
	huduma.EInvalid: http.StatusBadRequest, huduma.ENotFound: http.StatusNotFound, huduma.EConflict: http.StatusConflict,
	huduma.EUnauthorized: http.StatusUnauthorized, huduma.EForbidden: http.StatusForbidden, huduma.ERateLimited: http.StatusTooManyRequests,
	huduma.EUnavailable: http.StatusServiceUnavailable, huduma.EInternal: http.StatusInternalServerError,
	huduma.EKeyReused: http.StatusUnprocessableEntity,
}

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// APIKey is one bearer key of the agency API. A key with an Agency (its
// code in the catalog) is that agency's: it creates and reads invoices and
// applications of the agency's services only, and sees only the agency's
// settlement report. A key without one is an operator's: every agency,
// and the suspense and refund tools, which move money that often matches
// no invoice and so no agency.
type APIKey struct {
	Key    string
	Agency string
}

// MountAPI serves /api/v1 for agency systems, authorised by keys (bearer
// tokens). With no keys every call gets 401: the API is off.
func (s *Server) MountAPI(a Agency, keys []APIKey) {
	s.app.Get("/api/v1/openapi.json", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Send(openAPI)
	})
	g := s.app.Group("/api/v1", func(c *fiber.Ctx) error {
		// The scheme is case-insensitive (RFC 7235 §2.1): "bearer" works.
		scheme, tok, ok := strings.Cut(strings.TrimSpace(c.Get(fiber.HeaderAuthorization)), " ")
		ok = ok && strings.EqualFold(scheme, "Bearer")
		tok = strings.TrimSpace(tok)
		for _, k := range keys {
			if ok && subtle.ConstantTimeCompare([]byte(tok), []byte(k.Key)) == 1 {
				c.Locals(callerKey{}, keyScope(k.Key))
				c.Locals(agencyKey{}, k.Agency)
				if allowed, wait := s.api.Allow(k.Key, time.Now()); !allowed {
					c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(math.Ceil(wait.Seconds()))))
					return s.fail(c, huduma.Errorf(huduma.ERateLimited, "too many requests for this API key; retry after %s", wait.Round(time.Second)))
				}
				return c.Next()
			}
		}
		return s.fail(c, huduma.Errorf(huduma.EUnauthorized, "a valid API key is required (Authorization: Bearer <key>)"))
	})
	h := &apiHandlers{s: s, a: a}
	g.Get("/services", h.searchServices)
	g.Get("/services/:code", h.service)
	g.Post("/invoices", h.createInvoice)
	g.Get("/invoices/:number", h.invoice)
	g.Post("/invoices/:number/push", h.push)
	g.Post("/messages", h.message)
	g.Post("/otp", h.sendOTP)
	g.Post("/otp/verify", h.verifyOTP)
	g.Post("/applications", h.createApplication)
	g.Get("/applications/:number", h.application)
	g.Put("/applications/:number", h.updateApplication)
	if f, ok := a.(Finance); ok {
		s.mountFinance(g, f) // suspense, refunds and reports (web/suspense.go)
	}
	g.Use(func(c *fiber.Ctx) error { return s.fail(c, huduma.Errorf(huduma.ENotFound, "no such API route")) })
}

// fail writes err as {"error":{"code","message"}}; internal errors are
// logged and shown as "Internal error.".
func (s *Server) fail(c *fiber.Ctx, err error) error {
	code := huduma.ErrorCode(err)
	if code == huduma.EInternal {
		s.log.ErrorContext(c.UserContext(), "api call failed", "path", c.Path(), "error", err)
	}
	var body apiError
	body.Error.Code, body.Error.Message = code, huduma.ErrorMessage(err)
	return c.Status(statusOf[code]).JSON(body)
}

type apiHandlers struct {
	s *Server
	a Agency
}

// decode reads a JSON body strictly: unknown fields and trailing data are
// errors, so a typo in a field name never passes silently.
func decode(c *fiber.Ctx, v any) error {
	dec := json.NewDecoder(bytes.NewReader(c.Body()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return huduma.Errorf(huduma.EInvalid, "invalid JSON body: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return huduma.Errorf(huduma.EInvalid, "invalid JSON body: trailing data")
	}
	return nil
}

func phone(field, raw string) (huduma.MSISDN, error) {
	p, err := huduma.ParseMSISDN(raw)
	if err != nil {
		return "", huduma.Errorf(huduma.EInvalid, "%s: %s", field, huduma.ErrorMessage(err))
	}
	return p, nil
}

func (h *apiHandlers) searchServices(c *fiber.Ctx) error {
	q := strings.TrimSpace(c.Query("q"))
	if q == "" || len(q) > 100 {
		return h.s.fail(c, huduma.Errorf(huduma.EInvalid, "q is required (1-100 characters)"))
	}
	svcs, err := h.a.SearchServices(c.UserContext(), q, 30)
	if err != nil {
		return h.s.fail(c, err)
	}
	if svcs == nil {
		svcs = []huduma.Service{}
	}
	return c.JSON(fiber.Map{"services": svcs})
}

func (h *apiHandlers) service(c *fiber.Ctx) error {
	code, err := strconv.Atoi(c.Params("code"))
	if err != nil || code <= 0 {
		return h.s.fail(c, huduma.Errorf(huduma.EInvalid, "service code must be a positive number"))
	}
	sv, err := h.a.ServiceByCode(c.UserContext(), code)
	if err != nil {
		return h.s.fail(c, err)
	}
	return c.JSON(sv)
}

func (h *apiHandlers) createInvoice(c *fiber.Ctx) error {
	var req struct {
		ServiceCode int               `json:"service_code"`
		Phone       string            `json:"phone"`
		Payer       string            `json:"payer"`
		Fields      map[string]string `json:"fields"`
		Push        bool              `json:"push"`
		Language    string            `json:"language"`
	}
	if err := decode(c, &req); err != nil {
		return h.s.fail(c, err)
	}
	p, err := phone("phone", req.Phone)
	if err != nil {
		return h.s.fail(c, err)
	}
	payer := p
	if req.Payer != "" {
		if payer, err = phone("payer", req.Payer); err != nil {
			return h.s.fail(c, err)
		}
	}
	lang := huduma.English
	if req.Language != "" {
		if lang, err = huduma.ParseLanguage(req.Language); err != nil {
			return h.s.fail(c, err)
		}
	}
	if callerAgency(c) != "" {
		sv, err := h.a.ServiceByCode(c.UserContext(), req.ServiceCode)
		if err != nil {
			return h.s.fail(c, err)
		}
		if err := h.mayOrder(c, sv); err != nil {
			return h.s.fail(c, err)
		}
	}
	ir := huduma.InvoiceRequest{ServiceCode: req.ServiceCode, Phone: p, Payer: payer, Fields: req.Fields, Lang: lang, Push: req.Push}
	// A key belongs to the API key that sent it (agency B can never name,
	// and so read back, agency A's invoice, nor one a USSD session made)
	// and to the request it was first sent with: the same key with another
	// body is refused (422), the same body gets the same invoice.
	key := c.Get("Idempotency-Key")
	if len(key) > 100 {
		return h.s.fail(c, huduma.Errorf(huduma.EInvalid, "Idempotency-Key is at most 100 characters"))
	}
	if key != "" {
		scope, _ := c.Locals(callerKey{}).(string)
		ir.Key, ir.RequestHash = "api:"+scope+":"+key, requestHash(ir)
	}
	inv, prompted, err := h.a.CreateInvoice(c.UserContext(), ir)
	if err != nil {
		return h.s.fail(c, err)
	}
	return c.Status(http.StatusCreated).JSON(fiber.Map{"invoice": inv, "prompt_queued": prompted})
}

// callerKey is the fiber Locals key of the caller's key scope.
type callerKey struct{}

// agencyKey is the fiber Locals key of the caller's agency ("" for an
// operator's key).
type agencyKey struct{}

// callerAgency is the agency the caller's key belongs to, "" for an
// operator.
func callerAgency(c *fiber.Ctx) string {
	a, _ := c.Locals(agencyKey{}).(string)
	return a
}

// mayOrder refuses an agency's key a service of another agency (the
// catalog is public, so saying so reveals nothing).
func (h *apiHandlers) mayOrder(c *fiber.Ctx, sv huduma.Service) error {
	if a := callerAgency(c); a != "" && sv.AgencyCode != a {
		return huduma.Errorf(huduma.EForbidden, "this API key is agency %s's; service %d is agency %s's", a, sv.Code, sv.AgencyCode)
	}
	return nil
}

// sees reports whether the caller may see a record of serviceCode: an
// agency's key sees its own services' invoices and applications, and
// another's are answered as not found, so a key cannot even learn that a
// number exists.
func (h *apiHandlers) sees(c *fiber.Ctx, serviceCode int) (bool, error) {
	a := callerAgency(c)
	if a == "" {
		return true, nil
	}
	sv, err := h.a.ServiceByCode(c.UserContext(), serviceCode)
	if huduma.ErrorCode(err) == huduma.ENotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return sv.AgencyCode == a, nil
}

// keyScope names an API key without revealing it: the first 16 hex digits
// of its SHA-256.
func keyScope(apiKey string) string {
	sum := sha256.Sum256([]byte(apiKey))
	return hex.EncodeToString(sum[:8])
}

// requestHash identifies an invoice request by its normalised content
// (numbers in E.164, fields in key order), so two spellings of one
// request hash alike and any real difference does not.
func requestHash(r huduma.InvoiceRequest) string {
	b, _ := json.Marshal(struct {
		Service int               `json:"s"`
		Phone   huduma.MSISDN     `json:"p"`
		Payer   huduma.MSISDN     `json:"y"`
		Fields  map[string]string `json:"f"` // encoding/json sorts map keys
		Lang    huduma.Language   `json:"l"`
		Push    bool              `json:"u"`
	}{r.ServiceCode, r.Phone, r.Payer, r.Fields, r.Lang, r.Push})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (h *apiHandlers) invoiceNumber(c *fiber.Ctx) (huduma.InvoiceNumber, error) {
	return huduma.ParseInvoiceNumber(c.Params("number"))
}

func (h *apiHandlers) invoice(c *fiber.Ctx) error {
	n, err := h.invoiceNumber(c)
	if err != nil {
		return h.s.fail(c, err)
	}
	inv, err := h.visibleInvoice(c, n)
	if err != nil {
		return h.s.fail(c, err)
	}
	return c.JSON(inv)
}

// visibleInvoice is the invoice, or not found when the caller's agency
// may not see it.
func (h *apiHandlers) visibleInvoice(c *fiber.Ctx, n huduma.InvoiceNumber) (huduma.Invoice, error) {
	inv, err := h.a.Invoice(c.UserContext(), n)
	if err != nil {
		return inv, err
	}
	if ok, err := h.sees(c, inv.ServiceCode); err != nil || !ok {
		return huduma.Invoice{}, cmp.Or(err, fmt.Errorf("invoice: %w", huduma.ErrNotFound)) // as if there were none
	}
	return inv, nil
}

func (h *apiHandlers) push(c *fiber.Ctx) error {
	n, err := h.invoiceNumber(c)
	if err != nil {
		return h.s.fail(c, err)
	}
	var req struct {
		Phone string `json:"phone"`
	}
	if len(c.Body()) > 0 {
		if err := decode(c, &req); err != nil {
			return h.s.fail(c, err)
		}
	}
	inv, err := h.visibleInvoice(c, n)
	if err != nil {
		return h.s.fail(c, err)
	}
	payer := inv.Phone
	if req.Phone != "" {
		if payer, err = phone("phone", req.Phone); err != nil {
			return h.s.fail(c, err)
		}
	}
	if err := h.a.RequestPush(c.UserContext(), n, payer, ""); err != nil {
		return h.s.fail(c, err)
	}
	return c.Status(http.StatusAccepted).JSON(fiber.Map{"status": "queued"})
}

func (h *apiHandlers) message(c *fiber.Ctx) error {
	var req struct {
		To   string `json:"to"`
		Text string `json:"text"`
	}
	if err := decode(c, &req); err != nil {
		return h.s.fail(c, err)
	}
	to, err := phone("to", req.To)
	if err != nil {
		return h.s.fail(c, err)
	}
	parts, err := h.a.SendMessage(c.UserContext(), to, req.Text)
	if err != nil {
		return h.s.fail(c, err)
	}
	return c.Status(http.StatusAccepted).JSON(fiber.Map{"status": "queued", "parts": parts})
}

func (h *apiHandlers) sendOTP(c *fiber.Ctx) error {
	var req struct {
		Phone   string `json:"phone"`
		Purpose string `json:"purpose"`
	}
	if err := decode(c, &req); err != nil {
		return h.s.fail(c, err)
	}
	p, err := phone("phone", req.Phone)
	if err != nil {
		return h.s.fail(c, err)
	}
	if err := h.a.SendOTP(c.UserContext(), callerAgency(c), p, req.Purpose); err != nil {
		return h.s.fail(c, err)
	}
	return c.Status(http.StatusAccepted).JSON(fiber.Map{"status": "sent"})
}

func (h *apiHandlers) verifyOTP(c *fiber.Ctx) error {
	var req struct {
		Phone   string `json:"phone"`
		Purpose string `json:"purpose"`
		Code    string `json:"code"`
	}
	if err := decode(c, &req); err != nil {
		return h.s.fail(c, err)
	}
	p, err := phone("phone", req.Phone)
	if err != nil {
		return h.s.fail(c, err)
	}
	ok, err := h.a.VerifyOTP(c.UserContext(), callerAgency(c), p, req.Purpose, req.Code)
	if err != nil {
		return h.s.fail(c, err)
	}
	return c.JSON(fiber.Map{"valid": ok})
}

func (h *apiHandlers) createApplication(c *fiber.Ctx) error {
	var req struct {
		ServiceCode int    `json:"service_code"`
		Phone       string `json:"phone"`
		Reference   string `json:"reference"`
	}
	if err := decode(c, &req); err != nil {
		return h.s.fail(c, err)
	}
	p, err := phone("phone", req.Phone)
	if err != nil {
		return h.s.fail(c, err)
	}
	sv, err := h.a.ServiceByCode(c.UserContext(), req.ServiceCode)
	if err != nil {
		return h.s.fail(c, err)
	}
	if err := h.mayOrder(c, sv); err != nil {
		return h.s.fail(c, err)
	}
	app, err := h.a.CreateApplication(c.UserContext(), huduma.Application{ServiceCode: sv.Code, ServiceName: sv.NameEN, Phone: p, Reference: req.Reference})
	if err != nil {
		return h.s.fail(c, err)
	}
	return c.Status(http.StatusCreated).JSON(app)
}

func (h *apiHandlers) application(c *fiber.Ctx) error {
	a, err := h.visibleApplication(c, c.Params("number"))
	if err != nil {
		return h.s.fail(c, err)
	}
	return c.JSON(a)
}

// visibleApplication is the application, or not found when the caller's
// agency may not see it.
func (h *apiHandlers) visibleApplication(c *fiber.Ctx, number string) (huduma.Application, error) {
	a, err := h.a.Application(c.UserContext(), number)
	if err != nil {
		return a, err
	}
	if ok, err := h.sees(c, a.ServiceCode); err != nil || !ok {
		return huduma.Application{}, cmp.Or(err, fmt.Errorf("application: %w", huduma.ErrNotFound))
	}
	return a, nil
}

func (h *apiHandlers) updateApplication(c *fiber.Ctx) error {
	var req struct {
		Status string `json:"status"`
		Note   string `json:"note"`
	}
	if err := decode(c, &req); err != nil {
		return h.s.fail(c, err)
	}
	st, err := huduma.ParseApplicationStatus(req.Status)
	if err != nil {
		return h.s.fail(c, err)
	}
	if _, err := h.visibleApplication(c, c.Params("number")); err != nil {
		return h.s.fail(c, err)
	}
	a, err := h.a.UpdateApplication(c.UserContext(), c.Params("number"), st, req.Note)
	if err != nil {
		return h.s.fail(c, err)
	}
	return c.JSON(a)
}
