extends Node

const PATH := "user://settings.cfg"
var config := ConfigFile.new()

func _ready() -> void:
	if config.load(PATH) != OK:
		config.set_value("video", "fullscreen", false)
		config.set_value("audio", "master", 0.8)
	apply()

func apply() -> void:
	var fs: bool = config.get_value("video", "fullscreen", false)
	DisplayServer.window_set_mode(DisplayServer.WINDOW_MODE_FULLSCREEN if fs else DisplayServer.WINDOW_MODE_WINDOWED)
	AudioServer.set_bus_volume_db(0, linear_to_db(config.get_value("audio", "master", 0.8)))

func save() -> void:
	config.save(PATH)
