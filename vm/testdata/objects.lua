-- Prototypes, clone, slots and sends.
Account = Object:clone()
Account.balance = 0
function Account:deposit(n) self.balance = self.balance + n; return self end
---
local a = Account:clone()
eq(a.balance, 0, "inherited slot")
a:deposit(5)
eq(a.balance, 5)
eq(Account.balance, 0, "the clone's write shadows the prototype")
eq(a.missing, nil, "a missing slot reads as nil")
eq(tostring(a), "an Account {balance = 5}")
eq(tostring(Account), "Account {balance = 0}")
---
-- local stays transient; globals persist as Lobby slots
local tmp = 42
Savings = Account:clone()
function Savings:addInterest(rate) return self:deposit(self.balance * rate) end
--- reopen
eq(tmp, nil, "locals do not persist")
local s = Savings:clone()
s.balance = 100
eq(s:addInterest(0.5).balance, 150)
eq(tostring(Savings), "Savings")
eq(Lobby.Savings, Savings)
---
-- printString overrides the default rendering
function Account:printString() return "Account(" .. self.balance .. ")" end
local a = Account:clone(); a.balance = 3
eq(tostring(a), "Account(3)")
---
-- respondsTo
assert(Account:respondsTo("deposit"))
assert(Savings:respondsTo("deposit"))
assert(not Account:respondsTo("withdraw"))
assert(not Account:respondsTo("balance"), "a data slot is not a method")
