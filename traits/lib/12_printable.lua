-- Printable: printString from one method. Users provide printOn(parts),
-- appending strings to the table parts; printString concatenates them.
-- printFields is a helper for the common case: printOn can call
-- self:printFields(parts, {"x", "y"}) to get "Point(x = 1, y = 2)".
Printable = Trait:clone()

function Printable:printString()
  local parts = {}
  self:printOn(parts)
  return table.concat(parts)
end
function Printable:displayString() return self:printString() end
function Printable:printFields(parts, names)
  parts[#parts + 1] = reflect(self):name()
  parts[#parts + 1] = "("
  for i, name in ipairs(names) do
    if i > 1 then parts[#parts + 1] = ", " end
    local v = self[name]
    if type(v) == "string" then v = string.format("%q", v) else v = tostring(v) end
    parts[#parts + 1] = name .. " = " .. v
  end
  parts[#parts + 1] = ")"
  return parts
end
