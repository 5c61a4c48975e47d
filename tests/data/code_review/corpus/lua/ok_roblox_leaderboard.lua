-- Server script: global leaderboard with an OrderedDataStore.
local DataStoreService = game:GetService("DataStoreService")
local Players = game:GetService("Players")
local store = DataStoreService:GetOrderedDataStore("Wins")

local function saveWins(player)
	local stats = player:FindFirstChild("leaderstats")
	if not stats then return end
	local ok, err = pcall(function()
		store:SetAsync(tostring(player.UserId), stats.Wins.Value)
	end)
	if not ok then warn("could not save wins: " .. err) end
end

Players.PlayerRemoving:Connect(saveWins)

local function top10()
	local pages = store:GetSortedAsync(false, 10)
	return pages:GetCurrentPage()
end

return top10
