package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/huduma-ke/huduma"
)

// Language returns the phone's chosen language, or an error wrapping
// huduma.ErrNotFound when it never chose one.
func (l *DB) Language(ctx context.Context, phone huduma.MSISDN) (huduma.Language, error) {
	var lang string
	if err := l.db.QueryRowContext(ctx, `SELECT language FROM phone_preferences WHERE msisdn = $1`, string(phone)).Scan(&lang); err != nil {
		return "", notFound("language preference", err)
	}
	return huduma.Language(lang), nil
}

// SetLanguage records the phone's choice (upsert): the durable copy of
// what the session store holds for hops.
func (l *DB) SetLanguage(ctx context.Context, phone huduma.MSISDN, lang huduma.Language) error {
	if _, err := huduma.ParseLanguage(string(lang)); err != nil {
		return err
	}
	if _, err := l.db.ExecContext(ctx, `INSERT INTO phone_preferences (msisdn, language, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (msisdn) DO UPDATE SET language = excluded.language, updated_at = excluded.updated_at`,
		string(phone), string(lang), ms(l.now())); err != nil {
		return fmt.Errorf("set language: %w", err)
	}
	return nil
}

// Languages returns every phone's choice (E.164 → "en"/"sw"), to warm
// the session store that hops read languages from.
func (l *DB) Languages(ctx context.Context) (map[string]string, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT msisdn, language FROM phone_preferences`)
	if err != nil {
		return nil, fmt.Errorf("read languages: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var phone, lang string
		if err := rows.Scan(&phone, &lang); err != nil {
			return nil, fmt.Errorf("read languages: %w", err)
		}
		out[phone] = lang
	}
	return out, rows.Err()
}

// RecordSessionEvent stores an aggregator's end-of-session notification;
// a repeat for the same provider and session id changes nothing.
func (l *DB) RecordSessionEvent(ctx context.Context, e huduma.SessionEvent) error {
	if _, err := l.db.ExecContext(ctx, `INSERT INTO ussd_session_events
		(provider, session_id, msisdn, status, input, last_response, hops, duration_ms, error_message, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (provider, session_id) DO NOTHING`,
		// Aggregators' text, kept as text every backend stores (no NUL,
		// which Postgres refuses) and safe to show.
		huduma.CleanLine(e.Provider), huduma.CleanLine(e.SessionID), string(e.MSISDN), huduma.CleanLine(e.Status), huduma.CleanLine(e.Input),
		huduma.CleanText(e.LastResponse), e.Hops, e.DurationMS, huduma.CleanText(e.ErrorMessage), ms(e.At)); err != nil {
		return fmt.Errorf("record session event: %w", err)
	}
	return nil
}

// PurgeSessionEvents deletes events from before the cutoff (they hold
// phone numbers and inputs) and reports how many went.
func (l *DB) PurgeSessionEvents(ctx context.Context, before time.Time) (int64, error) {
	r, err := l.db.ExecContext(ctx, `DELETE FROM ussd_session_events WHERE at < $1`, ms(before))
	if err != nil {
		return 0, fmt.Errorf("purge session events: %w", err)
	}
	return r.RowsAffected()
}
