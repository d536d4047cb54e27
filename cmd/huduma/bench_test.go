package main

import (
	"context"
	"fmt"

	"net/url"
	"testing"

	"github.com/huduma-ke/huduma/internal/testenv"
	"github.com/huduma-ke/huduma/providers"
	"github.com/huduma-ke/huduma/providers/africastalking"
)

// benchHops times one hop end to end without HTTP: AT decode → session
// load → menu step (catalog search on the search hop) → render → session
// save → AT encode. Each iteration is one hop of a four-hop journey, each
// journey from a phone of its own (one phone would get the resume offer
// on every journey after the first, and go elsewhere).
func benchHops(b *testing.B, env map[string]string) {
	simulatedOnPurpose(env)
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		b.Fatal(err)
	}
	g, err := newGateway(context.Background(), cfg, testLogger())
	if err != nil {
		b.Fatal(err)
	}
	defer g.close()
	eng := g.engine
	at := africastalking.USSD{}
	texts := []string{"", "1", "1*1", "1*1*birth"}
	ctx := context.Background()
	i := 0
	for b.Loop() {
		form := url.Values{"sessionId": {fmt.Sprintf("ATUid_bench_%s_%d", b.Name(), i/len(texts))}, "serviceCode": {"*2222#"},
			"phoneNumber": {fmt.Sprintf("+2547%08d", i/len(texts))}, "networkCode": {"63902"}, "text": {texts[i%len(texts)]}}
		hop, err := at.DecodeHop(providers.Request{Form: form})
		if err != nil {
			b.Fatal(err)
		}
		reply, err := eng.HandleHop(ctx, hop)
		if err != nil {
			b.Fatal(err)
		}
		_ = at.EncodeReply(reply)
		i++
	}
}

func BenchmarkHopEmbedded(b *testing.B) {
	benchHops(b, map[string]string{"HUDUMA_DATA_DIR": b.TempDir()})
}

func BenchmarkHopPostgresRedis(b *testing.B) {
	benchHops(b, map[string]string{"DATABASE_URL": freshSchema(b), "REDIS_URL": testenv.RedisURL(b), "HUDUMA_REDIS_PREFIX": redisPrefix(b), "HUDUMA_OTP_SECRET": "bench-otp-secret-000",
		"HUDUMA_CALLBACK_TOKEN": testToken})
}
