package relayclient

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"time"

	"sendsikkert/internal/relayapi"
)

// Policy fetches the organisation's policy for this PC.
func (c *Client) Policy(ctx context.Context) (relayapi.OrgPolicy, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url("/v1/policy"), nil)
	if err != nil {
		return relayapi.OrgPolicy{}, err
	}
	var p relayapi.OrgPolicy
	_, err = c.do(req, &p)
	return p, err
}

// RecordOverride records in the organisation's audit log that the clerk
// sends anyway what the Smart Alert stopped; it returns when it was
// recorded. The relay's refusals come as *relayapi.Error.
func (c *Client) RecordOverride(ctx context.Context, o relayapi.OverrideRequest) (time.Time, error) {
	b, _ := json.Marshal(o)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url("/v1/audit/smart-alert-override"), bytes.NewReader(b))
	if err != nil {
		return time.Time{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	var out struct {
		At time.Time `json:"at"`
	}
	_, err = c.do(req, &out)
	return out.At, err
}

// Changes asks, in one query, which of the messages ids were read or
// replied to after since.
func (c *Client) Changes(ctx context.Context, ids []string, since time.Time) (relayapi.Changes, error) {
	b, _ := json.Marshal(relayapi.ChangesRequest{IDs: ids, Since: since})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url("/v1/messages/changes"), bytes.NewReader(b))
	if err != nil {
		return relayapi.Changes{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	var out relayapi.Changes
	_, err = c.do(req, &out)
	return out, err
}

// SetMobile corrects or (mobile "") removes the mobile number the relay
// remembers for an e-mail recipient; the answer has it masked.
func (c *Client) SetMobile(ctx context.Context, email, mobile string) (relayapi.MobileRequest, error) {
	b, _ := json.Marshal(relayapi.MobileRequest{Email: email, Mobile: mobile})
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.url("/v1/directory/mobiles"), bytes.NewReader(b))
	if err != nil {
		return relayapi.MobileRequest{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	var out relayapi.MobileRequest
	_, err = c.do(req, &out)
	return out, err
}
