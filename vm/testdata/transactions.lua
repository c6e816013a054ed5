-- Every top-level evaluation is one transaction: on any error the image is
-- as if it never ran, in memory and in the store.
Counter = Object:clone()
Counter.n = 0
log = {"a"}
---
local before = log
--- error: boom
Counter.n = 99
log[1] = "changed"
log[2] = "added"
NewGlobal = Object:clone()
function Counter:inc() self.n = self.n + 1 end
error("boom")
---
eq(Counter.n, 0, "slot write rolled back")
eq(log[1], "a", "table write rolled back")
eq(log[2], nil, "table insert rolled back")
eq(NewGlobal, nil, "global definition rolled back")
eq(Counter.inc, nil, "method definition rolled back")
--- reopen
eq(Counter.n, 0)
eq(#log, 1)
--- error: trait conflict
T1 = Trait:clone(); function T1:f() end
T2 = Trait:clone(); function T2:f() end
Counter:uses(T1)
Counter:uses(T1, T2)
---
eq(T1, nil)
eq(#reflect(Counter):traits(), 0, "trait composition rolled back")
--- error: cannot persist Counter.fn: the function is a closure over local variable(s) x
local x = 1
Counter.fn = function(self) return x end
--- error: cannot persist Counter.bag.co: a thread cannot persist
Counter.bag = {co = coroutine.create(function() end)}
--- error: cannot persist log[2]: a function in a plain table cannot persist
log[2] = function() end
--- error: cannot persist Counter.p: a Go builtin function cannot persist
Counter.p = print
---
eq(Counter.fn, nil)
eq(Counter.bag, nil)
eq(log[2], nil)
--- budget: 200ms; error: exceeded its budget
Counter.n = 5
while true do end
---
eq(Counter.n, 0, "a runaway evaluation rolls back")
---
-- an identity kept across rollback: the same table object, restored
Holder = Object:clone()
Holder.t = {1}
--- error: fail
local t = Holder.t
t[1] = 2
Holder.t = {3}
error("fail")
---
eq(Holder.t[1], 1)
