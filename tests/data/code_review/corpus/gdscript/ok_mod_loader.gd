extends Node

const MODS_DIR := "user://mods"

func load_mods() -> Array[String]:
	var loaded: Array[String] = []
	var dir := DirAccess.open(MODS_DIR)
	if dir == null:
		return loaded
	for file in dir.get_files():
		if not file.ends_with(".pck"):
			continue
		if ProjectSettings.load_resource_pack(MODS_DIR.path_join(file)):
			loaded.append(file.get_basename())
		else:
			push_warning("could not load mod %s" % file)
	return loaded
