-- TestCase: the trait that makes an object a test. The runner (phoenix test)
-- finds every object that uses it and runs each method whose name starts
-- with "test", between setUp and tearDown, in a transaction that is rolled
-- back afterwards, so tests leave no trace.
TestFailure = Error:clone()
TestCase = Trait:clone()

-- printValue renders a value in failure messages (strings quoted).
function TestCase:printValue(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

function TestCase:fail(message)
  TestFailure:signal(message or "failed")
end

function TestCase:assert(condition, message)
  if not condition then self:fail(message or "assertion failed") end
  return self
end

function TestCase:deny(condition, message)
  return self:assert(not condition, message or "denial failed")
end

function TestCase:deepEquals(a, b, seen)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  if getmetatable(a) ~= nil or getmetatable(b) ~= nil then return false end
  seen = seen or {}
  if seen[a] == b then return true end
  seen[a] = b
  for k, v in pairs(a) do
    if not self:deepEquals(v, b[k], seen) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

function TestCase:assertEquals(expected, actual, message)
  if not self:deepEquals(expected, actual) then
    self:fail((message and (message .. ": ") or "") ..
      "expected " .. self:printValue(expected) .. ", got " .. self:printValue(actual))
  end
  return self
end

function TestCase:assertNotEquals(unexpected, actual, message)
  if self:deepEquals(unexpected, actual) then
    self:fail((message and (message .. ": ") or "") .. "did not expect " .. self:printValue(actual))
  end
  return self
end

function TestCase:assertNil(value, message)
  if value ~= nil then self:fail(message or ("expected nil, got " .. self:printValue(value))) end
  return self
end

function TestCase:assertNotNil(value, message)
  if value == nil then self:fail(message or "expected a value, got nil") end
  return self
end

-- assertError(fn [, pattern]) passes if fn raises an error whose text
-- contains pattern (a plain substring); it returns the error.
function TestCase:assertError(fn, pattern, message)
  local ok, err = pcall(fn)
  if ok then self:fail(message or "expected an error, none was raised") end
  if pattern and not string.find(tostring(err), pattern, 1, true) then
    self:fail((message and (message .. ": ") or "") .. "expected an error containing " ..
      self:printValue(pattern) .. ", got " .. self:printValue(tostring(err)))
  end
  return err
end

function TestCase:setUp() end
function TestCase:tearDown() end
