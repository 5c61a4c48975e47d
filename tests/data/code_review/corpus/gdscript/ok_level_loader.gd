extends Node

func load_level(name: String) -> void:
	var path := "res://levels/%s.tscn" % name
	if not ResourceLoader.exists(path):
		push_error("no level " + name)
		return
	var scene: PackedScene = load(path)
	get_tree().change_scene_to_packed(scene)

func read_dialogue(id: String) -> Dictionary:
	var f := FileAccess.open("res://dialogue/%s.json" % id, FileAccess.READ)
	return JSON.parse_string(f.get_as_text())
