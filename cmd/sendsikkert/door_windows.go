package main

import (
	"context"

	"golang.org/x/sys/windows/svc"

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
