package redisstore

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/huduma-ke/huduma/sessions"
)

//go:embed conv_load.lua
var convLoadLua string

//go:embed conv_save.lua
var convSaveLua string

var (
	convLoadScript = redis.NewScript(convLoadLua)
	convSaveScript = redis.NewScript(convSaveLua)
)

// convKey is "<prefix>sms:<phone>", a hash like a session's.
func (s *Store) convKey(phone string) string { return s.prefix + "sms:" + phone }

// LoadConversation implements sessions.Conversations in one script
// (conv_load.lua).
func (s *Store) LoadConversation(ctx context.Context, phone string) (sessions.Conversation, error) {
	res, err := convLoadScript.Run(ctx, s.rdb, []string{s.convKey(phone), s.langKey(phone)}).Slice()
	if err != nil {
		return sessions.Conversation{}, fmt.Errorf("redis load conversation: %w", err)
	}
	str := func(i int) (string, bool) {
		if i >= len(res) {
			return "", false
		}
		v, ok := res[i].(string)
		return v, ok
	}
	var out sessions.Conversation
	out.Language, _ = str(2)
	if vs, ok := str(0); ok {
		v, err := strconv.ParseInt(vs, 10, 64)
		if err != nil {
			return sessions.Conversation{}, fmt.Errorf("redis conversation version %q: %w", vs, err)
		}
		d, _ := str(1)
		out.Record = sessions.Record{Value: []byte(d), Version: v}
	}
	return out, nil
}

// SaveConversation implements sessions.Conversations in one script
// (conv_save.lua).
func (s *Store) SaveConversation(ctx context.Context, phone string, expect int64, w sessions.ConversationWrite) (int64, error) {
	n, err := convSaveScript.Run(ctx, s.rdb, []string{s.convKey(phone), s.langKey(phone)},
		expect, w.Value, max(w.TTL.Milliseconds(), 1), w.Language).Int64()
	if err != nil {
		return 0, fmt.Errorf("redis save conversation: %w", err)
	}
	if n < 0 {
		return 0, sessions.ErrConflict
	}
	return n, nil
}
