// Package usage counts what an organisation used — letters sent per
// channel, SMS codes, recipient lookups, replies received — from the audit
// log (package audit), so a bill per mail or a check of a flat rate is as
// trustworthy as the hash-chained log itself.
package usage

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"sendsikkert/internal/audit"
)

// Audit actions this package reads. The relay's worker writes accept and
// deliver, the lookup handler lookup, the secure mailbox mailbox-code-sent
// and mailbox-reply, package inbound reply-received, reply-delivered and
// reply-mailbox; the relay writes reply-mailbox for sent messages too.
const (
	ActionLookup        = "lookup"
	ActionAccept        = "accept"
	ActionDeliver       = "deliver"
	ActionSMSCode       = "mailbox-code-sent"
	ActionMailboxReply  = "mailbox-reply"
	ActionReplyReceived = "reply-received"
	ActionReplyDeliver  = "reply-delivered"
	ActionReplyMailbox  = "reply-mailbox"
)

// Groupings.
const (
	BySender       = "sender"
	ByReplyMailbox = "replyMailbox"
	ByChannel      = "channel"
	ByMonth        = "month"
)

// Channels as reported.
const (
	DigitalPost   = "digitalpost"
	Print         = "print"
	Tunnelmail    = "tunnelmail"
	SecureMailbox = "securemailbox"
)

// Row is one group's counts.
type Row struct {
	Key           string `json:"key"`
	DigitalPost   int    `json:"digitalPost"`
	Print         int    `json:"print"`
	Tunnelmail    int    `json:"tunnelmail"`
	SecureMailbox int    `json:"secureMailbox"`
	SMSCodes      int    `json:"smsCodes"`
	Lookups       int    `json:"lookups"`
	Replies       int    `json:"replies"`
}

// Report is the counts for [From, To).
type Report struct {
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	By    string    `json:"by"`
	Rows  []Row     `json:"rows"`
	Total Row       `json:"total"`
}

// Searcher is the audit log.
type Searcher interface {
	Search(ctx context.Context, q audit.Query) ([]audit.Entry, error)
}

// page is the most rows one search returns (audit.Search's cap).
const page = 100000

// all returns every row in [from, to), paging back from to.
func all(ctx context.Context, l Searcher, from, to time.Time) ([]audit.Entry, error) {
	var out []audit.Entry
	seen := map[int64]bool{}
	for {
		rows, err := l.Search(ctx, audit.Query{From: from, To: to, Limit: page})
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if !seen[r.Seq] {
				seen[r.Seq] = true
				out = append(out, r)
			}
		}
		if len(rows) < page {
			return out, nil
		}
		// Rows come newest first: go on below the oldest, including its
		// instant (rows sharing it are de-duplicated by seq).
		next := rows[len(rows)-1].At.Add(time.Nanosecond)
		if !next.Before(to) {
			return nil, fmt.Errorf("usage: more than %d audit rows share one instant", page)
		}
		to = next
	}
}

// mailboxLag is how long after a message's send its reply-mailbox row
// may be written (the relay writes it when the message is final).
const mailboxLag = 31 * 24 * time.Hour

// Count builds the report for [from, to) grouped by by.
func Count(ctx context.Context, l Searcher, from, to time.Time, by string) (*Report, error) {
	switch by {
	case BySender, ByReplyMailbox, ByChannel, ByMonth:
	default:
		return nil, fmt.Errorf("usage: --by %q: use sender, replyMailbox, channel or month", by)
	}
	rows, err := all(ctx, l, from, to)
	if err != nil {
		return nil, err
	}
	mailbox := map[string]string{}
	if by == ByReplyMailbox {
		later, err := all(ctx, l, from, to.Add(mailboxLag))
		if err != nil {
			return nil, err
		}
		for _, e := range later {
			if e.Action == ActionReplyMailbox {
				mailbox[e.MessageID] = e.Outcome
			}
		}
	}
	// Who a received reply answered, for grouping by sender.
	answered := map[string]string{}
	for _, e := range rows {
		if e.Action == ActionReplyDeliver && e.User != "" {
			answered[e.MessageID] = e.User
		}
	}
	groups := map[string]*Row{}
	get := func(key string) *Row {
		if key == "" {
			key = "(ukendt)"
		}
		r := groups[key]
		if r == nil {
			r = &Row{Key: key}
			groups[key] = r
		}
		return r
	}
	key := func(e audit.Entry, channel, sender string) string {
		switch by {
		case BySender:
			return sender
		case ByReplyMailbox:
			return mailbox[e.MessageID]
		case ByChannel:
			return channel
		}
		return e.At.In(copenhagen()).Format("2006-01")
	}
	// A letter is one recipient's copy of a message, counted once however
	// many rows (accepted, then delivered) it has.
	letters := map[string]bool{}
	for i := len(rows) - 1; i >= 0; i-- { // oldest first
		e := rows[i]
		switch e.Action {
		case ActionAccept, ActionDeliver:
			ch := letterChannel(e)
			if ch == "" {
				continue
			}
			id := e.MessageID + "\x00" + e.Channel + "\x00" + e.Recipient
			if letters[id] {
				continue
			}
			letters[id] = true
			r := get(key(e, ch, e.User))
			switch ch {
			case DigitalPost:
				r.DigitalPost++
			case Print:
				r.Print++
			case Tunnelmail:
				r.Tunnelmail++
			case SecureMailbox:
				r.SecureMailbox++
			}
		case ActionSMSCode:
			get(key(e, SecureMailbox, e.User)).SMSCodes++
		case ActionLookup:
			get(key(e, e.Channel, e.User)).Lookups++
		case ActionMailboxReply:
			get(key(e, SecureMailbox, e.User)).Replies++
		case ActionReplyReceived:
			if e.Outcome == "duplicate" {
				continue
			}
			get(key(e, DigitalPost, answered[e.MessageID])).Replies++
		}
	}
	rep := &Report{From: from, To: to, By: by, Rows: []Row{}}
	for _, r := range groups {
		rep.Rows = append(rep.Rows, *r)
		rep.Total.DigitalPost += r.DigitalPost
		rep.Total.Print += r.Print
		rep.Total.Tunnelmail += r.Tunnelmail
		rep.Total.SecureMailbox += r.SecureMailbox
		rep.Total.SMSCodes += r.SMSCodes
		rep.Total.Lookups += r.Lookups
		rep.Total.Replies += r.Replies
	}
	rep.Total.Key = "I alt"
	sort.Slice(rep.Rows, func(i, j int) bool { return rep.Rows[i].Key < rep.Rows[j].Key })
	return rep, nil
}

func auditRow(channel, outcome string) audit.Entry {
	return audit.Entry{Channel: channel, Outcome: outcome}
}

// letterChannel is the channel a sent letter counts under, or "" when the
// row is not a letter that left (failed, or waiting for a fallback).
func letterChannel(e audit.Entry) string {
	switch e.Outcome {
	case "printed":
		return Print
	case "accepted", "delivered", "sending":
	default:
		return ""
	}
	switch e.Channel {
	case DigitalPost, Print, Tunnelmail, SecureMailbox:
		return e.Channel
	}
	return ""
}

func copenhagen() *time.Location {
	if l, err := time.LoadLocation("Europe/Copenhagen"); err == nil {
		return l
	}
	return time.UTC
}

// WriteCSV writes the report with a header line and a total line.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{r.By, "digitalPost", "print", "tunnelmail", "secureMailbox", "smsCodes", "lookups", "replies"})
	for _, x := range append(append([]Row(nil), r.Rows...), r.Total) {
		cw.Write([]string{x.Key, strconv.Itoa(x.DigitalPost), strconv.Itoa(x.Print), strconv.Itoa(x.Tunnelmail),
			strconv.Itoa(x.SecureMailbox), strconv.Itoa(x.SMSCodes), strconv.Itoa(x.Lookups), strconv.Itoa(x.Replies)})
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes the report as JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// ParseDay reads a YYYY-MM-DD flag as midnight in Copenhagen.
func ParseDay(s string) (time.Time, error) {
	t, err := time.ParseInLocation("2006-01-02", strings.TrimSpace(s), copenhagen())
	if err != nil {
		return t, fmt.Errorf("usage: date %q: use YYYY-MM-DD", s)
	}
	return t, nil
}
