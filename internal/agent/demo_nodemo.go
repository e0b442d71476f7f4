//go:build nodemo

package agent

import (
	"context"
	"log/slog"

	"sendsikkert/internal/relayclient"
	"sendsikkert/internal/vault"
)

// DemoBuilt is false in the shipped build (-tags nodemo): it carries no
// demo relay, demo register or demo channels, so an installed PC can never
// fall into demo mode.
const DemoBuilt = false

func startDemoRelay(context.Context, string, *vault.Key, string, *slog.Logger) (*relayclient.Client, func(), error) {
	return nil, nil, ErrNoDemo
}
