package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"sendsikkert/internal/agent"
	"sendsikkert/internal/door"
)

// doorCmd runs the machine's door: `sendsikkert door --port N`, once per
// machine as root or SYSTEM (the installer makes it a service).
func doorCmd(args []string) int {
	fs := flag.NewFlagSet("sendsikkert door", flag.ContinueOnError)
	port := fs.Int("port", agent.DefaultPort, "the loopback port the door owns")
	state := fs.String("state", door.DefaultStateDir, "the door's folder (machine certificate)")
	runDir := fs.String("run-dir", door.DefaultRunDir, "the folder of the control socket agents register on (Unix)")
	agentTimeout := fs.Duration("agent-timeout", 90*time.Second, "how long an agent may take to start answering a request")
	service := fs.Bool("service", false, "run under the Windows Service Control Manager (the installer's SendsikkertDoor service); ignored elsewhere")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintln(os.Stderr, "sendsikkert door: bad --log-level:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	cfg := door.Config{Port: *port, StateDir: *state, RunDir: *runDir, AgentTimeout: *agentTimeout, Log: log}
	if isService(*service) {
		return runService(cfg)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := door.Run(ctx, cfg); err != nil {
		log.Error("door cannot start", "err", err)
		return 1
	}
	return 0
}
