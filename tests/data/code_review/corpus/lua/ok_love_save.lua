-- Save and load for a LOVE2D platformer, in the game's save directory.
local json = require("lib.json")
local Save = {}

function Save.write(slot, state)
	local ok, err = love.filesystem.write("slot" .. slot .. ".json", json.encode(state))
	if not ok then print("save failed: " .. tostring(err)) end
	return ok
end

function Save.read(slot)
	local name = "slot" .. slot .. ".json"
	if not love.filesystem.getInfo(name) then
		return { level = 1, coins = 0 }
	end
	return json.decode(love.filesystem.read(name))
end

return Save
