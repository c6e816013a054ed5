-- A send that nothing understands becomes doesNotUnderstand(message);
-- reading a missing slot is nil. Lua reads a.m before calling it, so both
-- semantics must hold for the same selector.
Account = Object:clone()
---
local a = Account:clone()
eq(a.withdraw, nil)
local ok, err = pcall(function() return a:withdraw(3, "x") end)
assert(not ok)
eq(err.selector, "withdraw")
eq(err.arguments[1], 3)
eq(err.arguments[2], "x")
eq(err.receiver, a)
assert(tostring(err):find("MessageNotUnderstood: an Account does not understand withdraw%(3, \"x\"%)"), tostring(err))
--- error: MessageNotUnderstood: an Account does not understand withdraw(3)
Account:clone():withdraw(3)
---
-- An object can override doesNotUnderstand.
Ghost = Object:clone()
function Ghost:doesNotUnderstand(msg) return "ghost " .. msg.selector .. " " .. #msg.arguments end
eq(Ghost:clone():anything(1, 2), "ghost anything 2")
eq(Ghost.anything, nil, "overriding DNU does not invent slots")
---
-- Calling a nil value that is not a send is still Lua's error.
local ok, err = pcall(function() local f; f() end)
assert(not ok)
assert(tostring(err):find("attempt to call a nil value"), tostring(err))
local ok2, err2 = pcall(function() undefinedGlobal() end)
assert(tostring(err2):find("global 'undefinedGlobal'"), tostring(err2))
---
-- The traceback names objects and selectors.
function Account:deposit(n)
  return self:credit(n)
end
--- error: Account>>deposit:2
Account:clone():deposit(1)
