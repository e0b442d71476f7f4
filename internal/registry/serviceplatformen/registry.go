package serviceplatformen

import (
	"context"
	"fmt"
	"time"

	"sendsikkert/internal/recipient"
)

// DigitalPost says whether a CPR or CVR number can receive Digital Post
// (SF1601 PostForespoerg).
type DigitalPost interface {
	CanReceiveDigitalPost(ctx context.Context, id recipient.ID) (bool, error)
}

// People looks citizens up (SF1520).
type People interface {
	LookupPerson(ctx context.Context, cpr string) (Person, error)
}

// Companies looks companies up by CVR number (SF1530, or another CVR
// source with the same answer).
type Companies interface {
	LookupCompany(ctx context.Context, cvr string) (Company, error)
}

// Registry is the Serviceplatformen recipient.Registry: for a CPR number
// PostForespoerg and PersonLookup, for a CVR number PostForespoerg and the
// company lookup, asked side by side. Any failure of either is an error,
// so the check says the recipient could not be looked up.
type Registry struct {
	Post      DigitalPost
	People    People
	Companies Companies
	// Budget bounds a whole lookup, retries included, when the caller's
	// context has no earlier deadline (default 10 s).
	Budget time.Duration
}

// NewRegistry returns the Registry that asks everything of one Client.
func NewRegistry(c *Client) *Registry {
	return &Registry{Post: c, People: c, Companies: c}
}

// Lookup implements recipient.Registry.
func (r *Registry) Lookup(ctx context.Context, id recipient.ID) (recipient.Party, error) {
	budget := r.Budget
	if budget <= 0 {
		budget = 10 * time.Second
	}
	if id.Kind != recipient.KindCPR && id.Kind != recipient.KindCVR {
		return recipient.Party{}, fmt.Errorf("serviceplatformen: cannot look up %s", id.Masked())
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()

	type post struct {
		ok  bool
		err error
	}
	pc := make(chan post, 1)
	go func() {
		ok, err := r.Post.CanReceiveDigitalPost(ctx, id)
		pc <- post{ok, err}
	}()

	var party recipient.Party
	var err error
	switch id.Kind {
	case recipient.KindCPR:
		var p Person
		p, err = r.People.LookupPerson(ctx, id.Value)
		// A protected person's name and address stay in the Party: a
		// letter needs them. recipient.Decide never shows them, and
		// registry.Cached never keeps them.
		party = recipient.Party{Found: p.Found, Name: p.Name, Protected: p.Protected, Address: p.Address}
	default: // recipient.KindCVR
		var c Company
		c, err = r.Companies.LookupCompany(ctx, id.Value)
		party = recipient.Party{Found: c.Found, Name: c.Name, Address: c.Address}
	}
	if err != nil {
		cancel()
		<-pc
		return recipient.Party{}, fmt.Errorf("serviceplatformen: look up %s: %w", id.Masked(), err)
	}
	if !party.Found {
		// Not in the register: not found, whatever PostForespoerg says.
		cancel()
		<-pc
		return recipient.Party{}, nil
	}
	res := <-pc
	if res.err != nil {
		return recipient.Party{}, fmt.Errorf("serviceplatformen: digital post for %s: %w", id.Masked(), res.err)
	}
	party.DigitalPost = res.ok
	return party, nil
}
