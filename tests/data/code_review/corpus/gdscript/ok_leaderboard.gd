extends Node

const API := "https://leaderboard.example-games.com/v1/scores"
signal scores_loaded(scores: Array)

@onready var http := HTTPRequest.new()

func _ready() -> void:
	add_child(http)
	http.request_completed.connect(_on_completed)

func submit(player: String, score: int) -> void:
	var body := JSON.stringify({"player": player, "score": score})
	http.request(API, ["Content-Type: application/json"], HTTPClient.METHOD_POST, body)

func _on_completed(_result, code, _headers, body: PackedByteArray) -> void:
	if code != 200:
		push_warning("leaderboard error %d" % code)
		return
	var data = JSON.parse_string(body.get_string_from_utf8())
	if data is Dictionary and data.has("scores"):
		scores_loaded.emit(data["scores"])
