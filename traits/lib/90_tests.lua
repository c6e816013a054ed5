-- The standard trait library's own tests (they live in the image).
ComparableTest = Object:clone()
ComparableTest:uses(TestCase)
function ComparableTest:setUp()
  self.Money = Object:clone()
  self.Money:uses(Comparable)
  function self.Money.compareTo(a, b) return a.cents - b.cents end
  self.one = self.Money:clone(); self.one.cents = 100
  self.two = self.Money:clone(); self.two.cents = 200
end
function ComparableTest:testOrder()
  self:assert(self.one:lt(self.two))
  self:assert(self.one:le(self.one))
  self:assert(self.two:gt(self.one))
  self:deny(self.one:gt(self.two))
  self:assert(self.one:equals(self.one))
end
function ComparableTest:testMaxMinBetween()
  self:assertEquals(self.two, self.one:max(self.two))
  self:assertEquals(self.one, self.one:min(self.two))
  self:assert(self.one:between(self.one, self.two))
  self:assertEquals(self.two, self.one:clamp(self.two, self.two))
end
function ComparableTest:testRequiresCompareTo()
  local Bare = Object:clone()
  Bare:uses(Comparable)
  self:assertError(function() return Bare:lt(Bare) end, "does not understand compareTo")
end

EnumerableTest = Object:clone()
EnumerableTest:uses(TestCase)
function EnumerableTest:setUp()
  self.list = Object:clone()
  self.list:uses(Enumerable)
  self.list.items = {1, 2, 3, 4}
  function self.list.each(s, fn) for _, x in ipairs(s.items) do fn(x) end end
end
function EnumerableTest:testMapSelectReject()
  self:assertEquals({2, 4, 6, 8}, self.list:map(function(x) return x * 2 end))
  self:assertEquals({2, 4}, self.list:select(function(x) return x % 2 == 0 end))
  self:assertEquals({1, 3}, self.list:reject(function(x) return x % 2 == 0 end))
end
function EnumerableTest:testInjectDetectCount()
  self:assertEquals(10, self.list:inject(0, function(a, x) return a + x end))
  self:assertEquals(10, self.list:sum())
  self:assertEquals(3, self.list:detect(function(x) return x > 2 end))
  self:assertEquals("none", self.list:detect(function(x) return x > 9 end, function() return "none" end))
  self:assertEquals(4, self.list:count())
  self:assertEquals(2, self.list:count(function(x) return x > 2 end))
end
function EnumerableTest:testPredicates()
  self:assert(self.list:includes(3))
  self:deny(self.list:includes(5))
  self:deny(self.list:isEmpty())
  self:assert(self.list:anySatisfy(function(x) return x == 4 end))
  self:assert(self.list:allSatisfy(function(x) return x > 0 end))
end

PrintableTest = Object:clone()
PrintableTest:uses(TestCase)
function PrintableTest:testPrintFields()
  local Point = Object:clone()
  Point:uses(Printable)
  function Point.printOn(p, parts) p:printFields(parts, {"x", "y"}) end
  local p = Point:clone(); p.x = 1; p.y = "two"
  self:assertEquals('an Object(x = 1, y = "two")', p:printString())
  self:assertEquals(p:printString(), tostring(p))
end

TestCaseTest = Object:clone()
TestCaseTest:uses(TestCase)
function TestCaseTest:testAssertionsFail()
  local t = TestCaseTest:clone()
  self:assertError(function() t:assertEquals(1, 2) end, "expected 1, got 2")
  self:assertError(function() t:assert(false, "custom") end, "custom")
  self:assertError(function() t:assertNil(1) end, "expected nil")
  self:assertError(function() t:assertError(function() end) end, "expected an error")
  self:assertEquals({a = {1}}, {a = {1}}, "deep equality")
end
