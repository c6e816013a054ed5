package remote

import (
	"context"
	"fmt"
	"net"
)

// Listen listens on addr (host:port). Unless allowRemote is set, the host
// must be loopback: "127.0.0.1", "::1", or a name that resolves only to
// loopback addresses ("localhost"); an empty host or 0.0.0.0 listens on
// every interface and is refused. allowRemote is for a server that another
// layer already fences, such as a QEMU guest whose port only the host's
// loopback forward reaches.
func Listen(ctx context.Context, addr string, allowRemote bool) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("remote: listen address %q: %w (want host:port, e.g. 127.0.0.1:7070)", addr, err)
	}
	if !allowRemote {
		if err := checkLoopback(ctx, host); err != nil {
			return nil, fmt.Errorf("remote: refusing to listen on %q: %w; pass --allow-remote to listen beyond loopback (anyone who can reach the port and has the token controls the image)", addr, err)
		}
	}
	var lc net.ListenConfig
	return lc.Listen(ctx, "tcp", addr)
}

func checkLoopback(ctx context.Context, host string) error {
	if host == "" {
		return fmt.Errorf("an empty host means every interface, not only loopback")
	}
	if ip := net.ParseIP(host); ip != nil {
		if !ip.IsLoopback() {
			return fmt.Errorf("%s is not a loopback address", host)
		}
		return nil
	}
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return fmt.Errorf("resolving %s: %w", host, err)
	}
	for _, ip := range ips {
		if !ip.IP.IsLoopback() {
			return fmt.Errorf("%s resolves to %s, which is not a loopback address", host, ip.IP)
		}
	}
	return nil
}
