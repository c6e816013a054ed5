-- Traits: set composition, conflicts, exclusion, aliasing, own methods win,
-- and a trait change reaches every user.
Describable = Trait:clone()
function Describable:describe() return "D:" .. self:name() end
function Describable:shout() return self:describe() .. "!" end
Printable = Trait:clone()
function Printable:describe() return "P:" .. self:name() end
function Printable:show() return "<" .. self:name() .. ">" end
Thing = Object:clone()
function Thing:name() return "thing" end
---
eq(tostring(Describable), "Describable")
Thing:uses(Describable)
eq(Thing:shout(), "D:thing!")
--- error: trait conflict in Thing: selector "describe" is provided by both Describable and Printable
Thing:uses(Describable, Printable)
---
-- the failed composition changed nothing
eq(Thing:describe(), "D:thing")
eq(Thing.show, nil)
---
-- order never matters, and exclusion resolves the conflict
Thing:uses(Printable:exclude("describe"), Describable)
eq(Thing:describe(), "D:thing")
eq(Thing:show(), "<thing>")
Other = Object:clone()
function Other:name() return "other" end
Other:uses(Describable, Printable:exclude("describe"))
eq(Other:describe(), "D:other")
---
-- aliasing keeps both under different names
Thing:uses(Printable:exclude("describe"):alias({pdescribe = "describe"}), Describable)
eq(Thing:pdescribe(), "P:thing")
eq(Thing:describe(), "D:thing")
---
-- own methods override trait methods
function Thing:describe() return "own" end
eq(Thing:describe(), "own")
eq(Thing:shout(), "own!")
---
-- changing a trait method changes every user, at once
function Describable:shout() return self:describe() .. "!!" end
eq(Thing:shout(), "own!!")
eq(Other:shout(), "D:other!!")
eq(Thing:clone():shout(), "own!!", "clones of users see it too")
--- reopen
eq(Thing:shout(), "own!!")
eq(Thing:pdescribe(), "P:thing")
eq(Other:describe(), "D:other")
local names = {}
for _, t in ipairs(reflect(Thing):traits()) do names[#names + 1] = tostring(t) end
table.sort(names)
eq(table.concat(names, ","), "Describable,Printable")
---
-- a method added later that creates a conflict is reported when called
function Printable:shout() return "P shout" end
local ok, err = pcall(function() return Other:shout() end)
assert(not ok)
assert(tostring(err):find('selector "shout" is provided by both Describable and Printable'), tostring(err))
local c = reflect(Other):conflicts()
eq(c.shout[1], "Describable")
--- error: holds only methods
Describable.x = 1
--- error: cannot clone trait Describable
Describable:clone()
