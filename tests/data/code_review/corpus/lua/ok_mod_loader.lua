-- Loads mods from the save directory's mods/ folder in a restricted environment.
local Mods = {}

local function sandbox()
	return { print = print, math = math, string = string, table = table, pairs = pairs, ipairs = ipairs, game = Mods.api }
end

function Mods.loadAll(api)
	Mods.api = api
	for _, name in ipairs(love.filesystem.getDirectoryItems("mods")) do
		local chunk, err = love.filesystem.load("mods/" .. name .. "/init.lua")
		if chunk then
			setfenv(chunk, sandbox())
			local ok, e = pcall(chunk)
			if not ok then print("mod " .. name .. " failed: " .. e) end
		else
			print("mod " .. name .. " has errors: " .. err)
		end
	end
end

return Mods
