package memstore

import (
	"context"

	"github.com/huduma-ke/huduma/sessions"
)

// LoadConversation implements sessions.Conversations.
func (s *Store) LoadConversation(ctx context.Context, phone string) (sessions.Conversation, error) {
	if err := ctx.Err(); err != nil {
		return sessions.Conversation{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := sessions.Conversation{Language: s.langs[phone]}
	if e, ok := s.convs[phone]; ok && s.now().Before(e.expires) {
		out.Record = sessions.Record{Value: append([]byte(nil), e.value...), Version: e.version}
	}
	return out, nil
}

// SaveConversation implements sessions.Conversations: the
// compare-and-swap and the language under the same lock as the sessions'.
func (s *Store) SaveConversation(ctx context.Context, phone string, expect int64, w sessions.ConversationWrite) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.convs[phone]
	if ok && !s.now().Before(e.expires) {
		delete(s.convs, phone)
		ok = false
	}
	if (!ok && expect != 0) || (ok && e.version != expect) {
		return 0, sessions.ErrConflict
	}
	v := expect + 1
	s.convs[phone] = entry{value: append([]byte(nil), w.Value...), version: v, expires: s.now().Add(w.TTL)}
	if w.Language != "" {
		s.langs[phone] = w.Language
	}
	return v, nil
}
