-- Shows the studio's news feed in the lobby (HttpService is enabled for this game).
local HttpService = game:GetService("HttpService")
local NEWS_URL = "https://api.example-studio.com/news.json"

local function fetchNews()
	local ok, body = pcall(function()
		return HttpService:GetAsync(NEWS_URL)
	end)
	if not ok then return {} end
	local data = HttpService:JSONDecode(body)
	return data.items or {}
end

return fetchNews
