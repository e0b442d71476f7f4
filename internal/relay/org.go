package relay

import "sendsikkert/internal/delivery"

// ReplyMailbox is a "Digitalpost retursvar" mailbox: where the recipient's
// reply lands.
type ReplyMailbox struct {
	ID             string `json:"id"`
	Label          string `json:"label"`
	ContactPointID string `json:"-"`
}

// Organisation is the sender and its reply mailboxes.
type Organisation struct {
	Sender         delivery.Sender
	ReplyMailboxes []ReplyMailbox
	// Default mailbox ids for citizens (CPR) and companies (CVR).
	DefaultCitizen string
	DefaultCompany string
}

// DemoOrganisation is Demo Kommune.
func DemoOrganisation() Organisation {
	return Organisation{
		Sender: delivery.Sender{Name: "Demo Kommune", CVR: "31128706", Address: []string{"Rådhuspladsen 1", "8800 Viborg"}},
		ReplyMailboxes: []ReplyMailbox{
			{ID: "kommune", Label: "Demo Kommune", ContactPointID: "e4a05c5d-eca8-4e44-9034-a4cd6257e150"},
			{ID: "jobcenter", Label: "Jobcenter", ContactPointID: "78566970-a4a9-48c9-9b06-49c7cd58bb95"},
			{ID: "borgerservice", Label: "Borgerservice", ContactPointID: "133b057c-dbcf-425c-a358-52f9a39c32b3"},
		},
		DefaultCitizen: "kommune",
		DefaultCompany: "kommune",
	}
}

func (o Organisation) mailbox(id string) (ReplyMailbox, bool) {
	for _, m := range o.ReplyMailboxes {
		if m.ID == id {
			return m, true
		}
	}
	return ReplyMailbox{}, false
}
