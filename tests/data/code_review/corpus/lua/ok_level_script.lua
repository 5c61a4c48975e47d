-- Level files carry small trigger scripts; they run with only the trigger API.
local Triggers = {}

function Triggers.compile(source, api)
	local env = { spawn = api.spawn, door = api.door, say = api.say }
	local fn, err = load(source, "=trigger", "t", env)
	if not fn then error("bad trigger: " .. err) end
	return fn
end

return Triggers
