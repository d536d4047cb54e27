package main

import (
	"strings"
	"testing"

	"github.com/huduma-ke/huduma/internal/testenv"
)

// TestECitizenConfig: the ecitizen backend fails closed, naming what is
// missing; the fake e-Citizen runs only when chosen by name; Daraja's
// credentials are refused beside it; e-Citizen's paybill is shown and
// refunds are off.
func TestECitizenConfig(t *testing.T) {
	creds := map[string]string{"HUDUMA_BILLING": "ecitizen", "ECITIZEN_URL": "https://test.ecitizen.example/PaymentAPI/iframev2.1.php",
		"ECITIZEN_CLIENT_ID": "AGENCY1", "ECITIZEN_API_KEY": "k3y-not-logged", "ECITIZEN_SECRET": "s3cret-not-logged",
		"HUDUMA_CALLBACK_TOKEN": "tok-0123456789abcdef", "HUDUMA_SMS": "record-only"}
	with := func(kv ...string) map[string]string {
		env := map[string]string{}
		for k, v := range creds {
			env[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			env[kv[i]] = kv[i+1]
		}
		return env
	}
	refused := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"nothing set", map[string]string{"HUDUMA_BILLING": "ecitizen"}, []string{"ECITIZEN_URL", "ECITIZEN_CLIENT_ID", "ECITIZEN_API_KEY", "ECITIZEN_SECRET", "HUDUMA_PAYMENTS=simulator"}},
		{"no secret", with("ECITIZEN_SECRET", ""), []string{"ECITIZEN_SECRET"}},
		{"no key", with("ECITIZEN_API_KEY", ""), []string{"ECITIZEN_API_KEY"}},
		{"daraja beside", with("MPESA_CONSUMER_KEY", "a", "MPESA_CONSUMER_SECRET", "b", "MPESA_PASSKEY", "c"), []string{"MPESA_CONSUMER_KEY", "not used with ecitizen"}},
		{"simulator beside credentials", with("HUDUMA_PAYMENTS", "simulator"), []string{"HUDUMA_PAYMENTS", "ECITIZEN_"}},
		{"credentials on the ledger backend", with("HUDUMA_BILLING", "ledger"), []string{"HUDUMA_BILLING"}},
		{"unknown backend", with("HUDUMA_BILLING", "mpesa"), []string{"HUDUMA_BILLING"}},
		{"unknown hash encoding", with("ECITIZEN_HASH_ENCODING", "hmac"), []string{"ECITIZEN_HASH_ENCODING"}},
		{"no token", with("HUDUMA_CALLBACK_TOKEN", ""), []string{"HUDUMA_CALLBACK_TOKEN"}},
	}
	for _, tc := range refused {
		_, err := loadConfig(func(k string) string { return tc.env[k] })
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not name %s", tc.name, err, w)
			}
		}
		for _, secret := range []string{"k3y-not-logged", "s3cret-not-logged"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: the error shows a secret: %q", tc.name, err)
			}
		}
	}
	c, err := loadConfig(func(k string) string { return creds[k] })
	if err != nil {
		t.Fatal(err)
	}
	if !c.ECitizenBilling() || c.PaymentsSimulated() || c.Paybill() != "222222" || c.RefundsOn() || len(c.Simulated()) != 1 || !c.ProductionShaped() {
		t.Fatalf("ecitizen with credentials: billing %v simulated %v paybill %s refunds %v fakes %v", c.ECitizenBilling(), c.PaymentsSimulated(),
			c.Paybill(), c.RefundsOn(), c.Simulated())
	}
	ec := c.ECitizen()
	if err := ec.Check(); err != nil || !strings.HasSuffix(ec.NotificationURL, "/payments/ecitizen/notify?token=tok-0123456789abcdef") {
		t.Fatalf("e-Citizen config %v: %v", ec, err)
	}
	sim := map[string]string{"HUDUMA_BILLING": "ecitizen", "HUDUMA_PAYMENTS": "simulator"}
	c, err = loadConfig(func(k string) string { return sim[k] })
	if err != nil || !c.PaymentsSimulated() || c.Simulated()[0] != "payments" || c.Paybill() != "222222" {
		t.Fatalf("the fake chosen by name: %v %v", c.Simulated(), err)
	}
}

// TestSimulatedECitizenSaysSo: the fake e-Citizen, chosen by name, is
// announced once at start and shown by /readyz and /metrics as simulated
// payments; a Safaricom payer ending 00 is prompted by it and pays.
func TestSimulatedECitizenSaysSo(t *testing.T) {
	addr := testenv.FreeAddr(t)
	env := map[string]string{"HUDUMA_DATA_DIR": t.TempDir(), "HUDUMA_ADDR": addr, "HUDUMA_CALLBACK_TOKEN": testToken,
		"HUDUMA_BILLING": "ecitizen", "HUDUMA_PAYMENTS": "simulator", "HUDUMA_SMS": "record-only", "HUDUMA_RESUME_WINDOW": "0"}
	s := runServe(t, env)
	if warned := s.warnings(t); countPrefixed(warned, "PAYMENTS SIMULATED") != 1 {
		t.Fatalf("start warnings %q, want one PAYMENTS SIMULATED", warned)
	}
	if code, body := s.get(t, s.base+"/readyz"); code != 200 || !strings.Contains(body, `"simulated":["payments","sms"]`) {
		t.Fatalf("readyz: %d %s", code, body)
	}
	if _, m := s.get(t, s.base+"/metrics"); !strings.Contains(m, `huduma_simulated{what="payments"} 1`) {
		t.Fatal("metrics do not say payments are simulated")
	}
	p := &payEnv{t: t, base: s.base}
	end := p.dial("+254712000500", "1", "3", "1001", "1", "12345678", "01011990", "1")
	if !strings.Contains(end, "eCitizen bill ") || !strings.Contains(end, "Check your phone") {
		t.Fatalf("END %q", end)
	}
}

// TestFinanceOnECitizen: with ecitizen, the finance commands name
// e-Citizen's paybill, queue no refunds (e-Citizen holds the money) and
// refuse a Daraja pull, saying why.
func TestFinanceOnECitizen(t *testing.T) {
	env := map[string]string{"HUDUMA_BILLING": "ecitizen", "HUDUMA_DATA_DIR": t.TempDir()}
	c, err := financeConfig(func(k string) string { return env[k] }, "suspense", []string{"refund"})
	if err != nil || c.Paybill() != "222222" || c.refundsQueued() {
		t.Fatalf("suspense refund: paybill %s, refunds queued %v, %v", c.Paybill(), c.refundsQueued(), err)
	}
	if _, err := financeConfig(func(k string) string { return env[k] }, "pull", nil); err == nil || !strings.Contains(err.Error(), "HUDUMA_BILLING") {
		t.Fatalf("pull on ecitizen: %v", err)
	}
}
