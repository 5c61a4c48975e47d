-- LAN lobby discovery over UDP broadcast (LuaSocket).
local socket = require("socket")
local Lobby = {}

function Lobby.announce(name, port)
	local udp = socket.udp()
	udp:setoption("broadcast", true)
	udp:sendto("LOBBY " .. name .. " " .. port, "255.255.255.255", 47777)
	udp:close()
end

function Lobby.listen(timeout)
	local udp = socket.udp()
	udp:setsockname("*", 47777)
	udp:settimeout(timeout)
	local msg, ip = udp:receivefrom()
	udp:close()
	return msg, ip
end

return Lobby
