package web

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/huduma-ke/huduma"
)

// Finance is what the finance officer's API routes drive: the suspense
// list, applying held money, refunds and the settlement report. The
// agency API serves them when its Agency is also a Finance.
type Finance interface {
	ListSuspense(ctx context.Context, f huduma.SuspenseFilter) ([]huduma.ReceivedPayment, error)
	Payment(ctx context.Context, transID string) (huduma.PaymentRecord, error)
	ApplySuspense(ctx context.Context, transID string, number huduma.InvoiceNumber, actor string) (huduma.Settlement, error)
	RequestRefund(ctx context.Context, transID, key, actor, remarks string) (huduma.Refund, error)
	SettlementReport(ctx context.Context, day time.Time, agency string) ([]huduma.SettlementRow, error)
}

type financeHandlers struct {
	s *Server
	f Finance
}

// mountFinance adds the finance routes to the API group g. Suspense and
// refunds are an operator's (money in suspense often matches no invoice,
// so no agency); an agency's key gets its own settlement report only.
func (s *Server) mountFinance(g fiber.Router, f Finance) {
	h := &financeHandlers{s: s, f: f}
	g.Get("/suspense", operatorOnly(s), h.list)
	g.Get("/payments/:trans", operatorOnly(s), h.payment)
	g.Post("/payments/:trans/apply", operatorOnly(s), h.apply)
	g.Post("/payments/:trans/refund", operatorOnly(s), h.refund)
	g.Get("/reports/settlement", h.settlement)
}

// operatorOnly refuses an agency's key.
func operatorOnly(s *Server) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if a := callerAgency(c); a != "" {
			return s.fail(c, huduma.Errorf(huduma.EForbidden, "this API key is agency %s's; suspense and refunds need an operator's key (one without an agency)", a))
		}
		return c.Next()
	}
}

// actor names the caller in the journal and audit log: its key's scope.
func actor(c *fiber.Ctx) string {
	scope, _ := c.Locals(callerKey{}).(string)
	return "api:" + scope
}

// trans reads the :trans path parameter (an M-Pesa transaction id).
func trans(c *fiber.Ctx) (string, error) {
	t := strings.TrimSpace(c.Params("trans"))
	if t == "" || len(t) > 64 {
		return "", huduma.Errorf(huduma.EInvalid, "name the payment by its M-Pesa transaction id")
	}
	return strings.Clone(t), nil
}

func (h *financeHandlers) list(c *fiber.Ctx) error {
	var f huduma.SuspenseFilter
	var err error
	if v := c.Query("older_than"); v != "" {
		if f.OlderThan, err = time.ParseDuration(v); err != nil || f.OlderThan < 0 {
			return h.s.fail(c, huduma.Errorf(huduma.EInvalid, "older_than is a duration such as 24h"))
		}
	}
	if v := c.Query("reason"); v != "" {
		if f.Reason, err = huduma.ParseSuspenseReason(v); err != nil {
			return h.s.fail(c, err)
		}
	}
	f.Agency = strings.Clone(strings.TrimSpace(c.Query("agency")))
	if v := c.Query("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 || f.Limit > 1000 {
			return h.s.fail(c, huduma.Errorf(huduma.EInvalid, "limit is 1 to 1000"))
		}
	}
	items, err := h.f.ListSuspense(c.UserContext(), f)
	if err != nil {
		return h.s.fail(c, err)
	}
	if items == nil {
		items = []huduma.ReceivedPayment{}
	}
	var held int64
	for _, p := range items {
		held += p.Suspense
	}
	return c.JSON(fiber.Map{"items": items, "held": held})
}

func (h *financeHandlers) payment(c *fiber.Ctx) error {
	t, err := trans(c)
	if err != nil {
		return h.s.fail(c, err)
	}
	p, err := h.f.Payment(c.UserContext(), t)
	if err != nil {
		return h.s.fail(c, err)
	}
	return c.JSON(p)
}

func (h *financeHandlers) apply(c *fiber.Ctx) error {
	t, err := trans(c)
	if err != nil {
		return h.s.fail(c, err)
	}
	var req struct {
		Invoice string `json:"invoice"`
	}
	if err := decode(c, &req); err != nil {
		return h.s.fail(c, err)
	}
	n, err := huduma.ParseInvoiceNumber(req.Invoice)
	if err != nil {
		return h.s.fail(c, err)
	}
	st, err := h.f.ApplySuspense(c.UserContext(), t, n, actor(c))
	if err != nil {
		return h.s.fail(c, err)
	}
	return c.JSON(st)
}

func (h *financeHandlers) refund(c *fiber.Ctx) error {
	t, err := trans(c)
	if err != nil {
		return h.s.fail(c, err)
	}
	var req struct {
		Remarks string `json:"remarks"`
	}
	if len(c.Body()) > 0 {
		if err := decode(c, &req); err != nil {
			return h.s.fail(c, err)
		}
	}
	// The key belongs to the caller: another API key's same key is
	// another request.
	key := c.Get("Idempotency-Key")
	if len(key) > 100 {
		return h.s.fail(c, huduma.Errorf(huduma.EInvalid, "Idempotency-Key is at most 100 characters"))
	}
	if key != "" {
		key = actor(c) + ":refund:" + key
	}
	f, err := h.f.RequestRefund(c.UserContext(), t, key, actor(c), req.Remarks)
	if err != nil {
		return h.s.fail(c, err)
	}
	return c.Status(http.StatusAccepted).JSON(f)
}

func (h *financeHandlers) settlement(c *fiber.Ctx) error {
	day := time.Now().In(huduma.EAT).AddDate(0, 0, -1).Format("2006-01-02")
	if v := c.Query("date"); v != "" {
		day = v
	}
	d, err := huduma.ParseDay(day)
	if err != nil {
		return h.s.fail(c, err)
	}
	agency := strings.Clone(strings.TrimSpace(c.Query("agency")))
	if own := callerAgency(c); own != "" {
		if agency != "" && agency != own {
			return h.s.fail(c, huduma.Errorf(huduma.EForbidden, "this API key is agency %s's; it cannot read agency %s's report", own, agency))
		}
		agency = own
	}
	rows, err := h.f.SettlementReport(c.UserContext(), d, agency)
	if err != nil {
		return h.s.fail(c, err)
	}
	switch c.Query("format", "json") {
	case "json":
		return c.JSON(fiber.Map{"date": day, "agencies": rows})
	case "csv":
		var b bytes.Buffer
		if err := huduma.WriteSettlementCSV(&b, rows); err != nil {
			return h.s.fail(c, err)
		}
		c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
		c.Set(fiber.HeaderContentDisposition, `attachment; filename="settlement-`+day+`.csv"`)
		return c.Send(b.Bytes())
	}
	return h.s.fail(c, huduma.Errorf(huduma.EInvalid, "format is json or csv"))
}
