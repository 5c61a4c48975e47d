extends Button

const STORE_PAGE := "https://store.steampowered.com/app/123456/Tiny_Farm/"

func _pressed() -> void:
	OS.shell_open(STORE_PAGE)

func _on_discord_pressed() -> void:
	OS.shell_open("https://discord.gg/tinyfarm")
