-- Enumerable: collection protocol from one method. Users provide
-- each(fn), calling fn(element) for every element in order.
Enumerable = Trait:clone()

function Enumerable:toTable()
  local out = {}
  self:each(function(x) out[#out + 1] = x end)
  return out
end
function Enumerable:map(fn)
  local out = {}
  self:each(function(x) out[#out + 1] = fn(x) end)
  return out
end
function Enumerable:select(fn)
  local out = {}
  self:each(function(x) if fn(x) then out[#out + 1] = x end end)
  return out
end
function Enumerable:reject(fn)
  return self:select(function(x) return not fn(x) end)
end
function Enumerable:inject(acc, fn)
  self:each(function(x) acc = fn(acc, x) end)
  return acc
end
function Enumerable:detect(fn, ifNone)
  for _, x in ipairs(self:toTable()) do
    if fn(x) then return x end
  end
  if ifNone then return ifNone() end
  return nil
end
function Enumerable:count(fn)
  return self:inject(0, function(n, x) if fn == nil or fn(x) then return n + 1 end return n end)
end
function Enumerable:includes(y)
  return self:detect(function(x) return x == y end) ~= nil
end
function Enumerable:isEmpty() return self:count() == 0 end
function Enumerable:anySatisfy(fn) return self:detect(fn) ~= nil end
function Enumerable:allSatisfy(fn)
  return self:detect(function(x) return not fn(x) end) == nil
end
function Enumerable:sum(fn)
  return self:inject(0, function(s, x) return s + (fn and fn(x) or x) end)
end
