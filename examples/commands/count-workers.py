#!/usr/bin/env python3
"""A directory command in Python: `count-workers [state]` counts the service's workers, in
a given state (ready, starting, ...) or all. It asks the service itself over REST, with the
address and key the master puts in its environment (CSERVICE_URL, CSERVICE_ACCESS_KEY)."""
import json
import os
import sys
import urllib.parse
import urllib.request

url = os.environ.get("CSERVICE_URL")
key = os.environ.get("CSERVICE_ACCESS_KEY")
if not url or not key:
    sys.exit("count-workers: the service has no REST API (no access key)")
request = urllib.request.Request(
    url + "?" + urllib.parse.urlencode({"cmd": "workers"}),
    method="POST",
    headers={"Authorization": "Bearer " + key},
)
with urllib.request.urlopen(request, timeout=10) as answer:
    workers = json.load(answer)["workers"]
state = sys.argv[1] if len(sys.argv) > 1 else None
count = sum(1 for w in workers if state is None or w["state"] == state)
print(json.dumps({"state": state or "any", "count": count}))
