package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"sendsikkert/internal/relayapi"
)

// Reply-mailbox choices of the hosted add-in's users (Entra), by owner
// ("entra:tid/oid"): the agent keeps a device user's choice on the PC, but
// a user of Outlook on the web has only the relay, and every instance
// behind the load balancer must see the same choice after any restart.
// The mailbox ids are the organisation's configuration, not personal
// data, so the row is kept in clear.

// ReplyChoice returns owner's saved choice; the zero choice when none was
// saved.
func (s *SQLStore) ReplyChoice(ctx context.Context, owner string) (relayapi.ReplyChoice, error) {
	var c relayapi.ReplyChoice
	err := s.db.QueryRowContext(ctx, s.q(`SELECT citizen, company FROM relay_reply_choices WHERE owner = ?`), owner).Scan(&c.Citizen, &c.Company)
	if errors.Is(err, sql.ErrNoRows) {
		return relayapi.ReplyChoice{}, nil
	}
	if err != nil {
		return relayapi.ReplyChoice{}, fmt.Errorf("relay store: reply choice: %w", err)
	}
	return c, nil
}

// SetReplyChoice saves c for owner and returns the choice now in force.
// An empty field keeps what was saved, so two instances setting citizen
// and company at once both win; the merge is one statement, committed
// before it returns.
func (s *SQLStore) SetReplyChoice(ctx context.Context, owner string, c relayapi.ReplyChoice) (relayapi.ReplyChoice, error) {
	var out relayapi.ReplyChoice
	err := s.db.QueryRowContext(ctx, s.q(`INSERT INTO relay_reply_choices (owner, citizen, company, updated) VALUES (?, ?, ?, ?)
		ON CONFLICT (owner) DO UPDATE SET
			citizen = CASE WHEN excluded.citizen <> '' THEN excluded.citizen ELSE relay_reply_choices.citizen END,
			company = CASE WHEN excluded.company <> '' THEN excluded.company ELSE relay_reply_choices.company END,
			updated = excluded.updated
		RETURNING citizen, company`), owner, c.Citizen, c.Company, time.Now().UnixNano()).Scan(&out.Citizen, &out.Company)
	if err != nil {
		return relayapi.ReplyChoice{}, fmt.Errorf("relay store: set reply choice: %w", err)
	}
	return out, nil
}
