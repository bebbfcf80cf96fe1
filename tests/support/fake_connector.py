"""A fake operator behind the platform's connector interface, for the browser tests (the Rust
tests use tests/src/connector.rs, which answers the same way): `POST /<connector>/<operation>`
with the platform's JSON body is answered like a connector would, and every call is appended to
`calls.jsonl` in --dir so tests read exactly what the operator received. A line whose number ends
in 99 is unknown to the operator (422); a call without the expected bearer token is refused (401).

    python3 tests/support/fake_connector.py --port 8099 --dir /tmp/operator --token jeton
"""

import argparse
import json
import os
import re
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 1024 * 1024


def call_log(digits):
    """The telephony's call log of a line: the same two calls each time (ids from the number)."""
    return [
        {"id": f"{digits}-1", "started_at": "2026-11-02T09:14:00Z", "direction": "entrant", "party": "+33298000000",
         "duration_seconds": 184, "summary": "Question sur la facture de la ligne"},
        {"id": f"{digits}-2", "started_at": "2026-11-03T16:40:00Z", "direction": "sortant", "party": "Support Connextoo",
         "duration_seconds": 61, "summary": "Rappel : ligne rétablie"},
    ]


def handler(directory, token):
    lock = threading.Lock()

    class Operator(BaseHTTPRequestHandler):
        def log_message(self, *_):
            pass

        def answer(self, status, body):
            text = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def do_POST(self):
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY:
                return self.answer(413, {"error": "body too large"})
            try:
                body = json.loads(self.rfile.read(length) or b"null")
            except ValueError:
                return self.answer(400, {"error": "not JSON"})
            authorized = self.headers.get("authorization") == f"Bearer {token}"
            with lock, open(os.path.join(directory, "calls.jsonl"), "a", encoding="utf-8") as calls:
                calls.write(json.dumps({"path": self.path, "authorized": authorized, "body": body}) + "\n")
            if not authorized:
                return self.answer(401, {"error": "jeton invalide"})
            number = str(((body or {}).get("input") or {}).get("number") or "")
            if number.endswith("99"):
                return self.answer(422, {"error": f"ligne {number} inconnue chez l'opérateur"})
            operation = self.path.rstrip("/").rsplit("/", 1)[-1]
            digits = re.sub(r"\D", "", number)
            if operation == "list-calls":
                return self.answer(200, {"calls": call_log(digits)})
            return self.answer(200, {"reference": f"OP-{digits}", "operation": operation, "status": "ok"})

    return Operator


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--token", required=True)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler(args.dir, args.token))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"listening on {args.port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.shutdown()


if __name__ == "__main__":
    main()
