extends Node

func _unhandled_input(event: InputEvent) -> void:
	if event.is_action_pressed("screenshot"):
		var img := get_viewport().get_texture().get_image()
		DirAccess.make_dir_recursive_absolute("user://screenshots")
		var path := "user://screenshots/shot_%d.png" % Time.get_unix_time_from_system()
		img.save_png(path)
		print("saved ", ProjectSettings.globalize_path(path))
