package main

import (
	"bytes"
	"context"
	"log/slog"
	"sync"

	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"

	"sendsikkert/internal/door"
)

// DoorServiceName is the Windows service the installer registers
// (build/windows/msi: `door --port [PORT] --service`, LocalSystem,
// automatic start).
const DoorServiceName = "SendsikkertDoor"

// isService: --service, or Windows saying we were started by the SCM.
func isService(flag bool) bool {
	if flag {
		return true
	}
	ok, err := svc.IsWindowsService()
	return err == nil && ok
}

// runService runs the door under the Service Control Manager: running
// once it listens, stopped on Stop or Shutdown.
func runService(cfg door.Config) int {
	// A service's stderr goes nowhere: log to the Windows event log
	// (Application, source SendsikkertDoor) as well.
	if el, err := eventlog.Open(DoorServiceName); err == nil {
		defer el.Close()
		cfg.Log = slog.New(&eventHandler{inner: cfg.Log.Handler(), el: el, buf: &lockedBuf{}})
	}
	h := &doorService{cfg: cfg}
	if err := svc.Run(DoorServiceName, h); err != nil {
		cfg.Log.Error("door service failed", "err", err)
		return 1
	}
	return h.code
}

type doorService struct {
	cfg  door.Config
	code int
}

func (s *doorService) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := s.cfg
	ready := make(chan struct{})
	cfg.Ready = func(*door.Door) { close(ready) }
	done := make(chan error, 1)
	go func() { done <- door.Run(ctx, cfg) }()
	select {
	case <-ready:
	case err := <-done:
		s.cfg.Log.Error("door cannot start", "err", err)
		s.code = 1
		return true, 1
	}
	const accepts = svc.AcceptStop | svc.AcceptShutdown
	status <- svc.Status{State: svc.Running, Accepts: accepts}
	for {
		select {
		case c := <-req:
			switch c.Cmd {
			case svc.Interrogate:
				status <- c.CurrentStatus
			case svc.Stop, svc.Shutdown:
				status <- svc.Status{State: svc.StopPending}
				cancel()
				<-done
				return false, 0
			}
		case err := <-done:
			if err != nil {
				s.cfg.Log.Error("door stopped", "err", err)
				s.code = 1
				return true, 1
			}
			return false, 0
		}
	}
}

// eventHandler writes each record to the event log, as text, at its
// level, and hands it on to the inner handler.
type eventHandler struct {
	inner slog.Handler
	el    *eventlog.Log
	buf   *lockedBuf
	attrs []slog.Attr
	group string
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (h *eventHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *eventHandler) Handle(ctx context.Context, r slog.Record) error {
	h.buf.mu.Lock()
	h.buf.b.Reset()
	var t slog.Handler = slog.NewTextHandler(&h.buf.b, nil)
	if len(h.attrs) > 0 {
		t = t.WithAttrs(h.attrs)
	}
	if h.group != "" {
		t = t.WithGroup(h.group)
	}
	t.Handle(ctx, r)
	msg := h.buf.b.String()
	h.buf.mu.Unlock()
	switch {
	case r.Level >= slog.LevelError:
		h.el.Error(1, msg)
	case r.Level >= slog.LevelWarn:
		h.el.Warning(1, msg)
	default:
		h.el.Info(1, msg)
	}
	return h.inner.Handle(ctx, r)
}

func (h *eventHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.inner = h.inner.WithAttrs(as)
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}

func (h *eventHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.inner = h.inner.WithGroup(name)
	c.group = name
	return &c
}
