package queue

import (
	"sendsikkert/internal/delivery"
	"sendsikkert/internal/relayapi"
)

// Organisation is the sender and its reply mailboxes: who the worker
// delivers as, and where replies land.
type Organisation struct {
	Sender         delivery.Sender
	ReplyMailboxes []relayapi.ReplyMailbox
	// Default mailbox ids for citizens (CPR) and companies (CVR).
	DefaultCitizen string
	DefaultCompany string
}

// DemoOrganisation is Demo Kommune.
func DemoOrganisation() Organisation {
	return Organisation{
		Sender: delivery.Sender{Name: "Demo Kommune", CVR: "31128706", Address: []string{"Rådhuspladsen 1", "8800 Viborg"}},
		ReplyMailboxes: []relayapi.ReplyMailbox{
			{ID: "kommune", Label: "Demo Kommune", ContactPointID: "e4a05c5d-eca8-4e44-9034-a4cd6257e150"},
			{ID: "jobcenter", Label: "Jobcenter", ContactPointID: "78566970-a4a9-48c9-9b06-49c7cd58bb95"},
			{ID: "borgerservice", Label: "Borgerservice", ContactPointID: "133b057c-dbcf-425c-a358-52f9a39c32b3"},
		},
		DefaultCitizen: "kommune",
		DefaultCompany: "kommune",
	}
}

// Mailbox finds a reply mailbox by id.
func (o Organisation) Mailbox(id string) (relayapi.ReplyMailbox, bool) {
	for _, m := range o.ReplyMailboxes {
		if m.ID == id {
			return m, true
		}
	}
	return relayapi.ReplyMailbox{}, false
}
