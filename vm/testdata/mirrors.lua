-- Reflection goes through mirrors; method sources and history are kept.
Account = Object:clone()
Account.balance = 0
Account.owner = "ann"
function Account:deposit(n)
  self.balance = self.balance + n
  return self
end
---
local m = reflect(Account)
eq(m:name(), "Account")
eq(table.concat(m:slotNames(), ","), "balance,owner")
eq(table.concat(m:methodNames(), ","), "deposit")
eq(m:source("deposit"), "function Account:deposit(n)\n  self.balance = self.balance + n\n  return self\nend")
eq(m:proto(), Object)
eq(reflect(Account:clone()):protoChain()[1], Account)
assert(m:respondsTo("deposit"))
assert(m:respondsTo("clone"))
assert(not m:respondsTo("balance"))
eq(m:implementor("clone"), Object)
---
function Account:deposit(n) self.balance = self.balance + 2 * n; return self end
---
local h = reflect(Account):history("deposit")
eq(#h, 2)
eq(h[1].old, "")
eq(h[1].author, "human")
eq(h[2].old, "function Account:deposit(n)\n  self.balance = self.balance + n\n  return self\nend")
eq(h[2].new, "function Account:deposit(n) self.balance = self.balance + 2 * n; return self end")
---
reflect(Account):revert("deposit")
--- reopen
eq(Account:clone():deposit(1).balance, 1, "reverted to the first version")
eq(#reflect(Account):history("deposit"), 3)
---
reflect(Account):define("function Account:withdraw(n) return self:deposit(-n) end")
eq(Account:clone():withdraw(2).balance, -2)
--- error: withdraw:1
reflect(Account):define("function Account:withdraw(n) return self:nothing(n) end")
Account:clone():withdraw(2)
--- error: CompileError
reflect(Account):define("function Account:bad(n) return n + end")
---
reflect(Account):removeMethod("withdraw")
eq(Account.withdraw, nil)
