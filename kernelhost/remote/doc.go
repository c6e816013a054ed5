// Package remote is Phoenix's remote protocol: one protocol for `phoenix
// attach`, the GUI on a remote image (`phoenix gui --attach`) and tools.
//
// Framing is JSON-RPC 2.0, one JSON object per line (newline-delimited JSON)
// over a byte stream (TCP on loopback by default), so that an MCP facade can
// later be a thin layer over the same methods. A frame may be at most
// MaxFrame bytes. The first request on a connection must be "initialize",
// carrying the protocol version and the token; the token is compared in
// constant time, and a wrong one gets an error response after which the
// server closes the connection. Then the client calls the methods listed
// in protocol.go (eval, browse, mirror, source, define, remove,
// approvals.*) and the server pushes "transcript" and "changed"
// notifications. An undecodable frame (not JSON, too long) gets a JSON-RPC
// error and the connection is closed; the server keeps serving the others.
//
// The server never touches a VM itself: it asks a Backend (backend.go),
// which the wiring layer implements over an image (bootstrap.RemoteBackend).
// Start reading from Server (server.go) and Client (client.go).
//
// It may import only the standard library: it sits below the VM (in
// kernelhost, what Phoenix needs from the machine), and nothing in it knows
// Lua, Pebble or Gio.
package remote
