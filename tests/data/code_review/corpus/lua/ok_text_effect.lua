-- Wavy rainbow text: draws each character separately.
local Wavy = {}

function Wavy.draw(text, x, y, t)
	for i = 1, #text do
		local c = string.sub(text, i, i)
		local byte = string.byte(c)
		local hue = (i * 0.1 + t) % 1
		love.graphics.setColor(hue, 1 - hue, 0.5 + 0.5 * math.sin(t + i))
		love.graphics.print(string.char(byte), x + i * 10, y + math.sin(t * 4 + i) * 3)
	end
end

return Wavy
