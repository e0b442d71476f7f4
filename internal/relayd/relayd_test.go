package relayd

import (
	"context"
	"net/http"
	"testing"
	"time"

	"sendsikkert/internal/database"
	"sendsikkert/internal/delivery"
	"sendsikkert/internal/queue"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relay"
	"sendsikkert/internal/securemailbox"
	"sendsikkert/internal/vault"
)

// TestAssemble: the server and the worker share one store and one set of
// channels; the secure mailbox becomes a channel of both, its pages a
// public route and its Revoke the server's; the parts given are routes
// of the one table; Run stops both loops when its context ends.
func TestAssemble(t *testing.T) {
	key, _ := vault.New(vault.NewRandomKey())
	store, err := queue.OpenBolt(t.TempDir(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	db, err := database.Open(context.Background(), "", t.TempDir(), "mb.db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mbStore, err := securemailbox.OpenStore(context.Background(), db, key)
	if err != nil {
		t.Fatal(err)
	}
	mb := &securemailbox.Service{Store: mbStore, Key: make([]byte, 32), Interval: time.Hour}
	dp := delivery.Channel(nil)
	r := Assemble(Config{
		Store: store, Org: queue.DemoOrganisation(),
		Channels: map[recipient.Channel]delivery.Channel{recipient.ChannelDigitalPost: dp},
		Mailbox:  mb, Enrol: http.NotFoundHandler(), StatusMessages: http.NotFoundHandler(),
	})
	if r.Worker.Store != store || r.Server.Store != store || mb.Messages != store || mb.Org.Sender.CVR != queue.DemoOrganisation().Sender.CVR {
		t.Fatal("parts do not share the store and organisation")
	}
	if r.Server.Channels[recipient.ChannelSecureMailbox] != mb || r.Worker.Channels[recipient.ChannelSecureMailbox] != mb || r.Server.Revoke == nil {
		t.Fatal("secure mailbox not wired as a channel and for revoking")
	}
	auth := map[string]relay.Auth{}
	for _, rt := range r.Server.Routes() {
		auth[rt.Pattern] = rt.Auth
	}
	if auth["/m/"] != relay.AuthPublic || auth["POST /v1/enroll"] != relay.AuthPublic || auth["POST /beskedfordeler/PostStatusBeskedModtag"] != relay.AuthPartner {
		t.Fatalf("route table %v", auth)
	}
	if _, ok := auth["GET /metrics"]; ok {
		t.Fatal("a part not given is served")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop within 10 s")
	}
}
