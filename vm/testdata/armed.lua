-- After a commit, persistent objects are "armed": emptied, with their
-- contents kept in memory, so that the next transaction notices every
-- object it touches. Each access path must refill them.
A = Object:clone(); A.n = 1; A.list = {10, 20, 30}; A.map = {x = 1}
function A:get() return self.n end
---
A.n = A.n + 1
---
eq(A:get(), 2, "send to an armed object")
---
local t = A.list
t[2] = 21
---
eq(#A.list, 3, "# on an armed table")
local sum = 0
for i, v in ipairs(A.list) do sum = sum + v end
eq(sum, 61, "ipairs on an armed table")
---
local keys = 0
for k, v in pairs(A.map) do keys = keys + 1 end
eq(keys, 1, "pairs on an armed table")
eq(rawget(A, "n"), 2, "rawget on an armed object")
eq(next(A.map), "x", "next on an armed table")
table.insert(A.list, 40)
---
eq(A.list[4], 40)
eq(tostring(A.map), tostring(A.map))
eq(table.concat(A.list, ","), "10,21,30,40")
local c = A:clone()
eq(c.n, 2, "inherited slot through an armed prototype")
--- reopen
eq(A.n, 2)
eq(A.list[2], 21)
eq(#A.list, 4)
