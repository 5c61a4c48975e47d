extends Node

const SAVE_PATH := "user://savegame.json"

func save_game(state: Dictionary) -> void:
	var f := FileAccess.open(SAVE_PATH, FileAccess.WRITE)
	if f == null:
		push_error("cannot save: %s" % FileAccess.get_open_error())
		return
	f.store_string(JSON.stringify(state))
	f.close()

func load_game() -> Dictionary:
	if not FileAccess.file_exists(SAVE_PATH):
		return {"level": 1, "gold": 0}
	var f := FileAccess.open(SAVE_PATH, FileAccess.READ)
	var data = JSON.parse_string(f.get_as_text())
	return data if data is Dictionary else {"level": 1, "gold": 0}
