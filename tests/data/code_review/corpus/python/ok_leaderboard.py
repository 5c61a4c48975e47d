"""Posts a finished run to the game's public leaderboard."""
import hashlib
import hmac
import json
import urllib.request

API = "https://leaderboard.example-games.com/v1/scores"


def submit(player: str, score: int, secret: bytes) -> dict:
    body = json.dumps({"player": player, "score": score}).encode()
    sig = hmac.new(secret, body, hashlib.sha256).hexdigest()
    req = urllib.request.Request(
        API, data=body, headers={"Content-Type": "application/json", "X-Signature": sig}
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


def top(n: int = 10) -> list:
    with urllib.request.urlopen(f"{API}?limit={n}", timeout=5) as resp:
        return json.loads(resp.read())["scores"]
