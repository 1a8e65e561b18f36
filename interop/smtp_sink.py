"""A real SMTP server for the tests (aiosmtpd), recording what it receives.

Usage: python3 smtp_sink.py PORT OUT_FILE

Listens on 127.0.0.1:PORT, prints "ready" once accepting, and appends one JSON line per
message to OUT_FILE, parsed by Python's own email package (an implementation independent
of the lettre crate that wrote the message): envelope, headers, the text and HTML parts
decoded, and inline images (base64) with their Content-ID. Recipients listed in
OUT_FILE.refuse (one a line, read at each RCPT) are refused with a permanent 550 reply,
those in OUT_FILE.defer with a transient 451 one. Runs until killed.
"""

import base64
import json
import signal
import sys
import threading
from email import policy
from email.parser import BytesParser

from aiosmtpd.controller import Controller


class Recorder:
    def __init__(self, path):
        self.path = path
        self.refuse = path + ".refuse"
        self.defer = path + ".defer"
        self.lock = threading.Lock()

    @staticmethod
    def listed(path, address):
        try:
            with open(path, encoding="utf-8") as f:
                return address.lower() in {line.strip().lower() for line in f if line.strip()}
        except FileNotFoundError:
            return False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # Addresses listed (one a line) in OUT_FILE.refuse are refused as a real server
        # refuses an unknown mailbox: a permanent 550 reply; those in OUT_FILE.defer as a
        # server that cannot take them now: a transient 451 reply.
        if self.listed(self.refuse, address):
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        if self.listed(self.defer, address):
            return "451 4.3.0 <%s>: Temporary lookup failure, try again later" % address
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = BytesParser(policy=policy.default).parsebytes(envelope.content)
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "message_id": msg["Message-ID"],
            "from": str(msg["From"]),
            "to": str(msg["To"]),
            "subject": str(msg["Subject"]),
            "content_type": msg.get_content_type(),
            "text": None,
            "html": None,
            "images": [],
        }
        for part in msg.walk():
            ctype = part.get_content_type()
            if part.is_multipart():
                continue
            if ctype == "text/plain" and record["text"] is None:
                record["text"] = part.get_content()
            elif ctype == "text/html" and record["html"] is None:
                record["html"] = part.get_content()
            elif ctype.startswith("image/"):
                record["images"].append(
                    {
                        "content_type": ctype,
                        "content_id": (part["Content-ID"] or "").strip("<>"),
                        "disposition": part.get_content_disposition(),
                        "data": base64.b64encode(part.get_content()).decode(),
                    }
                )
        line = json.dumps(record, ensure_ascii=False)
        with self.lock:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line + "\n")
                f.flush()
        return "250 Message accepted for delivery"


def main():
    port = int(sys.argv[1])
    out = sys.argv[2]
    controller = Controller(Recorder(out), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
