-- Comparable: total order from one method. Users provide
-- compareTo(other), returning a negative number, zero or a positive number.
Comparable = Trait:clone()

function Comparable:lt(other) return self:compareTo(other) < 0 end
function Comparable:le(other) return self:compareTo(other) <= 0 end
function Comparable:gt(other) return self:compareTo(other) > 0 end
function Comparable:ge(other) return self:compareTo(other) >= 0 end
function Comparable:equals(other) return self:compareTo(other) == 0 end
function Comparable:between(low, high) return self:ge(low) and self:le(high) end
function Comparable:max(other) if self:ge(other) then return self end return other end
function Comparable:min(other) if self:le(other) then return self end return other end
function Comparable:clamp(low, high) return self:max(low):min(high) end
