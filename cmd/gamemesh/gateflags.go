package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"time"

	"github.com/gamemesh/gamemesh/gate"
)

// gateScaleFlags are the gate settings `up` and `gate` share beyond their
// listeners: admission and guest rates, resume grace, TLS.
type gateScaleFlags struct {
	admission, guestRate float64
	resumeGrace          time.Duration
	tlsCert, tlsKey      string
}

func addGateScaleFlags(fs *flag.FlagSet) *gateScaleFlags {
	f := &gateScaleFlags{}
	fs.Float64Var(&f.admission, "admission-rate", gate.DefaultAdmissionRate, "logins admitted per second (faster logins queue)")
	fs.Float64Var(&f.guestRate, "guest-rate", gate.DefaultGuestLoginRate, "guest tickets issued per second over all clients")
	fs.DurationVar(&f.resumeGrace, "resume-grace", gate.DefaultResumeGrace, "how long a dropped resumable session waits for its client (negative: no resume)")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "PEM certificate: serve TCP and HTTP/WebSocket over TLS (with --tls-key)")
	fs.StringVar(&f.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	return f
}

// apply sets the flags on cfg.
func (f *gateScaleFlags) apply(cfg *gate.Config) error {
	cfg.AdmissionRate, cfg.GuestLoginRate, cfg.ResumeGrace = f.admission, f.guestRate, f.resumeGrace
	cfg.GuestLoginBurst = max(gate.DefaultGuestLoginBurst, int(2*f.guestRate))
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return fmt.Errorf("--tls-cert and --tls-key go together")
	}
	if f.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
		if err != nil {
			return fmt.Errorf("loading the TLS certificate: %w", err)
		}
		cfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	return nil
}
