// Package fakempesa is an M-Pesa provider that exists to show what adding
// one takes: this package, registering itself in init(), and one import
// where the gateway is wired (cmd/huduma's fakempesa_test.go does it for
// the test binary only). FAKEMPESA=on selects it; it keeps the prompts it
// is asked to send, leaves every one unanswered until its result route is
// called, and offers neither pulls nor reversals.
package fakempesa

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
)

// ResultPath is the fake's prompt-result route: POST checkout=&code=&receipt=.
const ResultPath = "/payments/fakempesa/result"

var (
	mu      sync.Mutex
	prompts []huduma.STKPush
)

// Prompts returns the prompts asked for so far; the CheckoutRequestID of
// the i-th is CheckoutID(i).
func Prompts() []huduma.STKPush {
	mu.Lock()
	defer mu.Unlock()
	return append([]huduma.STKPush(nil), prompts...)
}

// CheckoutID is the id the fake gave its i-th prompt (from 0).
func CheckoutID(i int) string { return fmt.Sprintf("fakempesa-%d", i) }

func init() {
	providers.RegisterMpesa(providers.MpesaProvider{Name: "fakempesa",
		Vars:     []providers.Var{{Name: "FAKEMPESA", Help: "`on` selects the test M-Pesa provider"}},
		Selected: func(getenv func(string) string) bool { return getenv("FAKEMPESA") == "on" },
		Check:    func(func(string) string) error { return nil },
		Open: func(providers.MpesaEnv) (providers.MpesaRail, error) {
			return providers.MpesaRail{Mpesa: rail{}, Routes: routes}, nil
		},
	})
}

// routes is the fake's one callback: the result of a prompt it sent.
func routes(reports providers.MpesaReports) []providers.Route {
	return []providers.Route{{Name: "stk", Method: http.MethodPost, Path: ResultPath, Handle: func(ctx context.Context, r providers.Request) providers.Response {
		id := r.Form.Get("checkout")
		p, ok := prompt(id)
		if !ok {
			return providers.Response{Status: http.StatusNotFound, Reason: providers.ReasonUnknown}
		}
		res := huduma.STKResult{CheckoutRequestID: id, ResultCode: r.Form.Get("code"), ResultDesc: "fake result",
			Receipt: r.Form.Get("receipt"), Amount: p.Amount, Phone: p.Phone.Digits(), PaidAt: time.Now()}
		if _, err := reports.HandleSTK(ctx, res, r.Body); err != nil {
			return providers.Response{Status: http.StatusInternalServerError}
		}
		return providers.Response{Status: http.StatusOK, ContentType: "text/plain", Body: []byte("OK")}
	}}}
}

// prompt finds the prompt a checkout id names.
func prompt(id string) (huduma.STKPush, bool) {
	mu.Lock()
	defer mu.Unlock()
	for i, p := range prompts {
		if CheckoutID(i) == id {
			return p, true
		}
	}
	return huduma.STKPush{}, false
}

type rail struct{}

func (rail) StkPush(_ context.Context, p huduma.STKPush) (huduma.STKPushResult, error) {
	mu.Lock()
	defer mu.Unlock()
	id := CheckoutID(len(prompts))
	prompts = append(prompts, p)
	return huduma.STKPushResult{CheckoutRequestID: id, MerchantRequestID: "m-" + strconv.Itoa(len(prompts))}, nil
}

// StkQuery says every prompt is still waiting: only the result route
// settles one.
func (rail) StkQuery(_ context.Context, id string) (huduma.STKResult, error) {
	return huduma.STKResult{CheckoutRequestID: id, Pending: true}, nil
}
