-- Orthogonal persistence by reachability: identity, aliasing and cycles
-- survive a restart.
shared = {1, 2, 3}
A = Object:clone()
B = Object:clone()
A.list = shared
B.list = shared
A.peer = B
B.peer = A
A.self = A
ring = {}
ring.next = {prev = ring}
ring.next.next = ring
weird = {[1.5] = "x", [true] = "t", [-0] = "zero", ["with space"] = 1}
weird[A] = "object key"
--- reopen
eq(A.list, B.list, "aliasing survives")
eq(A.list, shared)
eq(#shared, 3)
eq(A.peer, B)
eq(B.peer.peer, B, "cycle between objects")
eq(A.self, A)
eq(ring.next.next, ring)
eq(ring.next.prev, ring)
eq(weird[1.5], "x")
eq(weird[true], "t")
eq(weird["with space"], 1)
eq(weird[A], "object key", "objects as keys keep identity")
---
-- writes to existing keys of loaded tables are persisted
shared[2] = "two"
table.insert(shared, 4)
A.list = nil
--- reopen
eq(shared[2], "two")
eq(#shared, 4)
eq(A.list, nil)
eq(B.list[4], 4)
---
-- pairs/next/ipairs work on lazily loaded tables
local n = 0
for k, v in pairs(B.list) do n = n + 1 end
eq(n, 4)
local m = 0
for i, v in ipairs(shared) do m = m + 1 end
eq(m, 4)
eq(select('#', unpack(shared)), 4)
--- reopen
-- raw access on a not-yet-loaded table faults it in first
eq(rawget(shared, 1), 1)
eq(next(ring) ~= nil, true)
