package redisstore

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"

	"github.com/redis/rueidis"

	"github.com/huduma-ke/huduma/sessions"
)

//go:embed conv_load.lua
var convLoadLua string

//go:embed conv_save.lua
var convSaveLua string

var (
	convLoadScript = rueidis.NewLuaScript(convLoadLua)
	convSaveScript = rueidis.NewLuaScript(convSaveLua)
)

// convKey is "<prefix>sms:<phone>", a hash like a session's.
func (s *Store) convKey(phone string) string { return s.prefix + "sms:" + phone }

// LoadConversation implements sessions.Conversations in one script
// (conv_load.lua).
func (s *Store) LoadConversation(ctx context.Context, phone string) (sessions.Conversation, error) {
	res, err := convLoadScript.Exec(ctx, s.c, []string{s.convKey(phone), s.langKey(phone)}, nil).ToArray()
	if err != nil {
		return sessions.Conversation{}, fmt.Errorf("redis load conversation: %w", err)
	}
	// The script's false (a missing field) arrives as nil.
	str := func(i int) (string, bool) {
		if i >= len(res) {
			return "", false
		}
		v, err := res[i].ToString()
		return v, err == nil
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
	n, err := convSaveScript.Exec(ctx, s.c, []string{s.convKey(phone), s.langKey(phone)},
		[]string{itoa(expect), string(w.Value), itoa(max(w.TTL.Milliseconds(), 1)), w.Language}).AsInt64()
	if err != nil {
		return 0, fmt.Errorf("redis save conversation: %w", err)
	}
	if n < 0 {
		return 0, sessions.ErrConflict
	}
	return n, nil
}
